"""Template filters for the portal: money from minor units (through ledger.money only), and how
late a use was reported."""

from __future__ import annotations

from datetime import datetime, timedelta

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


@register.simple_tag
def days_late(occurred_at: datetime | None, recorded_at: datetime | None) -> int:
    """Whole days a use was reported after it occurred, when that is more than a day (0 below:
    a report within a day is on time however the clock falls)."""
    if occurred_at is None or recorded_at is None:
        return 0
    delta = recorded_at - occurred_at
    return delta.days if delta > timedelta(days=1) else 0
