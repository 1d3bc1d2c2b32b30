"""Long finance work done by a Celery worker instead of inside a request, one row per run.

A `BackgroundRun` is work and its record, not a document: its status and progress move while
the worker works. At most one run of a kind per period is pending or running (a partial unique
index), so a second click, a second tab or a retried message finds the run already going.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class BackgroundRun(models.Model):
    class Kind(models.TextChoices):
        PERIOD_XLSX = "period_xlsx", "Period export (XLSX)"
        VERIFY_LEDGER = "verify_ledger", "Ledger verification"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.PENDING, Status.RUNNING)
    FINISHED = (Status.DONE, Status.FAILED)

    kind = models.CharField(max_length=32, choices=Kind.choices)
    # The period exported; empty for a verification (it covers the whole ledger).
    period_start = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Rows written (export) or journal transactions checked (verification), of `total`.
    done = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # The export's file in the "exports" storage (never served from a public URL).
    file_name = models.CharField(max_length=255, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    verification = models.ForeignKey(
        "ledger.VerificationRun",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period_start"],
                condition=Q(status__in=["pending", "running"]),
                nulls_distinct=False,
                name="background_run_one_active",
            ),
        ]
        indexes = [
            models.Index(
                fields=["kind", "period_start", "-requested_at"], name="background_kind_idx"
            )
        ]

    def __str__(self) -> str:
        period = f" {self.period_start:%Y-%m}" if self.period_start else ""
        return f"{self.get_kind_display()}{period} ({self.status})"

    @property
    def progress_pct(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(99, 100 * self.done // self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED
