"""A payee's money, live from the journal: what a talent (or an agency's commission) earned, where
it stands on its way to the bank, what is left of advances, and earnings by month and by brand.

A payee is a talent (its talent payable accounts, one per currency) or an agency (its agency
payable accounts). Every figure here is a sum of postings or of documents of record, never a
stored balance. Postings to a payable account are credits (negative) when the payee earns, so
amounts are negated to read as "what we owe you".

The pipeline, per currency:
    pending  = earnings not yet on a statement (postings no close has covered yet)
    payable  = on issued statements, not yet paid out (carried forward, or payout in flight)
    paid     = payouts Stripe (or the sandbox) accepted
and pending + payable = the account's whole balance, so nothing falls between the stages.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth

from ledger.models import Charge, JournalTransaction, LedgerAccount, Payout, Posting
from ledger.money import Money
from ledger.periods import Period
from ledger.selectors.finance import latest_close_done
from ledger.selectors.visibility import Viewer, licenses_visible_to

TALENT, AGENCY = "talent", "agency"
TxKind = JournalTransaction.Kind

# What a payee earns (and the reversals of it); payouts and withholding move money it already
# earned, and advance applications recoup what an advance paid earlier.
EARNING_KINDS = [
    TxKind.USAGE,
    TxKind.FLAT_FEE,
    TxKind.MINIMUM_TOPUP,
    TxKind.ADVANCE,
    TxKind.ADJUSTMENT,
]
EARNINGS = Q(transaction__kind__in=EARNING_KINDS) | Q(
    transaction__kind=TxKind.REVERSAL, transaction__reverses__kind__in=EARNING_KINDS
)
# A payout and its reversal are on the way out; everything else waits for a statement.
PAYOUT_MOVES = Q(transaction__kind=TxKind.PAYOUT) | Q(
    transaction__kind=TxKind.REVERSAL, transaction__reverses__kind=TxKind.PAYOUT
)


def viewer_as(viewer: Viewer, role: str) -> Viewer:
    """The viewer narrowed to one role: a person who is both a talent and an agency member sees
    on the talent pages only what the talent sees (and likewise for the agency)."""
    if role == TALENT:
        return Viewer(user=viewer.user, talent_id=viewer.talent_id)
    if role == AGENCY:
        return Viewer(user=viewer.user, agency_ids=viewer.agency_ids)
    raise ValueError(f"Not a payee role: {role!r}")


def payee_accounts(viewer: Viewer, role: str) -> QuerySet[LedgerAccount]:
    """The payable accounts whose money the role's pages show."""
    if role == TALENT:
        if viewer.talent_id is None:
            return LedgerAccount.objects.none()
        return LedgerAccount.objects.filter(
            kind=LedgerAccount.Kind.TALENT_PAYABLE, talent_id=viewer.talent_id
        )
    if role == AGENCY:
        return LedgerAccount.objects.filter(
            kind=LedgerAccount.Kind.AGENCY_PAYABLE, agency_id__in=viewer.agency_ids
        )
    raise ValueError(f"Not a payee role: {role!r}")


def _owed_by_currency(postings: QuerySet[Posting]) -> dict[str, int]:
    """What the postings owe the payee, per currency (credits to a payable account, negated)."""
    rows = postings.values_list("currency").annotate(total=Sum("amount_minor"))
    return {currency: -int(total or 0) for currency, total in rows}


@dataclass(frozen=True, slots=True)
class MoneyPipeline:
    currency: str
    earned_this_period_minor: int
    pending_minor: int
    payable_minor: int
    in_flight_minor: int  # part of payable: payouts created, not yet accepted by Stripe
    paid_minor: int
    next_close: date
    next_payout_minor: int  # what the next close would pay on today's figures (0: nothing)
    next_payout_note: str  # why nothing would be paid, when nothing would
    minimum_payout_minor: int


def next_close_date(now: datetime) -> date:
    """When the current period's close runs: its end plus the grace days for late uses."""
    return Period.of(now).end_at.date() + timedelta(days=settings.LEDGER_CLOSE_GRACE_DAYS)


def money_pipeline(
    *, accounts: QuerySet[LedgerAccount], can_receive_payouts: bool, now: datetime
) -> list[MoneyPipeline]:
    """The payee's money per currency: this period's earnings, pending, payable, paid, and the
    next payout on today's figures (before the next close's withholding and advance recoupment,
    which it cannot know yet)."""
    postings = Posting.objects.filter(account__in=accounts, occurred_at__lte=now)
    period = Period.of(now)
    earned = _owed_by_currency(postings.filter(EARNINGS, occurred_at__gte=period.start_at))
    balance = _owed_by_currency(postings)
    # Not on a statement yet: not covered, or covered in a period no close has issued yet
    # (the fold covers ahead of the close).
    unissued = postings.exclude(PAYOUT_MOVES)
    last = latest_close_done()
    if last:
        unissued = unissued.exclude(transaction__coverage__period_start__lte=last.period_start)
    pending = _owed_by_currency(unissued)
    payouts = Payout.objects.filter(account__in=accounts)
    paid = _payout_totals(payouts.filter(status=Payout.Status.SENT))
    in_flight = _payout_totals(payouts.filter(status=Payout.Status.PENDING))
    currencies = sorted(set(balance) | set(paid) | set(accounts.values_list("currency", flat=True)))
    found = []
    for currency in currencies:
        owed = balance.get(currency, 0)
        flying = in_flight.get(currency, 0)
        minimum = Money.from_major(settings.LEDGER_MINIMUM_PAYOUT, currency).minor
        next_amount = owed - flying
        note = _carry_forward_note(next_amount, minimum, can_receive_payouts)
        found.append(
            MoneyPipeline(
                currency=currency,
                earned_this_period_minor=earned.get(currency, 0),
                pending_minor=pending.get(currency, 0),
                payable_minor=owed - pending.get(currency, 0),
                in_flight_minor=flying,
                paid_minor=paid.get(currency, 0),
                next_close=next_close_date(now),
                next_payout_minor=0 if note else next_amount,
                next_payout_note=note,
                minimum_payout_minor=minimum,
            )
        )
    return found


def _payout_totals(payouts: QuerySet[Payout]) -> dict[str, int]:
    rows = payouts.values_list("currency").annotate(total=Sum("amount_minor"))
    return {currency: int(total or 0) for currency, total in rows}


def _carry_forward_note(amount: int, minimum: int, can_receive_payouts: bool) -> str:
    """The close's own reasons (services.documents), in the same order."""
    if amount <= 0:
        return "Nothing payable yet."
    if amount < minimum:
        return "Below the minimum payout: carried forward to the next statement."
    if not can_receive_payouts:
        return "No payout account yet: connect Stripe on the Payouts page to be paid."
    return ""


@dataclass(frozen=True, slots=True)
class AdvanceLeft:
    license_id: int
    label: str
    currency: str
    advance_minor: int  # the payee's share of the advance
    recouped_minor: int
    unrecouped_minor: int


def unrecouped_advances(*, viewer: Viewer, role: str) -> list[AdvanceLeft]:
    """Per visible license with an advance: the payee's share of it, and how much of that later
    closes have recouped so far (the `Charge` rows of charges.advance_application_within)."""
    share = "talent_minor" if role == TALENT else "commission_minor"
    licenses = licenses_visible_to(viewer_as(viewer, role))
    if role == AGENCY:
        # Commission belongs to the agency on the license's terms, not to any agency member.
        licenses = licenses.filter(versions__agency_id__in=viewer.agency_ids).distinct()
    advances = (
        Charge.objects.filter(kind=Charge.Kind.ADVANCE, license__in=licenses)
        .select_related("license__brand", "license__twin")
        .order_by("license_id")
    )
    applied: dict[int, int] = defaultdict(int)
    for license_id, detail in Charge.objects.filter(
        kind=Charge.Kind.ADVANCE_APPLICATION, license__in=licenses
    ).values_list("license_id", "detail"):
        applied[license_id] += int(detail.get(share, 0))
    found = []
    for advance in advances:
        total = int(advance.detail.get(share, 0))
        if not total:
            continue
        license = advance.license
        found.append(
            AdvanceLeft(
                license_id=license.pk,
                label=f"#{license.pk} {license.brand.name} — {license.twin}",
                currency=license.currency,
                advance_minor=total,
                recouped_minor=applied[license.pk],
                unrecouped_minor=total - applied[license.pk],
            )
        )
    return found


def earnings_by_month(
    *, accounts: QuerySet[LedgerAccount], now: datetime, months: int = 12
) -> dict[str, list[tuple[str, int]]]:
    """Per currency, (YYYY-MM, earned) for the last `months` periods up to now, oldest first,
    every month present (zero when nothing was earned)."""
    labels = [Period.of(now)]
    while len(labels) < months:
        labels.insert(0, labels[0].previous())
    rows = (
        Posting.objects.filter(
            EARNINGS,
            account__in=accounts,
            occurred_at__gte=labels[0].start_at,
            occurred_at__lte=now,
        )
        .annotate(month=TruncMonth("occurred_at", tzinfo=UTC))
        .values_list("currency", "month")
        .annotate(total=Sum("amount_minor"))
    )
    by_currency: dict[str, dict[str, int]] = defaultdict(dict)
    for currency, month, total in rows:
        by_currency[currency][Period.of(month).label] = -int(total or 0)
    return {
        currency: [(p.label, totals.get(p.label, 0)) for p in labels]
        for currency, totals in sorted(by_currency.items())
    }


def earnings_by_brand(
    *, accounts: QuerySet[LedgerAccount], since: datetime, now: datetime
) -> dict[str, list[tuple[str, int]]]:
    """Per currency, (brand, earned) since `since`, largest first. A posting's brand is its use's
    or its charge's license's (and for a reversal, the reversed entry's)."""
    tx = "transaction__"
    brand = Coalesce(
        F(f"{tx}usage_event__brand__name"),
        F(f"{tx}charge__license__brand__name"),
        F(f"{tx}reverses__usage_event__brand__name"),
        F(f"{tx}reverses__charge__license__brand__name"),
    )
    rows = (
        Posting.objects.filter(
            EARNINGS, account__in=accounts, occurred_at__gte=since, occurred_at__lte=now
        )
        .annotate(brand=brand)
        .values_list("currency", "brand")
        .annotate(total=Sum("amount_minor"))
    )
    by_currency: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for currency, name, total in rows:
        by_currency[currency].append((name or "Other", -int(total or 0)))
    return {
        currency: sorted(rows, key=lambda row: (-row[1], row[0]))
        for currency, rows in sorted(by_currency.items())
    }


def payouts_of(*, accounts: QuerySet[LedgerAccount]) -> QuerySet[Payout]:
    """The payee's payouts, newest first, with the statement each pays."""
    return (
        Payout.objects.filter(account__in=accounts)
        .select_related("statement")
        .order_by("-created_at", "-pk")
    )


__all__ = [
    "AGENCY",
    "TALENT",
    "AdvanceLeft",
    "MoneyPipeline",
    "earnings_by_brand",
    "earnings_by_month",
    "money_pipeline",
    "next_close_date",
    "payee_accounts",
    "payouts_of",
    "unrecouped_advances",
    "viewer_as",
]
