"""The rating arithmetic (SPEC "Rating and rounding"): known answers, properties, rate shapes.

Pure functions, no database. The reference values are computed here with Fraction and an
independent half-even rounding, never with the code under test.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.money import Money, split
from ledger.rates import Rates, RatesError, Tier, rate_use, tiered

SPEC_TIERS = (Tier(100, 4000), Tier(None, 3000))


def rhe(value: Fraction) -> int:
    """Round half to even, independently of ledger.money."""
    floor = value.numerator // value.denominator
    rest = value - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1):
        return floor + 1
    return floor


def formula(tiers: tuple[Tier, ...], count: int) -> int:
    """The tier formula applied to a total count: each tier's share of [0, count) at its price."""
    total, start = 0, 0
    for tier in tiers:
        end = count if tier.up_to is None else tier.up_to
        total += max(0, min(count, end) - start) * tier.unit_minor
        start = end
    return total


def rate(kind: str, *, quantity: int = 1, channel: str = "social", sale=None, used=0, **rates):
    return rate_use(
        Rates.parse(rates),
        kind=kind,
        channel=channel,
        quantity=quantity,
        sale_amount_minor=sale,
        already_used=used,
        currency="EUR",
    )


# --- known answers ---------------------------------------------------------------------------


def test_one_event_crossing_a_tier_boundary_prices_each_unit_in_its_tier():
    rated = tiered(SPEC_TIERS, already_used=0, quantity=130, currency="EUR")

    assert rated.gross == Money(100 * 4000 + 30 * 3000, "EUR") == Money(490_000, "EUR")
    assert [(line["tier"], line["units"], line["amount_minor"]) for line in rated.lines] == [
        (1, 100, 400_000),
        (2, 30, 90_000),
    ]
    assert rated.tier_units == 130


@pytest.mark.parametrize(
    ("already_used", "price"),
    [(0, 4000), (98, 4000), (99, 4000), (100, 3000), (101, 3000), (10_000, 3000)],
)
def test_the_asset_at_position_n_costs_its_tier_price(already_used, price):
    """Asset 100 (99 before it) costs 40.00; asset 101 costs 30.00."""
    rated = tiered(SPEC_TIERS, already_used=already_used, quantity=1, currency="EUR")

    assert rated.gross.minor == price


def test_an_event_starting_mid_tier_continues_the_count():
    rated = tiered(SPEC_TIERS, already_used=90, quantity=20, currency="EUR")

    assert rated.gross.minor == 10 * 4000 + 10 * 3000


def test_three_tiers_an_event_spanning_all_of_them():
    tiers = (Tier(10, 500), Tier(20, 400), Tier(None, 100))

    rated = tiered(tiers, already_used=5, quantity=30, currency="EUR")

    assert rated.gross.minor == 5 * 500 + 10 * 400 + 15 * 100
    assert [line["units"] for line in rated.lines] == [5, 10, 15]


@pytest.mark.parametrize(
    ("impressions", "cpm", "expected"),
    [
        (1500, 333, 500),  # 499.5 -> 500 (even)
        (2500, 1, 2),  # 2.5 -> 2 (even)
        (3500, 1, 4),  # 3.5 -> 4 (even)
        (1000, 333, 333),
        (1499, 333, 499),  # 499.167
        (1, 350, 0),  # 0.35
        (2, 750, 2),  # 1.5 -> 2
        (10**12, 350, 350 * 10**9),
    ],
)
def test_cpm_rounds_half_even(impressions, cpm, expected):
    rated = rate("impressions", quantity=impressions, cpm={"social": cpm})

    assert rated.gross.minor == expected
    assert rated.lines[0]["rate"] == "cpm"


@pytest.mark.parametrize(
    ("sale", "pct", "expected"),
    [
        (10_000, "5.5", 550),
        (10_010, "5", 500),  # 500.5 -> 500
        (10_030, "5", 502),  # 501.5 -> 502
        (1, "50", 0),  # 0.5 -> 0
        (3, "50", 2),  # 1.5 -> 2
        (12_345, "12.3456", 1524),  # 1524.06...
        (999, "100", 999),
    ],
)
def test_revenue_share_rounds_half_even(sale, pct, expected):
    rated = rate("sale", sale=sale, revenue_share_pct=pct)

    assert rated.gross.minor == expected


def test_per_publication_is_the_channel_price_times_the_count():
    rated = rate(
        "publication", quantity=3, channel="ecommerce", per_publication={"ecommerce": 1500}
    )

    assert rated.gross.minor == 4500


@pytest.mark.parametrize(
    ("kind", "channel", "rates"),
    [
        ("training", "social", {"per_asset": {"tiers": [{"up_to": None, "unit_minor": 9}]}}),
        ("publication", "print", {"per_publication": {"ecommerce": 1500}}),
        ("impressions", "tv", {"cpm": {"social": 350}}),
        ("sale", "social", {"per_asset": {"tiers": [{"up_to": None, "unit_minor": 9}]}}),
        ("generation", "social", {"flat_fee_minor": 100_000}),
    ],
)
def test_a_use_without_a_usage_rate_is_priced_at_zero(kind, channel, rates):
    rated = rate(kind, channel=channel, sale=100 if kind == "sale" else None, **rates)

    assert rated.gross == Money.zero("EUR")
    assert rated.tier_units == 0


@pytest.mark.parametrize(
    ("gross", "commission_pct", "fee_pct", "commission", "fee", "talent"),
    [
        (10_000, "20", "10", 2000, 1000, 7000),
        (1005, "20", "10", 201, 100, 704),  # fee 100.5 -> 100
        (1015, "20", "10", 203, 102, 710),  # fee 101.5 -> 102
        (25, "10", "10", 2, 2, 21),  # 2.5 -> 2 twice
        (35, "10", "10", 4, 4, 27),  # 3.5 -> 4 twice
        (7, "0", "15", 0, 1, 6),  # 1.05
        (1, "50", "50", 0, 0, 1),  # 0.5 -> 0 twice: the talent keeps the cent
        (3, "50", "50", 2, 2, -1),  # 1.5 -> 2 twice: rounding can exceed the gross
        (-1015, "20", "10", -203, -102, -710),  # a negation splits to the negated parts
    ],
)
def test_split_known_answers(gross, commission_pct, fee_pct, commission, fee, talent):
    parts = split(
        Money(gross, "EUR"),
        agency_commission_pct=Decimal(commission_pct),
        platform_fee_pct=Decimal(fee_pct),
    )

    assert (parts.commission.minor, parts.platform_fee.minor, parts.talent.minor) == (
        commission,
        fee,
        talent,
    )


# --- properties ------------------------------------------------------------------------------


@st.composite
def tier_tables(draw) -> tuple[Tier, ...]:
    bounds = draw(st.lists(st.integers(1, 500), min_size=0, max_size=4, unique=True))
    prices = draw(
        st.lists(st.integers(0, 10**6), min_size=len(bounds) + 1, max_size=len(bounds) + 1)
    )
    ups: list[int | None] = [*sorted(bounds), None]
    return tuple(Tier(up, price) for up, price in zip(ups, prices, strict=True))


@settings(max_examples=300)
@given(tiers=tier_tables(), quantities=st.lists(st.integers(1, 400), max_size=30))
def test_rated_events_sum_to_the_formula_on_the_total_count(tiers, quantities):
    used = 0
    total = 0
    for quantity in quantities:
        rated = tiered(tiers, already_used=used, quantity=quantity, currency="EUR")
        assert sum(line["units"] for line in rated.lines) == quantity
        assert sum(line["amount_minor"] for line in rated.lines) == rated.gross.minor
        total += rated.gross.minor
        used += rated.tier_units

    assert used == sum(quantities)
    assert total == formula(tiers, used)


@settings(max_examples=200)
@given(tiers=tier_tables(), quantities=st.lists(st.integers(1, 400), min_size=1, max_size=20))
def test_splitting_a_use_into_events_never_changes_its_price(tiers, quantities):
    """One event of the total quantity costs exactly what the same units do as many events."""
    one = tiered(tiers, already_used=0, quantity=sum(quantities), currency="EUR")

    many, used = 0, 0
    for quantity in quantities:
        many += tiered(tiers, already_used=used, quantity=quantity, currency="EUR").gross.minor
        used += quantity

    assert one.gross.minor == many


percentages = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False)


@settings(max_examples=500)
@given(
    gross=st.integers(-(10**15), 10**15),
    commission_pct=percentages,
    fee_pct=percentages,
)
def test_split_parts_sum_to_gross_and_follow_the_spec_rounding(gross, commission_pct, fee_pct):
    if commission_pct + fee_pct > 100:
        with pytest.raises(ValueError):
            split(
                Money(gross, "EUR"),
                agency_commission_pct=commission_pct,
                platform_fee_pct=fee_pct,
            )
        return

    parts = split(
        Money(gross, "EUR"), agency_commission_pct=commission_pct, platform_fee_pct=fee_pct
    )

    assert (
        parts.commission + parts.platform_fee + parts.talent == parts.gross == Money(gross, "EUR")
    )
    assert parts.commission.minor == rhe(Fraction(gross) * Fraction(commission_pct) / 100)
    assert parts.platform_fee.minor == rhe(Fraction(gross) * Fraction(fee_pct) / 100)


@settings(max_examples=300)
@given(impressions=st.integers(1, 10**12), cpm=st.integers(0, 10**6))
def test_cpm_is_round_half_even_of_the_exact_product(impressions, cpm):
    rated = rate("impressions", quantity=impressions, cpm={"social": cpm})

    assert rated.gross.minor == rhe(Fraction(impressions * cpm, 1000))


@settings(max_examples=300)
@given(sale=st.integers(1, 10**15), pct=percentages)
def test_revenue_share_is_round_half_even_of_the_exact_product(sale, pct):
    rated = rate("sale", sale=sale, revenue_share_pct=str(pct))

    assert rated.gross.minor == rhe(Fraction(sale) * Fraction(pct) / 100)


@st.composite
def valid_rates(draw) -> dict:
    out: dict = {}
    if draw(st.booleans()):
        out["per_asset"] = {
            "tiers": [{"up_to": t.up_to, "unit_minor": t.unit_minor} for t in draw(tier_tables())]
        }
    channels = st.sampled_from(["ecommerce", "social", "print", "ooh", "video", "tv"])
    for name in ("per_publication", "cpm"):
        if draw(st.booleans()):
            out[name] = draw(st.dictionaries(channels, st.integers(0, 10**9), min_size=1))
    if draw(st.booleans()):
        out["revenue_share_pct"] = str(draw(percentages))
    for name in ("flat_fee_minor", "minimum_guarantee_minor", "advance_minor"):
        if draw(st.booleans()):
            out[name] = draw(st.integers(0, 10**12))
    return out


@given(data=valid_rates())
def test_valid_rates_parse_and_round_trip_through_json(data):
    rates = Rates.parse(data)

    assert Rates.parse(rates.to_json()) == rates


# --- shapes Rates.parse refuses ---------------------------------------------------------------


def tiers(*rows) -> dict:
    return {"per_asset": {"tiers": [{"up_to": up, "unit_minor": price} for up, price in rows]}}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        # tiers: order, the open last tier, the list itself
        (tiers((100, 4000), (100, 3000), (None, 2000)), "rates.per_asset.tiers[1]"),
        (tiers((100, 4000), (50, 3000), (None, 2000)), "rates.per_asset.tiers[1]"),
        (tiers((100, 4000), (200, 3000)), "rates.per_asset.tiers[1]"),
        (tiers((100, 4000)), "rates.per_asset.tiers[0]"),
        (tiers((None, 4000), (None, 3000)), "rates.per_asset.tiers[0].up_to"),
        (tiers((0, 4000), (None, 3000)), "rates.per_asset.tiers[0].up_to"),
        (tiers((-5, 4000), (None, 3000)), "rates.per_asset.tiers[0].up_to"),
        ({"per_asset": {"tiers": []}}, "rates.per_asset.tiers"),
        ({"per_asset": {}}, "rates.per_asset.tiers"),
        ({"per_asset": [{"up_to": None, "unit_minor": 1}]}, "rates.per_asset.tiers"),
        ({"per_asset": {"tiers": ["4000"]}}, "rates.per_asset.tiers[0]"),
        # floats, strings, booleans and negatives where minor units are expected
        (tiers((100.0, 4000), (None, 3000)), "rates.per_asset.tiers[0].up_to"),
        (tiers((100, 4000.0), (None, 3000)), "rates.per_asset.tiers[0].unit_minor"),
        (tiers((100, "4000"), (None, 3000)), "rates.per_asset.tiers[0].unit_minor"),
        (tiers((100, 4000), (None, -1)), "rates.per_asset.tiers[1].unit_minor"),
        (tiers((100, True), (None, 1)), "rates.per_asset.tiers[0].unit_minor"),
        ({"per_publication": {"social": 19.99}}, "rates.per_publication.social"),
        ({"per_publication": {"social": -1}}, "rates.per_publication.social"),
        ({"per_publication": {}}, "rates.per_publication"),
        ({"cpm": {"social": 3.5}}, "rates.cpm.social"),
        ({"cpm": 350}, "rates.cpm"),
        ({"flat_fee_minor": 1000.0}, "rates.flat_fee_minor"),
        ({"flat_fee_minor": -1}, "rates.flat_fee_minor"),
        ({"minimum_guarantee_minor": "500000"}, "rates.minimum_guarantee_minor"),
        ({"advance_minor": 10**15 + 1}, "rates.advance_minor"),
        ({"revenue_share_pct": 5.5}, "rates.revenue_share_pct"),
        ({"revenue_share_pct": "-1"}, "rates.revenue_share_pct"),
        ({"revenue_share_pct": "100.01"}, "rates.revenue_share_pct"),
        ({"revenue_share_pct": "5.12345"}, "rates.revenue_share_pct"),
        ({"revenue_share_pct": "NaN"}, "rates.revenue_share_pct"),
        ({"revenue_share_pct": "five"}, "rates.revenue_share_pct"),
        ({"revenue_share_pct": True}, "rates.revenue_share_pct"),
        # unknown keys, at every level
        ({"bonus_minor": 100}, "rates.bonus_minor"),
        ({"per_asset": {"tiers": [{"up_to": None, "unit_minor": 1, "currency": "EUR"}]}}, None),
        (
            {"per_asset": {"tiers": [{"up_to": None, "unit_minor": 1}], "cap": 5}},
            "rates.per_asset.cap",
        ),
    ],
)
def test_parse_refuses_bad_shapes(data, field):
    with pytest.raises(RatesError) as refused:
        Rates.parse(data)

    if field is not None:
        assert refused.value.field == field
    assert refused.value.field.startswith("rates")


@pytest.mark.parametrize("data", [None, [], "per_asset", 42])
def test_parse_refuses_anything_but_an_object(data):
    with pytest.raises(RatesError):
        Rates.parse(data)


def test_parse_accepts_the_documented_example():
    rates = Rates.parse(
        {
            "per_asset": {
                "tiers": [{"up_to": 100, "unit_minor": 4000}, {"up_to": None, "unit_minor": 3000}]
            },
            "per_publication": {"ecommerce": 1500, "social": 2000},
            "cpm": {"social": 350},
            "revenue_share_pct": "5.5",
            "flat_fee_minor": 100000,
            "minimum_guarantee_minor": 500000,
            "advance_minor": 1000000,
        }
    )

    assert rates.per_asset == SPEC_TIERS
    assert rates.revenue_share_pct == Decimal("5.5")
    assert (rates.flat_fee_minor, rates.minimum_guarantee_minor, rates.advance_minor) == (
        100_000,
        500_000,
        1_000_000,
    )
    assert Rates.parse({}) == Rates()
