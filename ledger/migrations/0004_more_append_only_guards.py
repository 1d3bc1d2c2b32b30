"""The append-only triggers of 0002, on the licensing and usage tables that are history."""

from django.db import migrations

TABLES = [
    "ledger_consentversion",
    "ledger_licenseversion",
    "ledger_licensedecision",
    "ledger_licenseactivation",
    "ledger_usageevent",
    "ledger_refusedattempt",
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
    dependencies = [("ledger", "0003_licensing_and_usage")]

    operations = [
        migrations.RunSQL(
            sql="".join(PROTECT.format(table=t) for t in TABLES),
            reverse_sql="".join(DROP.format(table=t) for t in TABLES),
        ),
    ]
