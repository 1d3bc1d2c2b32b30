"""ledger/money.py: exact minor units, half-even rounding, exact splits, no currency mixing.

Pure Python, no database. The oracles below are computed independently of money.py: Decimal
`quantize(Decimal(1), ROUND_HALF_EVEN)` in an unbounded-precision context (so the oracle itself
never rounds early), and `fractions.Fraction` for exact proportional shares.
"""

from __future__ import annotations

import operator
from dataclasses import FrozenInstanceError
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    localcontext,
)
from fractions import Fraction

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from ledger.money import (
    CURRENCY_EXPONENTS,
    CurrencyMismatch,
    Money,
    Split,
    UnknownCurrency,
    allocate,
    currency_choices,
    currency_exponent,
    money_sum,
    round_half_even,
    split,
)

# --- oracles ------------------------------------------------------------------------------------

# Unbounded precision: arithmetic in EXACT never rounds (any rounding would raise Inexact), so the
# only rounding an oracle does is its final quantize, in UNBOUNDED.
UNBOUNDED = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation])
EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation, Inexact])


def oracle_half_even(value: Decimal) -> int:
    with localcontext(UNBOUNDED):
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def oracle_percent(minor: int, pct: Decimal) -> int:
    """round_half_even(minor * pct / 100), computed with no intermediate rounding."""
    with localcontext(EXACT):
        return oracle_half_even(Decimal(minor) * pct / Decimal(100))


def oracle_times(minor: int, factor: Decimal) -> int:
    with localcontext(EXACT):
        return oracle_half_even(Decimal(minor) * factor)


# --- strategies ---------------------------------------------------------------------------------

CURRENCIES = sorted(CURRENCY_EXPONENTS)
currencies = st.sampled_from(CURRENCIES)
any_int = st.integers()  # unbounded, negative included
# Percentages as the models store them: 0..100 with up to 4 decimals (DecimalField(7, 4)).
pcts = st.decimals(min_value=0, max_value=100, places=4)
finite_decimals = st.decimals(allow_nan=False, allow_infinity=False)
# Exact ties (n + 0.5, possibly scaled) are rare in random decimals, so generate them on purpose.
ties = st.integers().map(lambda n: Decimal(n) + Decimal("0.5"))
decimals_any_scale = st.builds(
    lambda coefficient, exponent: Decimal(coefficient).scaleb(exponent, EXACT),
    st.integers(),
    st.integers(min_value=-60, max_value=10),
)
weights = st.one_of(
    st.integers(min_value=0, max_value=10**12),
    st.decimals(min_value=0, max_value=10**6, places=4),
)


# --- currencies and exponents -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("JPY", 0), ("KRW", 0), ("EUR", 2), ("USD", 2), ("GBP", 2), ("KWD", 3), ("BHD", 3)],
)
def test_currency_exponent_is_the_iso_4217_minor_unit(currency, exponent):
    assert currency_exponent(currency) == exponent


def test_every_known_currency_has_exponent_0_2_or_3_and_is_a_choice():
    assert set(CURRENCY_EXPONENTS.values()) == {0, 2, 3}
    assert all(len(code) == 3 and code.isupper() for code in CURRENCY_EXPONENTS)
    assert currency_choices() == [(code, code) for code in CURRENCIES]


@pytest.mark.parametrize("code", ["XXX", "eur", "EURO", "", None, 978])
def test_unknown_currency_raises_unknown_currency(code):
    with pytest.raises(UnknownCurrency):
        currency_exponent(code)
    with pytest.raises(UnknownCurrency):
        Money(1, code)
    with pytest.raises(UnknownCurrency):
        Money.zero(code)
    with pytest.raises(UnknownCurrency):
        Money.from_major("1", code)


def test_unknown_currency_is_a_value_error_for_callers_that_catch_broadly():
    assert issubclass(UnknownCurrency, ValueError)
    assert issubclass(CurrencyMismatch, ValueError)


# --- construction -------------------------------------------------------------------------------


@given(minor=any_int, currency=currencies)
def test_money_keeps_integer_minor_units_and_currency(minor, currency):
    money = Money(minor, currency)
    assert money.minor == minor
    assert money.currency == currency


def test_money_is_immutable():
    money = Money(100, "EUR")
    with pytest.raises(FrozenInstanceError):
        money.minor = 200  # type: ignore[misc]


@pytest.mark.parametrize("bad", [1.0, 0.1, True, False, Decimal("1"), "100", None])
def test_money_refuses_anything_but_int_minor_units(bad):
    with pytest.raises(TypeError):
        Money(bad, "EUR")


def test_zero_is_falsy_and_nonzero_is_truthy():
    assert Money.zero("EUR") == Money(0, "EUR")
    assert not Money.zero("EUR")
    assert Money(-1, "EUR")
    assert Money(1, "JPY")


def test_equal_amounts_in_different_currencies_are_not_equal():
    # Equality never raises (Money is hashable and usable in sets/dicts) but never mixes either.
    assert Money(100, "EUR") != Money(100, "USD")
    assert len({Money(100, "EUR"), Money(100, "USD"), Money(100, "EUR")}) == 2


# --- from_major / major_str ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("40.00", "EUR", 4000),
        ("40", "EUR", 4000),
        ("0.01", "EUR", 1),
        ("-12.34", "EUR", -1234),
        ("1.234", "KWD", 1234),
        ("1.2340", "KWD", 1234),  # trailing zeros are not extra precision
        ("0.001", "KWD", 1),
        ("1500", "JPY", 1500),
        ("1.0", "JPY", 1),
        (Decimal("19.99"), "USD", 1999),
        (7, "EUR", 700),
        (7, "JPY", 7),
        ("1E+3", "EUR", 100000),
    ],
)
def test_from_major_scales_by_the_currency_exponent(amount, currency, minor):
    assert Money.from_major(amount, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("1.5", "JPY"), ("0.001", "EUR"), ("1.2345", "KWD"), ("10.005", "USD"), ("1E-3", "EUR")],
)
def test_from_major_refuses_precision_below_the_minor_unit(amount, currency):
    with pytest.raises(ValueError):
        Money.from_major(amount, currency)


@pytest.mark.parametrize("bad", [1.5, 1.0, True, False])
def test_from_major_refuses_float_and_bool(bad):
    with pytest.raises(TypeError):
        Money.from_major(bad, "EUR")


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity"])
def test_from_major_refuses_non_finite_amounts(bad):
    with pytest.raises(ValueError):
        Money.from_major(Decimal(bad), "EUR")
    with pytest.raises(ValueError):
        Money.from_major(bad, "EUR")


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (123450, "EUR", "1234.50"),
        (5, "EUR", "0.05"),
        (-5, "EUR", "-0.05"),
        (0, "EUR", "0.00"),
        (-123456, "USD", "-1234.56"),
        (1500, "JPY", "1500"),
        (0, "JPY", "0"),
        (-7, "JPY", "-7"),
        (1234, "KWD", "1.234"),
        (5, "KWD", "0.005"),
        (10**18, "EUR", "10000000000000000.00"),
    ],
)
def test_major_str_formats_plain_decimal_with_exactly_the_minor_digits(minor, currency, text):
    assert Money(minor, currency).major_str() == text
    assert str(Money(minor, currency)) == f"{text} {currency}"


@given(minor=any_int, currency=currencies)
@example(minor=10**30 + 1, currency="EUR")  # beyond the 28 digits of Decimal's default context
def test_major_str_round_trips_through_from_major(minor, currency):
    money = Money(minor, currency)
    text = money.major_str()
    assert Money.from_major(text, currency) == money
    assert "e" not in text.lower()
    exponent = currency_exponent(currency)
    if exponent:
        assert len(text.split(".")[1]) == exponent
    else:
        assert "." not in text


# --- arithmetic and currency mixing -------------------------------------------------------------


def test_same_currency_arithmetic_and_comparison():
    a, b = Money(1050, "EUR"), Money(-50, "EUR")
    assert a + b == Money(1000, "EUR")
    assert a - b == Money(1100, "EUR")
    assert -a == Money(-1050, "EUR")
    assert b < a and b <= a and a > b and a >= b
    assert a <= Money(1050, "EUR") and a >= Money(1050, "EUR")


@given(x=any_int, y=any_int, currency=currencies)
def test_same_currency_addition_is_exact_integer_arithmetic(x, y, currency):
    assert Money(x, currency) + Money(y, currency) == Money(x + y, currency)
    assert Money(x, currency) - Money(y, currency) == Money(x - y, currency)
    assert (Money(x, currency) < Money(y, currency)) == (x < y)


MIXING_OPERATIONS = [
    operator.add,
    operator.sub,
    operator.lt,
    operator.le,
    operator.gt,
    operator.ge,
]


@pytest.mark.parametrize("op", MIXING_OPERATIONS, ids=lambda op: op.__name__)
@given(pair=st.lists(currencies, min_size=2, max_size=2, unique=True), x=any_int, y=any_int)
def test_combining_two_currencies_raises_currency_mismatch(op, pair, x, y):
    first, second = pair
    with pytest.raises(CurrencyMismatch):
        op(Money(x, first), Money(y, second))


@pytest.mark.parametrize("op", MIXING_OPERATIONS, ids=lambda op: op.__name__)
@pytest.mark.parametrize("other", [0, 1, Decimal("1"), 1.0, None])
def test_combining_money_with_a_bare_number_raises_type_error(op, other):
    with pytest.raises(TypeError):
        op(Money(100, "EUR"), other)


def test_money_sum_adds_one_currency_and_refuses_others():
    amounts = [Money(100, "EUR"), Money(250, "EUR"), Money(-50, "EUR")]
    assert money_sum(amounts, "EUR") == Money(300, "EUR")
    assert money_sum([], "JPY") == Money(0, "JPY")
    with pytest.raises(CurrencyMismatch):
        money_sum([*amounts, Money(1, "USD")], "EUR")
    with pytest.raises(CurrencyMismatch):
        money_sum(amounts, "USD")


# --- round_half_even ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.5", 0),
        ("1.5", 2),
        ("2.5", 2),
        ("3.5", 4),
        ("-0.5", 0),
        ("-1.5", -2),
        ("-2.5", -2),
        ("2.4999999999", 2),
        ("2.5000000001", 3),
        ("-2.5000000001", -3),
        ("499.5", 500),
        ("0", 0),
        ("1E+3", 1000),
    ],
)
def test_round_half_even_known_answers(value, expected):
    assert round_half_even(Decimal(value)) == expected


@given(value=st.one_of(finite_decimals, ties, decimals_any_scale))
@example(value=Decimal("123456789012345678901234567890123.5"))  # 34 digits: no early rounding
@example(value=Decimal("-0.5"))
def test_round_half_even_matches_decimal_quantize_half_even(value):
    result = round_half_even(value)
    assert type(result) is int
    assert result == oracle_half_even(value)


@given(value=any_int)
def test_round_half_even_returns_ints_unchanged(value):
    assert round_half_even(value) == value


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_round_half_even_refuses_non_finite_decimals(bad):
    with pytest.raises(ValueError):
        round_half_even(bad)


# --- SPEC known answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("impressions", "cpm_minor", "expected"),
    [
        (1500, 333, 500),  # 499.5 -> 500 (500 is even)
        (2500, 1, 2),  # 2.5 -> 2 (2 is even)
        (3500, 1, 4),  # 3.5 -> 4
        (1000, 250, 250),  # exact
        (1, 499, 0),  # 0.499 -> 0
        (1, 500, 0),  # 0.5 -> 0
        (1, 1500, 2),  # 1.5 -> 2
        (0, 999, 0),
    ],
)
def test_cpm_rating_is_round_half_even_of_impressions_times_cpm_over_1000(
    impressions, cpm_minor, expected
):
    # SPEC: cpm = round_half_even(impressions * cpm_minor / 1000).
    assert round_half_even(Decimal(impressions * cpm_minor) / 1000) == expected
    assert Money(cpm_minor, "EUR").times(Decimal(impressions) / 1000) == Money(expected, "EUR")


@pytest.mark.parametrize(
    ("sale_minor", "pct", "expected"),
    [
        (1250, "10", 125),
        (15, "10", 2),  # 1.5 -> 2
        (25, "10", 2),  # 2.5 -> 2
        (5, "50", 2),  # 2.5 -> 2
        (7, "50", 4),  # 3.5 -> 4
        (10000, "12.3456", 1235),  # 1234.56 -> 1235
        (-25, "10", -2),  # reversals round symmetrically
    ],
)
def test_revenue_share_is_round_half_even_of_sale_times_pct_over_100(sale_minor, pct, expected):
    assert Money(sale_minor, "EUR").percent(Decimal(pct)) == Money(expected, "EUR")


# --- times / percent ----------------------------------------------------------------------------


@given(minor=any_int, count=any_int, currency=currencies)
def test_times_an_integer_count_is_exact(minor, count, currency):
    assert Money(minor, currency).times(count) == Money(minor * count, currency)


@given(minor=any_int, factor=st.one_of(finite_decimals, decimals_any_scale))
@example(minor=1, factor=Decimal("2.50000000000000000000000000001"))  # 30 significant digits
@example(minor=10**18 + 1, factor=Decimal("0.5000000000000001"))
def test_times_a_rate_rounds_once_half_even(minor, factor):
    assert Money(minor, "EUR").times(factor).minor == oracle_times(minor, factor)


@given(minor=any_int, pct=pcts)
@example(minor=10**25 + 50, pct=Decimal("0.0001"))
def test_percent_rounds_once_half_even(minor, pct):
    assert Money(minor, "USD").percent(pct).minor == oracle_percent(minor, pct)


# --- split --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gross", "commission_pct", "fee_pct", "commission", "fee", "talent"),
    [
        (1000, "20", "10", 200, 100, 700),
        (5, "50", "10", 2, 0, 3),  # 2.5 -> 2, 0.5 -> 0
        (15, "10", "10", 2, 2, 11),  # 1.5 -> 2 twice
        (999, "0", "15", 0, 150, 849),  # no agency; 149.85 -> 150
        (100, "0", "0", 0, 0, 100),
        (100, "100", "0", 100, 0, 0),
        (0, "20", "10", 0, 0, 0),
        (-1000, "20", "10", -200, -100, -700),  # a reversal
        (-5, "50", "10", -2, 0, -3),
    ],
)
def test_split_known_answers(gross, commission_pct, fee_pct, commission, fee, talent):
    result = split(
        Money(gross, "EUR"),
        agency_commission_pct=Decimal(commission_pct),
        platform_fee_pct=Decimal(fee_pct),
    )
    assert result == Split(
        gross=Money(gross, "EUR"),
        commission=Money(commission, "EUR"),
        platform_fee=Money(fee, "EUR"),
        talent=Money(talent, "EUR"),
    )


@given(gross=any_int, commission_pct=pcts, fee_pct=pcts, currency=currencies)
@example(
    gross=10**25 + 5, commission_pct=Decimal("12.3457"), fee_pct=Decimal("0.0001"), currency="EUR"
)
def test_split_parts_sum_to_gross_and_commission_and_fee_round_half_even(
    gross, commission_pct, fee_pct, currency
):
    assume(commission_pct + fee_pct <= 100)  # split refuses more (tested below)
    result = split(
        Money(gross, currency), agency_commission_pct=commission_pct, platform_fee_pct=fee_pct
    )
    assert result.gross == Money(gross, currency)
    assert result.commission + result.platform_fee + result.talent == result.gross
    assert result.commission.minor == oracle_percent(gross, commission_pct)
    assert result.platform_fee.minor == oracle_percent(gross, fee_pct)
    assert {part.currency for part in (result.commission, result.platform_fee, result.talent)} == {
        currency
    }


@given(gross=any_int, commission_pct=pcts, fee_pct=pcts)
def test_split_of_the_negation_is_the_negation_of_the_split(gross, commission_pct, fee_pct):
    # SPEC: a reversal posts the exact negation of split(X); half-even is symmetric around 0.
    assume(commission_pct + fee_pct <= 100)
    forward = split(
        Money(gross, "EUR"), agency_commission_pct=commission_pct, platform_fee_pct=fee_pct
    )
    backward = split(
        Money(-gross, "EUR"), agency_commission_pct=commission_pct, platform_fee_pct=fee_pct
    )
    assert backward.commission == -forward.commission
    assert backward.platform_fee == -forward.platform_fee
    assert backward.talent == -forward.talent


# --- allocate -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (-100, [1, 1, 1], [-34, -33, -33]),
        (5, [Decimal("0.5"), Decimal("0.5")], [3, 2]),  # equal remainders: earliest wins
        (100, [0, 1], [0, 100]),
        (10, [3, 7], [3, 7]),
        (1, [1, 2, 3], [0, 0, 1]),  # remainders 1/6, 2/6, 3/6
        (0, [1, 2], [0, 0]),
        (7, [5], [7]),
    ],
)
def test_allocate_largest_remainder_known_answers(total, weights, parts):
    assert allocate(Money(total, "EUR"), weights) == [Money(p, "EUR") for p in parts]


@given(
    total=st.integers(min_value=-(2**127), max_value=2**127),
    weights=st.lists(weights, min_size=1, max_size=20).filter(lambda ws: sum(ws) > 0),
    currency=currencies,
)
def test_allocate_parts_sum_exactly_and_stay_within_one_unit_of_the_exact_share(
    total, weights, currency
):
    parts = allocate(Money(total, currency), weights)
    assert len(parts) == len(weights)
    assert all(part.currency == currency for part in parts)
    assert sum(part.minor for part in parts) == total
    weight_sum = sum(Fraction(w) for w in weights)
    for part, weight in zip(parts, weights, strict=True):
        exact_share = Fraction(total) * Fraction(weight) / weight_sum
        assert abs(part.minor - exact_share) < 1


THIRDS_28_DIGITS = [
    Decimal("0.3333333333333333333333333333"),
    Decimal("0.3333333333333333333333333333"),
    Decimal("0.3333333333333333333333333335"),
]  # their sum has 29 significant digits: one more than Decimal's default context keeps
precise_weights = st.one_of(
    st.decimals(min_value=0, max_value=1, places=40),
    decimals_any_scale.map(abs),
    st.integers(min_value=0),
)


@given(
    total=any_int,
    weights=st.lists(precise_weights, min_size=1, max_size=8).filter(lambda ws: sum(ws) > 0),
)
@example(total=10**30, weights=THIRDS_28_DIGITS)
@example(total=10**65 + 1, weights=[1, 2])
def test_allocate_is_exact_for_any_total_and_weight_precision(total, weights):
    parts = allocate(Money(total, "EUR"), weights)
    assert sum(part.minor for part in parts) == total
    weight_sum = sum(Fraction(w) for w in weights)
    for part, weight in zip(parts, weights, strict=True):
        assert abs(part.minor - Fraction(total) * Fraction(weight) / weight_sum) < 1


def test_allocate_gives_left_over_units_to_the_largest_exact_remainders():
    # Shares of 10 by (1, 1, 1 + 1e-40): the third remainder is larger by a hair that rounding the
    # remainders to Decimal's default 28 digits hides (making it a tie won by the first part).
    weights = [Decimal(1), Decimal(1), Decimal("1." + "0" * 39 + "1")]
    assert [p.minor for p in allocate(Money(10, "EUR"), weights)] == [3, 3, 4]


@pytest.mark.parametrize("bad", [[], [0], [0, 0], [1, -1], [Decimal("-0.5"), 2]])
def test_allocate_refuses_empty_negative_or_zero_weights(bad):
    with pytest.raises(ValueError):
        allocate(Money(100, "EUR"), bad)


# --- floats and bools are refused everywhere ----------------------------------------------------

EUR_100 = Money(100, "EUR")

REFUSALS = {
    "Money": lambda bad: Money(bad, "EUR"),
    "from_major": lambda bad: Money.from_major(bad, "EUR"),
    "times": lambda bad: EUR_100.times(bad),
    "percent": lambda bad: EUR_100.percent(bad),
    "round_half_even": lambda bad: round_half_even(bad),
    "split commission": lambda bad: split(
        EUR_100, agency_commission_pct=bad, platform_fee_pct=Decimal(0)
    ),
    "split fee": lambda bad: split(EUR_100, agency_commission_pct=Decimal(0), platform_fee_pct=bad),
    "allocate weight": lambda bad: allocate(EUR_100, [1, bad]),
}


@pytest.mark.parametrize("call", REFUSALS.values(), ids=REFUSALS.keys())
@pytest.mark.parametrize("bad", [0.5, 1.5, 1.0, 0.0])
def test_floats_are_refused_with_type_error(call, bad):
    with pytest.raises(TypeError):
        call(bad)


@pytest.mark.parametrize("call", REFUSALS.values(), ids=REFUSALS.keys())
@pytest.mark.parametrize("bad", [True, False])
def test_bools_are_refused_with_type_error(call, bad):
    with pytest.raises(TypeError):
        call(bad)


@pytest.mark.parametrize("bad", ["1.5", None, object()])
def test_round_half_even_refuses_non_numbers(bad):
    with pytest.raises(TypeError):
        round_half_even(bad)


def test_split_refuses_shares_that_exceed_the_whole():
    with pytest.raises(ValueError, match="exceed 100%"):
        split(
            Money(1000, "EUR"), agency_commission_pct=Decimal("60"), platform_fee_pct=Decimal("41")
        )
