"""Journal invariants enforced by PostgreSQL itself.

Hand-written rather than django-pgtrigger: pgtrigger's triggers skip themselves whenever a session
sets `pgtrigger.ignore`, which any database role can do; these have no such switch. Only a
superuser (session_replication_role = replica, or ALTER TABLE ... DISABLE TRIGGER) gets past
them, and verify_ledger catches what such a person changes.
"""

from django.db import migrations

JOURNAL_TABLES = [
    "ledger_journaltransaction",
    "ledger_posting",
    "ledger_block",
    "ledger_blockentry",
]

FORWARD = """
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on % refused: journal tables are append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;

-- At COMMIT, per journal transaction (one check per transaction, not per posting): it has at
-- least two postings and they sum to zero in every currency. Deferred, so a transaction's row
-- and its postings can be written in any order inside one database transaction.
CREATE FUNCTION ledger_check_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n_postings int;
    bad_currency text;
BEGIN
    SELECT coalesce(sum(n), 0), (array_agg(currency) FILTER (WHERE total <> 0))[1]
      INTO n_postings, bad_currency
      FROM (SELECT currency, count(*) AS n, sum(amount_minor) AS total
              FROM ledger_posting WHERE transaction_id = NEW.id GROUP BY currency) per_currency;
    IF n_postings < 2 THEN
        RAISE EXCEPTION 'ledger: transaction % has % postings; at least 2 are required', NEW.id, n_postings
            USING ERRCODE = 'check_violation';
    END IF;
    IF bad_currency IS NOT NULL THEN
        RAISE EXCEPTION 'ledger: transaction % does not balance in %', NEW.id, bad_currency
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER ledger_transaction_balanced
    AFTER INSERT ON ledger_journaltransaction DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_transaction_balanced();

-- Per INSERT (or COPY) statement into ledger_posting, set-based over the new rows: all the
-- postings of a transaction arrive in one statement (so none can be added to a transaction
-- later, when its balance check has passed), each in its account's currency and at its
-- transaction's time.
CREATE FUNCTION ledger_check_new_postings() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tx_id bigint;
BEGIN
    SELECT n.transaction_id INTO tx_id
      FROM (SELECT transaction_id, count(*) AS n FROM new_postings GROUP BY transaction_id) n
     WHERE n.n <> (SELECT count(*) FROM ledger_posting p WHERE p.transaction_id = n.transaction_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: transaction % already had postings; a transaction''s postings are written once', tx_id
            USING ERRCODE = 'restrict_violation';
    END IF;

    SELECT p.transaction_id INTO tx_id
      FROM new_postings p
      JOIN ledger_ledgeraccount a ON a.id = p.account_id
      JOIN ledger_journaltransaction t ON t.id = p.transaction_id
     WHERE p.currency <> a.currency OR p.occurred_at <> t.occurred_at
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: transaction % has a posting whose currency or time disagrees', tx_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER ledger_posting_statement_checks
    AFTER INSERT ON ledger_posting REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_new_postings();
"""

PROTECT = """
CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS ledger_posting_statement_checks ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_transaction_balanced ON ledger_journaltransaction;
{drops}
DROP FUNCTION IF EXISTS ledger_check_new_postings();
DROP FUNCTION IF EXISTS ledger_check_transaction_balanced();
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table};
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=FORWARD + "".join(PROTECT.format(table=t) for t in JOURNAL_TABLES),
            reverse_sql=BACKWARD.format(
                drops="".join(DROP.format(table=t) for t in JOURNAL_TABLES)
            ),
        ),
    ]
