"""Reads behind the portal's consent, licensing and brand pages.

Everything starts from the visibility selectors (so another party's objects are never found),
then narrows to the role the page is for: a person may be a talent and a brand member at once,
and the talent's pages must not list what they see as a brand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import (
    BigIntegerField,
    CharField,
    Count,
    F,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from accounts.models import Brand, BrandAPIKey, BrandMembership
from ledger.gateways.sandbox import is_sandbox_id
from ledger.models import Asset, Invoice, InvoiceBilling, License, LicenseVersion, Twin
from ledger.periods import Period
from ledger.selectors.history import (
    mark_current_consent,
    version_state,
    with_consent_history,
    with_license_history,
)
from ledger.selectors.licensing import consent_in_force
from ledger.selectors.rights import LicenseRights, mark_rights
from ledger.selectors.visibility import (
    Viewer,
    assets_visible_to,
    invoices_visible_to,
    late_reports_visible_to,
    licenses_visible_to,
    refused_attempts_visible_to,
    twins_visible_to,
    usage_events_visible_to,
)

# --- twins and consent -------------------------------------------------------------------------


def twins_of_talent(viewer: Viewer) -> QuerySet[Twin]:
    """The viewer's own twins (as their talent)."""
    return twins_visible_to(viewer).filter(talent_id=viewer.talent_id).select_related("talent")


def twins_of_agency(viewer: Viewer) -> QuerySet[Twin]:
    """The twins of the talents the viewer's agencies represent now."""
    return (
        twins_visible_to(viewer)
        .filter(talent__agency_id__in=viewer.agency_ids)
        .select_related("talent")
    )


def twins_with_consent(twins: QuerySet[Twin], *, at: datetime) -> list[Twin]:
    """The twins with `current_consent` set (None if they have none in force)."""
    found = list(with_consent_history(twins))
    mark_current_consent(found, at=at)
    return found


def consent_history_of(twin: Twin) -> list:
    """A visible twin's consent versions, latest first, with who made each."""
    return list(
        twin.consent_versions.select_related("created_by").order_by("-effective_from", "-version")
    )


def current_consent(history: list, *, at: datetime):
    return consent_in_force(history, at)


def active_licenses_of_twin(viewer: Viewer, twin: Twin) -> list[License]:
    """The twin's active licenses (for the revocation page's sell-off dates)."""
    return list(
        licenses_visible_to(viewer)
        .filter(twin=twin, status=License.Status.ACTIVE)
        .select_related("brand", "active_version")
    )


# --- assets ------------------------------------------------------------------------------------


def assets_of_talent(viewer: Viewer) -> QuerySet[Asset]:
    return (
        assets_visible_to(viewer)
        .filter(twin__talent_id=viewer.talent_id)
        .select_related("twin", "brand", "license", "decided_by", "image")
    )


# --- licenses ----------------------------------------------------------------------------------


@dataclass
class LicenseRow:
    """One license as a page shows it: current terms, the version awaiting a decision (if any),
    each version's state and decisions, and whether the viewing party is asked to decide."""

    license: License
    shown: LicenseVersion  # the terms in force, else the latest proposal
    pending: LicenseVersion | None
    versions: list[tuple[LicenseVersion, str]]  # (version, state), newest first
    awaits_me: bool = False
    decided: dict[str, str] = field(default_factory=dict)  # party -> decision on `pending`
    ended: bool = False
    rights: LicenseRights | None = None  # effective rights, conflicts of the pending version
    # Filled by the page: the terms in plain language.
    text: str = ""
    split: str = ""
    pending_text: str = ""
    pending_split: str = ""
    history: list[dict] = field(default_factory=list)
    effective_text: str = ""
    removed_text: str = ""
    conflicts: list[dict] = field(default_factory=list)

    @property
    def group(self) -> str:
        if self.awaits_me:
            return "needs_you"
        if self.license.status == License.Status.ACTIVE and not self.ended:
            return "active"
        if self.license.status == License.Status.PENDING:
            return "waiting"
        return "past"


def license_rows(
    licenses: QuerySet[License], *, party: str | None, now: datetime
) -> list[LicenseRow]:
    """Rows for `licenses` (already scoped); `party` is "talent", "agency" or None (brand).

    Each with its rights (rights.mark_rights): every twin's consent history in one query.
    """
    rows = []
    found = list(with_license_history(licenses.select_related("brand", "twin__talent")))
    mark_rights(found, now=now)
    for license in found:
        versions = list(license.versions.all())
        states = [(v, version_state(v)) for v in versions]
        pending = next((v for v, state in states if state == "pending"), None)
        active = next((v for v, state in states if state == "active"), None)
        shown = active or versions[0]
        decided = {}
        if pending is not None:
            decided = {d.party: d.decision for d in pending.decisions.all()}
        awaits = (
            party is not None
            and pending is not None
            and party in ({"talent", "agency"} if pending.agency_id else {"talent"})
            and party not in decided
        )
        rows.append(
            LicenseRow(
                license=license,
                shown=shown,
                pending=pending,
                versions=states,
                awaits_me=awaits,
                decided=decided,
                ended=active is not None and active.ends_at < now,
                rights=license.rights,
            )
        )
    return rows


def licenses_of_talent(viewer: Viewer) -> QuerySet[License]:
    return licenses_visible_to(viewer).filter(twin__talent_id=viewer.talent_id)


def licenses_of_agency(viewer: Viewer) -> QuerySet[License]:
    return licenses_visible_to(viewer).filter(twin__talent__agency_id__in=viewer.agency_ids)


def licenses_of_brands(viewer: Viewer) -> QuerySet[License]:
    return licenses_visible_to(viewer).filter(brand_id__in=viewer.brand_ids)


# --- brands ------------------------------------------------------------------------------------


def brands_of(viewer: Viewer, *, writer: bool = False) -> list[Brand]:
    ids = viewer.writer_brand_ids if writer else viewer.brand_ids
    return list(Brand.objects.filter(pk__in=ids).order_by("name"))


def admin_brand_ids(viewer: Viewer) -> frozenset[int]:
    """Brands the viewer administers (admins manage API keys)."""
    if viewer.user is None:
        return frozenset()
    return frozenset(
        BrandMembership.objects.filter(
            user=viewer.user, brand_id__in=viewer.brand_ids, role=BrandMembership.Role.ADMIN
        ).values_list("brand_id", flat=True)
    )


def api_keys_of(viewer: Viewer) -> QuerySet[BrandAPIKey]:
    return (
        BrandAPIKey.objects.filter(brand_id__in=viewer.brand_ids)
        .select_related("brand", "created_by")
        .order_by("revoked", "-created")
    )


def requestable_twins(viewer: Viewer) -> QuerySet[Twin]:
    """Twins a brand already knows (it holds or asked for a license on them). Any other twin is
    requested by the ID its talent or agency gives, as in the API."""
    return (
        twins_visible_to(viewer)
        .filter(licenses__brand_id__in=viewer.brand_ids)
        .select_related("talent")
        .distinct()
        .order_by("name", "pk")
    )


def brand_usage_feed(
    viewer: Viewer,
    *,
    license_id: int | None = None,
    kind: str = "",
    outcome: str = "",
) -> QuerySet:
    """The brand's accepted uses, held late reports and refused attempts in one list, newest
    recorded first. (A late report once accepted is its use; once declined, a refused attempt.)

    One UNION query of the same columns, so the page can paginate across all three.
    """
    brands = viewer.brand_ids
    events = usage_events_visible_to(viewer).filter(brand_id__in=brands)
    refusals = refused_attempts_visible_to(viewer).filter(brand_id__in=brands)
    reports = late_reports_visible_to(viewer).filter(brand_id__in=brands, decision__isnull=True)
    if license_id is not None:
        events = events.filter(license_id=license_id)
        refusals = refusals.filter(license_id=license_id)
        reports = reports.filter(license_id=license_id)
    if kind:
        events = events.filter(kind=kind)
        refusals = refusals.filter(kind=kind)
        reports = reports.filter(kind=kind)
    # Each side's columns, in the same order (values() with expressions keeps their order).
    accepted = events.order_by().values(
        row_id=F("pk"),
        outcome=Value("accepted", output_field=CharField()),
        external_ref=F("external_id"),
        license_ref=F("license_id"),
        twin_name=F("twin__name"),
        use_kind=F("kind"),
        use_channel=F("channel"),
        use_territory=F("territory"),
        when=F("occurred_at"),
        recorded=F("recorded_at"),
        units=F("quantity"),
        gross=F("gross_minor"),
        row_currency=F("license__currency"),
        reason_code=Value("", output_field=CharField()),
        reason_text=Value("", output_field=CharField()),
    )
    refused = refusals.order_by().values(
        row_id=F("pk"),
        outcome=Value("refused", output_field=CharField()),
        external_ref=F("external_id"),
        license_ref=F("license_id"),
        twin_name=F("twin__name"),
        use_kind=F("kind"),
        use_channel=F("channel"),
        use_territory=F("territory"),
        when=F("occurred_at"),
        recorded=F("recorded_at"),
        units=Value(None, output_field=BigIntegerField()),
        gross=Value(None, output_field=BigIntegerField()),
        row_currency=F("license__currency"),
        reason_code=F("code"),
        reason_text=F("detail"),
    )
    held = reports.order_by().values(
        row_id=F("pk"),
        outcome=Value("held", output_field=CharField()),
        external_ref=F("external_id"),
        license_ref=F("license_id"),
        twin_name=F("twin__name"),
        use_kind=F("kind"),
        use_channel=F("channel"),
        use_territory=F("territory"),
        when=F("occurred_at"),
        recorded=F("recorded_at"),
        units=F("quantity"),
        gross=Value(None, output_field=BigIntegerField()),
        row_currency=F("license__currency"),
        reason_code=F("reason"),
        reason_text=F("detail"),
    )
    if outcome == "accepted":
        feed = accepted
    elif outcome == "refused":
        feed = refused
    elif outcome == "held":
        feed = held
    else:
        feed = accepted.union(held, refused, all=True)
    return feed.order_by("-recorded", "-row_id")


@dataclass
class BrandSummary:
    active_licenses: int
    pending_licenses: int
    uses_this_month: int
    gross_this_month: list[tuple[str, int]]  # (currency, minor)
    open_invoices: int
    open_totals: list[tuple[str, int]]


OPEN_BILLING = (
    InvoiceBilling.Status.PENDING,
    InvoiceBilling.Status.SENT,
    InvoiceBilling.Status.PAYMENT_FAILED,
    InvoiceBilling.Status.FAILED,
)


def brand_summary(viewer: Viewer, *, now: datetime) -> BrandSummary:
    licenses = licenses_of_brands(viewer)
    active = licenses.filter(status=License.Status.ACTIVE, active_version__ends_at__gte=now).count()
    pending = licenses.filter(status=License.Status.PENDING).count()
    period = Period.of(now)
    uses = (
        usage_events_visible_to(viewer)
        .filter(brand_id__in=viewer.brand_ids, period_start=period.start)
        .order_by()
        .values("license__currency")
        .annotate(n=Count("pk"), gross=Coalesce(Sum("gross_minor"), 0))
        .order_by("license__currency")
    )
    uses = list(uses)
    open_invoices = (
        invoices_of_brands(viewer)
        .filter(billing__status__in=OPEN_BILLING)
        .order_by()
        .values("currency")
        .annotate(n=Count("pk"), total=Sum("total_minor"))
        .order_by("currency")
    )
    open_invoices = list(open_invoices)
    return BrandSummary(
        active_licenses=active,
        pending_licenses=pending,
        uses_this_month=sum(row["n"] for row in uses),
        gross_this_month=[(row["license__currency"], row["gross"]) for row in uses],
        open_invoices=sum(row["n"] for row in open_invoices),
        open_totals=[(row["currency"], row["total"]) for row in open_invoices],
    )


def invoices_of_brands(viewer: Viewer) -> QuerySet[Invoice]:
    return invoices_visible_to(viewer).filter(brand_id__in=viewer.brand_ids)


@dataclass
class BillingState:
    status: str  # InvoiceBilling.Status value, or "none" (nothing to bill)
    label: str
    sandbox: bool
    billing: InvoiceBilling | None


def with_billing(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    return invoices.select_related("billing", "brand")


def billing_of(invoice: Invoice) -> BillingState:
    """Like billing_state, for an invoice loaded with `with_billing` (no query)."""
    try:
        billing = invoice.billing
    except InvoiceBilling.DoesNotExist:
        return BillingState("none", "Nothing to pay", False, None)
    return BillingState(
        billing.status,
        billing.get_status_display(),
        is_sandbox_id(billing.stripe_invoice_id),
        billing,
    )
