"""Reads of background runs (period exports, verifications) and their files, for finance."""

from __future__ import annotations

from datetime import date

from django.core.files import File
from django.core.files.storage import storages
from django.db.models import QuerySet

from ledger.models import BackgroundRun

EXPORTS_STORAGE = "exports"


def background_runs(*, kind: str, period_start: date | None = None) -> QuerySet[BackgroundRun]:
    """Runs of a kind (for one period, or those without one), latest first."""
    return (
        BackgroundRun.objects.filter(kind=kind, period_start=period_start)
        .select_related("requested_by", "verification")
        .order_by("-requested_at", "-pk")
    )


def background_run_active(*, kind: str, period_start: date | None = None) -> BackgroundRun | None:
    return (
        background_runs(kind=kind, period_start=period_start)
        .filter(status__in=BackgroundRun.ACTIVE)
        .first()
    )


def export_file(run: BackgroundRun) -> File | None:
    """The finished export's file, opened for reading; None when it has none (or it is gone)."""
    if run.status != BackgroundRun.Status.DONE or not run.file_name:
        return None
    storage = storages[EXPORTS_STORAGE]
    if not storage.exists(run.file_name):
        return None
    return storage.open(run.file_name, "rb")
