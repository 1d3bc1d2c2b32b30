"""Handing work to Celery once the transaction that made it has committed.

A task sent before the commit could run before its rows are visible (or for rows a rollback
then removes); after the commit, a lost message is the only risk, and every task we send this
way is also re-sent by a schedule or a retry path.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from django.db import transaction

# The tasks a fan-out message may name: it comes off the broker, so only these.
FAN_OUT_TASKS = frozenset({"payout_send", "invoice_send"})


def send_after_commit(task_name: str, ids: Iterable[int]) -> None:
    """`ledger.tasks.<task_name>.delay(id)` for each id, when the current transaction commits
    (at once outside one). Imported late: ledger.tasks imports the services.

    Many ids go as one `enqueue_each` message that a worker turns into a message per id: a
    close issues thousands of payouts and invoices, and publishing each message from the close
    itself cost it about a millisecond apiece, most of a month's close once the fold had done
    the rest.
    """
    pending = list(ids)
    if not pending:
        return

    def send() -> None:
        tasks = import_module("ledger.tasks")
        if len(pending) == 1 or task_name not in FAN_OUT_TASKS:
            task = getattr(tasks, task_name)
            for pk in pending:
                task.delay(pk)
        else:
            tasks.enqueue_each.delay(task_name, pending)

    transaction.on_commit(send)


def tasks_enqueue_each(*, task_name: str, ids: list[int]) -> int:
    """A message per id for `task_name` (one of FAN_OUT_TASKS); how many were sent."""
    if task_name not in FAN_OUT_TASKS:
        raise ValueError(f"{task_name!r} is not a task a fan-out may enqueue.")
    task = getattr(import_module("ledger.tasks"), task_name)
    for pk in ids:
        task.delay(int(pk))
    return len(ids)
