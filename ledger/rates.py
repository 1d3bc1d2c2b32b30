"""A license version's rates: their JSON shape, validation, and the pure rating arithmetic.

Shape (every key optional; amounts in minor units of the license currency):
    {
      "per_asset": {"tiers": [{"up_to": 100, "unit_minor": 4000}, {"up_to": null, "unit_minor": 3000}]},
      "per_publication": {"ecommerce": 1500, "social": 2000},
      "cpm": {"social": 350},
      "revenue_share_pct": "5.5",
      "flat_fee_minor": 100000,
      "minimum_guarantee_minor": 500000,
      "advance_minor": 1000000
    }
`up_to` is the cumulative unit count a tier ends at within the period; the last tier is open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ledger.money import Money
from ledger.validation import SLUG
from ledger.vocabulary import UseKind

MAX_MINOR = 10**15  # a rate or fee above 10 trillion major units is a typo, not a deal


class RatesError(ValueError):
    def __init__(self, field: str, detail: str):
        self.field = field
        self.detail = detail
        super().__init__(f"{field}: {detail}")


@dataclass(frozen=True, slots=True)
class Tier:
    up_to: int | None
    unit_minor: int


@dataclass(frozen=True, slots=True)
class Rates:
    per_asset: tuple[Tier, ...] = ()
    per_publication: dict[str, int] = field(default_factory=dict)
    cpm: dict[str, int] = field(default_factory=dict)
    revenue_share_pct: Decimal | None = None
    flat_fee_minor: int | None = None
    minimum_guarantee_minor: int | None = None
    advance_minor: int | None = None

    @classmethod
    def parse(cls, data: Any) -> Rates:
        if not isinstance(data, dict):
            raise RatesError("rates", "must be an object")
        known = {
            "per_asset",
            "per_publication",
            "cpm",
            "revenue_share_pct",
            "flat_fee_minor",
            "minimum_guarantee_minor",
            "advance_minor",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise RatesError(f"rates.{unknown[0]}", "unknown rate")
        return cls(
            per_asset=_tiers(data.get("per_asset")),
            per_publication=_per_channel(data.get("per_publication"), "per_publication"),
            cpm=_per_channel(data.get("cpm"), "cpm"),
            revenue_share_pct=_pct(data.get("revenue_share_pct")),
            flat_fee_minor=_amount(data.get("flat_fee_minor"), "flat_fee_minor"),
            minimum_guarantee_minor=_amount(
                data.get("minimum_guarantee_minor"), "minimum_guarantee_minor"
            ),
            advance_minor=_amount(data.get("advance_minor"), "advance_minor"),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.per_asset:
            out["per_asset"] = {
                "tiers": [{"up_to": t.up_to, "unit_minor": t.unit_minor} for t in self.per_asset]
            }
        if self.per_publication:
            out["per_publication"] = dict(self.per_publication)
        if self.cpm:
            out["cpm"] = dict(self.cpm)
        if self.revenue_share_pct is not None:
            out["revenue_share_pct"] = str(self.revenue_share_pct)
        for name in ("flat_fee_minor", "minimum_guarantee_minor", "advance_minor"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


def _int(value: Any, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RatesError(name, "must be an integer number of minor units")
    if not minimum <= value <= MAX_MINOR:
        raise RatesError(name, f"must be between {minimum} and {MAX_MINOR}")
    return value


def _amount(value: Any, name: str) -> int | None:
    return None if value is None else _int(value, f"rates.{name}")


def _pct(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float | bool) or not isinstance(value, str | int):
        raise RatesError("rates.revenue_share_pct", 'must be a decimal string such as "5.5"')
    try:
        pct = Decimal(str(value))
    except InvalidOperation:
        raise RatesError("rates.revenue_share_pct", "must be a decimal string") from None
    if not pct.is_finite() or not 0 <= pct <= 100 or pct.as_tuple().exponent < -4:
        raise RatesError("rates.revenue_share_pct", "must be 0-100 with at most 4 decimals")
    return pct


def _per_channel(value: Any, name: str) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not value:
        raise RatesError(f"rates.{name}", "must be an object of channel: minor units")
    bad = [ch for ch in value if not SLUG.match(ch)]
    if bad:
        raise RatesError(f"rates.{name}.{bad[0]}", "channels are lower-case slugs, e.g. social")
    return {ch: _int(v, f"rates.{name}.{ch}") for ch, v in value.items()}


def _tiers(value: Any) -> tuple[Tier, ...]:
    if value is None:
        return ()
    tiers = value.get("tiers") if isinstance(value, dict) else None
    if not isinstance(tiers, list) or not tiers:
        raise RatesError("rates.per_asset.tiers", "must be a non-empty list")
    unknown = sorted(set(value) - {"tiers"})
    if unknown:
        raise RatesError(f"rates.per_asset.{unknown[0]}", "unknown key")
    parsed: list[Tier] = []
    previous = 0
    for i, tier in enumerate(tiers):
        name = f"rates.per_asset.tiers[{i}]"
        if not isinstance(tier, dict) or set(tier) - {"up_to", "unit_minor"}:
            raise RatesError(name, "must be {up_to, unit_minor}")
        up_to = tier.get("up_to")
        last = i == len(tiers) - 1
        if last and up_to is not None:
            raise RatesError(name, "the last tier must be open (up_to: null)")
        if not last:
            up_to = _int(up_to, f"{name}.up_to", minimum=1)
            if up_to <= previous:
                raise RatesError(name, "up_to must increase from tier to tier")
            previous = up_to
        parsed.append(Tier(up_to, _int(tier.get("unit_minor"), f"{name}.unit_minor")))
    return tuple(parsed)


@dataclass(frozen=True, slots=True)
class Rated:
    """A use's gross and how it was reached, line by line."""

    gross: Money
    lines: list[dict[str, Any]]
    tier_units: int = 0  # units this use adds to the per-asset tier counter


def tiered(tiers: tuple[Tier, ...], *, already_used: int, quantity: int, currency: str) -> Rated:
    """Graduated tiers: each unit is priced by the tier its position in the period falls in."""
    lines = []
    total = 0
    position = already_used  # units before this use
    remaining = quantity
    tier_start = 0
    for number, tier in enumerate(tiers, start=1):
        tier_end = tier.up_to if tier.up_to is not None else position + remaining
        units = max(0, min(position + remaining, tier_end) - max(position, tier_start))
        if units:
            amount = units * tier.unit_minor
            lines.append(
                {
                    "rate": "per_asset",
                    "tier": number,
                    "units": units,
                    "unit_minor": tier.unit_minor,
                    "amount_minor": amount,
                }
            )
            total += amount
            position += units
            remaining -= units
        tier_start = tier_end
        if not remaining:
            break
    return Rated(Money(total, currency), lines, tier_units=quantity)


def rate_use(
    rates: Rates,
    *,
    kind: str,
    channel: str,
    quantity: int,
    sale_amount_minor: int | None,
    already_used: int,
    currency: str,
) -> Rated:
    """The gross of one use under `rates` (SPEC "Rating and rounding"); zero when unpriced."""
    if kind == UseKind.GENERATION and rates.per_asset:
        return tiered(
            rates.per_asset, already_used=already_used, quantity=quantity, currency=currency
        )
    if kind == UseKind.PUBLICATION and channel in rates.per_publication:
        unit = rates.per_publication[channel]
        line = {
            "rate": "per_publication",
            "channel": channel,
            "units": quantity,
            "unit_minor": unit,
        }
        gross = Money(unit * quantity, currency)
        return Rated(gross, [{**line, "amount_minor": gross.minor}])
    if kind == UseKind.IMPRESSIONS and channel in rates.cpm:
        cpm = rates.cpm[channel]
        gross = Money(cpm, currency).ratio(quantity, 1000)
        line = {"rate": "cpm", "channel": channel, "impressions": quantity, "cpm_minor": cpm}
        return Rated(gross, [{**line, "amount_minor": gross.minor}])
    if kind == UseKind.SALE and rates.revenue_share_pct is not None and sale_amount_minor:
        gross = Money(sale_amount_minor, currency).percent(rates.revenue_share_pct)
        line = {
            "rate": "revenue_share",
            "sale_amount_minor": sale_amount_minor,
            "pct": str(rates.revenue_share_pct),
        }
        return Rated(gross, [{**line, "amount_minor": gross.minor}])
    # Training, or a kind/channel this license has no usage rate for: covered by its flat fee,
    # advance or minimum guarantee, if any. Recorded, but nothing to post.
    return Rated(Money.zero(currency), [{"rate": "none", "amount_minor": 0}])
