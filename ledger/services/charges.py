"""What the platform charges itself, not per use: advances, flat fees, minimum-guarantee top-ups,
and the advance applications of a close (SPEC "Licenses" rates and "Advance application").

Each charge is one journal transaction plus a `Charge` row saying how its amount was reached.
Both are keyed so that charging twice is impossible: the journal's (source, key) and the
charge's (kind, license, account, period) unique constraints.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Sum

from ledger.models import (
    Charge,
    JournalTransaction,
    License,
    LicenseVersion,
    UsageEvent,
)
from ledger.money import Money, split
from ledger.periods import Period
from ledger.rates import Rates
from ledger.selectors.licensing import activated_versions, effective_from
from ledger.services.journal import Leg, journal_post_within
from ledger.services.postings import AccountCache, Kind, revenue_legs

CLOSE_SOURCE = "close"


def advance_charge_within(
    *, version: LicenseVersion, activated_at: datetime, now: datetime
) -> Charge | None:
    """Charge a license's advance when it is first activated (inside the activation's atomic).

    Posted and split like a flat fee, on the activation period's statements and invoice; later
    closes recoup it (advance_application_within). One advance per license: an amendment's
    advance is not charged again.
    """
    amount = Rates.parse(version.rates).advance_minor
    license = version.license
    if not amount or Charge.objects.filter(kind=Charge.Kind.ADVANCE, license=license).exists():
        return None
    gross = Money(amount, license.currency)
    parts = _split_for(version, gross)
    result = journal_post_within(
        kind=JournalTransaction.Kind.ADVANCE,
        source=f"license:{license.pk}",
        idempotency_key="advance",
        occurred_at=activated_at,
        legs=_legs(version, gross, AccountCache()),
        memo=f"Advance for license {license.pk}",
        now=now,
    )
    return Charge.objects.create(
        kind=Charge.Kind.ADVANCE,
        transaction=result.transaction,
        license=license,
        detail={
            "version": version.version,
            "gross_minor": gross.minor,
            "talent_minor": parts.talent.minor,
            "commission_minor": parts.commission.minor,
            "platform_fee_minor": parts.platform_fee.minor,
            "agency_commission_pct": str(version.agency_commission_pct),
            "platform_fee_pct": str(version.platform_fee_pct),
        },
        created_at=now,
    )


@dataclass(frozen=True, slots=True)
class _InForce:
    """A license, the UTC dates of the period it was in force, and its latest terms then."""

    license: License
    days: set
    latest: LicenseVersion  # the version in force last in the period


def period_charges_post(*, period: Period, now: datetime) -> int:
    """Flat fees, then minimum-guarantee top-ups, for every license in force in the period.

    Licenses already charged for the period are skipped, so a re-run posts only what is missing.
    Returns how many charges were posted.
    """
    in_force = _licenses_in_force(period)
    if not in_force:
        return 0
    done = set(
        Charge.objects.filter(
            period_start=period.start,
            kind__in=[Charge.Kind.FLAT_FEE, Charge.Kind.MINIMUM_TOPUP],
        ).values_list("kind", "license_id")
    )
    uses_gross = _uses_gross_in(period, [f.license.pk for f in in_force])
    posted = 0
    accounts = AccountCache()
    for state in in_force:
        rates = Rates.parse(state.latest.rates)
        if not (rates.flat_fee_minor or rates.minimum_guarantee_minor):
            continue
        with transaction.atomic(durable=True):
            fee = _flat_fee(state, rates, period)
            if fee and (Charge.Kind.FLAT_FEE, state.license.pk) not in done:
                _post_charge(
                    kind=Charge.Kind.FLAT_FEE,
                    state=state,
                    gross=fee,
                    period=period,
                    detail={
                        "version": state.latest.version,
                        "flat_fee_minor": rates.flat_fee_minor,
                        "active_days": len(state.days),
                        "days_in_period": period.days,
                    },
                    accounts=accounts,
                    now=now,
                )
                posted += 1
            guarantee = rates.minimum_guarantee_minor
            if guarantee and (Charge.Kind.MINIMUM_TOPUP, state.license.pk) not in done:
                used = uses_gross.get(state.license.pk, 0)
                short = guarantee - used - fee.minor
                if short > 0:
                    _post_charge(
                        kind=Charge.Kind.MINIMUM_TOPUP,
                        state=state,
                        gross=Money(short, state.license.currency),
                        period=period,
                        detail={
                            "version": state.latest.version,
                            "minimum_guarantee_minor": guarantee,
                            "uses_gross_minor": used,
                            "flat_fee_minor": fee.minor,
                        },
                        accounts=accounts,
                        now=now,
                    )
                    posted += 1
    return posted


def advance_application_within(
    *,
    advance: Charge,
    covered_gross: int,
    period: Period,
    accounts: AccountCache,
    now: datetime,
) -> Charge | None:
    """Recoup an advance from the license gross this close covers (SPEC "Advance application").

    X = max(0, min(unapplied, G)); the brand is credited X and each party debited its share.
    The application that uses the advance up takes each party's exact remaining share, so over
    the license's life every party recoups exactly its share of the advance.

    When G is negative (reversals outweigh new charges) the SPEC formula gives 0, and the brand
    would end up paying less than the advance, against the SPEC's own "the brand pays
    max(advance, total gross) in the end; so does the talent's share". So a negative G gives
    back what was recouped, down to nothing: X = max(G, -recouped so far), the exact negation
    of an application (the one that gives back everything takes each party's exact recouped
    share). For G >= 0 this is the SPEC formula unchanged.
    """
    remaining = _advance_remaining(advance)
    recouped = {name: advance.detail[name] - remaining[name] for name in ("gross_minor", *_SHARES)}
    if covered_gross >= 0:
        applied = min(remaining["gross_minor"], covered_gross)
        exact = (
            {name: remaining[name] for name in _SHARES}
            if applied == remaining["gross_minor"]
            else None
        )
    else:
        applied = max(covered_gross, -recouped["gross_minor"])
        exact = (
            {name: -recouped[name] for name in _SHARES}
            if applied == -recouped["gross_minor"]
            else None
        )
    if not applied:
        return None
    currency = advance.license.currency
    if exact is not None:
        shares = exact
    else:
        parts = split(
            Money(abs(applied), currency),
            agency_commission_pct=Decimal(advance.detail["agency_commission_pct"]),
            platform_fee_pct=Decimal(advance.detail["platform_fee_pct"]),
        )
        sign = 1 if applied > 0 else -1
        shares = {
            "talent_minor": sign * parts.talent.minor,
            "commission_minor": sign * parts.commission.minor,
            "platform_fee_minor": sign * parts.platform_fee.minor,
        }
    license = advance.license
    version = license.active_version
    legs = [
        Leg(
            accounts.get(Kind.BRAND_RECEIVABLE, currency, brand=license.brand),
            Money(-applied, currency),
        ),
        Leg(
            accounts.get(Kind.TALENT_PAYABLE, currency, talent=license.twin.talent),
            Money(shares["talent_minor"], currency),
        ),
    ]
    if shares["commission_minor"]:
        legs.append(
            Leg(
                accounts.get(Kind.AGENCY_PAYABLE, currency, agency=_advance_agency(advance)),
                Money(shares["commission_minor"], currency),
            )
        )
    if shares["platform_fee_minor"]:
        legs.append(
            Leg(
                accounts.get(Kind.PLATFORM_REVENUE, currency),
                Money(shares["platform_fee_minor"], currency),
            )
        )
    result = journal_post_within(
        kind=JournalTransaction.Kind.ADVANCE_APPLICATION,
        source=CLOSE_SOURCE,
        idempotency_key=f"advance_application:{license.pk}:{period.label}",
        occurred_at=period.last_instant,
        legs=[leg for leg in legs if leg.amount],
        memo=f"Advance applied against license {license.pk}, {period}",
        now=now,
    )
    return Charge.objects.create(
        kind=Charge.Kind.ADVANCE_APPLICATION,
        transaction=result.transaction,
        license=license,
        period_start=period.start,
        detail={
            "version": version.version if version else None,
            "unapplied_before_minor": remaining["gross_minor"],
            "covered_gross_minor": covered_gross,
            "applied_minor": applied,
            "final": applied == remaining["gross_minor"],
            "exact_shares": exact is not None,
            **shares,
        },
        created_at=now,
    )


_SHARES = ("talent_minor", "commission_minor", "platform_fee_minor")


def _advance_remaining(advance: Charge) -> dict[str, int]:
    """What is left of the advance and of each party's share after earlier applications."""
    remaining = {"gross_minor": advance.detail["gross_minor"]}
    remaining.update({name: advance.detail[name] for name in _SHARES})
    for application in Charge.objects.filter(
        kind=Charge.Kind.ADVANCE_APPLICATION, license_id=advance.license_id
    ).only("detail"):
        remaining["gross_minor"] -= application.detail["applied_minor"]
        for name in _SHARES:
            remaining[name] -= application.detail[name]
    return remaining


def _advance_agency(advance: Charge):
    version = LicenseVersion.objects.select_related("agency").get(
        license_id=advance.license_id, version=advance.detail["version"]
    )
    return version.agency


def _split_for(version: LicenseVersion, gross: Money):
    return split(
        gross,
        agency_commission_pct=version.agency_commission_pct if version.agency_id else Decimal(0),
        platform_fee_pct=version.platform_fee_pct,
    )


def _legs(version: LicenseVersion, gross: Money, accounts: AccountCache) -> list[Leg]:
    license = version.license
    return revenue_legs(
        gross=gross,
        brand=license.brand,
        talent=license.twin.talent,
        agency=version.agency,
        agency_commission_pct=version.agency_commission_pct,
        platform_fee_pct=version.platform_fee_pct,
        accounts=accounts,
    )


def _post_charge(
    *,
    kind: str,
    state: _InForce,
    gross: Money,
    period: Period,
    detail: dict,
    accounts: AccountCache,
    now: datetime,
) -> Charge:
    license = state.license
    result = journal_post_within(
        kind=kind,
        source=CLOSE_SOURCE,
        idempotency_key=f"{kind}:{license.pk}:{period.label}",
        occurred_at=period.last_instant,
        legs=_legs(state.latest, gross, accounts),
        memo=f"{Charge.Kind(kind).label}, license {license.pk}, {period}",
        now=now,
    )
    return Charge.objects.create(
        kind=kind,
        transaction=result.transaction,
        license=license,
        period_start=period.start,
        detail={**detail, "gross_minor": gross.minor},
        created_at=now,
    )


def _flat_fee(state: _InForce, rates: Rates, period: Period) -> Money:
    """round_half_even(fee * active_days / days_in_period); the latest terms' fee applies."""
    currency = state.license.currency
    if not rates.flat_fee_minor:
        return Money.zero(currency)
    return Money(rates.flat_fee_minor, currency).ratio(len(state.days), period.days)


def _licenses_in_force(period: Period) -> list[_InForce]:
    """Licenses with terms in force on at least one day of the period, and which days."""
    # Only licenses some of whose terms carry a flat fee or a guarantee have anything to charge.
    charging = LicenseVersion.objects.filter(
        rates__has_any_keys=["flat_fee_minor", "minimum_guarantee_minor"]
    ).values("license_id")
    licenses = {
        lic.pk: lic
        for lic in License.objects.filter(
            active_version__isnull=False, pk__in=charging
        ).select_related("brand", "twin__talent")
    }
    found = []
    for license_id, versions in sorted(activated_versions(licenses).items()):
        days: set = set()
        latest = None
        taken_over = None  # when a newer version took over
        for version in versions:  # newest first
            begins = effective_from(version, activated_at=version.activation.activated_at)
            ends = version.ends_at if taken_over is None else min(version.ends_at, taken_over)
            # Charged per day in force: a term ending at midnight does not reach the next day.
            low, high = max(begins, period.start_at), min(ends, period.end_at)
            if low < high:
                days.update(_dates(low, high))
                if latest is None:
                    latest = version
            taken_over = begins if taken_over is None else min(begins, taken_over)
        if latest is not None:
            for version in versions:
                version.license = licenses[license_id]
            found.append(_InForce(licenses[license_id], days, latest))
    return found


def _dates(low: datetime, high: datetime) -> set:
    """The UTC dates the half-open interval [low, high) touches."""
    first, last = low.date(), (high - timedelta(microseconds=1)).date()
    return {first.fromordinal(d) for d in range(first.toordinal(), last.toordinal() + 1)}


def _uses_gross_in(period: Period, license_ids: list[int]) -> dict[int, int]:
    """Gross of each license's uses that occurred in the period and were not reversed."""
    reversed_ = JournalTransaction.objects.filter(reverses_id=OuterRef("transaction_id"))
    rows = (
        UsageEvent.objects.filter(
            license_id__in=license_ids,
            occurred_at__gte=period.start_at,
            occurred_at__lt=period.end_at,
        )
        .exclude(Exists(reversed_))
        .values("license_id")
        .annotate(gross=Sum("gross_minor"))
    )
    totals: dict[int, int] = defaultdict(int)
    for row in rows:
        totals[row["license_id"]] += row["gross"] or 0
    return totals
