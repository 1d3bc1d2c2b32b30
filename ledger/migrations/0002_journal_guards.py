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

-- Per transaction and currency, postings sum to zero; a transaction has at least two postings;
-- each posting's currency is its account's and its occurred_at is its transaction's.
-- Deferred to commit, so the postings of one transaction may be inserted one by one.
CREATE FUNCTION ledger_check_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tx_id bigint;
    bad_currency text;
    n_postings int;
BEGIN
    IF TG_TABLE_NAME = 'ledger_posting' THEN
        tx_id := NEW.transaction_id;
    ELSE
        tx_id := NEW.id;
    END IF;

    SELECT count(*) INTO n_postings FROM ledger_posting WHERE transaction_id = tx_id;
    IF n_postings < 2 THEN
        RAISE EXCEPTION 'ledger: transaction % has % postings; at least 2 are required', tx_id, n_postings
            USING ERRCODE = 'check_violation';
    END IF;

    SELECT p.currency INTO bad_currency
      FROM ledger_posting p
     WHERE p.transaction_id = tx_id
     GROUP BY p.currency
    HAVING sum(p.amount_minor) <> 0
     LIMIT 1;
    IF bad_currency IS NOT NULL THEN
        RAISE EXCEPTION 'ledger: transaction % does not balance in %', tx_id, bad_currency
            USING ERRCODE = 'check_violation';
    END IF;

    PERFORM 1
       FROM ledger_posting p
       JOIN ledger_ledgeraccount a ON a.id = p.account_id
       JOIN ledger_journaltransaction t ON t.id = p.transaction_id
      WHERE p.transaction_id = tx_id
        AND (p.currency <> a.currency OR p.occurred_at <> t.occurred_at);
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: transaction % has a posting whose currency or time disagrees', tx_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER ledger_posting_balanced
    AFTER INSERT ON ledger_posting DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_transaction_balanced();

CREATE CONSTRAINT TRIGGER ledger_transaction_has_postings
    AFTER INSERT ON ledger_journaltransaction DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_transaction_balanced();
"""

PROTECT = """
CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_transaction_has_postings ON ledger_journaltransaction;
{drops}
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
