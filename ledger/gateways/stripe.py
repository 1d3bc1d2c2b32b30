"""The Stripe gateway: the only module in the project that imports ``stripe``.

It wraps ``stripe.StripeClient`` behind a small, keyword-only, typed interface and returns
small frozen dataclasses of our own, so nothing else depends on stripe's types. Amounts are
integers in minor units, as ours are. Every write that creates money movement or a document
takes the caller's idempotency key (our intent's UUID), so a retry after a lost response gets
the same Stripe object back.

Stripe's exceptions are translated into two of ours: ``TransientStripeError`` (retry later:
connection failures and timeouts, rate limits, 5xx, an idempotency key still in use) and
``PermanentStripeError`` (do not retry: invalid requests, declines, auth/permission, a key
reused with other parameters). Webhook verification failures raise ``SignatureError``.
The client never retries by itself (``max_network_retries=0``): retries are our Celery tasks'.

The module stays free of Django except inside ``gateway()``, so ``mypy --strict`` checks it
against stripe's own type hints (a wrong parameter name or type is a type error).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import stripe

DEFAULT_TIMEOUT = 30.0  # seconds per HTTP request


# --------------------------------------------------------------------------- errors


class StripeGatewayError(Exception):
    """A Stripe call failed. Keeps Stripe's error code, message, HTTP status and request id."""

    def __init__(
        self,
        code: str | None,
        message: str,
        *,
        http_status: int | None = None,
        request_id: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.request_id = request_id
        self.param = param


class TransientStripeError(StripeGatewayError):
    """Retry later with the same idempotency key (connection, timeout, 429, 5xx, key in use)."""


class PermanentStripeError(StripeGatewayError):
    """Retrying the same request cannot succeed (invalid request, decline, auth, ...)."""


class StripeNotConfiguredError(PermanentStripeError):
    """STRIPE_SECRET_KEY (or, for webhooks, STRIPE_WEBHOOK_SECRET) is not set."""

    def __init__(self, setting: str) -> None:
        super().__init__("not_configured", f"{setting} is not set")


class SignatureError(Exception):
    """A webhook payload whose Stripe-Signature does not verify (wrong, missing or stale)."""


def translate_error(exc: stripe.StripeError) -> StripeGatewayError:
    """Our error for one of stripe-python's (transient or permanent)."""
    status = exc.http_status
    kwargs: dict[str, Any] = {
        "http_status": status,
        "request_id": exc.request_id,
        "param": getattr(exc, "param", None),
    }
    message = exc.user_message or str(exc)
    transient = (
        isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError)
        or (
            isinstance(exc, stripe.IdempotencyError)
            and (status == 409 or exc.code == "idempotency_key_in_use")
        )
        or (status is not None and status >= 500)
        or (isinstance(exc, stripe.APIError) and status is None)
    )
    if transient:
        return TransientStripeError(exc.code, message, **kwargs)
    return PermanentStripeError(exc.code, message, **kwargs)


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except stripe.StripeError as exc:
        raise translate_error(exc) from exc


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Account:
    id: str
    payouts_enabled: bool
    details_submitted: bool


@dataclass(frozen=True)
class AccountLink:
    url: str
    expires_at: int


@dataclass(frozen=True)
class Transfer:
    id: str
    amount_minor: int
    currency: str
    destination: str | None
    reversed: bool
    created: int
    amount_reversed_minor: int = 0
    transfer_group: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TransferReversal:
    id: str
    transfer_id: str
    amount_minor: int
    currency: str
    created: int


@dataclass(frozen=True)
class Customer:
    id: str
    name: str | None
    email: str | None


@dataclass(frozen=True)
class InvoiceItem:
    id: str
    amount_minor: int
    currency: str
    invoice: str | None


@dataclass(frozen=True)
class StripeInvoice:
    id: str
    status: str | None
    amount_due: int
    currency: str
    metadata: dict[str, str]
    hosted_invoice_url: str | None
    customer: str | None = None
    number: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    created: int
    account: str | None
    data_object: dict[str, Any]
    livemode: bool = False
    previous_attributes: dict[str, Any] | None = None


def _id_of(value: str | stripe.StripeObject | None) -> str | None:
    """An expandable field's id (Stripe sends the id unless the field was expanded)."""
    if value is None or isinstance(value, str):
        return value
    found: object = getattr(value, "id", None)
    return found if isinstance(found, str) else None


def _metadata(obj: stripe.StripeObject | None) -> dict[str, str]:
    return {} if obj is None else {k: str(v) for k, v in obj.to_dict().items()}


def _transfer(t: stripe.Transfer) -> Transfer:
    return Transfer(
        id=t.id,
        amount_minor=t.amount,
        currency=t.currency,
        destination=_id_of(t.destination),
        reversed=t.reversed,
        created=t.created,
        amount_reversed_minor=t.amount_reversed,
        transfer_group=t.transfer_group,
        metadata=_metadata(t.metadata),
    )


def _invoice(i: stripe.Invoice) -> StripeInvoice:
    return StripeInvoice(
        id=i.id,
        status=i.status,
        amount_due=i.amount_due,
        currency=i.currency,
        metadata=_metadata(i.metadata),
        hosted_invoice_url=i.hosted_invoice_url,
        customer=_id_of(i.customer),
        number=i.number,
    )


# --------------------------------------------------------------------------- the gateway


class StripeGateway:
    """Our interface to Stripe. ``api_base=None``: Stripe's own addresses."""

    sandbox = False  # the offline stand-in (ledger.gateways.sandbox) says True

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str | None = None,
        webhook_secret: str = "",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.api_key = api_key
        self.api_base = api_base
        self.webhook_secret = webhook_secret
        self._client = stripe.StripeClient(
            api_key or "sk_not_configured",  # never sent: calls check `configured` first
            base_addresses=(
                {"api": api_base, "connect": api_base, "files": api_base} if api_base else None
            ),
            http_client=stripe.RequestsClient(timeout=timeout),
            max_network_retries=0,
        )

    @property
    def configured(self) -> bool:
        return bool(self.api_key)

    @property
    def _stripe(self) -> stripe.StripeClient:
        if not self.api_key:
            raise StripeNotConfiguredError("STRIPE_SECRET_KEY")
        return self._client

    # accounts (Connect Express, for talents) ----------------------------------------------

    def account_create(
        self,
        *,
        email: str,
        country: str,
        metadata: dict[str, str],
        idempotency_key: str | None = None,
    ) -> Account:
        with _translated():
            a = self._stripe.v1.accounts.create(
                params={
                    "type": "express",
                    "email": email,
                    "country": country,
                    "capabilities": {"transfers": {"requested": True}},
                    "metadata": metadata,
                },
                options={"idempotency_key": idempotency_key} if idempotency_key else {},
            )
        return _account(a)

    def account_retrieve(self, account_id: str) -> Account:
        with _translated():
            return _account(self._stripe.v1.accounts.retrieve(account_id))

    def account_link_create(
        self, *, account_id: str, refresh_url: str, return_url: str
    ) -> AccountLink:
        with _translated():
            link = self._stripe.v1.account_links.create(
                params={
                    "account": account_id,
                    "type": "account_onboarding",
                    "refresh_url": refresh_url,
                    "return_url": return_url,
                }
            )
        return AccountLink(url=link.url, expires_at=link.expires_at)

    # transfers (payouts to talents' connected accounts) -----------------------------------

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
        with _translated():
            t = self._stripe.v1.transfers.create(
                params={
                    "amount": amount_minor,
                    "currency": currency.lower(),
                    "destination": destination,
                    "transfer_group": transfer_group,
                    "metadata": metadata,
                },
                options={"idempotency_key": idempotency_key},
            )
        return _transfer(t)

    def transfer_retrieve(self, transfer_id: str) -> Transfer:
        with _translated():
            return _transfer(self._stripe.v1.transfers.retrieve(transfer_id))

    def transfer_reverse(
        self, *, transfer_id: str, idempotency_key: str, metadata: dict[str, str]
    ) -> TransferReversal:
        """Reverse what is left of the transfer."""
        with _translated():
            r = self._stripe.v1.transfers.reversals.create(
                transfer_id,
                params={"metadata": metadata},
                options={"idempotency_key": idempotency_key},
            )
        return TransferReversal(
            id=r.id,
            transfer_id=_id_of(r.transfer) or transfer_id,
            amount_minor=r.amount,
            currency=r.currency,
            created=r.created,
        )

    def transfers_list(self, *, created_gte: int) -> Iterator[Transfer]:
        """Every transfer created at or after ``created_gte`` (newest first, all pages)."""
        with _translated():
            page = self._stripe.v1.transfers.list(
                params={"created": {"gte": created_gte}, "limit": 100}
            )
            for t in page.auto_paging_iter():
                yield _transfer(t)

    # customers and invoices (for brands) ---------------------------------------------------

    def customer_create(
        self, *, name: str, email: str, metadata: dict[str, str], idempotency_key: str
    ) -> Customer:
        with _translated():
            c = self._stripe.v1.customers.create(
                params={"name": name, "email": email, "metadata": metadata},
                options={"idempotency_key": idempotency_key},
            )
        return Customer(id=c.id, name=c.name, email=c.email)

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
        with _translated():
            params: stripe.params.InvoiceItemCreateParams = {
                "customer": customer,
                "amount": amount_minor,
                "currency": currency.lower(),
                "description": description,
                "metadata": metadata,
            }
            if invoice is not None:
                params["invoice"] = invoice
            item = self._stripe.v1.invoice_items.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        return InvoiceItem(
            id=item.id,
            amount_minor=item.amount,
            currency=item.currency,
            invoice=_id_of(item.invoice),
        )

    def invoice_create(
        self,
        *,
        customer: str,
        currency: str,
        days_until_due: int,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> StripeInvoice:
        """A draft ``send_invoice`` invoice (no automatic advance: we finalize and send)."""
        with _translated():
            i = self._stripe.v1.invoices.create(
                params={
                    "customer": customer,
                    "currency": currency.lower(),
                    "collection_method": "send_invoice",
                    "days_until_due": days_until_due,
                    "auto_advance": False,
                    "pending_invoice_items_behavior": "exclude",
                    "metadata": metadata,
                },
                options={"idempotency_key": idempotency_key},
            )
        return _invoice(i)

    def invoice_finalize(self, invoice_id: str, *, idempotency_key: str) -> StripeInvoice:
        with _translated():
            i = self._stripe.v1.invoices.finalize_invoice(
                invoice_id, options={"idempotency_key": idempotency_key}
            )
        return _invoice(i)

    def invoice_send(self, invoice_id: str, *, idempotency_key: str) -> StripeInvoice:
        with _translated():
            i = self._stripe.v1.invoices.send_invoice(
                invoice_id, options={"idempotency_key": idempotency_key}
            )
        return _invoice(i)

    def invoice_retrieve(self, invoice_id: str) -> StripeInvoice:
        with _translated():
            return _invoice(self._stripe.v1.invoices.retrieve(invoice_id))

    def invoices_list(self, *, created_gte: int) -> Iterator[StripeInvoice]:
        """Every invoice created at or after ``created_gte`` (newest first, all pages)."""
        with _translated():
            page = self._stripe.v1.invoices.list(
                params={"created": {"gte": created_gte}, "limit": 100}
            )
            for i in page.auto_paging_iter():
                yield _invoice(i)

    # webhooks ------------------------------------------------------------------------------

    def webhook_event(self, payload: bytes, signature_header: str) -> WebhookEvent:
        """Verify ``Stripe-Signature`` (Stripe's default 300 s tolerance) and parse the event."""
        if not self.webhook_secret:
            raise StripeNotConfiguredError("STRIPE_WEBHOOK_SECRET")
        try:
            event: stripe.Event = stripe.Webhook.construct_event(
                payload, signature_header, self.webhook_secret
            )
        except stripe.SignatureVerificationError as exc:
            raise SignatureError(exc.user_message or str(exc)) from exc
        except ValueError as exc:  # signed, but not a JSON event
            raise SignatureError(f"payload is not a Stripe event: {exc}") from exc
        previous: object = getattr(event.data, "previous_attributes", None)
        return WebhookEvent(
            id=event.id,
            type=event.type,
            created=event.created,
            # Absent (not null) on the platform's own events.
            account=_connected_account(event),
            data_object=event.data.object.to_dict(),
            livemode=event.livemode,
            previous_attributes=(
                previous.to_dict() if isinstance(previous, stripe.StripeObject) else None
            ),
        )


def _connected_account(event: stripe.Event) -> str | None:
    account: object = event.to_dict().get("account")
    return account if isinstance(account, str) else None


def _account(a: stripe.Account) -> Account:
    return Account(
        id=a.id,
        payouts_enabled=bool(a.payouts_enabled),
        details_submitted=bool(a.details_submitted),
    )


def gateway() -> StripeGateway:
    """The gateway configured by Django settings (STRIPE_SECRET_KEY, STRIPE_API_BASE,
    STRIPE_WEBHOOK_SECRET); without a key and with STRIPE_SANDBOX (local settings), the
    offline sandbox."""
    from django.conf import settings

    if not settings.STRIPE_SECRET_KEY and settings.STRIPE_SANDBOX:
        from .sandbox import SandboxGateway

        return SandboxGateway()
    return StripeGateway(
        api_key=str(settings.STRIPE_SECRET_KEY or ""),
        api_base=str(settings.STRIPE_API_BASE) if settings.STRIPE_API_BASE else None,
        webhook_secret=str(settings.STRIPE_WEBHOOK_SECRET or ""),
    )
