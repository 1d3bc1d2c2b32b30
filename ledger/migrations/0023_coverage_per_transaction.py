"""Coverage per journal transaction instead of per posting (invariant 6 through the transaction).

The close's work table of line keys and figures (closefact) becomes the permanent coverage:
one append-only row per covered transaction, the transaction as primary key. The old
per-posting rows are folded into it (every posting of a transaction was always covered by the
same close), then the two old tables go. Runs in progress keep their facts as coverage.
Reversing it leaves the old tables empty.
"""

import django.db.models.deletion
from django.db import migrations, models

PHASES = [
    ("charges", "Flat fees and minimum-guarantee top-ups"),
    ("cover", "Coverage: the transactions covered, with line keys and figures"),
    ("invoices", "Advance applications and brand invoices"),
    ("statements", "Talent and agency statements"),
    ("done", "Done"),
]

COLUMNS = """transaction_id, run_id, period_start, license_id, transaction_kind, kind, channel,
    prior, units, gross_minor, commission_minor, fee_minor"""

# A run in progress: its facts are its coverage so far.
FROM_FACTS = f"""
INSERT INTO ledger_coverage ({COLUMNS})
SELECT f.transaction_id, f.run_id, r.period_start, f.license_id, f.transaction_kind, f.kind,
       f.channel, f.prior, f.units, f.gross_minor, f.commission_minor, f.fee_minor
FROM ledger_closefact f JOIN ledger_closerun r ON r.id = f.run_id;
"""

# Finished closes: each covered transaction once, with the figures its close summed.
FROM_POSTINGS = f"""
INSERT INTO ledger_coverage ({COLUMNS})
SELECT t.id, r.id, c.period_start,
       coalesce(ue.license_id, ch.license_id),
       t.kind,
       coalesce(ue.kind, ch.kind, ot.kind, t.kind),
       coalesce(ue.channel, ''),
       coalesce(ot.occurred_at, t.occurred_at) < (c.period_start::timestamp AT TIME ZONE 'UTC'),
       coalesce(CASE WHEN t.reverses_id IS NULL THEN ue.quantity ELSE -ue.quantity END, 0),
       legs.gross, legs.commission, legs.fee
FROM (
    SELECT DISTINCT p.transaction_id, pc.period_start
    FROM ledger_postingcoverage pc JOIN ledger_posting p ON p.id = pc.posting_id
) c
JOIN ledger_closerun r ON r.period_start = c.period_start AND r.kind = 'period_close'
JOIN (
    SELECT p.transaction_id,
           coalesce(sum(p.amount_minor) FILTER (WHERE a.kind = 'brand_receivable'), 0) AS gross,
           -coalesce(sum(p.amount_minor) FILTER (WHERE a.kind = 'agency_payable'), 0)
               AS commission,
           -coalesce(sum(p.amount_minor) FILTER (WHERE a.kind = 'platform_revenue'), 0) AS fee
    FROM ledger_posting p
    JOIN ledger_ledgeraccount a ON a.id = p.account_id
    WHERE p.transaction_id IN (
        SELECT p2.transaction_id FROM ledger_postingcoverage pc2
        JOIN ledger_posting p2 ON p2.id = pc2.posting_id)
    GROUP BY p.transaction_id
) legs ON legs.transaction_id = c.transaction_id
JOIN ledger_journaltransaction t ON t.id = c.transaction_id
LEFT JOIN ledger_journaltransaction ot ON ot.id = t.reverses_id
LEFT JOIN ledger_usageevent ue ON ue.transaction_id = coalesce(t.reverses_id, t.id)
LEFT JOIN ledger_charge ch ON ch.transaction_id = coalesce(t.reverses_id, t.id)
ON CONFLICT (transaction_id) DO NOTHING;
"""

RENAME_PHASE = """
UPDATE ledger_closerun SET phase = 'cover' WHERE phase = 'facts';
UPDATE ledger_closechunk SET phase = 'cover' WHERE phase = 'facts';
"""

PROTECT = """
CREATE TRIGGER ledger_coverage_no_update_delete BEFORE UPDATE OR DELETE ON ledger_coverage
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_coverage_no_truncate BEFORE TRUNCATE ON ledger_coverage
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0022_close_facts_phase")]

    operations = [
        # The old table keeps its triggers under their old names; it is dropped below.
        migrations.RenameModel("Coverage", "PostingCoverage"),
        migrations.CreateModel(
            name="Coverage",
            fields=[
                (
                    "transaction",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="coverage",
                        serialize=False,
                        to="ledger.journaltransaction",
                    ),
                ),
                ("period_start", models.DateField()),
                ("license_id", models.BigIntegerField(null=True)),
                ("transaction_kind", models.CharField(max_length=32)),
                ("kind", models.CharField(max_length=32)),
                ("channel", models.CharField(max_length=64)),
                ("prior", models.BooleanField()),
                ("units", models.BigIntegerField()),
                ("gross_minor", models.BigIntegerField()),
                ("commission_minor", models.BigIntegerField()),
                ("fee_minor", models.BigIntegerField()),
                (
                    "run",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="ledger.closerun",
                    ),
                ),
            ],
            options={"abstract": False},
        ),
        migrations.RunSQL(FROM_FACTS + FROM_POSTINGS, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(RENAME_PHASE, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(PROTECT, reverse_sql=migrations.RunSQL.noop),
        migrations.DeleteModel(name="PostingCoverage"),
        migrations.DeleteModel(name="CloseFact"),
        # Created while the old table still held the name ledger_coverage_pkey.
        migrations.RunSQL(
            "ALTER INDEX ledger_coverage_pkey1 RENAME TO ledger_coverage_pkey",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="closechunk",
            name="phase",
            field=models.CharField(choices=PHASES, max_length=16),
        ),
        migrations.AlterField(
            model_name="closerun",
            name="phase",
            field=models.CharField(choices=PHASES, default="charges", max_length=16),
        ),
    ]
