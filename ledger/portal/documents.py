"""A statement's or invoice's lines for a page: grouped per license, each with the journal
entries it sums and, in words, the rate that priced each (talent statements, brand invoices)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ledger.exports.common import document_lines, kind_label
from ledger.models import Invoice, Statement
from ledger.money import Money
from ledger.selectors.statements import line_entries


def line_groups(document: Statement | Invoice) -> list[dict[str, Any]]:
    """[{license, total, lines: [{line, label, entries}]}] in the document's line order."""
    groups: list[dict[str, Any]] = []
    for line in document_lines(document):
        entries = [
            {**entry, "rate": describe_rating(entry["rating"], document.currency)}
            for entry in line_entries(line)
        ]
        row = {
            "line": line,
            "label": kind_label(line.kind, line.transaction_kind),
            "entries": entries,
        }
        if not groups or groups[-1]["license"] != line.license:
            groups.append({"license": line.license, "lines": [], "total": 0})
        groups[-1]["lines"].append(row)
        groups[-1]["total"] += line.amount_minor
    return groups


def describe_rating(rating: dict[str, Any], currency: str) -> str:
    """How an entry was priced, in words ("tier 1: 3 x €40.00"), from the use's rating lines or
    the charge's figures. Unknown keys are listed as they are, so nothing is hidden."""

    def m(minor: Any) -> str:
        return Money(int(minor), currency).display()

    parts = []
    for line in rating.get("lines", []):
        rate = line.get("rate")
        if rate == "per_asset":
            parts.append(
                f"per asset, tier {line['tier']}: {line['units']} x {m(line['unit_minor'])}"
            )
        elif rate == "per_publication":
            parts.append(
                f"per publication ({line['channel']}): {line['units']} x {m(line['unit_minor'])}"
            )
        elif rate == "cpm":
            parts.append(
                f"CPM ({line['channel']}): {line['impressions']:,} impressions at "
                f"{m(line['cpm_minor'])} per 1,000"
            )
        elif rate == "revenue_share":
            parts.append(f"revenue share: {_pct(line['pct'])} of {m(line['sale_amount_minor'])}")
        elif rate == "none":
            parts.append("no usage rate (covered by fees)")
    if "lines" in rating:
        parts.append(
            f"terms v{rating.get('license_version')}, "
            f"agency {_pct(rating.get('agency_commission_pct'))}, "
            f"platform {_pct(rating.get('platform_fee_pct'))}"
        )
        return "; ".join(parts)
    for key, value in sorted(rating.items()):
        if key.endswith("_minor") and isinstance(value, int):
            parts.append(f"{key.removesuffix('_minor').replace('_', ' ')} {m(value)}")
        else:
            parts.append(f"{key.replace('_', ' ')} {value}")
    return "; ".join(parts)


def _pct(value: Any) -> str:
    """ "20.0000" -> "20%" (exact: Decimal, never a float)."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return f"{value}%"
    text = f"{number.normalize():f}"
    return f"{text}%"
