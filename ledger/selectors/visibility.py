"""Who sees what: the one place that scopes reads to the caller's party.

A `Viewer` is what a request knows about its caller: the brands it acts for (a brand API key
acts for its brand; a person for the brands they are a member of), the talent it is, the
agencies it belongs to, and whether it acts as platform finance (sees everything). A person can
hold several roles at once; they then see the union of what each role sees.

Finance powers need the second factor on every path (accounts.second_factor.acts_as_finance):
a finance account whose session has not passed it is no finance here, and since it has no other
party, every scope below is empty for it, never "everything".

    brand   -> its own usage, refusals, assets and licenses, and the twins it holds licenses for
    talent  -> everything about its own twins (uses, refusals, licenses, assets), whoever the brand
    agency  -> the same for the twins of the talents it represents now
    finance -> everything

Every list and every lookup by id in the API goes through these querysets, so an object another
party owns is simply not found (404), never "forbidden" (which would confirm that it exists).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import AgencyMembership, BrandMembership, Talent, User
from accounts.second_factor import acts_as_finance, second_factor_pending
from ledger.models import (
    Asset,
    ConsentVersion,
    Invoice,
    JournalTransaction,
    LateReport,
    License,
    RefusedAttempt,
    Statement,
    Twin,
    UsageEvent,
)

# Brand roles that may act (propose licenses...) and not only read (billing reads invoices).
BRAND_WRITER_ROLES = {BrandMembership.Role.ADMIN, BrandMembership.Role.MEMBER}


@dataclass(frozen=True, slots=True)
class Viewer:
    user: User | None = None
    api_key_id: str | None = None
    brand_ids: frozenset[int] = field(default_factory=frozenset)
    writer_brand_ids: frozenset[int] = field(default_factory=frozenset)
    talent_id: int | None = None
    agency_ids: frozenset[int] = field(default_factory=frozenset)
    finance: bool = False
    # Finance or staff, logged in by password, second factor not passed: callers refuse with
    # `second_factor_required` rather than a plain "not yours".
    second_factor_pending: bool = False

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None

    def owns_twin(self, twin: Twin) -> bool:
        return self.talent_id is not None and twin.talent_id == self.talent_id

    def in_agency(self, agency_id: int | None) -> bool:
        return agency_id is not None and agency_id in self.agency_ids

    def _scope(self, *, brand: str | None, talent: str | None, agency: str | None) -> Q | None:
        """Q over the given paths (None: that role sees nothing here); None overall = all."""
        if self.finance:
            return None
        q = Q(pk__in=[])
        if brand and self.brand_ids:
            q |= Q(**{f"{brand}__in": self.brand_ids})
        if talent and self.talent_id is not None:
            q |= Q(**{talent: self.talent_id})
        if agency and self.agency_ids:
            q |= Q(**{f"{agency}__in": self.agency_ids})
        return q


def viewer_for_user(user: User) -> Viewer:
    if not user.is_authenticated or not user.is_active:
        return Viewer()
    memberships = list(BrandMembership.objects.filter(user=user).values_list("brand_id", "role"))
    talent_id = Talent.objects.filter(user=user).values_list("pk", flat=True).first()
    agency_ids = AgencyMembership.objects.filter(user=user).values_list("agency_id", flat=True)
    return Viewer(
        user=user,
        brand_ids=frozenset(brand for brand, _ in memberships),
        writer_brand_ids=frozenset(b for b, role in memberships if role in BRAND_WRITER_ROLES),
        talent_id=talent_id,
        agency_ids=frozenset(agency_ids),
        finance=acts_as_finance(user),
        second_factor_pending=second_factor_pending(user),
    )


def viewer_for_api_key(*, key_id: str, brand_id: int) -> Viewer:
    brands = frozenset({brand_id})
    return Viewer(api_key_id=key_id, brand_ids=brands, writer_brand_ids=brands)


def _scoped(queryset: QuerySet, scope: Q | None) -> QuerySet:
    return queryset if scope is None else queryset.filter(scope)


def twins_visible_to(viewer: Viewer) -> QuerySet[Twin]:
    scope = viewer._scope(brand=None, talent="talent_id", agency="talent__agency_id")
    if scope is not None and viewer.brand_ids:
        scope |= Q(
            Exists(License.objects.filter(twin=OuterRef("pk"), brand_id__in=viewer.brand_ids))
        )
    return _scoped(Twin.objects.all(), scope).order_by("-pk")


def consent_versions_of(twin: Twin) -> QuerySet[ConsentVersion]:
    """A visible twin's consent history, the one in force latest first."""
    return ConsentVersion.objects.filter(twin=twin).order_by("-effective_from", "-version")


def licenses_visible_to(viewer: Viewer) -> QuerySet[License]:
    scope = viewer._scope(
        brand="brand_id", talent="twin__talent_id", agency="twin__talent__agency_id"
    )
    return _scoped(License.objects.all(), scope).order_by("-pk")


def usage_events_visible_to(viewer: Viewer) -> QuerySet[UsageEvent]:
    scope = viewer._scope(
        brand="brand_id", talent="twin__talent_id", agency="twin__talent__agency_id"
    )
    return with_reversal_state(_scoped(UsageEvent.objects.all(), scope)).order_by("-pk")


def with_reversal_state(events: QuerySet[UsageEvent]) -> QuerySet[UsageEvent]:
    """Annotate `is_reversed`: the use's journal transaction has a reversal."""
    return events.select_related("asset").annotate(
        is_reversed=Exists(
            JournalTransaction.objects.filter(reverses_id=OuterRef("transaction_id"))
        )
    )


def mark_reversal_state(events: list[UsageEvent]) -> None:
    """Set `is_reversed` (and load `asset`) on events fetched without the annotation, in two
    queries however many there are."""
    pending = [e for e in events if not hasattr(e, "is_reversed")]
    if not pending:
        return
    tx_ids = {e.transaction_id for e in pending if e.transaction_id is not None}
    reversed_ids = (
        set(
            JournalTransaction.objects.filter(reverses_id__in=tx_ids).values_list(
                "reverses_id", flat=True
            )
        )
        if tx_ids
        else set()
    )
    missing_assets = {e.asset_id for e in pending if not UsageEvent.asset.is_cached(e)}
    assets = Asset.objects.in_bulk(missing_assets) if missing_assets else {}
    for event in pending:
        event.is_reversed = event.transaction_id in reversed_ids
        if event.asset_id in assets:
            event.asset = assets[event.asset_id]


def refused_attempts_visible_to(viewer: Viewer) -> QuerySet[RefusedAttempt]:
    scope = viewer._scope(
        brand="brand_id", talent="twin__talent_id", agency="twin__talent__agency_id"
    )
    return _scoped(RefusedAttempt.objects.all(), scope).order_by("-pk")


def late_reports_visible_to(viewer: Viewer) -> QuerySet[LateReport]:
    """Held (and decided) late reports: the talent's twins', the agency's talents', the brand's
    own; finance all. Decision and consent version loaded."""
    scope = viewer._scope(
        brand="brand_id", talent="twin__talent_id", agency="twin__talent__agency_id"
    )
    return (
        _scoped(LateReport.objects.all(), scope)
        .select_related("decision", "consent_version", "twin__talent")
        .order_by("-pk")
    )


def assets_visible_to(viewer: Viewer) -> QuerySet[Asset]:
    scope = viewer._scope(
        brand="brand_id", talent="twin__talent_id", agency="twin__talent__agency_id"
    )
    return _scoped(Asset.objects.all(), scope).order_by("-pk")


def usage_events_filter(
    events: QuerySet[UsageEvent], filters: dict[str, Any]
) -> QuerySet[UsageEvent]:
    """Narrow a visible usage feed by the API's query filters (already validated)."""
    if "license" in filters:
        events = events.filter(license_id=filters["license"])
    if "twin" in filters:
        events = events.filter(twin_id=filters["twin"])
    if "kind" in filters:
        events = events.filter(kind=filters["kind"])
    if "occurred_after" in filters:
        events = events.filter(occurred_at__gte=filters["occurred_after"])
    if "occurred_before" in filters:
        events = events.filter(occurred_at__lt=filters["occurred_before"])
    return events


def statements_visible_to(viewer: Viewer) -> QuerySet[Statement]:
    """A talent's own statements; an agency's own and its talents'; finance all; brands none."""
    scope = viewer._scope(brand=None, talent="talent_id", agency="agency_id")
    if scope is not None and viewer.agency_ids:
        scope |= Q(talent__agency_id__in=viewer.agency_ids)
    return _scoped(Statement.objects.all(), scope).order_by("-pk")


def invoices_visible_to(viewer: Viewer) -> QuerySet[Invoice]:
    """A brand's own invoices (members and API keys); finance all."""
    scope = viewer._scope(brand="brand_id", talent=None, agency=None)
    return _scoped(Invoice.objects.all(), scope).order_by("-pk")
