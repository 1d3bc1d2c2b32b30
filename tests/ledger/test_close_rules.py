"""The period close, one rule at a time (SPEC "Licenses", "Rating and rounding", "Advance
application", "Period close", "Statement waterfall", "Brand invoice").

Each test's expected figures are worked out by hand in its docstring; the assertions are exact
integers in minor units. Scenario defaults: EUR, 10% platform fee, and 20% agency commission
(the agency's default) when the talent is represented.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.models import Brand, Talent
from ledger.errors import Conflict
from ledger.models import (
    Charge,
    CloseChunk,
    CloseRun,
    Coverage,
    CoverageFold,
    DocumentLine,
    Invoice,
    JournalTransaction,
    LedgerAccount,
    Posting,
    Statement,
    UsageEvent,
)
from ledger.models.append_only import AppendOnlyError
from ledger.periods import Period
from ledger.services.closing import period_close_execute, period_close_request
from ledger.services.usage import usage_reverse
from tests.ledger.close_helpers import (
    account_of,
    actual_lines,
    at,
    close,
    close_now,
    covered_periods,
    document_counts,
    enable_payouts,
    expected_lines,
    figures,
    invoice_of,
    lines_of,
    rhe,
    statement_of,
    waterfall,
)
from tests.ledger.scenario import Scenario, scenario

# Licenses that start with the first month closed (earlier months would be owed fees too).
MARCH_1 = datetime(2026, 3, 1, tzinfo=UTC)

pytestmark = pytest.mark.django_db

Kind = LedgerAccount.Kind


def one_tier(unit_minor: int) -> dict:
    """Every asset at the same price."""
    return {"tiers": [{"up_to": None, "unit_minor": unit_minor}]}


def record(s: Scenario, kind: str = "generation", *, occurred_at: datetime, **kw) -> UsageEvent:
    """An accepted use, recorded a minute after it happened (unless `now` says otherwise)."""
    kw.setdefault("now", occurred_at + timedelta(minutes=1))
    outcome = s.use(kind, occurred_at=occurred_at, **kw)
    assert outcome.status == "accepted", outcome.error
    return outcome.event


def line(section, license, kind, tx_kind, channel, units, entries, gross, commission, fee, amount):
    return {
        "section": section,
        "license_id": license.pk if license else None,
        "kind": kind,
        "transaction_kind": tx_kind,
        "channel": channel,
        "units": units,
        "entries": entries,
        "gross_minor": gross,
        "commission_minor": commission,
        "fee_minor": fee,
        "amount_minor": amount,
    }


def statement_waterfall(
    opening=0, earnings=0, adjustments=0, recouped=0, withholding=0, payout=0
) -> dict[str, int]:
    payable = opening + earnings + adjustments - recouped - withholding
    return {
        "opening_minor": opening,
        "earnings_minor": earnings,
        "adjustments_minor": adjustments,
        "advance_recouped_minor": recouped,
        "withholding_minor": withholding,
        "payable_minor": payable,
        "payout_minor": payout,
        "closing_minor": payable - payout,
    }


def invoice_figures(subtotal=0, adjustments=0, applied=0, tax=0) -> dict[str, int]:
    net = subtotal + adjustments - applied
    return {
        "subtotal_minor": subtotal,
        "adjustments_minor": adjustments,
        "advance_applied_minor": applied,
        "net_minor": net,
        "tax_minor": tax,
        "total_minor": net + tax,
    }


# -- rating ------------------------------------------------------------------------------------


def test_a_tier_crossing_inside_one_event(solo):
    """Tiers: first 100 assets of the period at 40.00, then 30.00 (SPEC example).

    Use 1: 90 assets           -> 90 x 4000                 = 360_000
    Use 2: 20 assets (91..110) -> 10 x 4000 + 10 x 3000     =  70_000
    gross 430_000; platform fee per use 10%: 36_000 + 7_000 = 43_000; talent 387_000.
    Invoice: subtotal 430_000, no tax (rate 0), total 430_000, due 30 days after issue.
    Statement: earnings 387_000; no payout account -> all carried forward.
    """
    s = solo
    record(s, quantity=90, occurred_at=at("2026-03-05"))
    second = record(s, quantity=20, occurred_at=at("2026-03-10"))
    assert second.gross_minor == 70_000

    close("2026-03")

    statement = statement_of("2026-03", talent=s.talent)
    assert waterfall(statement) == statement_waterfall(earnings=387_000)
    assert statement.carry_forward_reason == "no payout account yet"
    assert lines_of(statement) == [
        line(
            "earnings",
            s.license,
            "generation",
            "usage",
            "social",
            110,
            2,
            430_000,
            0,
            43_000,
            387_000,
        )
    ]
    invoice = invoice_of("2026-03", s.brand)
    assert figures(invoice) == invoice_figures(subtotal=430_000)
    assert invoice.due_at == invoice.issued_at + timedelta(days=30)
    assert lines_of(invoice) == [
        line(
            "earnings",
            s.license,
            "generation",
            "usage",
            "social",
            110,
            2,
            430_000,
            0,
            43_000,
            430_000,
        )
    ]


def test_b_cpm_rounds_half_even_per_event_and_tax_too(db):
    """cpm 333 minor per 1,000 impressions (social).

    1,500 impressions: 1500 x 333 / 1000 = 499.5 -> 500 (ties to the even 500: up)
    2,500 impressions: 2500 x 333 / 1000 = 832.5 -> 832 (ties to the even 832: down)
    gross 1_332; fee 10%: 50.0 -> 50, 83.2 -> 83 = 133; talent 450 + 749 = 1_199.
    Brand tax 12.5%: 1332 x 12.5 / 100 = 166.5 -> 166 (even); total 1_498; terms 45 days.
    """
    s = scenario(rates={"cpm": {"social": 333}})
    Brand.objects.filter(pk=s.brand.pk).update(tax_rate_pct=Decimal("12.5"), payment_terms_days=45)
    asset = s.asset(occurred_at=at("2026-03-01"), now=at("2026-03-01"))  # priced at zero
    up = record(
        s, "impressions", asset_ref=asset.asset_ref, quantity=1500, occurred_at=at("2026-03-05")
    )
    down = record(
        s, "impressions", asset_ref=asset.asset_ref, quantity=2500, occurred_at=at("2026-03-06")
    )
    assert (up.gross_minor, down.gross_minor) == (500, 832)

    close("2026-03")

    assert waterfall(statement_of("2026-03", talent=s.talent)) == statement_waterfall(
        earnings=1_199
    )
    invoice = invoice_of("2026-03", s.brand)
    assert figures(invoice) == invoice_figures(subtotal=1_332, tax=166)
    assert invoice.due_at == invoice.issued_at + timedelta(days=45)
    assert lines_of(invoice) == [
        line("earnings", s.license, "impressions", "usage", "social", 4000, 2, 1_332, 0, 133, 1_332)
    ]


def test_c_revenue_share_rounds_half_even(db):
    """revenue share 5.5% of the reported sale amount.

    sale 10_100: 10100 x 5.5 / 100 = 555.5 -> 556 (even: up)
    sale 10_300: 10300 x 5.5 / 100 = 566.5 -> 566 (even: down)
    gross 1_122; fee 10%: 55.6 -> 56, 56.6 -> 57 = 113; talent 500 + 509 = 1_009.
    """
    s = scenario(rates={"revenue_share_pct": "5.5"})
    asset = s.asset(occurred_at=at("2026-03-01"), now=at("2026-03-01"))
    record(
        s, "sale", asset_ref=asset.asset_ref, sale_amount_minor=10_100, occurred_at=at("2026-03-05")
    )
    record(
        s, "sale", asset_ref=asset.asset_ref, sale_amount_minor=10_300, occurred_at=at("2026-03-06")
    )

    close("2026-03")

    statement = statement_of("2026-03", talent=s.talent)
    assert waterfall(statement) == statement_waterfall(earnings=1_009)
    assert lines_of(statement) == [
        line("earnings", s.license, "sale", "usage", "social", 2, 2, 1_122, 0, 113, 1_009)
    ]
    assert figures(invoice_of("2026-03", s.brand)) == invoice_figures(subtotal=1_122)


# -- charges of the close ----------------------------------------------------------------------


def test_d_flat_fee_pro_rata_from_mid_month_then_a_full_month(db):
    """Flat fee 1,000.00 a period; license in force from 2026-03-10 00:00 UTC.

    March: active days 10..31 = 22 of 31 -> 100000 x 22 / 31 = 70967.74... -> 70_968
           fee 10%: 7096.8 -> 7_097; talent 70968 - 7097 = 63_871.
    April: all 30 days -> 100_000; fee 10_000; talent 90_000; opening 63_871 carried.
    """
    start = datetime(2026, 3, 10, tzinfo=UTC)
    s = scenario(rates={"flat_fee_minor": 100_000}, starts_at=start, activated_at=start)

    close("2026-03")
    charge = Charge.objects.get(kind="flat_fee", license=s.license, period_start="2026-03-01")
    assert charge.detail["active_days"] == 22
    assert charge.detail["days_in_period"] == 31
    assert charge.detail["gross_minor"] == 70_968
    assert charge.transaction.occurred_at == Period.parse("2026-03").last_instant
    march = statement_of("2026-03", talent=s.talent)
    assert waterfall(march) == statement_waterfall(earnings=63_871)
    assert lines_of(march) == [
        line("earnings", s.license, "flat_fee", "flat_fee", "", 0, 1, 70_968, 0, 7_097, 63_871)
    ]
    assert figures(invoice_of("2026-03", s.brand)) == invoice_figures(subtotal=70_968)

    close("2026-04")
    assert waterfall(statement_of("2026-04", talent=s.talent)) == statement_waterfall(
        opening=63_871, earnings=90_000
    )
    assert figures(invoice_of("2026-04", s.brand)) == invoice_figures(subtotal=100_000)


@pytest.mark.parametrize(("fee", "expected"), [(100_001, 50_000), (100_003, 50_002)])
def test_d_flat_fee_half_a_month_rounds_half_even(db, fee, expected):
    """In force from 2026-04-16: days 16..30 = 15 of 30, exactly half the fee.

    100001 / 2 = 50000.5 -> 50_000 (even: down); 100003 / 2 = 50001.5 -> 50_002 (even: up).
    """
    start = datetime(2026, 4, 16, tzinfo=UTC)
    s = scenario(rates={"flat_fee_minor": fee}, starts_at=start, activated_at=start)

    close("2026-04")

    assert figures(invoice_of("2026-04", s.brand)) == invoice_figures(subtotal=expected)
    assert Charge.objects.get(kind="flat_fee", license=s.license).detail["active_days"] == 15


def test_e_minimum_guarantee_tops_up_the_shortfall_and_not_when_met(db):
    """Guarantee G = 500.00, flat fee F = 100.00, assets at 40.00.

    March: 2 assets, U = 8_000; U + F = 18_000 < 50_000 -> top-up 50000 - 8000 - 10000 = 32_000.
      Talent: uses 2 x (4000 - 400) = 7_200; fee 10_000 - 1_000 = 9_000;
              top-up 32_000 - 3_200 = 28_800; earnings 45_000. Invoice subtotal 50_000.
    April: 10 assets, U = 40_000; U + F = 50_000 = G -> no top-up.
      Talent: 36_000 + 9_000 = 45_000; invoice subtotal 50_000.
    """
    s = scenario(
        rates={
            "per_asset": one_tier(4000),
            "flat_fee_minor": 10_000,
            "minimum_guarantee_minor": 50_000,
        },
        starts_at=MARCH_1,
        activated_at=MARCH_1,
    )
    record(s, occurred_at=at("2026-03-05"))
    record(s, occurred_at=at("2026-03-06"))
    record(s, quantity=10, occurred_at=at("2026-04-05"))

    close("2026-03")
    topup = Charge.objects.get(kind="minimum_topup", license=s.license)
    assert topup.period_start.isoformat() == "2026-03-01"
    assert topup.detail == {
        "version": 1,
        "minimum_guarantee_minor": 50_000,
        "uses_gross_minor": 8_000,
        "flat_fee_minor": 10_000,
        "gross_minor": 32_000,
    }
    assert waterfall(statement_of("2026-03", talent=s.talent)) == statement_waterfall(
        earnings=45_000
    )
    assert figures(invoice_of("2026-03", s.brand)) == invoice_figures(subtotal=50_000)
    assert [ln["kind"] for ln in lines_of(invoice_of("2026-03", s.brand))] == [
        "flat_fee",
        "generation",
        "minimum_topup",
    ]

    close("2026-04")
    assert not Charge.objects.filter(kind="minimum_topup", period_start="2026-04-01").exists()
    assert Charge.objects.filter(kind="flat_fee", license=s.license).count() == 2
    assert waterfall(statement_of("2026-04", talent=s.talent)) == statement_waterfall(
        opening=45_000, earnings=45_000
    )
    assert figures(invoice_of("2026-04", s.brand)) == invoice_figures(subtotal=50_000)


def test_f_an_advance_recouped_over_two_periods_each_party_exactly_its_share(db):
    """Advance A = 100.05, activated 2026-03-01, agency 20%, platform 10%, assets at 10.15.

    Advance split: commission 2001.0 -> 2_001; fee 1000.5 -> 1_000 (even); talent 7_004.
    March: 1 asset, G1 = 1_015 < A -> applied X1 = 1_015, split(1015):
           commission 203.0 -> 203; fee 101.5 -> 102 (even); talent 710.
      Talent: earnings 7_004 + 710 = 7_714, recouped 710, payable 7_004.
      Agency: earnings 2_001 + 203 = 2_204, recouped 203, payable 2_001.
      Invoice: subtotal 10_005 + 1_015 = 11_020, advance applied 1_015, net 10_005.
    Remaining: gross 8_990; talent 7004-710 = 6_294; agency 2001-203 = 1_798; platform 898.
      (split(8990) would be 1_798 / 899 / 6_293: the final application must not use it.)
    April: 10 assets, G2 = 10_150 > 8_990 -> applied exactly 8_990 with the remaining shares.
      Use split: commission 2_030, fee 1_015, talent 7_105.
      Talent: opening 7_004, earnings 7_105, recouped 6_294, payable 7_815.
      Agency: opening 2_001, earnings 2_030, recouped 1_798, payable 2_233.
      Invoice: subtotal 10_150, applied 8_990, net 1_160.
    Life: talent recouped 710 + 6_294 = 7_004 = its share of A; agency 2_001; platform 1_000.
      Brand paid 10_005 + 1_160 = 11_165 = max(A, total gross 1_015 + 10_150).
    May: 1 asset; nothing left to apply.
    """
    activated = datetime(2026, 3, 1, tzinfo=UTC)
    s = scenario(
        agency=True,
        activated_at=activated,
        rates={"per_asset": one_tier(1015), "advance_minor": 10_005},
    )
    advance = Charge.objects.get(kind="advance", license=s.license)
    assert advance.transaction.occurred_at == activated
    assert (
        advance.detail["talent_minor"],
        advance.detail["commission_minor"],
        advance.detail["platform_fee_minor"],
    ) == (7_004, 2_001, 1_000)
    # The remaining shares are not the split of the remaining gross (checked by hand above).
    assert (rhe(Fraction(8990 * 20, 100)), rhe(Fraction(8990 * 10, 100))) == (1_798, 899)

    record(s, occurred_at=at("2026-03-10"))
    close("2026-03")
    first = Charge.objects.get(kind="advance_application", period_start="2026-03-01")
    assert {
        k: first.detail[k]
        for k in (
            "applied_minor",
            "talent_minor",
            "commission_minor",
            "platform_fee_minor",
            "final",
        )
    } == {
        "applied_minor": 1_015,
        "talent_minor": 710,
        "commission_minor": 203,
        "platform_fee_minor": 102,
        "final": False,
    }
    assert waterfall(statement_of("2026-03", talent=s.talent)) == statement_waterfall(
        earnings=7_714, recouped=710
    )
    assert waterfall(statement_of("2026-03", agency=s.agency)) == statement_waterfall(
        earnings=2_204, recouped=203
    )
    assert figures(invoice_of("2026-03", s.brand)) == invoice_figures(
        subtotal=11_020, applied=1_015
    )
    talent_march = lines_of(statement_of("2026-03", talent=s.talent))
    assert (
        line("earnings", s.license, "advance", "advance", "", 0, 1, 10_005, 2_001, 1_000, 7_004)
        in talent_march
    )
    assert (
        line(
            "advance",
            s.license,
            "advance_application",
            "advance_application",
            "",
            0,
            1,
            -1_015,
            -203,
            -102,
            -710,
        )
        in talent_march
    )

    record(s, quantity=10, occurred_at=at("2026-04-10"))
    close("2026-04")
    last = Charge.objects.get(kind="advance_application", period_start="2026-04-01")
    assert {
        k: last.detail[k]
        for k in (
            "applied_minor",
            "talent_minor",
            "commission_minor",
            "platform_fee_minor",
            "final",
        )
    } == {
        "applied_minor": 8_990,
        "talent_minor": 6_294,
        "commission_minor": 1_798,
        "platform_fee_minor": 898,
        "final": True,
    }
    assert waterfall(statement_of("2026-04", talent=s.talent)) == statement_waterfall(
        opening=7_004, earnings=7_105, recouped=6_294
    )
    assert waterfall(statement_of("2026-04", agency=s.agency)) == statement_waterfall(
        opening=2_001, earnings=2_030, recouped=1_798
    )
    assert figures(invoice_of("2026-04", s.brand)) == invoice_figures(
        subtotal=10_150, applied=8_990
    )

    record(s, occurred_at=at("2026-05-10"))
    close("2026-05")
    assert figures(invoice_of("2026-05", s.brand)) == invoice_figures(subtotal=1_015)
    assert Charge.objects.filter(kind="advance_application").count() == 2

    talent_recouped = sum(
        Statement.objects.filter(talent=s.talent).values_list("advance_recouped_minor", flat=True)
    )
    agency_recouped = sum(
        Statement.objects.filter(agency=s.agency).values_list("advance_recouped_minor", flat=True)
    )
    brand_net = sum(Invoice.objects.filter(brand=s.brand).values_list("net_minor", flat=True))
    assert (talent_recouped, agency_recouped) == (7_004, 2_001)
    assert brand_net == 10_005 + 1_160 + 1_015


# -- the statement waterfall -------------------------------------------------------------------


def test_g_withholding_on_the_taxable_amount_posts_a_withholding_transaction(db):
    """Withholding 15%; one asset at 120.11.

    gross 12_011; fee 1201.1 -> 1_201; talent 10_810 = taxable (no adjustments, no advance).
    withholding 10810 x 15 / 100 = 1621.5 -> 1_622 (even); payable 10_810 - 1_622 = 9_188.
    The journal gets a "withholding" transaction: talent payable debited 1_622, the
    withholding account credited 1_622.
    """
    s = scenario(rates={"per_asset": one_tier(12_011)})
    Talent.objects.filter(pk=s.talent.pk).update(withholding_pct=Decimal("15"))
    record(s, occurred_at=at("2026-03-10"))

    close("2026-03")

    statement = statement_of("2026-03", talent=s.talent)
    assert waterfall(statement) == statement_waterfall(earnings=10_810, withholding=1_622)
    assert statement.withholding_pct == Decimal("15")
    assert lines_of(statement)[-1] == line(
        "withholding", None, "withholding", "withholding", "", 0, 1, 0, 0, 0, -1_622
    )
    tx = JournalTransaction.objects.get(kind="withholding")
    talent_account = account_of(Kind.TALENT_PAYABLE, "EUR", talent=s.talent)
    withholding_account = account_of(Kind.WITHHOLDING, "EUR")
    assert sorted(tx.postings.values_list("account_id", "amount_minor")) == sorted(
        [(talent_account.pk, 1_622), (withholding_account.pk, -1_622)]
    )
    assert Coverage.objects.get(transaction=tx).period_start == statement.period_start


def test_h_below_the_minimum_payout_carries_forward_then_pays_out(db):
    """Minimum payout 25.00; payouts enabled; assets at 11.11.

    March: 2 assets, gross 2_222, fee 222.2 -> 222, talent 2_000 -> payable 20.00 < 25.00:
           payout 0, closing 2_000, "below the minimum payout".
    April: 1 asset, gross 1_111, fee 111.1 -> 111, talent 1_000 -> opening 2_000 + 1_000
           = 3_000 >= 2_500: payout 3_000, closing 0.
    """
    s = scenario(rates={"per_asset": one_tier(1111)})
    enable_payouts(s.talent)
    record(s, quantity=2, occurred_at=at("2026-03-10"))
    record(s, occurred_at=at("2026-04-10"))

    close("2026-03")
    march = statement_of("2026-03", talent=s.talent)
    assert march.minimum_payout_minor == 2_500
    assert waterfall(march) == statement_waterfall(earnings=2_000)
    assert march.carry_forward_reason == "below the minimum payout"

    close("2026-04")
    april = statement_of("2026-04", talent=s.talent)
    assert waterfall(april) == statement_waterfall(opening=2_000, earnings=1_000, payout=3_000)
    assert april.closing_minor == 0
    assert april.carry_forward_reason == ""


# -- entries that arrive after a close ---------------------------------------------------------


def test_i_a_late_use_after_close_is_a_prior_period_adjustment(solo):
    """SPEC tiers (40.00 / 30.00), 10% fee.

    March 10: 1 asset (March position 1) = 4_000 -> talent 3_600. March is closed.
    Recorded 2026-04-12, occurred March 20: 1 asset (March position 2) = 4_000 -> 3_600,
      on April's statement as a prior-period adjustment.
    April 10: 1 asset (April position 1) = 4_000 -> 3_600 of April earnings.
    April: opening 3_600, earnings 3_600, adjustments 3_600 -> payable 10_800.
    Invoice April: subtotal 4_000, adjustments 4_000, net 8_000. March stays as issued.
    """
    s = solo
    record(s, occurred_at=at("2026-03-10"))
    close("2026-03")
    march = statement_of("2026-03", talent=s.talent)
    march_before = (waterfall(march), lines_of(march))
    march_invoice = figures(invoice_of("2026-03", s.brand))

    late = record(s, occurred_at=at("2026-03-20"), now=at("2026-04-12"))
    record(s, occurred_at=at("2026-04-10"))
    close("2026-04")

    march = Statement.objects.get(pk=march.pk)
    assert (waterfall(march), lines_of(march)) == march_before
    assert figures(invoice_of("2026-03", s.brand)) == march_invoice
    april = statement_of("2026-04", talent=s.talent)
    assert waterfall(april) == statement_waterfall(opening=3_600, earnings=3_600, adjustments=3_600)
    assert lines_of(april) == [
        line("earnings", s.license, "generation", "usage", "social", 1, 1, 4_000, 0, 400, 3_600),
        line("adjustments", s.license, "generation", "usage", "social", 1, 1, 4_000, 0, 400, 3_600),
    ]
    assert figures(invoice_of("2026-04", s.brand)) == invoice_figures(
        subtotal=4_000, adjustments=4_000
    )
    assert set(
        Coverage.objects.filter(transaction_id=late.transaction_id).values_list(
            "period_start", flat=True
        )
    ) == {Period.parse("2026-04").start}


def test_j_a_reversal_after_close_is_a_negative_adjustment(solo):
    """March 10: 2 assets = 8_000, talent 7_200. March closed: payable 7_200 carried.

    Reversed on 2026-04-15: April adjustments -7_200 (talent), -8_000 (invoice);
    April: opening 7_200 - 7_200 = payable 0 ("nothing payable").
    """
    s = solo
    use = record(s, quantity=2, occurred_at=at("2026-03-10"))
    close("2026-03")

    usage_reverse(event=use, reason="duplicate report", now=at("2026-04-15"))
    close("2026-04")

    april = statement_of("2026-04", talent=s.talent)
    assert waterfall(april) == statement_waterfall(opening=7_200, adjustments=-7_200)
    assert april.carry_forward_reason == "nothing payable"
    assert lines_of(april) == [
        line(
            "adjustments",
            s.license,
            "generation",
            "reversal",
            "social",
            -2,
            1,
            -8_000,
            0,
            -800,
            -7_200,
        )
    ]
    assert figures(invoice_of("2026-04", s.brand)) == invoice_figures(adjustments=-8_000)


# -- exactly once, numbering, append-only, explainability --------------------------------------


def test_a_rerun_and_a_second_request_change_nothing(represented):
    s = represented
    record(s, quantity=3, occurred_at=at("2026-03-10"))
    run = close("2026-03")
    before = document_counts()
    documents = {st.pk: (waterfall(st), lines_of(st)) for st in Statement.objects.all()}

    again = period_close_request(period=Period.parse("2026-03"), now=close_now("2026-03"))
    assert again.pk == run.pk
    result = period_close_execute(run_id=run.pk, now=close_now("2026-03") + timedelta(days=1))
    assert result.run.pk == run.pk and result.run.status == CloseRun.Status.DONE

    assert document_counts() == before
    assert {st.pk: (waterfall(st), lines_of(st)) for st in Statement.objects.all()} == documents
    assert CloseRun.objects.get(pk=run.pk).attempts == 1


def test_documents_are_numbered_without_gaps_per_series_across_periods(db):
    solo_ = scenario()
    rep = scenario(agency=True)
    for s in (solo_, rep):
        record(s, occurred_at=at("2026-03-10"))
        record(s, occurred_at=at("2026-04-10"))
    close("2026-03")
    close("2026-04")

    def numbers(model, series):
        return sorted(model.objects.filter(series=series).values_list("number", flat=True))

    assert numbers(Statement, "RS") == [1, 2, 3, 4]
    assert numbers(Statement, "CS") == [1, 2]
    assert numbers(Invoice, "INV") == [1, 2, 3, 4]
    march = Statement.objects.filter(series="RS", period_start="2026-03-01")
    assert sorted(march.values_list("number", flat=True)) == [1, 2]
    assert statement_of("2026-03", talent=solo_.talent).display_number.startswith("RS-0000")


def run_sql(sql: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize("model", [Statement, Invoice, DocumentLine, Coverage, Charge])
@pytest.mark.parametrize(
    "statement", ["UPDATE {table} SET {column} = {column}", "DELETE FROM {table}"]
)
def test_close_documents_are_append_only(solo, model, statement):
    record(solo, occurred_at=at("2026-03-10"))
    Talent.objects.filter(pk=solo.talent.pk).update(withholding_pct=Decimal("10"))
    close("2026-03")
    rows = list(model.objects.all())
    assert rows
    column = model._meta.pk.column
    with pytest.raises(DatabaseError, match="append-only"):
        run_sql(statement.format(table=model._meta.db_table, column=column))
    with pytest.raises(AppendOnlyError):
        rows[0].save()
    with pytest.raises(AppendOnlyError):
        model.objects.all().delete()
    assert model.objects.count() == len(rows)


def test_a_statement_figure_cannot_be_edited_in_place(solo):
    record(solo, occurred_at=at("2026-03-10"))
    close("2026-03")
    statement = statement_of("2026-03", talent=solo.talent)
    with pytest.raises(DatabaseError, match="append-only"):
        run_sql("UPDATE ledger_statement SET payable_minor = 1 WHERE id = %s", [statement.pk])
    statement.refresh_from_db()
    assert statement.payable_minor == 3_600


def test_every_line_is_the_sum_of_the_postings_it_covers(represented):
    """ "Explain this number": Posting -> its transaction's Coverage and usage event.

    March: generation x3 (social), a publication (social, 20.00) and its 1,000 impressions
    (cpm 3.33), a sale of 100.00 at 5.5%, then one generation reversed in March.
    """
    s = represented
    asset = s.asset(occurred_at=at("2026-03-02"), now=at("2026-03-02"))
    record(s, "publication", asset_ref=asset.asset_ref, occurred_at=at("2026-03-03"))
    record(s, "impressions", asset_ref=asset.asset_ref, quantity=1000, occurred_at=at("2026-03-04"))
    record(
        s, "sale", asset_ref=asset.asset_ref, sale_amount_minor=10_000, occurred_at=at("2026-03-05")
    )
    uses = [record(s, occurred_at=at(f"2026-03-{d:02d}")) for d in (6, 7)]
    usage_reverse(event=uses[0], reason="test", now=at("2026-03-20"))
    close("2026-03")

    documents = list(Statement.objects.all()) + list(Invoice.objects.all())
    assert len(documents) == 3
    for document in documents:
        assert actual_lines(document) == expected_lines(document.account, document.period_start)

    statement = statement_of("2026-03", talent=s.talent)
    gen = statement.lines.get(kind="generation", transaction_kind="usage")
    covered = Posting.objects.filter(
        account=statement.account,
        transaction__coverage__period_start=statement.period_start,
        transaction__usage_event__kind="generation",
        transaction__usage_event__channel="social",
        transaction__usage_event__license=s.license,
    )
    assert covered.count() == gen.entries == 3
    assert -sum(covered.values_list("amount_minor", flat=True)) == gen.amount_minor
    # 3 assets at 40.00: 12_000 gross; commission 2_400, fee 1_200, talent 8_400.
    assert (gen.gross_minor, gen.commission_minor, gen.fee_minor, gen.amount_minor) == (
        12_000,
        2_400,
        1_200,
        8_400,
    )


def test_f_the_final_application_takes_exact_remainders_even_against_the_last_split(db):
    """JPY (no minor unit), advance A = 25 yen, agency 20%, platform 10%, assets at 1 yen.

    Advance split: commission 5.0 -> 5; fee 2.5 -> 2 (even); talent 18.
    March: G = 15 -> X = 15: commission 3.0 -> 3, fee 1.5 -> 2, talent 10.
           left: 10 gross; commission 2, fee 0, talent 8.
    April: G = 9 -> X = 9: commission 1.8 -> 2, fee 0.9 -> 1, talent 6.
           left: 1 gross; commission 0, fee -1, talent 2 (partial splits overshot the fee).
    May:   G = 1 -> X = 1 uses the advance up: talent debited 2, platform credited 1,
           brand credited 1 (balanced: -1 + 2 - 1 = 0).
    Life: talent recouped 10 + 6 + 2 = 18, agency 3 + 2 + 0 = 5, platform 2 + 1 - 1 = 2.
    """
    s = scenario(
        agency=True,
        currency="JPY",
        activated_at=datetime(2026, 3, 1, tzinfo=UTC),
        rates={"per_asset": one_tier(1), "advance_minor": 25},
    )
    record(s, quantity=15, occurred_at=at("2026-03-10"))
    close("2026-03")
    record(s, quantity=9, occurred_at=at("2026-04-10"))
    close("2026-04")
    record(s, quantity=1, occurred_at=at("2026-05-10"))
    close("2026-05")

    applications = Charge.objects.filter(kind="advance_application").order_by("period_start")
    assert [
        (
            c.detail["applied_minor"],
            c.detail["talent_minor"],
            c.detail["commission_minor"],
            c.detail["platform_fee_minor"],
        )
        for c in applications
    ] == [(15, 10, 3, 2), (9, 6, 2, 1), (1, 2, 0, -1)]
    last = applications.last()
    assert sorted(last.transaction.postings.values_list("account__kind", "amount_minor")) == [
        (Kind.BRAND_RECEIVABLE, -1),
        (Kind.PLATFORM_REVENUE, -1),
        (Kind.TALENT_PAYABLE, 2),
    ]
    recouped = [
        statement_of(label, talent=s.talent, currency="JPY").advance_recouped_minor
        for label in ("2026-03", "2026-04", "2026-05")
    ]
    assert recouped == [10, 6, 2]
    assert (
        sum(
            Statement.objects.filter(agency=s.agency).values_list(
                "advance_recouped_minor", flat=True
            )
        )
        == 5
    )


def test_a_close_resumes_after_a_crash_in_any_chunk(db, settings, monkeypatch):
    """One account per chunk; the worker dies after the 2nd invoice chunk did its work (rolled
    back with it), then after the 3rd statement chunk; the third attempt finishes.

    Three talents at one asset each (40.00): solo talents 3_600 each. The represented one also
    has an advance of 50.00 (activated 2026-03-01): use split 800 / 400 / 2_800; advance split 1_000 / 500 / 3_500;
    applied min(5_000, 4_000) = 4_000 = split 800 / 400 / 2_800.
      Talent: earnings 2_800 + 3_500 = 6_300, recouped 2_800, payable 3_500.
      Agency: earnings 800 + 1_000 = 1_800, recouped 800, payable 1_000.
    """
    import ledger.services.closing as closing

    settings.LEDGER_CLOSE_CHUNK = 1
    solos = [scenario(), scenario()]
    rep = scenario(
        agency=True,
        activated_at=datetime(2026, 3, 1, tzinfo=UTC),
        rates={"per_asset": one_tier(4000), "advance_minor": 5_000},
    )
    for s in (*solos, rep):
        record(s, occurred_at=at("2026-03-10"))
    now = close_now("2026-03")

    def crash_after(name: str, call: int) -> None:
        original = getattr(closing, name)
        calls = []

        def dying(**kwargs):
            result = original(**kwargs)
            calls.append(1)
            if len(calls) == call:
                raise RuntimeError("worker killed")
            return result

        monkeypatch.setattr(closing, name, dying)

    run = period_close_request(period=Period.parse("2026-03"), now=now)
    crash_after("invoices_issue_within", 2)
    with pytest.raises(RuntimeError, match="worker killed"):
        period_close_execute(run_id=run.pk, now=now)
    run.refresh_from_db()
    assert (run.status, run.phase, Invoice.objects.count()) == ("failed", "invoices", 1)

    monkeypatch.undo()
    crash_after("statements_issue_within", 3)
    with pytest.raises(RuntimeError, match="worker killed"):
        period_close_execute(run_id=run.pk, now=now)
    run.refresh_from_db()
    assert (run.status, run.phase, Statement.objects.count()) == ("failed", "statements", 2)

    monkeypatch.undo()
    period_close_execute(run_id=run.pk, now=now)
    run.refresh_from_db()
    assert (run.status, run.attempts, run.progress_pct) == ("done", 3, 100)

    assert sorted(Invoice.objects.values_list("number", flat=True)) == [1, 2, 3]
    assert sorted(Statement.objects.filter(series="RS").values_list("number", flat=True)) == [
        1,
        2,
        3,
    ]
    assert Charge.objects.filter(kind="advance_application").count() == 1
    payee_and_brand = Posting.objects.filter(
        account__kind__in=[Kind.TALENT_PAYABLE, Kind.AGENCY_PAYABLE, Kind.BRAND_RECEIVABLE]
    )
    assert len(covered_periods(payee_and_brand)) == payee_and_brand.count()
    assert Coverage.objects.count() == payee_and_brand.values("transaction_id").distinct().count()
    for s in solos:
        assert waterfall(statement_of("2026-03", talent=s.talent)) == statement_waterfall(
            earnings=3_600
        )
    assert waterfall(statement_of("2026-03", talent=rep.talent)) == statement_waterfall(
        earnings=6_300, recouped=2_800
    )
    assert waterfall(statement_of("2026-03", agency=rep.agency)) == statement_waterfall(
        earnings=1_800, recouped=800
    )
    for document in [*Statement.objects.all(), *Invoice.objects.all()]:
        assert actual_lines(document) == expected_lines(document.account, document.period_start)


def test_a_close_resumes_after_a_crash_between_cover_slices(db, monkeypatch):
    """Coverage is written in slices of transaction ids, a row per transaction (by all the
    workers at once). The worker dies in the second of three slices: the first one's coverage
    stays, the re-run covers the other two once (a doubled one would fail on the primary key),
    and every line equals its recomputation from the coverage."""
    import ledger.services.closing as closing

    talents = [scenario(), scenario(), scenario(agency=True)]
    for s in talents:
        for day in ("2026-03-05", "2026-03-10"):
            record(s, occurred_at=at(day))
    now = close_now("2026-03")

    def thirds(run):
        # Ids run on from earlier tests: thirds of this test's own ids.
        low = JournalTransaction.objects.order_by("pk").first().pk
        one, two = (low + (run.watermark - low) * i // 3 for i in (1, 2))
        return lambda: [(1, one, 0), (one + 1, two, 0), (two + 1, run.watermark, 0)]

    monkeypatch.setattr(closing, "_cover_slices", thirds)
    built = closing.coverage_fold_range
    calls = []

    def dying(**bounds):
        if calls:  # the first slice committed; the worker dies in the second
            raise RuntimeError("worker killed")
        built(**bounds)
        calls.append(bounds)

    run = period_close_request(period=Period.parse("2026-03"), now=now)
    monkeypatch.setattr(closing, "coverage_fold_range", dying)
    with pytest.raises(RuntimeError, match="worker killed"):
        period_close_execute(run_id=run.pk, now=now)
    run.refresh_from_db()
    assert (run.status, run.phase) == ("failed", "cover")
    first = calls[0]
    assert first["first"] == 1
    kept = Coverage.objects.values_list("transaction_id", flat=True)
    assert all(first["first"] <= tx <= first["last"] for tx in kept)
    assert 0 < len(kept) < JournalTransaction.objects.count()

    monkeypatch.setattr(closing, "coverage_fold_range", built)
    period_close_execute(run_id=run.pk, now=now)
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("done", 2)
    assert list(
        CloseChunk.objects.filter(run=run, phase="cover").values_list("number", "done")
    ) == [(1, True), (2, True), (3, True)]
    assert set(Coverage.objects.values_list("transaction_id", flat=True)) == set(
        JournalTransaction.objects.values_list("pk", flat=True)
    )
    for s in talents:
        assert statement_of("2026-03", talent=s.talent).earnings_minor > 0
    for document in [*Statement.objects.all(), *Invoice.objects.all()]:
        assert actual_lines(document) == expected_lines(document.account, document.period_start)


def test_cover_slices_split_the_ids_after_the_last_fold_among_the_workers(db, settings):
    """The last fold reached id 400, this close's watermark is 1,000: the 600 ids left are
    split evenly (everything up to 400 is covered already)."""
    from ledger.services.closing import _cover_slices

    requested = datetime(2026, 4, 10, tzinfo=UTC)
    CoverageFold.objects.create(watermark=300, folded_at=requested)
    CoverageFold.objects.create(watermark=400, folded_at=requested)
    run = CloseRun.objects.create(
        period_start=Period.parse("2026-03").start, watermark=1_000, requested_at=requested
    )
    settings.LEDGER_CLOSE_WORKERS = 2
    assert _cover_slices(run)() == [(401, 700, 0), (701, 1_000, 0)]
    settings.LEDGER_CLOSE_WORKERS = 3
    assert _cover_slices(run)() == [(401, 600, 0), (601, 800, 0), (801, 1_000, 0)]
    settings.LEDGER_CLOSE_WORKERS = 1
    assert _cover_slices(run)() == [(401, 1_000, 0)]
    run.watermark = 400  # folded up to the watermark already: nothing to slice
    assert _cover_slices(run)() == []


# -- found while writing these tests ----------------------------------------------------------


def test_no_flat_fee_nor_top_up_for_a_month_after_the_term_ended(db):
    """Term 2026-03-01 .. 2026-04-01 00:00 UTC (March); flat fee 310.00 and a
    guarantee of 500.00 a period.

    March: 31 of 31 days -> 31_000; top-up 50_000 - 0 - 31_000 = 19_000.
    April: the term ended as April began -> no active day, no flat fee, no top-up, no invoice.
    (Before 7c826b6 April was charged a 1-day fee, 31000 x 1 / 30 = 1_033, and a top-up of
    48_967.)
    """
    s = scenario(
        rates={"flat_fee_minor": 31_000, "minimum_guarantee_minor": 50_000},
        starts_at=MARCH_1,
        activated_at=MARCH_1,
        ends_at=datetime(2026, 4, 1, tzinfo=UTC),
    )
    close("2026-03")
    assert figures(invoice_of("2026-03", s.brand)) == invoice_figures(subtotal=50_000)

    close("2026-04")
    april = Charge.objects.filter(period_start="2026-04-01").values_list(
        "kind", "detail__gross_minor"
    )
    assert list(april) == []
    assert not Invoice.objects.filter(period_start="2026-04-01").exists()


def test_the_brand_still_pays_the_advance_when_a_recouped_use_is_reversed(db):
    """Advance 100.00, one asset at 100.00 (March), platform 10%.

    March: G = 10_000 -> X = 10_000 (used up). Invoice net 10_000 + 10_000 - 10_000 = 10_000.
           Talent: 9_000 (advance) + 9_000 (use) - 9_000 recouped = 9_000.
    April: the use is reversed: G = -10_000. The SPEC formula max(0, min(0, -10_000)) = 0
           would leave the brand paying 0 over the life, against the SPEC's "the brand pays
           max(advance, total gross) = 10_000" (talent 9_000). So a negative G gives back what
           was recouped: X = max(-10_000, -10_000) = -10_000, all of it, exact shares back.
           Invoice: adjustments -10_000, advance applied -10_000 -> net 0.
           Talent: adjustments -9_000, recouped -9_000 -> payable 0 this period.
    Life: the brand pays 10_000, the talent earns 9_000.
    """
    s = scenario(
        activated_at=datetime(2026, 3, 1, tzinfo=UTC),
        rates={"per_asset": one_tier(10_000), "advance_minor": 10_000},
    )
    use = record(s, occurred_at=at("2026-03-10"))
    close("2026-03")
    usage_reverse(event=use, reason="reported twice", now=at("2026-04-15"))
    close("2026-04")

    brand_paid = sum(Invoice.objects.filter(brand=s.brand).values_list("net_minor", flat=True))
    talent_net = sum(
        st.earnings_minor + st.adjustments_minor - st.advance_recouped_minor
        for st in Statement.objects.filter(talent=s.talent)
    )
    assert (brand_paid, talent_net) == (10_000, 9_000)


def test_a_month_nobody_closed_is_charged_by_the_next_close(db):
    """Flat fee 310.00 a month, license in force from 2026-03-01; March is never closed.

    Closing April first charges March's fee too (31 of 31 days -> 31_000, dated in March) and
    April's (30 of 30 days -> 31_000). Talent share with the 10 % platform fee: 27_900 each.
    April's statement: earnings 27_900 (April) + adjustments 27_900 (March's fee, prior period).
    Closing March afterwards is refused: its entries are on April's documents.
    """
    start = datetime(2026, 3, 1, tzinfo=UTC)
    s = scenario(rates={"flat_fee_minor": 31_000}, starts_at=start, activated_at=start)
    close("2026-04")
    fees = Charge.objects.filter(kind="flat_fee", license=s.license).order_by("period_start")
    assert [(c.period_start.isoformat(), c.detail["gross_minor"]) for c in fees] == [
        ("2026-03-01", 31_000),
        ("2026-04-01", 31_000),
    ]
    assert waterfall(statement_of("2026-04", talent=s.talent)) == statement_waterfall(
        earnings=27_900, adjustments=27_900
    )
    assert figures(invoice_of("2026-04", s.brand)) == invoice_figures(
        subtotal=31_000, adjustments=31_000
    )
    march = period_close_request(period=Period.parse("2026-03"), now=close_now("2026-04"))
    with pytest.raises(Conflict):
        period_close_execute(run_id=march.pk, now=close_now("2026-04"))
