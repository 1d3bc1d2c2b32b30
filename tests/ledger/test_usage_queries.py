"""The cost of one use stays flat: a bounded number of queries, however many legs it posts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.ledger.scenario import scenario

pytestmark = pytest.mark.django_db

# Measured: 16 statements, plus the savepoint pair of the test's own transaction, with an agency
# (4 legs) and the accounts already there. Each table's ids are drawn with its lock in one call
# for all three tables (it was a LOCK and a SELECT per table), the counter row is made and read in
# one statement, and rows are INSERTed, not COPYed (a COPY is two round trips, and Django does not
# count it). Since then two reads more: the held late reports of the batch's external_ids (a
# replay of a held report answers its state) and the bounds' counters (license and brand volume
# per period) — 17 statements plus the savepoint pair. Folding the bounds read into the counter
# statement would win one back (issue 19's hot-path work).
MAX_QUERIES = 19
WRITTEN = ("ledger_asset", "ledger_journaltransaction", "ledger_posting", "ledger_usageevent")


def test_recording_one_use_takes_a_bounded_number_of_queries():
    s = scenario(agency=True)
    assert s.use("generation").status == "accepted"  # creates the ledger accounts

    with CaptureQueriesContext(connection) as queries:
        outcome = s.use("generation")

    assert outcome.status == "accepted"
    statements = [q["sql"] for q in queries]
    assert len(statements) <= MAX_QUERIES, "\n".join(sql[:120] for sql in statements)
    # Every write is among the counted statements: none went by an uncounted COPY.
    for table in WRITTEN:
        assert any(sql.startswith(f'INSERT INTO "{table}"') for sql in statements), table
    assert not any(sql.startswith("LOCK TABLE") for sql in statements)
