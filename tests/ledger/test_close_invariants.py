"""Properties of the period close over random licenses, uses, reversals and late uses.

Each example builds its own parties and licenses (random rates: tiers, cpm, per publication,
revenue share, flat fee, minimum guarantee, advance; with and without an agency; EUR and JPY),
records uses over two or three months with reversals and late uses recorded after a close,
and closes the months in order. After every close it checks, against an independent
derivation from the journal:

1. coverage: every payee and brand posting the close had to cover is covered exactly once
   (through its transaction, with all its legs), and nothing else is;
2. documents: each statement's and invoice's lines are exactly the regrouped postings it
   covers, its totals are the sums of its lines, and the waterfall / invoice arithmetic holds
   (withholding, tax, payout rule, opening = previous closing);
3. reconciliation: per currency, the invoices' net equals the payees' net figures plus the
   platform's legs of the same transactions; every transaction balances;
4. balances: each payee's latest closing balance is minus its covered balance, less payouts;
5. charges: flat fees, top-ups and advance applications are the SPEC amounts.

Every example runs in a savepoint that is rolled back, so examples do not see each other.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from django.conf import settings as django_settings
from django.db.models import Sum
from django.test import override_settings
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from accounts.models import Agency, Talent
from ledger.models import (
    Charge,
    CloseRun,
    DocumentLine,
    Invoice,
    JournalTransaction,
    LedgerAccount,
    License,
    Posting,
    Statement,
    UsageEvent,
)
from ledger.money import Money
from ledger.periods import Period
from ledger.services.closing import coverage_fold_due, period_close_execute
from ledger.services.usage import usage_reverse
from ledger.services.verification import ledger_verify
from tests.factories import AgencyFactory, BrandFactory, TalentFactory
from tests.ledger.close_helpers import (
    COVERED_KINDS,
    PAYEE_KINDS,
    actual_lines,
    close,
    covered_periods,
    document_counts,
    expected_lines,
    issued_transactions,
    rhe,
    rolled_back,
    section_total,
)
from tests.ledger.scenario import END, START, Scenario, licensed, make_twin

Kind = LedgerAccount.Kind
TxKind = JournalTransaction.Kind
PERIODS = [Period.parse(label) for label in ("2026-03", "2026-04", "2026-05")]
APPLICABLE = (TxKind.USAGE, TxKind.REVERSAL, TxKind.FLAT_FEE, TxKind.MINIMUM_TOPUP)
SHARES = ("talent_minor", "commission_minor", "platform_fee_minor")


# -- strategies --------------------------------------------------------------------------------

pcts = st.sampled_from(["0", "7.5", "10", "12.5", "15", "33.3333"]).map(Decimal)
unit = st.integers(1, 20_000)
usually = st.sampled_from([True, True, False])  # sampled_from leans to its first values


@st.composite
def rates(draw) -> dict:
    out: dict = {}
    if draw(usually):
        out["per_asset"] = {
            "tiers": [
                {"up_to": draw(st.integers(1, 60)), "unit_minor": draw(unit)},
                {"up_to": None, "unit_minor": draw(unit)},
            ]
        }
    if draw(usually):
        out["cpm"] = {"social": draw(st.integers(1, 99_999))}
    if draw(usually):
        out["per_publication"] = {"social": draw(unit)}
    if draw(usually):
        out["revenue_share_pct"] = draw(st.sampled_from(["2.5", "5.5", "7.25", "12.3456", "50"]))
    if draw(st.booleans()):
        out["flat_fee_minor"] = draw(st.integers(1, 300_000))
    if draw(st.booleans()):
        out["minimum_guarantee_minor"] = draw(st.integers(1, 600_000))
    if draw(st.booleans()):
        out["advance_minor"] = draw(st.integers(1, 500_000))
    return out


activations = st.one_of(
    st.just(START),
    st.builds(
        lambda month, day, hour: datetime(2026, month, day, hour, tzinfo=UTC),
        st.sampled_from([3, 3, 4]),
        st.integers(1, 20),
        st.integers(0, 23),
    ),
)

# The term runs a random 10-80 days from activation (or March 1), or through 2026; it may end
# exactly at midnight (the days in force are half-open: that day is not charged).
term_lengths = st.one_of(st.none(), st.tuples(st.integers(10, 80), st.integers(0, 1439)))


def term_end(activated_at: datetime, length: tuple[int, int] | None) -> datetime:
    if length is None:
        return END
    begins = max(activated_at, PERIODS[0].start_at)
    return begins + timedelta(days=length[0], minutes=length[1])


kinds = st.sampled_from(["generation", "generation", "publication", "impressions", "sale"])
ops = st.one_of(
    st.tuples(
        st.just("use"), st.integers(0, 9), kinds, st.integers(1, 80), st.just(0), st.integers(1, 27)
    ),
    st.tuples(
        st.just("late"), st.integers(0, 9), kinds, st.integers(1, 80), st.integers(1, 2),
        st.integers(1, 27),
    ),
    st.tuples(st.just("reverse"), st.integers(0, 99)),
    st.tuples(st.just("fold")),  # the schedule's fold, between uses
)  # fmt: skip


@st.composite
def worlds(draw) -> dict:
    talents = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "agency": st.sampled_from([None, 0, 1]),
                    "withholding": pcts,
                    "payouts": st.booleans(),
                }
            ),
            min_size=1,
            max_size=2,
        )
    )
    licenses = []
    for _ in range(draw(st.integers(1, 3))):
        talent = draw(st.integers(0, len(talents) - 1))
        represented = talents[talent]["agency"] is not None
        licenses.append(
            {
                "talent": talent,
                "brand": draw(st.integers(0, 1)),
                "currency": draw(st.sampled_from(["EUR", "JPY"])),
                "rates": draw(rates()),
                "platform_fee": draw(st.sampled_from(["0", "10", "12.5", "15.5"])),
                "commission": draw(st.sampled_from([None, "0", "12.5", "33.3333"]))
                if represented
                else None,
                "activated_at": draw(activations),
                "term": draw(term_lengths),
            }
        )
    periods = draw(st.integers(2, 3))
    return {
        "agencies": draw(st.lists(pcts, min_size=2, max_size=2)),
        "brands": draw(st.lists(pcts, min_size=2, max_size=2)),
        "talents": talents,
        "licenses": licenses,
        "chunk": draw(st.sampled_from([1, 2, 200])),
        "ops": [draw(st.lists(ops, min_size=3, max_size=10)) for _ in range(periods)],
    }


# -- running a world ---------------------------------------------------------------------------


@dataclass
class Lic:
    s: Scenario
    spec: dict
    ends_at: datetime
    asset_ref: str
    advance_left: dict[str, int] | None = None
    advance_total: dict[str, int] | None = None


@dataclass
class State:
    licenses: list[Lic]
    uses: list[UsageEvent] = field(default_factory=list)
    reversed: set[int] = field(default_factory=set)
    payouts: dict[int, int] = field(default_factory=lambda: defaultdict(int))


def build(world: dict) -> State:
    agencies = [AgencyFactory(withholding_pct=pct) for pct in world["agencies"]]
    brands = [BrandFactory(tax_rate_pct=pct) for pct in world["brands"]]
    talents = [
        TalentFactory(
            agency=agencies[t["agency"]] if t["agency"] is not None else None,
            withholding_pct=t["withholding"],
            stripe_account_id="acct_test" if t["payouts"] else "",
            payouts_enabled=t["payouts"],
        )
        for t in world["talents"]
    ]
    found, uses = [], []
    for spec in world["licenses"]:
        ends_at = term_end(spec["activated_at"], spec["term"])
        talent, brand = talents[spec["talent"]], brands[spec["brand"]]
        twin = make_twin(talent)
        license = licensed(
            twin,
            brand,
            currency=spec["currency"],
            activated_at=spec["activated_at"],
            ends_at=ends_at,
            rates=spec["rates"],
            platform_fee_pct=Decimal(spec["platform_fee"]),
            agency_commission_pct=None
            if spec["commission"] is None
            else Decimal(spec["commission"]),
        )
        s = Scenario(talent=talent, twin=twin, brand=brand, license=license, agency=talent.agency)
        first = max(spec["activated_at"], PERIODS[0].start_at) + timedelta(hours=1)
        outcome = s.use("generation", occurred_at=first, now=first)
        assert outcome.status == "accepted", outcome.error
        lic = Lic(s, spec, ends_at, outcome.event.asset.asset_ref)
        if outcome.event.transaction_id:
            uses.append(outcome.event)
        advance = spec["rates"].get("advance_minor")
        if advance:
            lic.advance_left = check_advance_charge(lic, advance)
            lic.advance_total = dict(lic.advance_left)
        found.append(lic)
    return State(found, uses)


def split_of(lic: Lic, gross: int) -> dict[str, int]:
    version = lic.s.license.active_version
    commission_pct = version.agency_commission_pct if version.agency_id else Decimal(0)
    commission = rhe(Fraction(gross) * Fraction(commission_pct) / 100)
    fee = rhe(Fraction(gross) * Fraction(version.platform_fee_pct) / 100)
    return {
        "talent_minor": gross - commission - fee,
        "commission_minor": commission,
        "platform_fee_minor": fee,
    }


def check_advance_charge(lic: Lic, advance: int) -> dict[str, int]:
    """Charged once at activation, at the activation time, split like any gross."""
    charge = Charge.objects.get(kind=Charge.Kind.ADVANCE, license=lic.s.license)
    assert charge.transaction.occurred_at == lic.spec["activated_at"]
    assert charge.detail["gross_minor"] == advance
    shares = split_of(lic, advance)
    assert {k: charge.detail[k] for k in SHARES} == shares
    return {"gross_minor": advance, **shares}


def do_ops(state: State, k: int, period_ops: list) -> None:
    period = PERIODS[k]
    now = period.start_at + timedelta(days=27, hours=12)
    for op in period_ops:
        if op[0] == "fold":
            assert coverage_fold_due(now=now) is not None
            continue
        if op[0] == "reverse":
            open_ = [u for u in state.uses if u.transaction_id not in state.reversed]
            if open_:
                use = open_[op[1] % len(open_)]
                usage_reverse(event=use, reason="property test", now=now)
                state.reversed.add(use.transaction_id)
            continue
        _, index, kind, quantity, back, day = op
        lic = state.licenses[index % len(state.licenses)]
        target = PERIODS[max(0, k - back)]
        occurred_at = target.start_at + timedelta(days=day - 1, hours=9, minutes=index)
        extra: dict = {"quantity": quantity}
        if kind != "generation":
            extra["asset_ref"] = lic.asset_ref
        if kind == "impressions":
            extra["quantity"] = quantity * 997
        if kind == "sale":
            extra["sale_amount_minor"] = quantity * 12_345
        outcome = lic.s.use(kind, occurred_at=occurred_at, now=now, **extra)
        if outcome.status == "accepted" and outcome.event.transaction_id:
            state.uses.append(outcome.event)


# -- expectations computed before a close ------------------------------------------------------


def expected_charges(state: State, period: Period) -> dict[tuple[str, int], int]:
    """Flat fee and minimum-guarantee top-up of each license for the period (SPEC "Licenses")."""
    expected = {}
    for lic in state.licenses:
        rates_ = lic.spec["rates"]
        # The UTC dates that [max(start, activation), end) touches inside the period.
        first = max(START, lic.spec["activated_at"], period.start_at)
        until = min(lic.ends_at, period.end_at)
        if first >= until:
            continue
        days = ((until - timedelta(microseconds=1)).date() - first.date()).days + 1
        fee = 0
        if rates_.get("flat_fee_minor"):
            fee = rhe(Fraction(rates_["flat_fee_minor"] * days, period.days))
            if fee:
                expected[("flat_fee", lic.s.license.pk)] = fee
        guarantee = rates_.get("minimum_guarantee_minor")
        if guarantee:
            used = sum(
                use.gross_minor
                for use in UsageEvent.objects.filter(
                    license=lic.s.license,
                    occurred_at__gte=period.start_at,
                    occurred_at__lt=period.end_at,
                )
                if not JournalTransaction.objects.filter(reverses_id=use.transaction_id).exists()
            )
            if guarantee - used - fee > 0:
                expected[("minimum_topup", lic.s.license.pk)] = guarantee - used - fee
    return expected


# -- checks after a close ----------------------------------------------------------------------


def covered_kind_postings():
    return Posting.objects.filter(account__kind__in=COVERED_KINDS)


def check_coverage(run: CloseRun, runs: dict) -> None:
    period = Period(run.period_start)
    charges = set(
        Charge.objects.filter(period_start=period.start).values_list("transaction_id", flat=True)
    )
    must = {
        p.pk
        for p in covered_kind_postings().filter(occurred_at__lt=period.end_at)
        if p.transaction_id <= run.watermark or p.transaction_id in charges
    }
    # Coverage is per transaction, its primary key: a posting is covered once, with every
    # other leg of its transaction, in a period this close (or an earlier one) issued.
    covered = covered_periods(covered_kind_postings())
    issued = {pk for pk, start in covered.items() if start <= period.start}
    assert must <= issued, f"unissued postings {sorted(must - issued)}"
    # Each close, this one and every earlier one again, issued only what was meant for it:
    # nothing after its period's end, nothing above its watermark but its own entries; so no
    # fold since then (schedule or close) added to a period already issued.
    previous = date.min
    for start in sorted(runs):
        closed = runs[start]
        own = set(
            Charge.objects.filter(period_start=start).values_list("transaction_id", flat=True)
        )
        for tx in JournalTransaction.objects.filter(
            coverage__period_start__gt=previous, coverage__period_start__lte=start
        ):
            assert tx.occurred_at < Period(start).end_at
            assert tx.pk <= closed.watermark or tx.pk in own
        previous = start


def check_documents(run: CloseRun, state: State) -> None:
    period = Period(run.period_start)
    minimum = {
        c: Money.from_major(django_settings.LEDGER_MINIMUM_PAYOUT, c).minor for c in ("EUR", "JPY")
    }
    documents = {}
    for statement in Statement.objects.filter(period_start=period.start).select_related(
        "account", "talent", "agency"
    ):
        documents[statement.account_id] = statement
        assert statement.run_id == run.pk
        assert actual_lines(statement) == expected_lines(statement.account, period.start)
        previous = (
            Statement.objects.filter(account=statement.account, period_start__lt=period.start)
            .order_by("-period_start")
            .first()
        )
        assert statement.opening_minor == (previous.closing_minor if previous else 0)
        earnings = section_total(statement, "earnings")
        adjustments = section_total(statement, "adjustments")
        recouped = -section_total(statement, "advance")
        assert (statement.earnings_minor, statement.adjustments_minor) == (earnings, adjustments)
        assert statement.advance_recouped_minor == recouped
        assert statement.withholding_minor == -section_total(statement, "withholding")
        payee: Talent | Agency = statement.talent or statement.agency
        taxable = max(0, earnings + adjustments - recouped)
        assert statement.withholding_minor == rhe(
            Fraction(taxable) * Fraction(payee.withholding_pct) / 100
        )
        payable = statement.opening_minor + earnings + adjustments - recouped
        payable -= statement.withholding_minor
        assert statement.payable_minor == payable
        pays = (
            payable >= minimum[statement.currency]
            and payable > 0
            and bool(payee.stripe_account_id)
            and payee.payouts_enabled
        )
        assert statement.payout_minor == (payable if pays else 0)
        assert bool(statement.carry_forward_reason) == (not pays)
        assert statement.closing_minor == payable - statement.payout_minor
        state.payouts[statement.account_id] += statement.payout_minor
    for invoice in Invoice.objects.filter(period_start=period.start).select_related(
        "account", "brand"
    ):
        documents[invoice.account_id] = invoice
        assert invoice.run_id == run.pk
        assert actual_lines(invoice) == expected_lines(invoice.account, period.start)
        assert invoice.subtotal_minor == section_total(invoice, "earnings")
        assert invoice.adjustments_minor == section_total(invoice, "adjustments")
        assert invoice.advance_applied_minor == -section_total(invoice, "advance")
        net = invoice.subtotal_minor + invoice.adjustments_minor - invoice.advance_applied_minor
        assert invoice.net_minor == net
        assert invoice.tax_minor == rhe(Fraction(net) * Fraction(invoice.brand.tax_rate_pct) / 100)
        assert invoice.total_minor == net + invoice.tax_minor
        assert invoice.due_at == invoice.issued_at + timedelta(
            days=invoice.brand.payment_terms_days
        )
    # Every account with postings covered by this close has its document.
    accounts = set(
        covered_kind_postings()
        .filter(transaction_id__in=issued_transactions(period.start))
        .values_list("account_id", flat=True)
    )
    assert accounts <= set(documents)


def check_reconciliation(run: CloseRun) -> None:
    period = Period(run.period_start)
    tx_ids = {row["transaction_id"] for row in issued_transactions(period.start)}
    for tx_id, total in (
        Posting.objects.filter(transaction_id__in=tx_ids)
        .values("transaction_id")
        .annotate(total=Sum("amount_minor"))
        .values_list("transaction_id", "total")
    ):
        assert total == 0, f"transaction {tx_id} does not balance"
    brand_tx = Posting.objects.filter(
        transaction_id__in=issued_transactions(period.start), account__kind=Kind.BRAND_RECEIVABLE
    ).values("transaction_id")
    currencies = set(
        Posting.objects.filter(transaction_id__in=issued_transactions(period.start)).values_list(
            "currency", flat=True
        )
    )
    for currency in currencies:
        invoices = Invoice.objects.filter(period_start=period.start, currency=currency)
        invoiced = sum(invoices.values_list("net_minor", flat=True))
        payees = sum(
            s.earnings_minor + s.adjustments_minor - s.advance_recouped_minor
            for s in Statement.objects.filter(period_start=period.start, currency=currency)
        )
        platform = -(
            Posting.objects.filter(
                transaction_id__in=brand_tx,
                account__kind=Kind.PLATFORM_REVENUE,
                currency=currency,
            ).aggregate(s=Sum("amount_minor"))["s"]
            or 0
        )
        assert invoiced == payees + platform, (currency, invoiced, payees, platform)


def check_balances(state: State) -> None:
    # What the closes so far issued (the fold may have covered later months ahead).
    last_closed = CloseRun.objects.filter(status="done").order_by("-period_start").first()
    issued = Posting.objects.filter(
        transaction__coverage__period_start__lte=last_closed.period_start
    )
    for account in LedgerAccount.objects.filter(kind__in=PAYEE_KINDS):
        latest = Statement.objects.filter(account=account).order_by("-period_start").first()
        balance = issued.filter(account=account).aggregate(s=Sum("amount_minor"))["s"] or 0
        closing = latest.closing_minor if latest else 0
        assert closing == -balance - state.payouts[account.pk], account


def check_charges(period: Period, expected: dict) -> None:
    actual = {
        (c.kind, c.license_id): c.detail["gross_minor"]
        for c in Charge.objects.filter(
            period_start=period.start, kind__in=["flat_fee", "minimum_topup"]
        )
    }
    assert actual == expected


def check_advances(state: State, period: Period) -> None:
    """X = max(0, min(unapplied, G)), G the license gross (applicable kinds) this close covers;
    split(X), or each party's exact remaining share when X uses the advance up. A negative G
    gives back what was recouped: X = max(G, -recouped), the negated split of |X|, or each
    party's exact recouped share when it gives everything back."""
    gross: dict[int, int] = defaultdict(int)
    postings = Posting.objects.filter(
        transaction_id__in=issued_transactions(period.start),
        account__kind=Kind.BRAND_RECEIVABLE,
        transaction__kind__in=APPLICABLE,
    ).select_related("transaction")
    for p in postings:
        original = p.transaction.reverses_id or p.transaction_id
        use = UsageEvent.objects.filter(transaction_id=original).first()
        license_id = (
            use.license_id if use else Charge.objects.get(transaction_id=original).license_id
        )
        gross[license_id] += p.amount_minor
    for lic in state.licenses:
        left = lic.advance_left
        if left is None:
            continue
        covered = gross.get(lic.s.license.pk, 0)
        recouped = {k: lic.advance_total[k] - left[k] for k in ("gross_minor", *SHARES)}
        if covered >= 0:
            applied = min(left["gross_minor"], covered)
            exact = {k: left[k] for k in SHARES} if applied == left["gross_minor"] else None
        else:
            applied = max(covered, -recouped["gross_minor"])
            exact = (
                {k: -recouped[k] for k in SHARES} if applied == -recouped["gross_minor"] else None
            )
        charge = Charge.objects.filter(
            kind=Charge.Kind.ADVANCE_APPLICATION,
            license=lic.s.license,
            period_start=period.start,
        ).first()
        if not applied:
            assert charge is None
            continue
        assert charge is not None and charge.detail["applied_minor"] == applied
        if exact is not None:
            shares = exact
        else:
            sign = 1 if applied > 0 else -1
            shares = {k: sign * v for k, v in split_of(lic, abs(applied)).items()}
        assert {k: charge.detail[k] for k in SHARES} == shares
        legs = defaultdict(int)
        for kind, amount in charge.transaction.postings.values_list(
            "account__kind", "amount_minor"
        ):
            legs[kind] += amount
        assert dict(legs) == {
            k: v
            for k, v in {
                Kind.BRAND_RECEIVABLE: -applied,
                Kind.TALENT_PAYABLE: shares["talent_minor"],
                Kind.AGENCY_PAYABLE: shares["commission_minor"],
                Kind.PLATFORM_REVENUE: shares["platform_fee_minor"],
            }.items()
            if v
        }
        left["gross_minor"] -= applied
        for k in SHARES:
            left[k] -= shares[k]
        if left["gross_minor"] == 0:
            assert all(left[k] == 0 for k in SHARES), left


# -- the property ------------------------------------------------------------------------------


@settings(
    max_examples=20,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no slow "explain"
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_every_close_covers_once_sums_and_reconciles(db, world):
    with rolled_back(), override_settings(LEDGER_CLOSE_CHUNK=world["chunk"]):
        state = build(world)
        runs: dict = {}
        for k, period_ops in enumerate(world["ops"]):
            do_ops(state, k, period_ops)
            period = PERIODS[k]
            expected = expected_charges(state, period)
            run = close(period.label)
            runs[period.start] = run

            before = document_counts()
            period_close_execute(run_id=run.pk, now=period.end_at + timedelta(days=20))
            assert document_counts() == before

            check_charges(period, expected)
            check_advances(state, period)
            check_coverage(run, runs)
            check_documents(run, state)
            check_reconciliation(run)
            check_balances(state)
            # verify_ledger recomputes every figure of these documents from the journal on its
            # own: an untouched ledger, whatever the world, has nothing to report.
            assert ledger_verify().problems == []
        assert License.objects.count() == len(world["licenses"])
        describe()


def describe() -> None:
    """What the example exercised (see --hypothesis-show-statistics)."""
    lines = DocumentLine.objects.all()
    if lines.filter(section="adjustments", transaction_kind="usage").exists():
        event("a late use on a later statement")
    if lines.filter(section="adjustments", transaction_kind="reversal").exists():
        event("a reversal after its use's close")
    if Charge.objects.filter(kind="advance_application", detail__final=True).exists():
        event("an advance used up")
    elif Charge.objects.filter(kind="advance_application").exists():
        event("an advance partly applied")
    for kind in ("minimum_topup", "flat_fee", "withholding"):
        if Charge.objects.filter(kind=kind).exists():
            event(kind)
    if Statement.objects.filter(payout_minor__gt=0).exists():
        event("a payout")
    if Statement.objects.filter(agency__isnull=False).exists():
        event("an agency statement")
    if Invoice.objects.filter(currency="JPY").exists():
        event("a JPY invoice")
    event(f"{UsageEvent.objects.exclude(transaction=None).count() // 5 * 5}+ priced uses")
