"""The cost of one use stays flat: a bounded number of queries, however many legs it posts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.ledger.scenario import scenario

pytestmark = pytest.mark.django_db

# Measured: 16, plus the savepoint pair of the test's own transaction, with an agency (4 legs) and
# the accounts already there; Django does not count the COPY statements.
MAX_QUERIES = 18


def test_recording_one_use_takes_a_bounded_number_of_queries():
    s = scenario(agency=True)
    assert s.use("generation").status == "accepted"  # creates the ledger accounts

    with CaptureQueriesContext(connection) as queries:
        outcome = s.use("generation")

    assert outcome.status == "accepted"
    assert len(queries) <= MAX_QUERIES, "\n".join(q["sql"][:120] for q in queries)
