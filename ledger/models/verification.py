"""Ledger verification runs: what `verify_ledger` (command or portal) found, kept as history."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class VerificationRun(models.Model):
    """One run of `ledger_verify`: recorded when it starts, completed when it finishes, so a run
    that crashed shows as unfinished rather than vanishing."""

    class Trigger(models.TextChoices):
        COMMAND = "command", "manage.py verify_ledger"
        PORTAL = "portal", "Finance portal"

    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True, help_text="Empty until the run has finished.")
    transactions_checked = models.PositiveBigIntegerField(default=0)
    blocks_checked = models.PositiveBigIntegerField(default=0)
    # Every problem found, in ledger order (the report's strings).
    problems = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-started_at"], name="verification_started_idx")]

    def __str__(self) -> str:
        state = "running" if self.ok is None else ("ok" if self.ok else "problems")
        return f"Verification {self.started_at:%Y-%m-%d %H:%M} ({state})"
