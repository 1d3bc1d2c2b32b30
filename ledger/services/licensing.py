"""Licenses: proposed by a brand, approved by the talent (and its agency), activated once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from accounts.models import Agency, Brand, User
from ledger.errors import Conflict, ConsentConflictRefused, InvalidInput, NotAllowed, Refused
from ledger.fields import validate_currency
from ledger.models import License, LicenseActivation, LicenseDecision, LicenseVersion, Twin
from ledger.rates import Rates, RatesError
from ledger.selectors.licensing import (
    consent_history,
    consent_in_force,
    effective_from,
    versions_in_force_between,
)
from ledger.selectors.rights import version_conflicts
from ledger.services.charges import advance_charge_within
from ledger.validation import clean_kinds, clean_slugs, clean_territories, territories_overlap

MAX_SELL_OFF_DAYS = 3650
# A reporting window longer than a year is no window: the talent would learn of uses too late.
MAX_PRODUCING_REPORT_HOURS = 366 * 24
MAX_REPORTING_WINDOW_DAYS = 366


@dataclass(frozen=True)
class Terms:
    """What a brand proposes; validated by `clean_terms`."""

    use_kinds: list[str]
    channels: list[str]
    territories: list[str]
    brand_category: str
    starts_at: datetime
    ends_at: datetime
    rates: dict
    platform_fee_pct: Decimal
    agency_commission_pct: Decimal | None = None  # the agency's default when represented
    sell_off_days: int = 30
    producing_report_hours: int = 72
    reporting_window_days: int = 45
    exclusive: bool = False
    exclusivity_category: str = ""
    exclusivity_territories: list[str] = field(default_factory=list)


def license_propose(
    *,
    brand: Brand,
    twin: Twin,
    currency: str,
    terms: Terms,
    by: User | None = None,
    now: datetime | None = None,
) -> License:
    """A pending license with its first version of terms."""
    now = now or timezone.now()
    try:
        validate_currency(currency)
    except Exception:
        raise InvalidInput(
            f"Unknown currency {currency!r}.", code="unknown_currency", field="currency"
        ) from None
    with transaction.atomic():
        license = License.objects.create(brand=brand, twin=twin, currency=currency, created_at=now)
        _new_version(license=license, version=1, terms=terms, by=by, now=now)
    return license


def license_amend(
    *, license: License, terms: Terms, by: User | None = None, now: datetime | None = None
) -> LicenseVersion:
    """New terms as a new version, approved like the first; the current ones stay in force."""
    now = now or timezone.now()
    with transaction.atomic():
        license = License.objects.select_for_update().get(pk=license.pk)
        if license.status == License.Status.DECLINED:
            raise Conflict("A declined license cannot be amended.", code="license_declined")
        latest = license.versions.order_by("-version").first()
        if _state(latest) == "pending":
            raise Conflict(
                f"Version {latest.version} is still awaiting approval.", code="amendment_pending"
            )
        return _new_version(
            license=license, version=latest.version + 1, terms=terms, by=by, now=now
        )


def license_decide(
    *,
    version: LicenseVersion,
    party: str,
    approve: bool,
    by: User | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> LicenseVersion:
    """Record the talent's or the agency's decision; the last required approval activates.

    An approval (by either party) is refused, and not recorded, while the version asks for more
    than the twin's consent in force now (422 consent_conflict, naming each conflict): the talent
    widens the consent or the brand amends first. Activation is refused (and the approval not
    recorded) when it would overlap another active exclusive license of the same twin in
    category, territory and time.
    """
    now = now or timezone.now()
    with transaction.atomic():
        license = License.objects.select_for_update().get(pk=version.license_id)
        # The twin row serialises activations of its licenses, so two conflicting exclusive
        # licenses cannot both pass the overlap check at once.
        Twin.objects.select_for_update().get(pk=license.twin_id)
        version = LicenseVersion.objects.get(pk=version.pk)
        _check_party(version, party)
        if _state(version) != "pending":
            raise Conflict(
                f"Version {version.version} is already {_state(version)}.", code="already_decided"
            )
        if LicenseDecision.objects.filter(version=version, party=party).exists():
            raise Conflict(
                f"The {party} has already decided on this version.", code="already_decided"
            )

        if approve:
            # Under the twin's row lock, which consent changes take too: the consent checked is
            # the one in force when the approval is recorded.
            _refuse_consent_conflicts(version, license.twin_id, now)
        else:
            LicenseDecision.objects.create(
                version=version,
                party=party,
                decision="decline",
                reason=reason,
                decided_by=by,
                decided_at=now,
            )
            if license.active_version_id is None:
                license.status = License.Status.DECLINED
                license.save(update_fields=["status"])
            return version

        approved = set(version.decisions.filter(decision="approve").values_list("party", flat=True))
        if required_parties(version) <= approved | {party}:
            _refuse_exclusivity_conflict(version, now)
            LicenseDecision.objects.create(
                version=version,
                party=party,
                decision="approve",
                reason=reason,
                decided_by=by,
                decided_at=now,
            )
            LicenseActivation.objects.create(version=version, activated_at=now)
            advance_charge_within(version=version, activated_at=now, now=now)
            license.status = License.Status.ACTIVE
            license.active_version = version
            license.save(update_fields=["status", "active_version"])
        else:
            LicenseDecision.objects.create(
                version=version,
                party=party,
                decision="approve",
                reason=reason,
                decided_by=by,
                decided_at=now,
            )
        return version


def required_parties(version: LicenseVersion) -> set[str]:
    return {"talent", "agency"} if version.agency_id else {"talent"}


def _check_party(version: LicenseVersion, party: str) -> None:
    if party not in required_parties(version):
        raise NotAllowed(f"The {party} does not approve this license.", code="not_a_party")


def _state(version: LicenseVersion) -> str:
    if LicenseActivation.objects.filter(version=version).exists():
        return "active"
    if version.decisions.filter(decision="decline").exists():
        return "declined"
    return "pending"


def _refuse_consent_conflicts(version: LicenseVersion, twin_id: int, now: datetime) -> None:
    consent = consent_in_force(consent_history([twin_id]).get(twin_id, []), now)
    conflicts = version_conflicts(version, consent)
    if conflicts:
        raise ConsentConflictRefused(
            f"Version {version.version} asks for more than the twin's consent in force allows. "
            + " ".join(c.detail for c in conflicts)
            + " The talent can widen the consent, or the brand amend the terms.",
            conflicts=[c.as_dict() for c in conflicts],
        )


def _refuse_exclusivity_conflict(version: LicenseVersion, now: datetime) -> None:
    start = effective_from(version, activated_at=now)
    others = versions_in_force_between(
        twin_id=version.license.twin_id,
        start=start,
        end=version.ends_at,
        exclude_license=version.license_id,
    )
    for other in others:
        if not other.exclusive:
            continue
        category = other.exclusivity_category
        by_exclusivity = (
            version.exclusive
            and version.exclusivity_category == category
            and territories_overlap(version.exclusivity_territories, other.exclusivity_territories)
        )
        by_use = version.brand_category == category and territories_overlap(
            version.territories, other.exclusivity_territories
        )
        if by_exclusivity or by_use:
            raise Refused(
                f"License {other.license_id} holds exclusivity for {category!r} in "
                f"{', '.join(other.exclusivity_territories)} until {other.ends_at:%Y-%m-%d}, "
                "which this license overlaps.",
                code="exclusivity_conflict",
            )


def _new_version(
    *, license: License, version: int, terms: Terms, by: User | None, now: datetime
) -> LicenseVersion:
    cleaned = clean_terms(terms, agency=license.twin.talent.agency)
    return LicenseVersion.objects.create(
        license=license,
        version=version,
        agency=license.twin.talent.agency,
        proposed_by=by,
        proposed_at=now,
        **cleaned,
    )


def clean_terms(terms: Terms, *, agency: Agency | None) -> dict:
    if not timezone.is_aware(terms.starts_at) or not timezone.is_aware(terms.ends_at):
        raise InvalidInput(
            "Times must include a time zone.", code="invalid_datetime", field="starts_at"
        )
    if terms.ends_at <= terms.starts_at:
        raise InvalidInput(
            "The term must end after it starts.", code="invalid_term", field="ends_at"
        )
    if isinstance(terms.sell_off_days, bool) or not isinstance(terms.sell_off_days, int):
        raise InvalidInput(
            "Must be a whole number of days.", code="invalid_type", field="sell_off_days"
        )
    if not 0 <= terms.sell_off_days <= MAX_SELL_OFF_DAYS:
        raise InvalidInput("Out of range.", code="out_of_range", field="sell_off_days")
    for name, unit, most in (
        ("producing_report_hours", "hours", MAX_PRODUCING_REPORT_HOURS),
        ("reporting_window_days", "days", MAX_REPORTING_WINDOW_DAYS),
    ):
        value = getattr(terms, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(
                f"Must be a whole number of {unit}.", code="invalid_type", field=name
            )
        if not 1 <= value <= most:
            raise InvalidInput(
                f"Must be between 1 and {most} {unit}.", code="out_of_range", field=name
            )
    try:
        rates = Rates.parse(terms.rates)
    except RatesError as error:
        raise InvalidInput(error.detail, code="invalid_rates", field=error.field) from None
    platform_fee = _percent(terms.platform_fee_pct, "platform_fee_pct")
    if agency is None:
        commission = _percent(terms.agency_commission_pct or 0, "agency_commission_pct")
        if commission:
            raise InvalidInput(
                "The talent has no agency: the commission must be 0.",
                code="no_agency",
                field="agency_commission_pct",
            )
    elif terms.agency_commission_pct is None:
        commission = agency.default_commission_pct
    else:
        commission = _percent(terms.agency_commission_pct, "agency_commission_pct")
    if commission + platform_fee > 100:
        raise InvalidInput(
            "Commission and platform fee exceed 100%.",
            code="invalid_split",
            field="platform_fee_pct",
        )
    use_kinds = clean_kinds(terms.use_kinds, "use_kinds")
    if not use_kinds:
        raise InvalidInput("License at least one use kind.", code="required", field="use_kinds")
    category = (terms.brand_category or "").strip().lower()
    if not category:
        raise InvalidInput("A brand category is required.", code="required", field="brand_category")
    exclusivity_category = (terms.exclusivity_category or "").strip().lower()
    exclusivity_territories = clean_territories(
        terms.exclusivity_territories, "exclusivity_territories"
    )
    if terms.exclusive and (not exclusivity_category or not exclusivity_territories):
        raise InvalidInput(
            "Exclusivity needs a category and territories.",
            code="invalid_exclusivity",
            field="exclusivity_category",
        )
    territories = clean_territories(terms.territories, "territories")
    if not territories:
        raise InvalidInput("License at least one territory.", code="required", field="territories")
    return {
        "use_kinds": use_kinds,
        "channels": clean_slugs(terms.channels, "channels"),
        "territories": territories,
        "brand_category": category,
        "starts_at": terms.starts_at,
        "ends_at": terms.ends_at,
        "sell_off_days": terms.sell_off_days,
        "producing_report_hours": terms.producing_report_hours,
        "reporting_window_days": terms.reporting_window_days,
        "exclusive": bool(terms.exclusive),
        "exclusivity_category": exclusivity_category if terms.exclusive else "",
        "exclusivity_territories": exclusivity_territories if terms.exclusive else [],
        "rates": rates.to_json(),
        "agency_commission_pct": commission,
        "platform_fee_pct": platform_fee,
    }


def _percent(value, field: str) -> Decimal:
    if isinstance(value, float | bool):
        raise InvalidInput("Send percentages as decimal strings.", code="invalid_type", field=field)
    try:
        pct = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput("Not a number.", code="invalid_type", field=field) from None
    if not pct.is_finite() or not 0 <= pct <= 100 or pct.as_tuple().exponent < -4:
        raise InvalidInput(
            "Must be 0-100 with at most 4 decimals.", code="out_of_range", field=field
        )
    return pct
