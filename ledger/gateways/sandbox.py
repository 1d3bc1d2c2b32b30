"""The offline sandbox used instead of Stripe when no key is set (`make run` on a laptop).

Nothing leaves the machine. Each call answers as Stripe would for a successful request, with
ids that start with ``sandbox_`` and are derived from the idempotency key (a retry gets the
same object back): the payout or invoice row that received such an id *is* the record of what
would have been sent, and the ``sandbox_`` prefix labels it wherever it shows.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace

from .stripe import (
    Account,
    AccountLink,
    Customer,
    InvoiceItem,
    StripeGateway,
    StripeInvoice,
    StripeNotConfiguredError,
    Transfer,
    TransferReversal,
    WebhookEvent,
)

PREFIX = "sandbox_"


def is_sandbox_id(stripe_id: str | None) -> bool:
    return bool(stripe_id) and str(stripe_id).startswith(PREFIX)


def _id(kind: str, key: str | None) -> str:
    seed = key or uuid.uuid4().hex
    return f"{PREFIX}{kind}_{hashlib.sha256(seed.encode()).hexdigest()[:20]}"


class SandboxGateway(StripeGateway):
    sandbox = True

    def __init__(self) -> None:
        super().__init__(api_key="")
        self._invoices: dict[str, StripeInvoice] = {}

    @property
    def configured(self) -> bool:
        return True

    def account_create(
        self,
        *,
        email: str,
        country: str,
        metadata: dict[str, str],
        idempotency_key: str | None = None,
    ) -> Account:
        return Account(
            id=_id("acct", idempotency_key), payouts_enabled=True, details_submitted=True
        )

    def account_retrieve(self, account_id: str) -> Account:
        return Account(id=account_id, payouts_enabled=True, details_submitted=True)

    def account_link_create(
        self, *, account_id: str, refresh_url: str, return_url: str
    ) -> AccountLink:
        # No Stripe page to visit: onboarding "completes" at once.
        return AccountLink(url=return_url, expires_at=int(time.time()) + 300)

    def transfer_create(
        self,
        *,
        amount_minor: int,
        currency: str,
        destination: str,
        transfer_group: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> Transfer:
        return Transfer(
            id=_id("tr", idempotency_key),
            amount_minor=amount_minor,
            currency=currency.lower(),
            destination=destination,
            reversed=False,
            created=int(time.time()),
            transfer_group=transfer_group,
            metadata=dict(metadata),
        )

    def transfer_retrieve(self, transfer_id: str) -> Transfer:
        raise StripeNotConfiguredError("STRIPE_SECRET_KEY")

    def transfer_reverse(
        self, *, transfer_id: str, idempotency_key: str, metadata: dict[str, str]
    ) -> TransferReversal:
        raise StripeNotConfiguredError("STRIPE_SECRET_KEY")

    def transfers_list(self, *, created_gte: int) -> Iterator[Transfer]:
        return iter(())

    def customer_create(
        self, *, name: str, email: str, metadata: dict[str, str], idempotency_key: str
    ) -> Customer:
        return Customer(id=_id("cus", idempotency_key), name=name, email=email)

    def invoice_create(
        self,
        *,
        customer: str,
        currency: str,
        days_until_due: int,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> StripeInvoice:
        invoice = StripeInvoice(
            id=_id("in", idempotency_key),
            status="draft",
            amount_due=0,
            currency=currency.lower(),
            metadata=dict(metadata),
            hosted_invoice_url=None,
            customer=customer,
        )
        self._invoices.setdefault(invoice.id, invoice)
        return self._invoices[invoice.id]

    def invoice_item_create(
        self,
        *,
        customer: str,
        amount_minor: int,
        currency: str,
        description: str,
        invoice: str | None,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> InvoiceItem:
        if invoice in self._invoices:
            current = self._invoices[invoice]
            self._invoices[invoice] = replace(current, amount_due=current.amount_due + amount_minor)
        return InvoiceItem(
            id=_id("ii", idempotency_key),
            amount_minor=amount_minor,
            currency=currency.lower(),
            invoice=invoice,
        )

    def invoice_finalize(self, invoice_id: str, *, idempotency_key: str) -> StripeInvoice:
        return self._set_status(invoice_id, "open")

    def invoice_send(self, invoice_id: str, *, idempotency_key: str) -> StripeInvoice:
        return self._set_status(invoice_id, "open")

    def invoice_retrieve(self, invoice_id: str) -> StripeInvoice:
        return self._set_status(invoice_id, None)

    def invoices_list(self, *, created_gte: int) -> Iterator[StripeInvoice]:
        return iter(())

    def webhook_event(self, payload: bytes, signature_header: str) -> WebhookEvent:
        raise StripeNotConfiguredError("STRIPE_WEBHOOK_SECRET")

    def _set_status(self, invoice_id: str, status: str | None) -> StripeInvoice:
        if invoice_id not in self._invoices:
            # Made by another process (a retried task): its items are not known here.
            raise StripeNotConfiguredError("STRIPE_SECRET_KEY")
        current = self._invoices[invoice_id]
        if status is not None:
            self._invoices[invoice_id] = replace(current, status=status)
        return self._invoices[invoice_id]
