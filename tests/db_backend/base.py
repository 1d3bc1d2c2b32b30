"""PostgreSQL backend for the test suite only: lets the test runner's flush clear the journal.

TransactionTestCase (pytest-django's transactional_db) empties every table with TRUNCATE after
each test, which the journal's triggers refuse. The flush here runs with
session_replication_role = replica for its own transaction only (SET LOCAL), which skips
ordinary triggers and needs a superuser, as the test database's owner is. Nothing else changes.
"""

from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = super().sql_flush(
            style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        if not statements:
            return statements
        return ["SET LOCAL session_replication_role = replica", *statements]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
