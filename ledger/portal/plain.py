"""Terms and consent in plain language, for people: what a license allows and what it costs,
and what changed between two consent versions. Presentation only (money through ledger.money)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from ledger.models import ConsentVersion, LicenseVersion
from ledger.money import Money
from ledger.rates import Rates
from ledger.selectors.rights import EffectiveRights
from ledger.vocabulary import WORLDWIDE

# The territories a license names most often; any other code is shown as is (e.g. "JP").
TERRITORY_NAMES = {
    "WW": "worldwide",
    "FR": "France",
    "DE": "Germany",
    "US": "the US",
    "GB": "the UK",
    "IT": "Italy",
    "ES": "Spain",
    "PT": "Portugal",
    "NL": "the Netherlands",
    "BE": "Belgium",
    "CH": "Switzerland",
    "AT": "Austria",
    "IE": "Ireland",
    "SE": "Sweden",
    "DK": "Denmark",
    "NO": "Norway",
    "FI": "Finland",
    "PL": "Poland",
    "CA": "Canada",
    "JP": "Japan",
    "CN": "China",
    "KR": "South Korea",
    "AU": "Australia",
    "BR": "Brazil",
    "MX": "Mexico",
    "IN": "India",
}

KIND_VERBS = {
    "generation": "generate images",
    "publication": "publish them",
    "impressions": "serve impressions",
    "sale": "sell products featuring them",
    "training": "train or fine-tune models",
}

KIND_LABELS = {
    "generation": "Generation",
    "publication": "Publication",
    "impressions": "Impressions",
    "sale": "Sale",
    "training": "Training",
}


def and_join(items: Sequence[str], *, empty: str = "none") -> str:
    items = [str(i) for i in items]
    if not items:
        return empty
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} and {items[-1]}"


def territories_text(codes: Iterable[str]) -> str:
    codes = list(codes)
    if WORLDWIDE in codes:
        return "worldwide"
    return "in " + and_join([TERRITORY_NAMES.get(c, c) for c in codes], empty="no territory")


def day(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def pct(value: Decimal | str) -> str:
    """12.5000 -> "12.5%"; 20 -> "20%"."""
    text = format(Decimal(str(value)).normalize(), "f")
    return f"{text}%"


def rates_text(rates: dict, currency: str) -> list[str]:
    """One phrase per rate of a version's `rates` JSON (already validated by the service)."""
    parsed = Rates.parse(rates)

    def money(minor: int) -> str:
        return Money(minor, currency).display()

    phrases: list[str] = []
    if parsed.per_asset:
        tiers = parsed.per_asset
        if len(tiers) == 1:
            phrases.append(f"{money(tiers[0].unit_minor)} per asset")
        else:
            parts = [
                f"{money(tiers[0].unit_minor)} per asset for the first {tiers[0].up_to} a month"
            ]
            for tier in tiers[1:]:
                if tier.up_to is None:
                    parts.append(f"then {money(tier.unit_minor)}")
                else:
                    parts.append(f"{money(tier.unit_minor)} up to {tier.up_to}")
            phrases.append(", ".join(parts))
    if parsed.per_publication:
        phrases.append(
            "per publication "
            + and_join([f"{money(v)} on {ch}" for ch, v in sorted(parsed.per_publication.items())])
        )
    if parsed.cpm:
        phrases.append(
            "per 1,000 impressions "
            + and_join([f"{money(v)} on {ch}" for ch, v in sorted(parsed.cpm.items())])
        )
    if parsed.revenue_share_pct is not None:
        phrases.append(f"{pct(parsed.revenue_share_pct)} of attributed sales")
    if parsed.flat_fee_minor is not None:
        phrases.append(f"a flat fee of {money(parsed.flat_fee_minor)} a month")
    if parsed.minimum_guarantee_minor is not None:
        phrases.append(f"at least {money(parsed.minimum_guarantee_minor)} a month (guaranteed)")
    if parsed.advance_minor is not None:
        phrases.append(
            f"an advance of {money(parsed.advance_minor)} at activation, recouped from earnings"
        )
    return phrases


def terms_text(version: LicenseVersion, *, brand: str, twin: str, currency: str) -> str:
    """E.g. "Atelier Test may use 'Twin' to generate images and publish them for social and
    ecommerce in France, Germany and the US from 1 Jan 2026 to 31 Dec 2026; €40.00 per asset for
    the first 100 a month, then €30.00; exclusive in apparel in France."""
    kinds = and_join([KIND_VERBS.get(k, k) for k in version.use_kinds])
    channels = and_join(version.channels, empty="")
    sentence = f"{brand} may use '{twin}' to {kinds}"
    if channels:
        sentence += f" for {channels}"
    sentence += f" {territories_text(version.territories)}"
    sentence += f" from {day(version.starts_at)} to {day(version.ends_at)}"
    clauses = [sentence, *rates_text(version.rates, currency)]
    if version.exclusive:
        clauses.append(
            f"exclusive in {version.exclusivity_category} "
            f"{territories_text(version.exclusivity_territories)}"
        )
    return "; ".join(clauses) + "."


def split_text(version: LicenseVersion) -> str:
    parts = []
    if version.agency_id:
        parts.append(f"agency commission {pct(version.agency_commission_pct)}")
    parts.append(f"platform fee {pct(version.platform_fee_pct)}")
    return (
        f"Brand category: {version.brand_category}. Of every amount, "
        + " and ".join(parts)
        + f"; the talent keeps the rest. Sell-off: {version.sell_off_days} days. "
        + "Reporting: generations, publications and training within "
        + f"{version.producing_report_hours} hours, impressions and sales within "
        + f"{version.reporting_window_days} days (later reports are held for the talent)."
    )


CONSENT_FIELDS = (
    ("allowed_kinds", "Allowed uses"),
    ("allowed_channels", "Channels"),
    ("allowed_territories", "Territories"),
    ("forbidden_contexts", "Forbidden contexts"),
)


def consent_changes(older: ConsentVersion | None, newer: ConsentVersion) -> list[str]:
    """What a consent version changed compared with the one before it, in words."""
    if newer.revoked and not (older and older.revoked):
        return ["Consent revoked"]
    if older is None:
        return ["First consent"]
    changes: list[str] = []
    if older.revoked and not newer.revoked:
        changes.append("Consent restored")
    for name, label in CONSENT_FIELDS:
        before, after = set(getattr(older, name)), set(getattr(newer, name))
        added, removed = sorted(after - before), sorted(before - after)
        if added:
            changes.append(f"{label}: added {', '.join(added)}")
        if removed:
            changes.append(f"{label}: removed {', '.join(removed)}")
    if older.requires_output_approval != newer.requires_output_approval:
        changes.append(
            "Output approval now required"
            if newer.requires_output_approval
            else "Output approval no longer required"
        )
    return changes or ["No change"]


def consent_history_rows(history: list[ConsentVersion]) -> list[dict]:
    """Rows for a history table (latest first): each version with what it changed."""
    by_version = sorted(history, key=lambda v: v.version)
    rows = []
    for index, version in enumerate(by_version):
        older = by_version[index - 1] if index else None
        rows.append({"version": version, "changes": consent_changes(older, version)})
    return list(reversed(rows))


RIGHT_LABELS = {
    "consent": "Consent",
    "kind": "Use",
    "training": "Training",
    "channel": "Channel",
    "territory": "Territory",
    "context": "Context",
}


def effective_text(rights: EffectiveRights) -> str:
    """E.g. "generate images and publish them for social in France" — what consent still lets
    the terms in force do; "nothing" when nothing is left."""
    if not rights.kinds:
        return "nothing"
    text = and_join([KIND_VERBS.get(k, k) for k in rights.kinds])
    if rights.channels:
        text += f" for {and_join(rights.channels)}"
    return f"{text} {territories_text(rights.territories)}"


def removed_text(rights: EffectiveRights) -> str:
    """What the terms grant that consent no longer does, e.g. "training; the print channel;
    Japan; the brand's category (alcohol)"."""
    parts = [KIND_LABELS.get(k, k).lower() for k in rights.removed_kinds]
    parts += [f"the {c} channel" for c in rights.removed_channels]
    parts += [
        "worldwide (beyond the territories consented)"
        if t == WORLDWIDE
        else TERRITORY_NAMES.get(t, t)
        for t in rights.removed_territories
    ]
    if rights.category_forbidden:
        parts.append("the brand's category, now a forbidden context")
    return "; ".join(parts)
