"""Journal rows cannot be changed or removed: PostgreSQL refuses, and so does the ORM."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from ledger.models import Block, BlockEntry, JournalTransaction, Posting
from ledger.models.append_only import AppendOnlyError
from ledger.services.sealing import seal_blocks
from tests.ledger.helpers import accounts_for, post_use

JOURNAL_MODELS = [JournalTransaction, Posting, Block, BlockEntry]


@pytest.fixture
def sealed_journal():
    accounts = accounts_for()
    for n in range(3):
        post_use(f"use-{n}", accounts)
    seal_blocks()
    assert all(model.objects.exists() for model in JOURNAL_MODELS)


def run_sql(sql: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


# Committed rows, as in production: in a test's open transaction PostgreSQL would refuse
# TRUNCATE for its pending deferred checks before our trigger even ran.
@pytest.mark.usefixtures("committed_db", "sealed_journal")
@pytest.mark.parametrize("model", JOURNAL_MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET id = id",
        "DELETE FROM {table}",
        "TRUNCATE {table} CASCADE",
    ],
    ids=["update", "delete", "truncate"],
)
def test_raw_sql_that_changes_or_removes_journal_rows_is_refused(model, statement):
    before = model.objects.count()
    with pytest.raises(DatabaseError, match="append-only"):
        run_sql(statement.format(table=model._meta.db_table))
    assert model.objects.count() == before


@pytest.mark.django_db
@pytest.mark.usefixtures("sealed_journal")
@pytest.mark.parametrize("model", JOURNAL_MODELS, ids=lambda m: m.__name__)
def test_orm_update_delete_and_bulk_update_are_refused(model):
    rows = list(model.objects.all())
    with pytest.raises(AppendOnlyError):
        model.objects.all().update(id=1)
    with pytest.raises(AppendOnlyError):
        model.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        model.objects.bulk_update(rows, ["id"])
    with pytest.raises(AppendOnlyError):
        rows[0].save()
    with pytest.raises(AppendOnlyError):
        rows[0].delete()
    assert model.objects.count() == len(rows)


@pytest.mark.usefixtures("committed_db", "sealed_journal")
def test_a_posting_amount_cannot_be_edited_in_place():
    posting = Posting.objects.first()
    with pytest.raises(DatabaseError, match="UPDATE on ledger_posting refused"):
        run_sql(f"UPDATE ledger_posting SET amount_minor = 1 WHERE id = {posting.pk}")
    posting.refresh_from_db()
    assert posting.amount_minor != 1
