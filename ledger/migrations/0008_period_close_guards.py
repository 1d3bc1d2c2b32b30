"""Statements, invoices, their lines, charges and coverage are append-only (triggers of 0002)."""

from django.db import migrations

TABLES = [
    "ledger_charge",
    "ledger_coverage",
    "ledger_statement",
    "ledger_invoice",
    "ledger_documentline",
]

PROTECT = """
CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table};
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_period_close")]

    operations = [
        migrations.RunSQL(
            sql="".join(PROTECT.format(table=t) for t in TABLES),
            reverse_sql="".join(DROP.format(table=t) for t in TABLES),
        ),
    ]
