"""Template filters for the portal: money from minor units, through ledger.money only."""

from __future__ import annotations

from django import template
from django.http import QueryDict

from ledger.money import Money

register = template.Library()


@register.filter
def money(amount_minor: int | None, currency: str) -> str:
    """`{{ line.amount_minor|money:statement.currency }}` -> "€1,234.50" ("—" for None)."""
    if amount_minor is None or not currency:
        return "—"
    return Money(int(amount_minor), currency).display()


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters changed (pagination keeps the filters)."""
    query: QueryDict = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"
