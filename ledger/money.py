"""The one place that defines money, currencies and rounding.

Amounts are integers in the currency's minor unit (cents, yen, fils). Rates and percentages may
carry more precision as Decimal; turning them back into money always goes through
`round_half_even`. Floats are refused everywhere: they cannot represent cents exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import (
    MAX_PREC,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from numbers import Integral

# ISO 4217 minor-unit exponents. Currencies absent from the zero/three lists have two decimals.
_ZERO_DECIMAL = {
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
}  # fmt: skip
_THREE_DECIMAL = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}
_TWO_DECIMAL = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF",
    "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR",
    "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF",
    "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD",
    "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP",
    "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "UYU", "UZS", "VES", "WST", "XCD", "YER", "ZAR",
    "ZMW", "ZWG",
}  # fmt: skip

CURRENCY_EXPONENTS: dict[str, int] = {
    **{code: 2 for code in _TWO_DECIMAL},
    **{code: 0 for code in _ZERO_DECIMAL},
    **{code: 3 for code in _THREE_DECIMAL},
}

HUNDRED = Decimal(100)

# Products and decimal shifts of an amount keep every digit: the default context keeps only 28
# significant digits and would round *before* round_half_even does (double rounding, and even
# integer products going wrong past 28 digits). Nothing computed here can be inexact (only *, /100
# and scaleb), and if it ever were, Inexact is trapped instead of rounding silently. The exponent
# range stays the default one (|exp| <= 999999), so from_major("1E+99999999") still overflows
# rather than building a hundred-million-digit integer.
# Signs shown before amounts; other currencies show their code ("CHF 80.00").
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}

_EXACT = Context(prec=MAX_PREC, traps=[InvalidOperation, Inexact, Overflow])


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


class UnknownCurrency(ValueError):
    """The code is not an ISO 4217 currency we know the minor unit of."""


def currency_choices() -> list[tuple[str, str]]:
    return [(code, code) for code in sorted(CURRENCY_EXPONENTS)]


def currency_exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except (KeyError, TypeError):
        raise UnknownCurrency(f"Unknown currency {currency!r}.") from None


def _to_decimal(value: int | Decimal) -> Decimal:
    # bool is an int subclass, but True dollars is a bug, not an amount.
    if isinstance(value, float | bool):
        raise TypeError(f"Money arithmetic refuses {type(value).__name__}: use int or Decimal.")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"Not a finite number: {value}.")
        return value
    if isinstance(value, Integral):
        return Decimal(int(value))
    raise TypeError(f"Expected int or Decimal, got {type(value).__name__}.")


def round_half_even(value: int | Decimal) -> int:
    """Round to an integer number of minor units, ties to even (banker's rounding)."""
    with localcontext() as ctx:
        ctx.prec = 60  # ample for any product of an amount (<= 10^18) and a rate
        return int(_to_decimal(value).to_integral_value(rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in integer minor units of one ISO 4217 currency."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, float | bool) or not isinstance(self.minor, int):
            raise TypeError(f"Money needs integer minor units, got {type(self.minor).__name__}.")
        currency_exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_major(cls, amount: str | Decimal | int, currency: str) -> Money:
        """Parse a major-unit amount ("40.00" EUR -> 4000); refuses sub-minor-unit precision."""
        if isinstance(amount, float | bool):
            raise TypeError(f"from_major refuses {type(amount).__name__}: pass str or Decimal.")
        value = _to_decimal(Decimal(amount) if isinstance(amount, str) else amount)
        with localcontext(_EXACT):
            scaled = value.scaleb(currency_exponent(currency))
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{amount} has more decimals than {currency} allows.")
        return cls(int(scaled), currency)

    def _check(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"Cannot combine Money with {type(other).__name__}.")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"Cannot combine {self.currency} with {other.currency}.")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._check(other).minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._check(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._check(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._check(other).minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._check(other).minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._check(other).minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def times(self, factor: int | Decimal) -> Money:
        """Multiply by a count or rate, rounding half-even to the minor unit."""
        with localcontext(_EXACT):
            exact = self.minor * _to_decimal(factor)
        return Money(round_half_even(exact), self.currency)

    def ratio(self, numerator: int, denominator: int) -> Money:
        """`round_half_even(self * numerator / denominator)` in exact integer arithmetic."""
        for value in (numerator, denominator):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError("ratio needs integer numerator and denominator.")
        if denominator <= 0:
            raise ValueError("ratio needs a positive denominator.")
        quotient, remainder = divmod(self.minor * numerator, denominator)
        # divmod floors, so the remainder is in [0, denominator): compare twice it with the whole.
        if 2 * remainder > denominator or (2 * remainder == denominator and quotient % 2 == 1):
            quotient += 1
        return Money(quotient, self.currency)

    def percent(self, pct: int | Decimal) -> Money:
        """`round_half_even(self * pct / 100)`, the SPEC's rule for every percentage.

        Exact: the percentage as a fraction of integers, then one half-even rounding in integer
        arithmetic (no decimal context, so no precision limit and no double rounding).
        """
        numerator, denominator = _to_decimal(pct).as_integer_ratio()
        return self.ratio(numerator, denominator * 100)

    def major_str(self) -> str:
        """The amount in major units as a plain decimal string ("1234.50")."""
        exponent = currency_exponent(self.currency)
        with localcontext(_EXACT):
            return f"{Decimal(self.minor).scaleb(-exponent):.{exponent}f}"

    def __str__(self) -> str:
        return f"{self.major_str()} {self.currency}"

    def display(self) -> str:
        """For people: grouped digits and the currency's sign where it has a common one
        ("€1,234.50", "-$12.00", "CHF 80.00")."""
        exponent = currency_exponent(self.currency)
        with localcontext(_EXACT):
            digits = f"{abs(Decimal(self.minor).scaleb(-exponent)):,.{exponent}f}"
        sign = "-" if self.minor < 0 else ""
        symbol = _SYMBOLS.get(self.currency)
        return f"{sign}{symbol}{digits}" if symbol else f"{sign}{self.currency} {digits}"


def money_sum(amounts: Sequence[Money], currency: str) -> Money:
    """Sum amounts that must all be in `currency` (an empty sum is zero in it)."""
    total = Money.zero(currency)
    for amount in amounts:
        total += amount
    return total


@dataclass(frozen=True, slots=True)
class Split:
    """How a gross amount divides between agency, platform and talent; parts sum to gross."""

    gross: Money
    commission: Money
    platform_fee: Money
    talent: Money


def split(gross: Money, *, agency_commission_pct: Decimal, platform_fee_pct: Decimal) -> Split:
    """The SPEC's split: commission and fee rounded half-even, the talent gets the remainder."""
    if _to_decimal(agency_commission_pct) + _to_decimal(platform_fee_pct) > HUNDRED:
        raise ValueError("Commission and platform fee together exceed 100%.")
    commission = gross.percent(agency_commission_pct)
    platform_fee = gross.percent(platform_fee_pct)
    return Split(gross, commission, platform_fee, gross - commission - platform_fee)


def allocate(total: Money, weights: Sequence[int | Decimal]) -> list[Money]:
    """Divide `total` in proportion to `weights` so the parts sum exactly to it.

    Largest-remainder method: each part gets the floor of its exact share, and the minor units
    left over go one each to the parts with the largest remainders (ties to the earliest).
    """
    shares = [_to_decimal(w) for w in weights]
    if not shares or any(w < 0 for w in shares) or sum(shares) == 0:
        raise ValueError("allocate needs non-negative weights with a positive sum.")
    sign = -1 if total.minor < 0 else 1
    magnitude = abs(total.minor)
    # Exact integer arithmetic, so no precision limit can break "sums exactly": scale the weights
    # by a common power of ten to integers; each share is then a quotient and a remainder.
    scale = max(-w.as_tuple().exponent for w in shares)
    with localcontext(_EXACT):
        int_weights = [int(w.scaleb(scale)) for w in shares]
    weight_sum = sum(int_weights)
    shares_qr = [divmod(magnitude * w, weight_sum) for w in int_weights]
    floors = [quotient for quotient, _ in shares_qr]
    left_over = magnitude - sum(floors)
    by_remainder = sorted(range(len(floors)), key=lambda i: (-shares_qr[i][1], i))
    for i in by_remainder[:left_over]:
        floors[i] += 1
    return [Money(sign * part, total.currency) for part in floors]
