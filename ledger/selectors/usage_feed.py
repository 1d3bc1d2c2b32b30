"""The uses feed of a payee's pages: every use of the twins it may see, with its own share.

A talent's share of a use is what the use's journal transaction credited to the talent's payable
account; an agency's is what it credited to the agency's (its commission). Both come from the
postings, so the feed, its totals and the CSV agree with the journal to the cent.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from io import StringIO

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import Brand
from ledger.exports.common import spreadsheet_safe
from ledger.models import LedgerAccount, License, Posting, RefusedAttempt, UsageEvent
from ledger.money import Money
from ledger.selectors.earnings import AGENCY, TALENT, viewer_as
from ledger.selectors.visibility import (
    Viewer,
    licenses_visible_to,
    refused_attempts_visible_to,
    usage_events_visible_to,
)

CSV_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class FeedFilters:
    brand: int | None = None
    license: int | None = None
    kind: str = ""
    channel: str = ""
    territory: str = ""
    asset_ref: str = ""
    date_from: date | None = None
    date_to: date | None = None  # inclusive


def _share_postings(viewer: Viewer, role: str) -> QuerySet[Posting]:
    if role == TALENT:
        return Posting.objects.filter(
            account__kind=LedgerAccount.Kind.TALENT_PAYABLE, account__talent_id=viewer.talent_id
        )
    if role == AGENCY:
        return Posting.objects.filter(
            account__kind=LedgerAccount.Kind.AGENCY_PAYABLE,
            account__agency_id__in=viewer.agency_ids,
        )
    raise ValueError(f"Not a payee role: {role!r}")


def usage_feed(*, viewer: Viewer, role: str, filters: FeedFilters) -> QuerySet[UsageEvent]:
    """The visible uses matching the filters, newest first, each annotated `share_minor` (the
    payee's share; 0 for a use priced at zero) and `is_reversed`."""
    share = (
        _share_postings(viewer, role)
        .filter(transaction_id=OuterRef("transaction_id"))
        .values("transaction_id")
        .annotate(total=Sum("amount_minor"))
        .values("total")
    )
    events = (
        usage_events_visible_to(viewer_as(viewer, role))
        .select_related("brand", "license", "twin")
        .annotate(share_minor=-Coalesce(Subquery(share), Value(0)))
    )
    return _filtered(events, filters).order_by("-occurred_at", "-pk")


def _filtered(events: QuerySet[UsageEvent], f: FeedFilters) -> QuerySet[UsageEvent]:
    if f.brand is not None:
        events = events.filter(brand_id=f.brand)
    if f.license is not None:
        events = events.filter(license_id=f.license)
    if f.kind:
        events = events.filter(kind=f.kind)
    if f.channel:
        events = events.filter(channel=f.channel)
    if f.territory:
        events = events.filter(territory=f.territory.upper())
    if f.asset_ref:
        events = events.filter(asset__asset_ref=f.asset_ref)
    if f.date_from is not None:
        events = events.filter(occurred_at__gte=datetime.combine(f.date_from, time(), UTC))
    if f.date_to is not None:
        end = datetime.combine(f.date_to + timedelta(days=1), time(), UTC)
        events = events.filter(occurred_at__lt=end)
    return events


@dataclass(frozen=True, slots=True)
class FeedTotal:
    currency: str
    uses: int
    share_minor: int
    gross_minor: int


def usage_feed_totals(feed: QuerySet[UsageEvent]) -> list[FeedTotal]:
    """Per currency, over every matching use (all pages), leaving out reversed uses: a reversal
    takes back exactly what the use earned."""
    rows = (
        feed.filter(is_reversed=False)
        .order_by()
        .values("currency")
        .annotate(uses=Count("pk"), share=Sum("share_minor"), gross=Sum("gross_minor"))
        .order_by("currency")
    )
    return [
        FeedTotal(r["currency"], r["uses"], int(r["share"] or 0), int(r["gross"] or 0))
        for r in rows
    ]


CSV_HEADER = (
    "occurred_at",
    "recorded_at",
    "days_late",
    "usage_event",
    "external_id",
    "brand",
    "license",
    "twin",
    "kind",
    "channel",
    "territory",
    "asset_ref",
    "quantity",
    "currency",
    "my_share",
    "gross",
    "reversed",
)


def usage_feed_csv(feed: QuerySet[UsageEvent]) -> Iterator[str]:
    """The feed as CSV lines, streamed from a server-side cursor. Amounts in major units as exact
    decimals; reversed uses are listed (marked) but, like on the page, not in any total."""
    buffer = StringIO()
    writer = csv.writer(buffer)

    def line(row: tuple) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        return buffer.getvalue()

    yield line(CSV_HEADER)
    for event in feed.select_related("asset").iterator(chunk_size=CSV_CHUNK):
        yield line(
            (
                event.occurred_at.astimezone(UTC).isoformat(),
                event.recorded_at.astimezone(UTC).isoformat(),
                max(0, (event.recorded_at - event.occurred_at).days),
                event.pk,
                spreadsheet_safe(event.external_id),
                spreadsheet_safe(event.brand.name),
                event.license_id,
                spreadsheet_safe(str(event.twin)),
                event.kind,
                event.channel,
                event.territory,
                spreadsheet_safe(event.asset.asset_ref),
                event.quantity,
                event.currency,
                Money(event.share_minor, event.currency).major_str(),
                Money(event.gross_minor, event.currency).major_str(),
                "yes" if event.is_reversed else "no",
            )
        )


def feed_choices(*, viewer: Viewer, role: str) -> tuple[list[Brand], list[License]]:
    """The brands and licenses the role's filters may offer: those of its visible licenses."""
    licenses = list(
        licenses_visible_to(viewer_as(viewer, role)).select_related("brand", "twin").order_by("pk")
    )
    brands = sorted({lic.brand for lic in licenses}, key=lambda b: (b.name, b.pk))
    return brands, licenses


def refused_feed(*, viewer: Viewer, role: str) -> QuerySet[RefusedAttempt]:
    return (
        refused_attempts_visible_to(viewer_as(viewer, role))
        .select_related("brand", "license", "twin")
        .order_by("-recorded_at", "-pk")
    )


__all__ = [
    "CSV_HEADER",
    "FeedFilters",
    "FeedTotal",
    "feed_choices",
    "refused_feed",
    "usage_feed",
    "usage_feed_csv",
    "usage_feed_totals",
]
