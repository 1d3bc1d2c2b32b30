"""Late reports as the portal shows them: a payee role's feed and the count waiting for it."""

from __future__ import annotations

from django.db.models import QuerySet

from ledger.models import LateReport
from ledger.selectors.earnings import viewer_as
from ledger.selectors.visibility import Viewer, late_reports_visible_to


def late_reports_feed(*, viewer: Viewer, role: str) -> QuerySet[LateReport]:
    """Every late report of the role's twins, held ones first, then newest first."""
    return (
        late_reports_visible_to(viewer_as(viewer, role))
        .select_related("brand", "license", "twin", "decision__decided_by")
        .order_by("decision", "-recorded_at", "-pk")
    )


def late_reports_held_count(*, viewer: Viewer, role: str) -> int:
    """How many wait for a decision (the number beside the menu entry)."""
    return (
        late_reports_visible_to(viewer_as(viewer, role))
        .filter(decision__isnull=True)
        .order_by()
        .count()
    )
