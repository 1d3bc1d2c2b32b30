"""One round trip to draw ids for rows written in bulk (ledger.services.bulk.allocate_ids).

The function takes the table's ROW EXCLUSIVE lock before drawing from its sequence, exactly as
the two statements it replaces did, so the sealer's SHARE ROW EXCLUSIVE lock still waits for
drawn ids to commit or vanish.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION ledger_allocate_ids(target regclass, how_many integer) RETURNS SETOF bigint
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('LOCK TABLE %s IN ROW EXCLUSIVE MODE', target);
    RETURN QUERY
        SELECT nextval(pg_get_serial_sequence(target::text, 'id'))
        FROM generate_series(1, how_many);
END
$$;
"""

DROP = "DROP FUNCTION ledger_allocate_ids(regclass, integer);"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0019_finance_portal")]

    operations = [migrations.RunSQL(CREATE, DROP)]
