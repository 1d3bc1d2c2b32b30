"""Handing work to Celery once the transaction that made it has committed.

A task sent before the commit could run before its rows are visible (or for rows a rollback
then removes); after the commit, a lost message is the only risk, and every task we send this
way is also re-sent by a schedule or a retry path.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from django.db import transaction


def send_after_commit(task_name: str, ids: Iterable[int]) -> None:
    """`ledger.tasks.<task_name>.delay(id)` for each id, when the current transaction commits
    (at once outside one). Imported late: ledger.tasks imports the services."""
    pending = list(ids)
    if not pending:
        return

    def send() -> None:
        task = getattr(import_module("ledger.tasks"), task_name)
        for pk in pending:
            task.delay(pk)

    transaction.on_commit(send)
