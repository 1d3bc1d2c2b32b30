"""The fold: coverage written ahead of the close, with running line totals per account.

Coverage rows no longer name a run: their period is the one they count in. The totals of the
coverage already written (by closes, so each in its close's period) are summed once here.
No fold row: the first fold starts from id 1 and skips what is covered.
"""

import django.db.models.deletion
from django.db import migrations, models

TOTALS = """
INSERT INTO ledger_coveragetotal (account_id, period_start, license_id, transaction_kind, kind,
                                  channel, prior, entries, units, amount_minor,
                                  gross_minor, commission_minor, fee_minor)
SELECT p.account_id, c.period_start, c.license_id, c.transaction_kind, c.kind, c.channel,
       c.prior, count(*), sum(c.units), sum(p.amount_minor),
       sum(c.gross_minor), sum(c.commission_minor), sum(c.fee_minor)
FROM ledger_coverage c
JOIN ledger_posting p ON p.transaction_id = c.transaction_id
JOIN ledger_ledgeraccount a ON a.id = p.account_id
WHERE a.kind IN ('talent_payable', 'agency_payable', 'brand_receivable')
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0023_coverage_per_transaction"),
    ]

    operations = [
        migrations.CreateModel(
            name="CoverageFold",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("watermark", models.BigIntegerField(unique=True)),
                ("folded_at", models.DateTimeField()),
            ],
        ),
        migrations.RemoveField(
            model_name="coverage",
            name="run",
        ),
        migrations.CreateModel(
            name="CoverageTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("period_start", models.DateField()),
                ("license_id", models.BigIntegerField(null=True)),
                ("transaction_kind", models.CharField(max_length=32)),
                ("kind", models.CharField(max_length=32)),
                ("channel", models.CharField(max_length=64)),
                ("prior", models.BooleanField()),
                ("entries", models.BigIntegerField()),
                ("units", models.BigIntegerField()),
                ("amount_minor", models.BigIntegerField()),
                ("gross_minor", models.BigIntegerField()),
                ("commission_minor", models.BigIntegerField()),
                ("fee_minor", models.BigIntegerField()),
                (
                    "account",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.ledgeraccount",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "account",
                            "period_start",
                            "license_id",
                            "transaction_kind",
                            "kind",
                            "channel",
                            "prior",
                        ),
                        name="coverage_total_per_line",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.RunSQL(TOTALS, reverse_sql=migrations.RunSQL.noop),
    ]
