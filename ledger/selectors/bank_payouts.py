"""Payees' own bank payouts (from their Stripe balance to their bank), as Stripe reported them.

They are not ours to make (Stripe pays connected accounts out on their schedule) but a talent
whose bank returned the money must see why, and so must finance: the processed `payout.*`
webhook events are the record (see `ledger.services.webhooks._bank_payout`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import QuerySet

from ledger.models import StripeEvent

BANK_PAYOUT_EVENTS = ("payout.paid", "payout.failed")


@dataclass(frozen=True, slots=True)
class BankPayout:
    stripe_id: str
    account: str  # the connected account
    amount_minor: int
    currency: str  # upper case, as ours
    status: str  # "paid" or "failed": the latest event Stripe sent about it
    failure_code: str
    failure_message: str
    arrival_date: datetime | None
    reported_at: datetime  # when Stripe created that latest event

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def bank_payouts_of(*, stripe_accounts: Iterable[str]) -> list[BankPayout]:
    """Each bank payout of these connected accounts in its latest reported state, newest first."""
    accounts = [account for account in stripe_accounts if account]
    if not accounts:
        return []
    return _latest(_processed().filter(account__in=accounts))


def bank_payouts_returned() -> list[BankPayout]:
    """For finance: every payee's bank payout whose latest state is returned by the bank."""
    failed = _processed().filter(type="payout.failed").values("object_id")
    return [p for p in _latest(_processed().filter(object_id__in=failed)) if p.failed]


def _processed() -> QuerySet[StripeEvent]:
    return StripeEvent.objects.filter(
        type__in=BANK_PAYOUT_EVENTS, status=StripeEvent.Status.PROCESSED
    ).exclude(account="")


def _latest(events: QuerySet[StripeEvent]) -> list[BankPayout]:
    latest: dict[str, BankPayout] = {}
    for event in events.order_by("created", "pk"):  # a later event about a payout replaces it
        payout = json.loads(event.body)["data"]["object"]
        arrival = payout.get("arrival_date")
        latest[event.object_id] = BankPayout(
            stripe_id=event.object_id,
            account=event.account,
            amount_minor=int(payout["amount"]),
            currency=str(payout["currency"]).upper(),
            status="failed" if event.type == "payout.failed" else "paid",
            failure_code=payout.get("failure_code") or "",
            failure_message=payout.get("failure_message") or "",
            arrival_date=datetime.fromtimestamp(arrival, tz=UTC) if arrival else None,
            reported_at=event.created,
        )
    return sorted(latest.values(), key=lambda p: p.reported_at, reverse=True)
