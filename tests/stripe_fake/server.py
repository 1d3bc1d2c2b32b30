"""A small stateful Stripe-compatible HTTP server for tests (standard library only).

The real stripe-python client talks to it over HTTP (``base_addresses={"api": server.url}``),
so request encoding, auth and idempotency headers, error JSON and status codes, and webhook
signatures are exercised for real. Response objects are deep copies of our own templates
(``tests/stripe_fake/shapes.py``) with the fields we drive overridden; the conformance test
compares them with Stripe's fixture objects where ``../shared/stripe`` is present.

HTTP API (v1, form-encoded bodies, ``Authorization: Bearer sk_test_...``):

- accounts: ``POST/GET /v1/accounts``, ``GET/POST /v1/accounts/{id}``; ``POST /v1/account_links``
- transfers: ``POST/GET /v1/transfers`` (list: ``created[gte|gt|lte|lt]``, ``limit``,
  ``starting_after``, ``ending_before``, ``destination``, ``transfer_group``),
  ``GET /v1/transfers/{id}``, ``POST/GET /v1/transfers/{id}/reversals``
- payouts (``Stripe-Account`` = the connected account; none = the platform):
  ``POST/GET /v1/payouts``, ``GET /v1/payouts/{id}``
- customers: ``POST/GET /v1/customers``, ``GET/POST /v1/customers/{id}``
- invoice items: ``POST /v1/invoiceitems``, ``GET /v1/invoiceitems/{id}``
- invoices: ``POST/GET /v1/invoices``, ``GET /v1/invoices/{id}``,
  ``POST /v1/invoices/{id}/finalize|send|pay|void|mark_uncollectible``
- events: ``GET /v1/events``, ``GET /v1/events/{id}``

Control API (Python, called by tests directly): see the ``StripeFakeServer`` methods under
"Control" below -- faults (``fail_next``, ``timeout_next``, ``decline_next``, ``fail_rate``),
state drivers (``set_account``, ``pay_invoice``, ``fail_invoice_payment``, ``fail_payout``,
``pay_payout``, ``set_balance``, ``advance_clock``) and webhooks (``webhook_url``,
``send_event``, ``resend``, ``deliver_events``, ``take_pending_events``).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import random
import re
import string
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.stripe_fake.shapes import SHAPES

DOCS = "https://docs.stripe.com/error-codes"

# Declines the fake knows how to word; any other code gets a generic message.
DECLINES: dict[str, tuple[int, str, str]] = {
    "balance_insufficient": (
        400,
        "invalid_request_error",
        "You have insufficient available funds in your Stripe account. Try adding funds directly "
        "to your available balance by creating Charges using the 4000000000000077 test card.",
    ),
    "account_closed": (
        400,
        "invalid_request_error",
        "The destination account has been closed and cannot receive transfers.",
    ),
    "account_invalid": (400, "invalid_request_error", "The destination account is invalid."),
    "transfers_not_allowed": (
        400,
        "invalid_request_error",
        "The requested transfer cannot be created. Contact us if you are receiving this error.",
    ),
    "insufficient_capabilities_for_transfer": (
        400,
        "invalid_request_error",
        "Your destination account needs to have at least one of the following capabilities "
        "enabled: transfers, crypto_transfers, legacy_payments",
    ),
    "card_declined": (402, "card_error", "Your card was declined."),
    "expired_card": (402, "card_error", "Your card has expired."),
}

PAYOUT_FAILURES = {
    "account_closed": "The bank account has been closed.",
    "account_frozen": "The bank account has been frozen.",
    "bank_account_restricted": "The bank account has restrictions on the type or number of "
    "payouts allowed.",
    "could_not_process": "The bank could not process this payout.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "invalid_account_number": "The routing number seems correct, but the account number is "
    "invalid.",
    "no_account": "The bank account details on file are probably incorrect. No bank account "
    "could be located with those details.",
}


# Parameters each create endpoint accepts (plus "expand" everywhere); others are rejected with
# parameter_unknown, as Stripe does, so a typo in our gateway fails loudly.
def _names(text: str) -> set[str]:
    return set(text.split())


ALLOWED: dict[str, set[str]] = {
    "account": _names(
        "account_token business_profile business_type capabilities company controller country "
        "default_currency documents email external_account groups individual metadata settings "
        "tos_acceptance type"
    ),
    "account_update": _names(
        "business_profile business_type capabilities company default_currency email "
        "external_account individual metadata settings tos_acceptance"
    ),
    "account_link": _names("account collect collection_options refresh_url return_url type"),
    "transfer": _names(
        "amount currency description destination metadata source_transaction source_type "
        "transfer_group"
    ),
    "transfer_reversal": _names("amount description metadata refund_application_fee"),
    "payout": _names(
        "amount currency description destination metadata method payout_method source_type "
        "statement_descriptor"
    ),
    "customer": _names(
        "address balance description email invoice_prefix invoice_settings metadata name "
        "payment_method phone preferred_locales shipping source tax tax_exempt tax_id_data "
        "test_clock"
    ),
    "invoiceitem": _names(
        "amount currency customer description discountable discounts invoice metadata period "
        "price_data pricing quantity subscription tax_behavior tax_code tax_rates "
        "unit_amount_decimal"
    ),
    "invoice": _names(
        "account_tax_ids application_fee_amount auto_advance automatic_tax collection_method "
        "currency custom_fields customer days_until_due default_payment_method default_source "
        "default_tax_rates description discounts due_date effective_at footer from_invoice "
        "issuer metadata number on_behalf_of payment_settings pending_invoice_items_behavior "
        "rendering shipping_cost shipping_details statement_descriptor subscription "
        "transfer_data"
    ),
    "invoice_finalize": _names("auto_advance"),
    "invoice_send": set(),
    "invoice_pay": _names("forgive mandate off_session paid_out_of_band payment_method source"),
    "invoice_void": set(),
    "invoice_mark_uncollectible": set(),
}


# --------------------------------------------------------------------------- errors, records


class StripeFakeError(Exception):
    """An error response in Stripe's shape. ``saved``: an idempotency key stores it (Stripe
    stores results once the endpoint started executing, not failed validation)."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        saved: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.saved = saved

    def body(self, request_id: str) -> dict[str, Any]:
        err: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = f"{DOCS}#{self.code.replace('_', '-')}"
        if self.param:
            err["param"] = self.param
        if self.decline_code:
            err["decline_code"] = self.decline_code
        err["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        return {"error": err}


def invalid(message: str, *, code: str | None = None, param: str | None = None, status=400):
    return StripeFakeError(status, "invalid_request_error", message, code=code, param=param)


def missing(name: str, label: str = "object") -> StripeFakeError:
    return invalid(f"No such {label}: '{name}'", code="resource_missing", status=404)


@dataclass
class RecordedRequest:
    """One HTTP request the server received (for assertions)."""

    method: str
    path: str
    params: dict[str, Any]
    api_key: str | None
    stripe_account: str | None
    idempotency_key: str | None
    stripe_version: str | None
    request_id: str
    status: int | None = None
    replayed: bool = False
    fault: str | None = None


@dataclass
class Delivery:
    """One webhook POST the server made."""

    event: dict[str, Any]
    payload: bytes
    signature_header: str
    status: int | None
    body: str
    error: str | None = None


@dataclass
class _Fault:
    kind: str  # "status" | "timeout" | "decline"
    remaining: int
    status: int = 500
    seconds: float = 0.0
    code: str | None = None
    message: str | None = None
    error_type: str | None = None
    path_prefix: str | None = None
    method: str | None = None
    after_work: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        return not self.path_prefix or path.startswith(self.path_prefix)

    def describe(self) -> str:
        when = "after work" if self.after_work else "before work"
        what = {"status": f"HTTP {self.status}", "timeout": f"timeout {self.seconds}s"}.get(
            self.kind, f"decline {self.code}"
        )
        return f"{what} ({when})"


@dataclass
class _Stored:
    method: str
    path: str
    params: dict[str, Any]
    status: int
    body: bytes
    request_id: str


@dataclass
class _Ctx:
    method: str
    path: str
    params: dict[str, Any]
    account: str | None  # Stripe-Account header
    request_id: str
    idempotency_key: str | None
    match: re.Match[str]
    decline: _Fault | None = None
    emitted: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- encoding


def parse_form(text: str) -> dict[str, Any]:
    """Stripe's form encoding (``a[b][0][c]=v``) into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+|(?<=\[)(?=\])", key)
        if not parts:
            continue
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":  # "a[]=x" appends
                part = str(len(node))
            if last:
                node[part] = value
            else:
                nxt = node.get(part)
                if not isinstance(nxt, dict):
                    nxt = {}
                    node[part] = nxt
                node = nxt
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    node = {k: _listify(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


# --------------------------------------------------------------------------- the server


class _Handler(BaseHTTPRequestHandler):
    server_version = "stripe-fake/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        self.server.fake._handle(self)  # type: ignore[attr-defined]

    do_GET = do_POST = do_DELETE = _serve


class StripeFakeServer:
    """Stateful Stripe fake. ``start()`` binds 127.0.0.1 on an ephemeral port (``url``)."""

    def __init__(self, resources: dict[str, Any] | None = None, *, host: str = "127.0.0.1") -> None:
        # Templates per resource; ours by default. Another set (e.g. Stripe's fixtures, under a
        # "resources" key or not) only for checking how the server behaves with its shapes.
        if resources is None:
            resources = SHAPES
        self.resources: dict[str, Any] = resources.get("resources", resources)
        self._lock = threading.RLock()
        self._httpd = ThreadingHTTPServer((host, 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._routes: list[tuple[str, re.Pattern[str], Callable[[_Ctx], Any]]] = []
        self._register_routes()
        self.reset()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> StripeFakeServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="stripe-fake", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._wake.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(5)

    def reset(self) -> None:
        """Forget all state, faults, recorded requests and events (between tests)."""
        with self._lock:
            self._wake.set()  # release requests sleeping in an injected timeout
            self._wake = threading.Event()
            self._rng = random.Random()  # ids differ between tests and runs
            self._seq = 0
            self._clock_offset = 0
            self.accounts: dict[str, dict[str, Any]] = {}
            self.account_links: list[dict[str, Any]] = []
            self.transfers: dict[str, dict[str, Any]] = {}
            self.reversals: dict[str, dict[str, Any]] = {}
            self.payouts: dict[str, dict[str, Any]] = {}
            self.payout_accounts: dict[str, str | None] = {}
            self.customers: dict[str, dict[str, Any]] = {}
            self.invoiceitems: dict[str, dict[str, Any]] = {}
            self.invoices: dict[str, dict[str, Any]] = {}
            self.events: list[dict[str, Any]] = []
            self.pending_events: list[dict[str, Any]] = []
            self.deliveries: list[Delivery] = []
            self.requests: list[RecordedRequest] = []
            self.balance: dict[str, int] | None = None  # None: unlimited platform balance
            self._order: dict[str, int] = {}
            self._idempotency: dict[tuple[str, str, str], _Stored] = {}
            self._in_flight: set[tuple[str, str, str]] = set()
            self._faults: list[_Fault] = []
            self._rate: tuple[float, random.Random, tuple[int, ...], dict[str, Any]] | None = None
            self.webhook_url: str | None = None
            self.webhook_secret = "whsec_test_fake_" + self._token(24)
            self.api_version: str | None = None  # None: the last Stripe-Version header seen
            self._last_version: str | None = None

    # ----------------------------------------------------------------- Control: faults

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        path_prefix: str | None = None,
        *,
        method: str | None = None,
        after_work: bool = False,
    ) -> None:
        """The next ``n`` matching requests get ``status`` (500: api_error, 429: rate limit).
        ``after_work=True``: the request is carried out (and stored under its idempotency key)
        but the client gets the error -- "Stripe did it, the response was lost"."""
        self._add_fault(
            _Fault(
                "status",
                n,
                status=status,
                path_prefix=path_prefix,
                method=method,
                after_work=after_work,
            )
        )

    def timeout_next(
        self,
        n: int = 1,
        seconds: float = 2.0,
        path_prefix: str | None = None,
        *,
        method: str | None = None,
        after_work: bool = False,
    ) -> None:
        """The next ``n`` matching requests hang ``seconds`` (longer than the client timeout,
        so stripe-python raises APIConnectionError). ``after_work`` as in ``fail_next``."""
        self._add_fault(
            _Fault(
                "timeout",
                n,
                seconds=seconds,
                path_prefix=path_prefix,
                method=method,
                after_work=after_work,
            )
        )

    def decline_next(
        self,
        code: str = "balance_insufficient",
        n: int = 1,
        path_prefix: str | None = None,
        *,
        method: str | None = "POST",
        message: str | None = None,
        error_type: str | None = None,
        status: int | None = None,
    ) -> None:
        """The next ``n`` matching requests are refused by "Stripe" with ``code`` (see
        ``DECLINES``: 400 invalid_request_error for transfer declines such as
        balance_insufficient / account_closed, 402 card_error for card_declined). Nothing is
        created; the error is stored under the idempotency key, as Stripe does. On
        ``/v1/invoices/{id}/pay`` it also counts a failed attempt and emits
        ``invoice.payment_failed``."""
        d_status, d_type, d_message = DECLINES.get(
            code, (400, "invalid_request_error", f"The request was declined ({code}).")
        )
        self._add_fault(
            _Fault(
                "decline",
                n,
                status=status or d_status,
                code=code,
                message=message or d_message,
                error_type=error_type or d_type,
                path_prefix=path_prefix,
                method=method,
            )
        )

    def fail_rate(
        self,
        p: float,
        seed: int = 0,
        *,
        statuses: tuple[int, ...] = (500, 429),
        path_prefix: str | None = None,
        method: str | None = None,
        after_work: bool = False,
    ) -> None:
        """Fail a fraction ``p`` of matching requests transiently (status drawn from
        ``statuses``), reproducibly from ``seed``. ``fail_rate(0)`` turns it off."""
        with self._lock:
            self._rate = (
                (
                    p,
                    random.Random(seed),
                    statuses,
                    {"path_prefix": path_prefix, "method": method, "after_work": after_work},
                )
                if p > 0
                else None
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._rate = None

    def _add_fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
            if self._rate:
                p, rng, statuses, opts = self._rate
                probe = _Fault("status", 1, path_prefix=opts["path_prefix"], method=opts["method"])
                if probe.matches(method, path) and rng.random() < p:
                    return _Fault(
                        "status", 1, status=rng.choice(statuses), after_work=opts["after_work"]
                    )
        return None

    # ----------------------------------------------------------------- Control: state

    def now(self) -> int:
        return int(time.time()) + self._clock_offset

    def advance_clock(self, seconds: int) -> None:
        """Move the server's clock (``created`` stamps) forward."""
        with self._lock:
            self._clock_offset += seconds

    def set_balance(self, currency: str, amount: int | None) -> None:
        """Platform available balance per currency; transfers beyond it are declined with
        balance_insufficient. ``amount=None`` for every currency: unlimited (the default)."""
        with self._lock:
            if amount is None:
                self.balance = None
                return
            if self.balance is None:
                self.balance = {}
            self.balance[currency.lower()] = amount

    def set_account(self, account_id: str, **fields: Any) -> dict[str, Any]:
        """Change a connected account (e.g. ``payouts_enabled=True, charges_enabled=True,
        details_submitted=True``) and emit ``account.updated`` (Connect event)."""
        with self._lock:
            acct = self._get(self.accounts, account_id, "account")
            previous = {k: copy.deepcopy(acct.get(k)) for k in fields}
            acct.update(fields)
            if "charges_enabled" in fields or "payouts_enabled" in fields:
                state = (
                    "active"
                    if acct["charges_enabled"] and acct["payouts_enabled"]
                    else ("inactive")
                )
                previous["capabilities"] = copy.deepcopy(acct["capabilities"])
                acct["capabilities"] = {k: state for k in acct["capabilities"]}
                if state == "active":
                    previous["requirements"] = copy.deepcopy(acct["requirements"])
                    acct["requirements"] = self._clear_requirements(acct["requirements"])
            self._emit("account.updated", acct, account=account_id, previous=previous)
            return copy.deepcopy(acct)

    def pay_invoice(self, invoice_id: str) -> dict[str, Any]:
        """The brand paid an open invoice (e.g. on the hosted page): paid + events."""
        with self._lock:
            inv = self._get(self.invoices, invoice_id, "invoice")
            self._require_status(inv, ("open", "uncollectible"), "pay")
            self._mark_paid(inv, out_of_band=False)
            return copy.deepcopy(inv)

    def fail_invoice_payment(self, invoice_id: str) -> dict[str, Any]:
        """A collection attempt on an open invoice failed: ``invoice.payment_failed``."""
        with self._lock:
            inv = self._get(self.invoices, invoice_id, "invoice")
            self._require_status(inv, ("open",), "attempt payment on")
            self._failed_attempt(inv)
            return copy.deepcopy(inv)

    def fail_payout(
        self, payout_id: str, code: str = "account_closed", message: str | None = None
    ) -> dict[str, Any]:
        """The bank returned the payout: status failed, failure_code, ``payout.failed``."""
        with self._lock:
            po = self._get(self.payouts, payout_id, "payout")
            previous = {"status": po["status"], "failure_code": None, "failure_message": None}
            po.update(
                status="failed",
                failure_code=code,
                failure_message=message or PAYOUT_FAILURES.get(code, f"Payout failed ({code})."),
                failure_balance_transaction=self._id("txn"),
            )
            self._emit(
                "payout.failed", po, account=self.payout_accounts[payout_id], previous=previous
            )
            return copy.deepcopy(po)

    def pay_payout(self, payout_id: str) -> dict[str, Any]:
        """The payout arrived: status paid, ``payout.paid``."""
        with self._lock:
            po = self._get(self.payouts, payout_id, "payout")
            previous = {"status": po["status"]}
            po["status"] = "paid"
            self._emit(
                "payout.paid", po, account=self.payout_accounts[payout_id], previous=previous
            )
            return copy.deepcopy(po)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """Recorded requests with this method and exact path."""
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def fixture_keys(self, resource: str) -> set[str]:
        return set(self.resources[resource])

    # ----------------------------------------------------------------- Control: webhooks

    def send_event(
        self,
        type_: str,
        data_object: dict[str, Any],
        account: str | None = None,
        *,
        previous_attributes: dict[str, Any] | None = None,
        stale: bool = False,
        bad_signature: bool = False,
        timestamp: int | None = None,
    ) -> Delivery:
        """Build an event (stored in ``events``) and POST it, signed, to ``webhook_url``."""
        with self._lock:
            event = self._build_event(type_, data_object, account, previous_attributes, None)
            self.events.append(event)
        return self._post_event(
            event, stale=stale, bad_signature=bad_signature, timestamp=timestamp
        )

    def resend(
        self,
        event: dict[str, Any],
        *,
        stale: bool = False,
        bad_signature: bool = False,
        timestamp: int | None = None,
    ) -> Delivery:
        """POST a stored event again (same id): duplicates, or any order the test wants."""
        return self._post_event(
            event, stale=stale, bad_signature=bad_signature, timestamp=timestamp
        )

    def take_pending_events(self) -> list[dict[str, Any]]:
        """Events the server emitted and has not delivered yet (the queue is emptied)."""
        with self._lock:
            pending, self.pending_events = self.pending_events, []
            return pending

    def deliver_events(self, *, reverse: bool = False) -> list[Delivery]:
        """POST every queued event to ``webhook_url`` (in emission order, or reversed)."""
        pending = self.take_pending_events()
        if reverse:
            pending.reverse()
        return [self._post_event(e) for e in pending]

    def sign(self, payload: bytes, timestamp: int, secret: str | None = None) -> str:
        secret = secret or self.webhook_secret
        mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
        return f"t={timestamp},v1={mac.hexdigest()}"

    def _post_event(
        self,
        event: dict[str, Any],
        *,
        stale: bool = False,
        bad_signature: bool = False,
        timestamp: int | None = None,
    ) -> Delivery:
        if not self.webhook_url:
            raise RuntimeError("set server.webhook_url before sending events")
        payload = json.dumps(event, indent=2).encode()
        ts = timestamp if timestamp is not None else int(time.time()) - (600 if stale else 0)
        secret = "whsec_not_the_endpoint_secret" if bad_signature else None
        header = self.sign(payload, ts, secret)
        request = urllib.request.Request(
            self.webhook_url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": header,
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                delivery = Delivery(event, payload, header, resp.status, resp.read().decode())
        except urllib.error.HTTPError as exc:
            delivery = Delivery(event, payload, header, exc.code, exc.read().decode())
        except OSError as exc:
            delivery = Delivery(event, payload, header, None, "", error=str(exc))
        with self._lock:
            self.deliveries.append(delivery)
        return delivery

    def _build_event(
        self,
        type_: str,
        obj: dict[str, Any],
        account: str | None,
        previous: dict[str, Any] | None,
        request: tuple[str, str | None] | None,
    ) -> dict[str, Any]:
        event = copy.deepcopy(self.resources["event"])
        event.update(
            id=self._id("evt"),
            type=type_,
            created=self.now(),
            livemode=False,
            pending_webhooks=1,
            api_version=self.api_version or self._last_version or event.get("api_version"),
            request={"id": request[0], "idempotency_key": request[1]}
            if request
            else {"id": None, "idempotency_key": None},
            data={"object": copy.deepcopy(obj)},
        )
        if previous:
            event["data"]["previous_attributes"] = copy.deepcopy(previous)
        if account:
            event["account"] = account
        return event

    def _emit(
        self,
        type_: str,
        obj: dict[str, Any],
        *,
        account: str | None = None,
        previous: dict[str, Any] | None = None,
        ctx: _Ctx | None = None,
    ) -> None:
        request = (ctx.request_id, ctx.idempotency_key) if ctx else None
        event = self._build_event(type_, obj, account, previous, request)
        self.events.append(event)
        self.pending_events.append(event)

    # ----------------------------------------------------------------- HTTP handling

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        method = h.command
        split = urlsplit(h.path)
        path = split.path.rstrip("/") or "/"
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length).decode() if length else ""
        params = parse_form(raw if method == "POST" else split.query)
        auth = h.headers.get("Authorization") or ""
        api_key = auth[7:].strip() if auth.startswith("Bearer ") else None
        account = h.headers.get("Stripe-Account")
        idem = h.headers.get("Idempotency-Key") if method == "POST" else None
        version = h.headers.get("Stripe-Version")
        rec = RecordedRequest(
            method, path, params, api_key, account, idem, version, request_id=self._id("req")
        )
        with self._lock:
            self.requests.append(rec)
            if version:
                self._last_version = version
        status, body, headers = self._process(rec)
        rec.status = status
        headers = {"Request-Id": rec.request_id, **headers}
        if idem:
            headers["Idempotency-Key"] = idem
        if version:
            headers["Stripe-Version"] = version
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(body)
        except OSError:  # the client gave up (injected timeout)
            pass

    def _error(self, rec: RecordedRequest, err: StripeFakeError) -> tuple[int, bytes]:
        return err.status, json.dumps(err.body(rec.request_id), indent=2).encode()

    @staticmethod
    def _masked(key: str) -> str:
        return f"{key[:8]}****{key[-4:]}"

    def _precheck(self, rec: RecordedRequest) -> StripeFakeError | None:
        """Auth and Stripe-Account, as Stripe checks them before anything else."""
        key = rec.api_key
        if not key:
            return invalid(
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY').",
                status=401,
            )
        if not key.startswith(("sk_test_", "rk_test_")):
            return invalid(f"Invalid API Key provided: {self._masked(key)}", status=401)
        with self._lock:
            unknown_account = rec.stripe_account and rec.stripe_account not in self.accounts
        if unknown_account:
            return invalid(
                f"The provided key '{self._masked(key)}' does not have access to account "
                f"'{rec.stripe_account}' (or that account does not exist). Application "
                "access may have been revoked.",
                code="account_invalid",
                status=403,
            )
        return None

    def _process(self, rec: RecordedRequest) -> tuple[int, bytes, dict[str, str]]:
        refused = self._precheck(rec)
        if refused:
            return (*self._error(rec, refused), {})

        fault = self._take_fault(rec.method, rec.path)
        if fault:
            rec.fault = fault.describe()
        if fault and not fault.after_work and fault.kind != "decline":
            if fault.kind == "timeout":
                self._wake.wait(fault.seconds)
            return (*self._fault_response(rec, fault), {})

        decline = fault if fault and fault.kind == "decline" else None
        status, body, headers = self._idempotent(rec, decline)

        if fault and fault.after_work:
            if fault.kind == "timeout":
                self._wake.wait(fault.seconds)
                return status, body, headers  # the client has given up by now
            return (*self._fault_response(rec, fault), {})
        return status, body, headers

    def _fault_response(self, rec: RecordedRequest, fault: _Fault) -> tuple[int, bytes]:
        if fault.kind == "status" and fault.status == 429:
            err = invalid(
                "Request rate limit exceeded. Learn more about rate limits here "
                "https://stripe.com/docs/rate-limits.",
                code="rate_limit",
                status=429,
            )
        elif fault.kind == "timeout":
            err = StripeFakeError(504, "api_error", "Injected timeout.")
        else:
            err = StripeFakeError(
                fault.status, "api_error", "An unknown error occurred (injected fault)."
            )
        return self._error(rec, err)

    def _idempotent(
        self, rec: RecordedRequest, decline: _Fault | None
    ) -> tuple[int, bytes, dict[str, str]]:
        if not rec.idempotency_key:
            status, body = self._dispatch(rec, decline)
            return status, body, {}
        scope = (rec.api_key or "", rec.stripe_account or "", rec.idempotency_key)
        with self._lock:
            stored = self._idempotency.get(scope)
            if stored:
                if (stored.method, stored.path, stored.params) != (
                    rec.method,
                    rec.path,
                    rec.params,
                ):
                    err = StripeFakeError(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with. Try using a key other than "
                        f"'{rec.idempotency_key}' if you meant to execute a different request.",
                    )
                    return (*self._error(rec, err), {})
                rec.replayed = True
                return (
                    stored.status,
                    stored.body,
                    {
                        "Idempotent-Replayed": "true",
                        "Original-Request": stored.request_id,
                    },
                )
            if scope in self._in_flight:
                err = StripeFakeError(
                    409,
                    "idempotency_error",
                    "There is currently another in-progress request using this Idempotent Key "
                    "(that probably means you submitted twice, and the other request is still "
                    "going through): " + rec.idempotency_key + ". Please try again later.",
                    code="idempotency_key_in_use",
                )
                return (*self._error(rec, err), {})
            self._in_flight.add(scope)
        try:
            status, body, saved = self._dispatch(rec, decline, with_saved=True)
            if saved:
                with self._lock:
                    self._idempotency[scope] = _Stored(
                        rec.method, rec.path, rec.params, status, body, rec.request_id
                    )
            return status, body, {}
        finally:
            with self._lock:
                self._in_flight.discard(scope)

    def _dispatch(self, rec: RecordedRequest, decline: _Fault | None, with_saved=False):
        try:
            func, match = self._route(rec)
            ctx = _Ctx(
                rec.method,
                rec.path,
                rec.params,
                rec.stripe_account,
                rec.request_id,
                rec.idempotency_key,
                match,
                decline=decline,
            )
            with self._lock:
                if decline and not getattr(func, "handles_decline", False):
                    raise self._decline_error(decline)
                result = func(ctx)
                status, body, saved = 200, json.dumps(result, indent=2).encode(), True
        except StripeFakeError as err:
            (status, body), saved = self._error(rec, err), err.saved
        return (status, body, saved) if with_saved else (status, body)

    def _route(self, rec: RecordedRequest) -> tuple[Callable[[_Ctx], Any], re.Match[str]]:
        for method, pattern, func in self._routes:
            match = pattern.fullmatch(rec.path)
            if match and method == rec.method:
                return func, match
        raise invalid(
            f"Unrecognized request URL ({rec.method}: {rec.path}). Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/.",
            status=404,
        )

    @staticmethod
    def _decline_error(fault: _Fault) -> StripeFakeError:
        return StripeFakeError(
            fault.status,
            fault.error_type or "invalid_request_error",
            fault.message or "",
            code=fault.code,
            decline_code=("generic_decline" if fault.code == "card_declined" else fault.code)
            if fault.error_type == "card_error"
            else None,
            saved=True,
        )

    # ----------------------------------------------------------------- helpers

    def _token(self, n: int) -> str:
        return "".join(self._rng.choices(string.ascii_letters + string.digits, k=n))

    def _id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}_1Fake{self._token(19)}"

    def _new(self, resource: str, prefix: str | None, **overrides: Any) -> dict[str, Any]:
        obj = copy.deepcopy(self.resources[resource])
        if prefix:
            obj["id"] = self._id(prefix)
        for k, v in (("created", self.now()), ("livemode", False), ("metadata", {})):
            if k in obj:
                obj[k] = v
        obj.update(overrides)
        self._seq += 1
        if "id" in obj:
            self._order[obj["id"]] = self._seq
        return obj

    @staticmethod
    def _get(store: dict[str, dict[str, Any]], obj_id: str, label: str) -> dict[str, Any]:
        try:
            return store[obj_id]
        except KeyError:
            raise missing(obj_id, label) from None

    @staticmethod
    def _check_params(params: dict[str, Any], allowed_key: str) -> None:
        for name in params:
            if name != "expand" and name not in ALLOWED[allowed_key]:
                raise invalid(
                    f"Received unknown parameter: {name}", code="parameter_unknown", param=name
                )

    @staticmethod
    def _require(params: dict[str, Any], name: str) -> Any:
        value = params.get(name)
        if value is None or value == "":
            raise invalid(f"Missing required param: {name}.", code="parameter_missing", param=name)
        return value

    @staticmethod
    def _int(params: dict[str, Any], name: str, *, required=False, minimum: int | None = None):
        if params.get(name) in (None, ""):
            if required:
                StripeFakeServer._require(params, name)
            return None
        raw = params[name]
        if not isinstance(raw, str) or not re.fullmatch(r"-?\d+", raw):
            raise invalid(f"Invalid integer: {raw}", code="parameter_invalid_integer", param=name)
        value = int(raw)
        if minimum is not None and value < minimum:
            raise invalid(
                f"This value must be greater than or equal to {minimum}.",
                code="parameter_invalid_integer",
                param=name,
            )
        return value

    @staticmethod
    def _bool(params: dict[str, Any], name: str, default: bool | None = None) -> bool | None:
        raw = params.get(name)
        if raw in (None, ""):
            return default
        if raw not in ("true", "false"):
            raise invalid(f"Invalid boolean: {raw}", param=name)
        return raw == "true"

    @staticmethod
    def _currency(params: dict[str, Any], *, required=True, default: str | None = None) -> str:
        raw = params.get("currency")
        if raw in (None, ""):
            if required:
                StripeFakeServer._require(params, "currency")
            return default or "usd"
        if not re.fullmatch(r"[A-Za-z]{3}", raw):
            raise invalid(
                f"Invalid currency: {raw.lower()}. Stripe currently supports these "
                "currencies: usd, eur, gbp, ...",
                param="currency",
            )
        return raw.lower()

    @staticmethod
    def _metadata(params: dict[str, Any], current: dict[str, str] | None = None) -> dict:
        result = dict(current or {})
        raw = params.get("metadata")
        if raw is None:
            return result
        if raw == "":
            return {}
        if not isinstance(raw, dict):
            raise invalid("Invalid object", param="metadata")
        for k, v in raw.items():
            if v == "":
                result.pop(k, None)
            else:
                result[k] = v
        return result

    def _list(
        self,
        objects: list[dict[str, Any]],
        params: dict[str, Any],
        url: str,
        date_field: str = "created",
    ) -> dict[str, Any]:
        limit = self._int(params, "limit", minimum=1)
        limit = 10 if limit is None else limit
        if limit > 100:
            raise invalid(
                "This value must be less than or equal to 100.",
                code="parameter_invalid_integer",
                param="limit",
            )
        created = params.get("created")
        if isinstance(created, str) and created:
            bounds = {"eq": self._int(params, "created")}
        elif isinstance(created, dict):
            bounds = {op: self._int(created, op) for op in created}
            unknown = set(bounds) - {"gt", "gte", "lt", "lte"}
            if unknown:
                name = f"created[{sorted(unknown)[0]}]"
                raise invalid(
                    f"Received unknown parameter: {name}", code="parameter_unknown", param=name
                )
        else:
            bounds = {}
        ops = {
            "eq": int.__eq__,
            "gt": int.__gt__,
            "gte": int.__ge__,
            "lt": int.__lt__,
            "lte": int.__le__,
        }
        rows = [
            o
            for o in objects
            if all(ops[op](o[date_field], v) for op, v in bounds.items() if v is not None)
        ]
        rows.sort(key=lambda o: (o[date_field], self._order.get(o["id"], 0)), reverse=True)
        ids = [o["id"] for o in rows]
        if params.get("starting_after"):
            cursor = params["starting_after"]
            if cursor not in ids:
                raise invalid(
                    f"No such object: '{cursor}'", code="resource_missing", param="starting_after"
                )
            rows = rows[ids.index(cursor) + 1 :]
            page = rows[:limit]
        elif params.get("ending_before"):
            cursor = params["ending_before"]
            if cursor not in ids:
                raise invalid(
                    f"No such object: '{cursor}'", code="resource_missing", param="ending_before"
                )
            rows = rows[: ids.index(cursor)]
            page = rows[-limit:]
        else:
            page = rows[:limit]
        return {"object": "list", "data": page, "has_more": len(rows) > len(page), "url": url}

    @staticmethod
    def _empty_list(url: str) -> dict[str, Any]:
        return {"object": "list", "data": [], "has_more": False, "total_count": 0, "url": url}

    @staticmethod
    def _clear_requirements(req: dict[str, Any]) -> dict[str, Any]:
        req = copy.deepcopy(req)
        for k, v in req.items():
            if isinstance(v, list):
                req[k] = []
        if "disabled_reason" in req:
            req["disabled_reason"] = None
        if "current_deadline" in req:
            req["current_deadline"] = None
        return req

    # ----------------------------------------------------------------- routes

    def _register_routes(self) -> None:
        r = self._routes
        table: list[tuple[str, str, Callable[[_Ctx], Any]]] = [
            ("POST", "/v1/accounts", self._account_create),
            ("GET", "/v1/accounts", self._account_list),
            ("GET", r"/v1/accounts/(?P<id>[^/]+)", self._account_get),
            ("POST", r"/v1/accounts/(?P<id>[^/]+)", self._account_update),
            ("POST", "/v1/account_links", self._account_link_create),
            ("POST", "/v1/transfers", self._transfer_create),
            ("GET", "/v1/transfers", self._transfer_list),
            ("GET", r"/v1/transfers/(?P<id>[^/]+)", self._transfer_get),
            ("POST", r"/v1/transfers/(?P<id>[^/]+)/reversals", self._reversal_create),
            ("GET", r"/v1/transfers/(?P<id>[^/]+)/reversals", self._reversal_list),
            ("POST", "/v1/payouts", self._payout_create),
            ("GET", "/v1/payouts", self._payout_list),
            ("GET", r"/v1/payouts/(?P<id>[^/]+)", self._payout_get),
            ("POST", "/v1/customers", self._customer_create),
            ("GET", "/v1/customers", self._customer_list),
            ("GET", r"/v1/customers/(?P<id>[^/]+)", self._customer_get),
            ("POST", r"/v1/customers/(?P<id>[^/]+)", self._customer_update),
            ("POST", "/v1/invoiceitems", self._invoiceitem_create),
            ("GET", r"/v1/invoiceitems/(?P<id>[^/]+)", self._invoiceitem_get),
            ("POST", "/v1/invoices", self._invoice_create),
            ("GET", "/v1/invoices", self._invoice_list),
            ("GET", r"/v1/invoices/(?P<id>[^/]+)", self._invoice_get),
            ("POST", r"/v1/invoices/(?P<id>[^/]+)/finalize", self._invoice_finalize),
            ("POST", r"/v1/invoices/(?P<id>[^/]+)/send", self._invoice_send),
            ("POST", r"/v1/invoices/(?P<id>[^/]+)/pay", self._invoice_pay),
            ("POST", r"/v1/invoices/(?P<id>[^/]+)/void", self._invoice_void),
            (
                "POST",
                r"/v1/invoices/(?P<id>[^/]+)/mark_uncollectible",
                self._invoice_mark_uncollectible,
            ),
            ("GET", "/v1/events", self._event_list),
            ("GET", r"/v1/events/(?P<id>[^/]+)", self._event_get),
        ]
        for method, pattern, func in table:
            r.append((method, re.compile(pattern), func))

    # accounts ----------------------------------------------------------------

    def _account_create(self, ctx: _Ctx) -> dict[str, Any]:
        p = ctx.params
        self._check_params(p, "account")
        type_ = p.get("type") or "express"
        if type_ not in ("express", "custom", "standard", "none"):
            raise invalid(
                "Invalid type: must be one of custom, express, none, or standard", param="type"
            )
        requested = p.get("capabilities") or {}
        if not isinstance(requested, dict):
            raise invalid("Invalid object", param="capabilities")
        obj = self._new(
            "account",
            "acct",
            type=type_,
            country=p.get("country") or "US",
            email=p.get("email"),
            business_type=p.get("business_type"),
            charges_enabled=False,
            payouts_enabled=False,
            details_submitted=False,
            default_currency=p.get("default_currency") or "usd",
            metadata=self._metadata(p),
        )
        obj["capabilities"] = {
            name: "inactive"
            for name, want in requested.items()
            if isinstance(want, dict) and want.get("requested") == "true"
        }
        obj["external_accounts"] = self._empty_list(f"/v1/accounts/{obj['id']}/external_accounts")
        if "tos_acceptance" in obj and isinstance(obj["tos_acceptance"], dict):
            obj["tos_acceptance"] = {k: None for k in obj["tos_acceptance"]}
        self.accounts[obj["id"]] = obj
        return obj

    def _account_list(self, ctx: _Ctx) -> dict[str, Any]:
        return self._list(list(self.accounts.values()), ctx.params, "/v1/accounts")

    def _account_get(self, ctx: _Ctx) -> dict[str, Any]:
        return self._get(self.accounts, ctx.match["id"], "account")

    def _account_update(self, ctx: _Ctx) -> dict[str, Any]:
        acct = self._get(self.accounts, ctx.match["id"], "account")
        p = ctx.params
        self._check_params(p, "account_update")
        previous: dict[str, Any] = {}
        if "metadata" in p:
            previous["metadata"] = acct["metadata"]
            acct["metadata"] = self._metadata(p, acct["metadata"])
        for name in ("email", "business_type", "default_currency"):
            if name in p:
                previous[name] = acct.get(name)
                acct[name] = p[name] or None
        if previous:
            self._emit("account.updated", acct, account=acct["id"], previous=previous, ctx=ctx)
        return acct

    def _account_link_create(self, ctx: _Ctx) -> dict[str, Any]:
        p = ctx.params
        self._check_params(p, "account_link")
        account_id = self._require(p, "account")
        type_ = self._require(p, "type")
        if account_id not in self.accounts:
            raise invalid(
                f"No such account: '{account_id}'", code="resource_missing", param="account"
            )
        if type_ not in ("account_onboarding", "account_update"):
            raise invalid(
                "Invalid type: must be one of account_onboarding or account_update", param="type"
            )
        now = self.now()
        obj = self._new(
            "account_link",
            None,
            created=now,
            expires_at=now + 300,
            url=f"{self.url}/connect/setup/{type_}/{account_id}/{self._token(12)}",
        )
        self.account_links.append(
            {
                **obj,
                "account": account_id,
                "type": type_,
                "refresh_url": p.get("refresh_url"),
                "return_url": p.get("return_url"),
            }
        )
        return obj

    # transfers ---------------------------------------------------------------

    def _transfer_create(self, ctx: _Ctx) -> dict[str, Any]:
        p = ctx.params
        self._check_params(p, "transfer")
        amount = self._int(p, "amount", required=True, minimum=1)
        currency = self._currency(p)
        destination = self._require(p, "destination")
        if destination not in self.accounts:
            raise invalid(
                f"No such destination: '{destination}'",
                code="resource_missing",
                param="destination",
            )
        if self.balance is not None:
            available = self.balance.get(currency, 0)
            if amount > available:
                status, type_, message = DECLINES["balance_insufficient"]
                raise StripeFakeError(
                    status, type_, message, code="balance_insufficient", saved=True
                )
            self.balance[currency] = available - amount
        obj = self._new(
            "transfer",
            "tr",
            amount=amount,
            amount_reversed=0,
            currency=currency,
            destination=destination,
            destination_payment=self._id("py"),
            balance_transaction=self._id("txn"),
            description=p.get("description"),
            metadata=self._metadata(p),
            transfer_group=p.get("transfer_group"),
            source_transaction=p.get("source_transaction"),
            source_type=p.get("source_type") or "card",
            reversed=False,
        )
        obj["reversals"] = self._empty_list(f"/v1/transfers/{obj['id']}/reversals")
        self.transfers[obj["id"]] = obj
        self._emit("transfer.created", obj, ctx=ctx)
        return obj

    def _transfer_list(self, ctx: _Ctx) -> dict[str, Any]:
        p = ctx.params
        rows = [
            t
            for t in self.transfers.values()
            if (not p.get("destination") or t["destination"] == p["destination"])
            and (not p.get("transfer_group") or t["transfer_group"] == p["transfer_group"])
        ]
        filters = {k: v for k, v in p.items() if k not in ("destination", "transfer_group")}
        return self._list(rows, filters, "/v1/transfers")

    def _transfer_get(self, ctx: _Ctx) -> dict[str, Any]:
        return self._get(self.transfers, ctx.match["id"], "transfer")

    def _reversal_create(self, ctx: _Ctx) -> dict[str, Any]:
        transfer = self._get(self.transfers, ctx.match["id"], "transfer")
        p = ctx.params
        self._check_params(p, "transfer_reversal")
        remaining = transfer["amount"] - transfer["amount_reversed"]
        if remaining <= 0:
            raise invalid(f"Transfer {transfer['id']} has already been fully reversed.")
        amount = self._int(p, "amount", minimum=1)
        amount = remaining if amount is None else amount
        if amount > remaining:
            raise invalid(
                f"Transfer reversal amount ({amount}) is greater than the amount remaining on "
                f"the transfer ({remaining}).",
                param="amount",
            )
        rev = self._new(
            "transfer_reversal",
            "trr",
            amount=amount,
            currency=transfer["currency"],
            transfer=transfer["id"],
            balance_transaction=self._id("txn"),
            destination_payment_refund=self._id("pyr"),
            source_refund=None,
            metadata=self._metadata(p),
        )
        self.reversals[rev["id"]] = rev
        previous = {
            "amount_reversed": transfer["amount_reversed"],
            "reversed": transfer["reversed"],
        }
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] >= transfer["amount"]
        transfer["reversals"]["data"].insert(0, rev)
        transfer["reversals"]["total_count"] = len(transfer["reversals"]["data"])
        if self.balance is not None:
            cur = transfer["currency"]
            self.balance[cur] = self.balance.get(cur, 0) + amount
        self._emit("transfer.reversed", transfer, previous=previous, ctx=ctx)
        return rev

    def _reversal_list(self, ctx: _Ctx) -> dict[str, Any]:
        transfer = self._get(self.transfers, ctx.match["id"], "transfer")
        return self._list(
            list(transfer["reversals"]["data"]),
            ctx.params,
            f"/v1/transfers/{transfer['id']}/reversals",
        )

    # payouts -----------------------------------------------------------------

    def _payout_create(self, ctx: _Ctx) -> dict[str, Any]:
        p = ctx.params
        self._check_params(p, "payout")
        amount = self._int(p, "amount", required=True, minimum=1)
        currency = self._currency(p)
        method = p.get("method") or "standard"
        if method not in ("standard", "instant"):
            raise invalid("Invalid method: must be one of standard or instant", param="method")
        now = self.now()
        obj = self._new(
            "payout",
            "po",
            amount=amount,
            currency=currency,
            arrival_date=now + (0 if method == "instant" else 2 * 86400),
            automatic=False,
            balance_transaction=self._id("txn"),
            description=p.get("description"),
            destination=p.get("destination") or self._id("ba"),
            failure_balance_transaction=None,
            failure_code=None,
            failure_message=None,
            metadata=self._metadata(p),
            method=method,
            original_payout=None,
            reversed_by=None,
            source_type=p.get("source_type") or "card",
            statement_descriptor=p.get("statement_descriptor"),
            status="pending",
            type="bank_account",
        )
        self.payouts[obj["id"]] = obj
        self.payout_accounts[obj["id"]] = ctx.account
        self._emit("payout.created", obj, account=ctx.account, ctx=ctx)
        return obj

    def _payout_list(self, ctx: _Ctx) -> dict[str, Any]:
        rows = [po for pid, po in self.payouts.items() if self.payout_accounts[pid] == ctx.account]
        return self._list(rows, ctx.params, "/v1/payouts")

    def _payout_get(self, ctx: _Ctx) -> dict[str, Any]:
        po = self._get(self.payouts, ctx.match["id"], "payout")
        if self.payout_accounts[po["id"]] != ctx.account:
            raise missing(po["id"], "payout")
        return po

    # customers ---------------------------------------------------------------

    def _customer_create(self, ctx: _Ctx) -> dict[str, Any]:
        p = ctx.params
        self._check_params(p, "customer")
        obj = self._new(
            "customer",
            "cus",
            email=p.get("email"),
            name=p.get("name"),
            description=p.get("description"),
            phone=p.get("phone"),
            address=p.get("address") or None,
            shipping=p.get("shipping") or None,
            balance=self._int(p, "balance") or 0,
            currency=None,
            default_source=None,
            delinquent=False,
            discount=None,
            invoice_prefix=p.get("invoice_prefix") or self._token(8).upper(),
            next_invoice_sequence=1,
            preferred_locales=p.get("preferred_locales") or [],
            tax_exempt=p.get("tax_exempt") or "none",
            test_clock=None,
            metadata=self._metadata(p),
        )
        self.customers[obj["id"]] = obj
        return obj

    def _customer_list(self, ctx: _Ctx) -> dict[str, Any]:
        email = ctx.params.get("email")
        rows = [c for c in self.customers.values() if not email or c["email"] == email]
        filters = {k: v for k, v in ctx.params.items() if k != "email"}
        return self._list(rows, filters, "/v1/customers")

    def _customer_get(self, ctx: _Ctx) -> dict[str, Any]:
        return self._get(self.customers, ctx.match["id"], "customer")

    def _customer_update(self, ctx: _Ctx) -> dict[str, Any]:
        cus = self._get(self.customers, ctx.match["id"], "customer")
        p = ctx.params
        self._check_params(p, "customer")
        if "metadata" in p:
            cus["metadata"] = self._metadata(p, cus["metadata"])
        for name in ("email", "name", "description", "phone"):
            if name in p:
                cus[name] = p[name] or None
        return cus

    # invoice items -----------------------------------------------------------

    def _invoiceitem_create(self, ctx: _Ctx) -> dict[str, Any]:
        p = ctx.params
        self._check_params(p, "invoiceitem")
        customer_id = self._require(p, "customer")
        customer = self._get(self.customers, customer_id, "customer")
        invoice = None
        if p.get("invoice"):
            invoice = self._get(self.invoices, p["invoice"], "invoice")
            if invoice["customer"] != customer_id:
                raise invalid("The invoice does not belong to this customer.", param="invoice")
            if invoice["status"] != "draft":
                raise invalid(
                    f"You can only add invoice items to draft invoices; {invoice['id']} is "
                    f"{invoice['status']}.",
                    code="invoice_not_editable",
                    param="invoice",
                )
        quantity = self._int(p, "quantity", minimum=0)
        amount = self._int(p, "amount")
        price_data = p.get("price_data")
        if amount is None and isinstance(price_data, dict):  # price_data[unit_amount] x quantity
            unit_amount = self._int(price_data, "unit_amount", required=True)
            amount = unit_amount * (1 if quantity is None else quantity)
            if price_data.get("currency") and not p.get("currency"):
                p = {**p, "currency": price_data["currency"]}
        if amount is None:
            unit = p.get("unit_amount_decimal")
            if unit in (None, ""):
                self._require(p, "amount")
            if not re.fullmatch(r"-?\d+", unit):
                raise invalid(
                    f"Invalid integer: {unit}",
                    code="parameter_invalid_integer",
                    param="unit_amount_decimal",
                )
            amount = int(unit) * (1 if quantity is None else quantity)
        currency = self._currency(
            p, required=invoice is None, default=invoice["currency"] if invoice else None
        )
        if invoice and currency != invoice["currency"]:
            raise invalid(
                f"The currency of the invoice item ({currency}) must match the "
                f"invoice's ({invoice['currency']}).",
                param="currency",
            )
        now = self.now()
        obj = self._new(
            "invoiceitem",
            "ii",
            amount=amount,
            net_amount=amount,
            currency=currency,
            customer=customer["id"],
            customer_account=None,
            date=now,
            description=p.get("description"),
            discountable=self._bool(p, "discountable", True),
            discounts=[],
            invoice=invoice["id"] if invoice else None,
            metadata=self._metadata(p),
            parent=None,
            period={"start": now, "end": now},
            proration=False,
            quantity=1 if quantity is None else quantity,
            quantity_decimal=str(1 if quantity is None else quantity),
            tax_rates=[],
            test_clock=None,
        )
        if isinstance(obj.get("pricing"), dict):
            obj["pricing"]["unit_amount_decimal"] = str(amount)
        self.invoiceitems[obj["id"]] = obj
        if invoice:
            self._attach_item(invoice, obj)
        return obj

    def _invoiceitem_get(self, ctx: _Ctx) -> dict[str, Any]:
        return self._get(self.invoiceitems, ctx.match["id"], "invoiceitem")

    # invoices ----------------------------------------------------------------

    def _line_from_item(self, invoice: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
        template = (self.resources["invoice"].get("lines") or {}).get("data") or [
            self.resources.get("line_item", {})
        ]
        line = copy.deepcopy(template[0])
        line.update(
            id=self._id("il"),
            amount=item["amount"],
            currency=item["currency"],
            description=item["description"],
            discount_amounts=[],
            discountable=item["discountable"],
            discounts=[],
            invoice=invoice["id"],
            livemode=False,
            metadata=dict(item["metadata"]),
            period=dict(item["period"]),
            quantity=item["quantity"],
            subscription=None,
            subtotal=item["amount"],
            taxes=[],
            pretax_credit_amounts=[],
            parent={
                "type": "invoice_item_details",
                "invoice_item_details": {
                    "invoice_item": item["id"],
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": None,
                },
                "subscription_item_details": None,
            },
        )
        if isinstance(line.get("pricing"), dict):
            line["pricing"]["unit_amount_decimal"] = str(item["amount"])
        return line

    def _attach_item(self, invoice: dict[str, Any], item: dict[str, Any]) -> None:
        item["invoice"] = invoice["id"]
        invoice["lines"]["data"].append(self._line_from_item(invoice, item))
        invoice["lines"]["total_count"] = len(invoice["lines"]["data"])
        self._recompute(invoice)

    @staticmethod
    def _recompute(invoice: dict[str, Any]) -> None:
        total = sum(line["amount"] for line in invoice["lines"]["data"])
        invoice.update(
            subtotal=total,
            subtotal_excluding_tax=total,
            total=total,
            total_excluding_tax=total,
            amount_due=max(total, 0),
            amount_remaining=max(total, 0) - invoice["amount_paid"],
        )

    def _invoice_create(self, ctx: _Ctx) -> dict[str, Any]:
        p = ctx.params
        self._check_params(p, "invoice")
        customer = self._get(self.customers, self._require(p, "customer"), "customer")
        method = p.get("collection_method") or "charge_automatically"
        if method not in ("charge_automatically", "send_invoice"):
            raise invalid(
                "Invalid collection_method: must be one of charge_automatically or send_invoice",
                param="collection_method",
            )
        days = self._int(p, "days_until_due", minimum=0)
        due_date = self._int(p, "due_date")
        if method == "send_invoice" and days is None and due_date is None:
            raise invalid(
                "Missing required param: days_until_due.",
                code="parameter_missing",
                param="days_until_due",
            )
        behavior = p.get("pending_invoice_items_behavior") or "exclude"
        if behavior not in ("exclude", "include"):
            raise invalid(
                "Invalid pending_invoice_items_behavior: must be one of exclude or include",
                param="pending_invoice_items_behavior",
            )
        pending = [
            ii
            for ii in self.invoiceitems.values()
            if behavior == "include" and ii["customer"] == customer["id"] and not ii["invoice"]
        ]
        currency = self._currency(
            p,
            required=False,
            default=customer.get("currency") or (pending[0]["currency"] if pending else "usd"),
        )
        now = self.now()
        obj = self._new(
            "invoice",
            "in",
            customer=customer["id"],
            customer_account=None,
            customer_email=customer["email"],
            customer_name=customer["name"],
            customer_phone=customer["phone"],
            customer_address=customer["address"],
            customer_shipping=customer["shipping"],
            customer_tax_exempt=customer["tax_exempt"],
            customer_tax_ids=[],
            collection_method=method,
            currency=currency,
            description=p.get("description"),
            footer=p.get("footer"),
            metadata=self._metadata(p),
            auto_advance=self._bool(p, "auto_advance", False),
            status="draft",
            number=None,
            amount_paid=0,
            amount_overpaid=0,
            amount_shipping=0,
            attempt_count=0,
            attempted=False,
            billing_reason="manual",
            due_date=due_date,
            effective_at=None,
            ending_balance=None,
            starting_balance=0,
            hosted_invoice_url=None,
            invoice_pdf=None,
            last_finalization_error=None,
            latest_revision=None,
            from_invoice=None,
            next_payment_attempt=None,
            on_behalf_of=p.get("on_behalf_of"),
            parent=None,
            period_start=now,
            period_end=now,
            post_payment_credit_notes_amount=0,
            pre_payment_credit_notes_amount=0,
            receipt_number=None,
            statement_descriptor=p.get("statement_descriptor"),
            status_transitions={
                "finalized_at": None,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            subscription=None,
            test_clock=None,
            discounts=[],
            total_discount_amounts=[],
            total_pretax_credit_amounts=[],
            total_taxes=[],
            webhooks_delivered_at=None,
            automatically_finalizes_at=None,
        )
        obj["_days_until_due"] = days  # internal; stripped from responses below
        obj["lines"] = {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/invoices/{obj['id']}/lines",
        }
        self.invoices[obj["id"]] = obj
        for item in pending:
            if item["currency"] == currency:
                self._attach_item(obj, item)
        self._recompute(obj)
        self._emit("invoice.created", self._public(obj), ctx=ctx)
        return self._public(obj)

    @staticmethod
    def _public(invoice: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in invoice.items() if not k.startswith("_")}

    def _invoice(self, ctx: _Ctx) -> dict[str, Any]:
        return self._get(self.invoices, ctx.match["id"], "invoice")

    @staticmethod
    def _require_status(inv: dict[str, Any], allowed: tuple[str, ...], verb: str) -> None:
        if inv["status"] not in allowed:
            raise invalid(
                f"You can only {verb} an invoice whose status is "
                f"{' or '.join(allowed)}; invoice {inv['id']} is {inv['status']}."
            )

    def _invoice_list(self, ctx: _Ctx) -> dict[str, Any]:
        p = ctx.params
        rows = [
            self._public(i)
            for i in self.invoices.values()
            if (not p.get("customer") or i["customer"] == p["customer"])
            and (not p.get("status") or i["status"] == p["status"])
            and (not p.get("collection_method") or i["collection_method"] == p["collection_method"])
        ]
        filters = {
            k: v for k, v in p.items() if k not in ("customer", "status", "collection_method")
        }
        return self._list(rows, filters, "/v1/invoices")

    def _invoice_get(self, ctx: _Ctx) -> dict[str, Any]:
        return self._public(self._invoice(ctx))

    def _invoice_finalize(self, ctx: _Ctx) -> dict[str, Any]:
        inv = self._invoice(ctx)
        self._check_params(ctx.params, "invoice_finalize")
        if inv["status"] != "draft":
            raise invalid(
                "This invoice is already finalized, you can't re-finalize a non-draft invoice."
            )
        customer = self.customers[inv["customer"]]
        now = self.now()
        inv["number"] = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
        customer["next_invoice_sequence"] += 1
        inv.update(
            status="open",
            effective_at=now,
            ending_balance=0,
            hosted_invoice_url=f"{self.url}/invoice/{inv['id']}",
            invoice_pdf=f"{self.url}/invoice/{inv['id']}/pdf",
            auto_advance=self._bool(ctx.params, "auto_advance", inv["auto_advance"]),
        )
        if inv["_days_until_due"] is not None and inv["due_date"] is None:
            inv["due_date"] = now + inv["_days_until_due"] * 86400
        inv["status_transitions"]["finalized_at"] = now
        self._emit("invoice.finalized", self._public(inv), previous={"status": "draft"}, ctx=ctx)
        if inv["amount_due"] == 0:  # Stripe marks zero-amount invoices paid on finalization
            self._mark_paid(inv, out_of_band=True, ctx=ctx)
        return self._public(inv)

    def _invoice_send(self, ctx: _Ctx) -> dict[str, Any]:
        inv = self._invoice(ctx)
        self._check_params(ctx.params, "invoice_send")
        if inv["collection_method"] != "send_invoice":
            raise invalid(
                "You can only manually send an invoice if its collection method is 'send_invoice'."
            )
        self._require_status(inv, ("open", "paid", "uncollectible"), "send")
        self._emit("invoice.sent", self._public(inv), ctx=ctx)
        return self._public(inv)

    def _invoice_pay(self, ctx: _Ctx) -> dict[str, Any]:
        inv = self._invoice(ctx)
        self._check_params(ctx.params, "invoice_pay")
        self._require_status(inv, ("open", "uncollectible"), "pay")
        if ctx.decline:
            self._failed_attempt(inv, ctx=ctx)
            raise self._decline_error(ctx.decline)
        out_of_band = bool(self._bool(ctx.params, "paid_out_of_band", False))
        self._mark_paid(inv, out_of_band=out_of_band, ctx=ctx)
        return self._public(inv)

    _invoice_pay.handles_decline = True  # type: ignore[attr-defined]

    def _invoice_void(self, ctx: _Ctx) -> dict[str, Any]:
        inv = self._invoice(ctx)
        self._check_params(ctx.params, "invoice_void")
        self._require_status(inv, ("open", "uncollectible"), "void")
        previous = {"status": inv["status"]}
        inv["status"] = "void"
        inv["amount_remaining"] = 0
        inv["status_transitions"]["voided_at"] = self.now()
        self._emit("invoice.voided", self._public(inv), previous=previous, ctx=ctx)
        return self._public(inv)

    def _invoice_mark_uncollectible(self, ctx: _Ctx) -> dict[str, Any]:
        inv = self._invoice(ctx)
        self._check_params(ctx.params, "invoice_mark_uncollectible")
        self._require_status(inv, ("open",), "mark uncollectible")
        inv["status"] = "uncollectible"
        inv["status_transitions"]["marked_uncollectible_at"] = self.now()
        self._emit(
            "invoice.marked_uncollectible", self._public(inv), previous={"status": "open"}, ctx=ctx
        )
        return self._public(inv)

    def _mark_paid(self, inv: dict[str, Any], *, out_of_band: bool, ctx: _Ctx | None = None):
        previous = {"status": inv["status"], "amount_paid": inv["amount_paid"]}
        now = self.now()
        inv.update(status="paid", amount_paid=inv["amount_due"], amount_remaining=0)
        if not out_of_band:
            inv.update(attempted=True, attempt_count=inv["attempt_count"] + 1)
        inv["next_payment_attempt"] = None
        inv["status_transitions"]["paid_at"] = now
        self._emit("invoice.paid", self._public(inv), previous=previous, ctx=ctx)
        if not out_of_band:
            self._emit("invoice.payment_succeeded", self._public(inv), ctx=ctx)

    def _failed_attempt(self, inv: dict[str, Any], ctx: _Ctx | None = None) -> None:
        previous = {"attempt_count": inv["attempt_count"], "attempted": inv["attempted"]}
        inv.update(attempted=True, attempt_count=inv["attempt_count"] + 1)
        self._emit("invoice.payment_failed", self._public(inv), previous=previous, ctx=ctx)

    # events ------------------------------------------------------------------

    def _event_list(self, ctx: _Ctx) -> dict[str, Any]:
        type_ = ctx.params.get("type")
        rows = [e for e in self.events if not type_ or e["type"] == type_]
        filters = {k: v for k, v in ctx.params.items() if k not in ("type", "types")}
        return self._list(rows, filters, "/v1/events")

    def _event_get(self, ctx: _Ctx) -> dict[str, Any]:
        for event in self.events:
            if event["id"] == ctx.match["id"]:
                return event
        raise missing(ctx.match["id"], "event")
