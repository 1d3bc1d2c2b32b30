"""Digital twins and their versioned consent profiles."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from .append_only import AppendOnlyModel


def tag_array(**kwargs) -> ArrayField:
    return ArrayField(models.CharField(max_length=64), default=list, blank=True, **kwargs)


class Twin(models.Model):
    talent = models.ForeignKey("accounts.Talent", on_delete=models.PROTECT, related_name="twins")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} ({self.talent})"


class ConsentVersion(AppendOnlyModel):
    """One version of a twin's consent; the one in force at t has the latest effective_from <= t.

    A revocation is a version with `revoked` set, effective from the moment of revocation.
    """

    twin = models.ForeignKey(Twin, on_delete=models.PROTECT, related_name="consent_versions")
    version = models.PositiveIntegerField()
    effective_from = models.DateTimeField()
    allowed_kinds = tag_array()
    allowed_channels = tag_array()
    allowed_territories = tag_array()
    forbidden_contexts = tag_array()
    requires_output_approval = models.BooleanField(default=False)
    revoked = models.BooleanField(default=False)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["twin", "version"], name="consent_version_unique")
        ]
        indexes = [models.Index(fields=["twin", "effective_from"], name="consent_in_force_idx")]

    def __str__(self) -> str:
        return f"{self.twin} consent v{self.version}{' (revoked)' if self.revoked else ''}"
