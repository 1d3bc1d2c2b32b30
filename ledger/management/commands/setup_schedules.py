"""Create the default beat schedules (django_celery_beat) once; never change existing ones.

Finance edits the schedules in the admin (Periodic tasks): the time of the nightly close, its
grace days, whether it runs at all. This command only creates a schedule whose name is missing,
so running it on every deploy (and on every `make run`) keeps their edits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask


@dataclass(frozen=True)
class DefaultSchedule:
    name: str
    task: str
    description: str
    kwargs: dict = field(default_factory=dict)
    crontab: dict[str, str] | None = None  # minute, hour, ... in UTC
    every_minutes: int | None = None


DEFAULT_SCHEDULES = (
    DefaultSchedule(
        name="Close due periods",
        task="ledger.tasks.close_due_periods",
        description=(
            "Every night at 02:00 UTC: close each period whose end plus grace_days has passed "
            "(statements and invoices). Edit grace_days in Keyword arguments."
        ),
        kwargs={"grace_days": 5},
        crontab={"minute": "0", "hour": "2"},
    ),
    DefaultSchedule(
        name="Resume stalled closes",
        task="ledger.tasks.close_watchdog",
        description=(
            "Every minute: a close whose worker died (nothing moved for "
            "LEDGER_CLOSE_STALL_SECONDS and no live process holds the close lock) is handed to "
            "a worker again and resumes where its chunks stopped; after LEDGER_CLOSE_MAX_RESUMES "
            "such resumes it is marked failed with the reason. Each resume is logged on the run."
        ),
        every_minutes=1,
    ),
    DefaultSchedule(
        name="Seal journal blocks",
        task="ledger.tasks.seal_blocks",
        description="Seal committed journal transactions into chained Merkle blocks.",
        every_minutes=5,
    ),
    DefaultSchedule(
        name="Fold the journal into coverage",
        task="ledger.tasks.fold_coverage",
        description=(
            "Cover committed journal transactions in the period they count in and add them to "
            "the running line totals, so the period close reads totals, not every entry."
        ),
        every_minutes=5,
    ),
    DefaultSchedule(
        name="Reconcile with Stripe",
        task="ledger.tasks.stripe_reconcile",
        description=(
            "Every day at 04:00 UTC: compare Stripe's transfers since the last run with our "
            "payouts; differences show in the admin under Reconciliation mismatches."
        ),
        crontab={"minute": "0", "hour": "4"},
    ),
)


def _crontab(fields: dict[str, str]) -> CrontabSchedule:
    """An existing identical crontab (the admin may have made one), else a new one."""
    lookup = {
        "minute": "*",
        "hour": "*",
        "day_of_month": "*",
        "month_of_year": "*",
        "day_of_week": "*",
        **fields,
        "timezone": ZoneInfo("UTC"),
    }
    existing = CrontabSchedule.objects.filter(**lookup).order_by("pk").first()
    return existing or CrontabSchedule.objects.create(**lookup)


def _interval(minutes: int) -> IntervalSchedule:
    lookup = {"every": minutes, "period": IntervalSchedule.MINUTES}
    existing = IntervalSchedule.objects.filter(**lookup).order_by("pk").first()
    return existing or IntervalSchedule.objects.create(**lookup)


def schedule_create_if_missing(default: DefaultSchedule) -> bool:
    """Create the periodic task named `default.name` unless it exists; True if created."""
    with transaction.atomic():
        if PeriodicTask.objects.filter(name=default.name).exists():
            return False
        when = (
            {"crontab": _crontab(default.crontab)}
            if default.crontab
            else {"interval": _interval(default.every_minutes)}
        )
        # get_or_create: a second process creating the same name at once finds the first's row.
        _task, created = PeriodicTask.objects.get_or_create(
            name=default.name,
            defaults={
                "task": default.task,
                "kwargs": json.dumps(default.kwargs),
                "description": default.description,
                **when,
            },
        )
        return created


class Command(BaseCommand):
    help = (
        "Create the default Celery beat schedules (nightly period close, the close watchdog, "
        "block sealing, the fold) if missing; schedules that already exist are left as they are."
    )

    def handle(self, *args, **options):
        for default in DEFAULT_SCHEDULES:
            if schedule_create_if_missing(default):
                self.stdout.write(f"schedule created: {default.name} ({default.task})")
            else:
                self.stdout.write(f"schedule kept: {default.name} (already exists; not changed)")
