"""The fake Stripe server, driven by the real stripe-python client over HTTP (no database)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from tests.stripe_fake.fixture import make_stripe_client


def raw(obj) -> dict:
    """The JSON body the server sent for a stripe-python object."""
    return json.loads(obj.last_response.body)


def make_account(client, **params):
    return client.v1.accounts.create(
        params={
            "type": "express",
            "country": "US",
            "capabilities": {"transfers": {"requested": True}},
            **params,
        }
    )


def transfer_params(account_id: str, amount: int = 1500) -> dict:
    return {
        "amount": amount,
        "currency": "eur",
        "destination": account_id,
        "transfer_group": "stmt_42",
        "metadata": {"statement": "42"},
    }


def test_account_and_account_link(stripe_client, stripe_server):
    account = make_account(stripe_client, email="talent@example.com", metadata={"talent": "7"})
    assert account.id.startswith("acct_")
    assert account.type == "express"
    assert account.payouts_enabled is False
    assert account.metadata.to_dict() == {"talent": "7"}
    assert stripe_client.v1.accounts.retrieve(account.id).email == "talent@example.com"

    link = stripe_client.v1.account_links.create(
        params={
            "account": account.id,
            "type": "account_onboarding",
            "refresh_url": "https://x.test/refresh",
            "return_url": "https://x.test/done",
        }
    )
    assert link.object == "account_link"
    assert link.url.startswith(stripe_server.url)
    assert link.expires_at > link.created

    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.account_links.create(
            params={"account": "acct_nope", "type": "account_onboarding"}
        )
    assert exc.value.code == "resource_missing"


def test_request_encoding_errors_and_auth(stripe_client, stripe_server):
    account = make_account(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.transfers.create(params={"currency": "eur", "destination": account.id})
    assert (exc.value.http_status, exc.value.code, exc.value.param) == (
        400,
        "parameter_missing",
        "amount",
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.transfers.create(params={**transfer_params(account.id), "amount": 0})
    assert exc.value.code == "parameter_invalid_integer"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.transfers.create(params={**transfer_params(account.id), "amont": 5})
    assert exc.value.code == "parameter_unknown"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.transfers.create(params=transfer_params("acct_missing"))
    assert (exc.value.code, exc.value.param) == ("resource_missing", "destination")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.transfers.retrieve("tr_missing")
    assert (exc.value.http_status, exc.value.code) == (404, "resource_missing")
    assert exc.value.json_body["error"]["type"] == "invalid_request_error"

    with pytest.raises(stripe.AuthenticationError) as exc:
        make_stripe_client(stripe_server, api_key="sk_live_nope").v1.customers.create()
    assert exc.value.http_status == 401
    # Nested parameters arrive as Stripe encodes them (metadata[...], capabilities[...][...]).
    sent = stripe_server.requests_to("POST", "/v1/accounts")[0]
    assert sent.params["capabilities"] == {"transfers": {"requested": "true"}}
    assert sent.api_key == "sk_test_123"


def test_transfer_idempotency_replay_and_mismatch(stripe_client, stripe_server):
    account = make_account(stripe_client)
    options = {"idempotency_key": "payout-intent-1"}
    first = stripe_client.v1.transfers.create(params=transfer_params(account.id), options=options)
    second = stripe_client.v1.transfers.create(params=transfer_params(account.id), options=options)

    assert first.id == second.id
    assert len(stripe_server.transfers) == 1
    assert first.last_response.headers.get("Idempotent-Replayed") is None
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert [r.replayed for r in stripe_server.requests_to("POST", "/v1/transfers")] == [False, True]

    with pytest.raises(stripe.IdempotencyError) as exc:
        stripe_client.v1.transfers.create(
            params=transfer_params(account.id, amount=1600), options=options
        )
    assert exc.value.http_status == 400
    assert len(stripe_server.transfers) == 1

    # Keys are scoped per API key: another key may reuse it for a new object.
    other = make_stripe_client(stripe_server, api_key="sk_test_other")
    third = other.v1.transfers.create(params=transfer_params(account.id), options=options)
    assert third.id != first.id


RESOURCES = [
    "account",
    "account_link",
    "transfer",
    "transfer_reversal",
    "payout",
    "customer",
    "invoiceitem",
    "invoice",
    "event",
]


def one_of_each(stripe_client, stripe_server) -> dict[str, dict]:
    """One object of every resource the server makes, as the JSON bodies it sent."""
    account = make_account(stripe_client)
    link = stripe_client.v1.account_links.create(
        params={"account": account.id, "type": "account_onboarding"}
    )
    transfer = stripe_client.v1.transfers.create(params=transfer_params(account.id))
    reversal = stripe_client.v1.transfers.reversals.create(transfer.id, params={"amount": 100})
    payout = make_stripe_client(stripe_server, stripe_account=account.id).v1.payouts.create(
        params={"amount": 500, "currency": "eur"}
    )
    customer = stripe_client.v1.customers.create(params={"email": "brand@example.com"})
    invoice = stripe_client.v1.invoices.create(
        params={
            "customer": customer.id,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "currency": "eur",
        }
    )
    item = stripe_client.v1.invoice_items.create(
        params={"customer": customer.id, "invoice": invoice.id, "amount": 900, "currency": "eur"}
    )
    invoice = stripe_client.v1.invoices.retrieve(invoice.id)
    event = stripe_client.v1.events.retrieve(stripe_server.events[0]["id"])
    return {
        "account": raw(account),
        "account_link": raw(link),
        "transfer": raw(transfer),
        "transfer_reversal": raw(reversal),
        "payout": raw(payout),
        "customer": raw(customer),
        "invoiceitem": raw(item),
        "invoice": raw(invoice),
        "event": raw(event),
    }


def test_every_object_has_the_keys_of_its_shape(stripe_client, stripe_server):
    returned = one_of_each(stripe_client, stripe_server)
    assert sorted(returned) == sorted(RESOURCES)
    for resource, body in returned.items():
        missing = stripe_server.fixture_keys(resource) - set(body)
        assert not missing, f"{resource} lacks shape keys {sorted(missing)}"
        if "object" in body:
            assert body["object"] == stripe_server.resources[resource]["object"]
    line = returned["invoice"]["lines"]["data"][0]
    assert not stripe_server.fixture_keys("line_item") - set(line)
    # Objects in lists and events too.
    listed = stripe_client.v1.transfers.list()
    assert set(raw(listed)) == {"object", "data", "has_more", "url"}
    for body in [raw(listed)["data"][0]] + [
        e["data"]["object"] for e in stripe_server.events if e["type"].startswith("transfer.")
    ]:
        assert not stripe_server.fixture_keys("transfer") - set(body)


def test_injected_500_and_429(stripe_client, stripe_server):
    account = make_account(stripe_client)
    stripe_server.fail_next(1, status=500, path_prefix="/v1/transfers")
    with pytest.raises(stripe.APIError) as exc:
        stripe_client.v1.transfers.create(params=transfer_params(account.id))
    assert exc.value.http_status == 500
    stripe_server.fail_next(1, status=429)
    with pytest.raises(stripe.RateLimitError):
        stripe_client.v1.transfers.create(params=transfer_params(account.id))
    assert stripe_server.transfers == {}  # before-work faults do nothing
    assert stripe_client.v1.transfers.create(params=transfer_params(account.id)).amount == 1500


def test_timeout_raises_connection_error(stripe_server):
    client = make_stripe_client(stripe_server, timeout=0.3)
    account = make_account(client)
    stripe_server.timeout_next(1, seconds=3, path_prefix="/v1/transfers")
    with pytest.raises(stripe.APIConnectionError):
        client.v1.transfers.create(params=transfer_params(account.id))
    assert stripe_server.transfers == {}


def test_declines(stripe_client, stripe_server):
    account = make_account(stripe_client)
    stripe_server.decline_next("balance_insufficient", path_prefix="/v1/transfers")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.transfers.create(params=transfer_params(account.id))
    assert (exc.value.http_status, exc.value.code) == (400, "balance_insufficient")
    stripe_server.decline_next("account_closed")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.transfers.create(params=transfer_params(account.id))
    assert exc.value.code == "account_closed"
    assert stripe_server.transfers == {}

    # A real balance check: the platform only has 2000 EUR cents available.
    stripe_server.set_balance("eur", 2000)
    stripe_client.v1.transfers.create(params=transfer_params(account.id, amount=1500))
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.transfers.create(params=transfer_params(account.id, amount=600))
    assert exc.value.code == "balance_insufficient"


@pytest.mark.parametrize("fault", ["500", "timeout"])
def test_fault_after_work_then_retry_gives_one_transfer(stripe_server, fault):
    client = make_stripe_client(stripe_server, timeout=0.3)
    account = make_account(client)
    if fault == "500":
        stripe_server.fail_next(1, status=500, path_prefix="/v1/transfers", after_work=True)
        expected = stripe.APIError
    else:
        stripe_server.timeout_next(1, seconds=3, path_prefix="/v1/transfers", after_work=True)
        expected = stripe.APIConnectionError
    options = {"idempotency_key": "intent-7"}
    with pytest.raises(expected):
        client.v1.transfers.create(params=transfer_params(account.id), options=options)
    assert len(stripe_server.transfers) == 1  # Stripe did it; we never heard

    retried = client.v1.transfers.create(params=transfer_params(account.id), options=options)
    assert retried.last_response.headers["Idempotent-Replayed"] == "true"
    assert list(stripe_server.transfers) == [retried.id]


def test_fail_rate_is_reproducible(stripe_client, stripe_server):
    def outcomes():
        stripe_server.reset()
        stripe_server.fail_rate(0.5, seed=3)
        seen = []
        for _ in range(20):
            try:
                stripe_client.v1.customers.create()
                seen.append("ok")
            except stripe.RateLimitError:
                seen.append("429")
            except stripe.APIError:
                seen.append("500")
        return seen

    first = outcomes()
    assert first == outcomes()
    assert {"ok", "429", "500"} <= set(first)


def test_reversals(stripe_client, stripe_server):
    account = make_account(stripe_client)
    transfer = stripe_client.v1.transfers.create(params=transfer_params(account.id))
    stripe_client.v1.transfers.reversals.create(transfer.id, params={"amount": 500})
    rest = stripe_client.v1.transfers.reversals.create(transfer.id)
    assert rest.amount == 1000
    transfer = stripe_client.v1.transfers.retrieve(transfer.id)
    assert (transfer.amount_reversed, transfer.reversed) == (1500, True)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.transfers.reversals.create(transfer.id, params={"amount": 1})
    types = [e["type"] for e in stripe_server.events]
    assert types == ["transfer.created", "transfer.reversed", "transfer.reversed"]


def test_payouts_on_connected_account_and_failure(stripe_client, stripe_server):
    account = make_account(stripe_client)
    connected = make_stripe_client(stripe_server, stripe_account=account.id)
    payout = connected.v1.payouts.create(params={"amount": 700, "currency": "eur"})
    assert payout.status == "pending"
    assert stripe_server.requests_to("POST", "/v1/payouts")[0].stripe_account == account.id
    with pytest.raises(stripe.InvalidRequestError):  # not the platform's payout
        stripe_client.v1.payouts.retrieve(payout.id)

    stripe_server.fail_payout(payout.id, code="account_closed")
    failed = connected.v1.payouts.retrieve(payout.id)
    assert (failed.status, failed.failure_code) == ("failed", "account_closed")
    event = stripe_server.events[-1]
    assert (event["type"], event["account"]) == ("payout.failed", account.id)

    with pytest.raises(stripe.PermissionError):
        make_stripe_client(stripe_server, stripe_account="acct_unknown").v1.payouts.create(
            params={"amount": 1, "currency": "eur"}
        )


def test_set_account_emits_account_updated(stripe_client, stripe_server):
    account = make_account(stripe_client)
    stripe_server.set_account(
        account.id, payouts_enabled=True, charges_enabled=True, details_submitted=True
    )
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.payouts_enabled and account.details_submitted
    assert account.capabilities["transfers"] == "active"
    event = stripe_server.pending_events[-1]
    assert event["type"] == "account.updated"
    assert event["account"] == account.id
    assert event["data"]["previous_attributes"]["payouts_enabled"] is False


def test_invoice_lifecycle(stripe_client, stripe_server):
    customer = stripe_client.v1.customers.create(params={"name": "Brand", "email": "b@x.test"})
    invoice = stripe_client.v1.invoices.create(
        params={
            "customer": customer.id,
            "collection_method": "send_invoice",
            "days_until_due": 14,
            "currency": "usd",
            "metadata": {"statement": "9"},
        }
    )
    assert invoice.status == "draft"
    for amount in (1200, 300):
        stripe_client.v1.invoice_items.create(
            params={
                "customer": customer.id,
                "invoice": invoice.id,
                "amount": amount,
                "currency": "usd",
                "description": "royalties",
            }
        )
    invoice = stripe_client.v1.invoices.finalize_invoice(invoice.id)
    assert (invoice.status, invoice.amount_due, len(invoice.lines.data)) == ("open", 1500, 2)
    assert invoice.number and invoice.due_date and invoice.hosted_invoice_url
    invoice = stripe_client.v1.invoices.send_invoice(invoice.id)
    invoice = stripe_client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
    assert (invoice.status, invoice.amount_paid, invoice.amount_remaining) == ("paid", 1500, 0)
    assert [e["type"] for e in stripe_server.events] == [
        "invoice.created",
        "invoice.finalized",
        "invoice.sent",
        "invoice.paid",
    ]

    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.invoices.void_invoice(invoice.id)
    assert exc.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.invoices.finalize_invoice(invoice.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:  # no items on a finalized invoice
        stripe_client.v1.invoice_items.create(
            params={"customer": customer.id, "invoice": invoice.id, "amount": 1, "currency": "usd"}
        )
    assert exc.value.code == "invoice_not_editable"


def test_invoice_void_uncollectible_and_failed_payment(stripe_client, stripe_server):
    customer = stripe_client.v1.customers.create()
    stripe_client.v1.invoice_items.create(
        params={"customer": customer.id, "amount": 800, "currency": "usd"}
    )
    draft = stripe_client.v1.invoices.create(
        params={"customer": customer.id, "pending_invoice_items_behavior": "include"}
    )
    assert draft.amount_due == 800
    with pytest.raises(stripe.InvalidRequestError):  # drafts are not voided (nor paid)
        stripe_client.v1.invoices.void_invoice(draft.id)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.invoices.pay(draft.id)
    stripe_client.v1.invoices.finalize_invoice(draft.id)

    stripe_server.decline_next("card_declined", path_prefix=f"/v1/invoices/{draft.id}/pay")
    with pytest.raises(stripe.CardError) as exc:
        stripe_client.v1.invoices.pay(draft.id)
    assert exc.value.code == "card_declined"
    stripe_server.fail_invoice_payment(draft.id)
    invoice = stripe_client.v1.invoices.mark_uncollectible(draft.id)
    assert (invoice.status, invoice.attempt_count) == ("uncollectible", 2)
    stripe_server.pay_invoice(draft.id)  # paid late, on the hosted page
    assert stripe_client.v1.invoices.retrieve(draft.id).status == "paid"
    types = [e["type"] for e in stripe_server.events]
    assert types == [
        "invoice.created",
        "invoice.finalized",
        "invoice.payment_failed",
        "invoice.payment_failed",
        "invoice.marked_uncollectible",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]

    other = stripe_client.v1.invoices.create(params={"customer": customer.id})
    stripe_client.v1.invoices.finalize_invoice(other.id)  # zero amount: paid on finalize
    assert stripe_client.v1.invoices.retrieve(other.id).status == "paid"
    third = stripe_client.v1.invoice_items.create(
        params={"customer": customer.id, "amount": 5, "currency": "usd"}
    )
    assert third.invoice is None
    listed = stripe_client.v1.invoices.list(params={"customer": customer.id, "status": "paid"})
    assert {i.id for i in listed.data} == {draft.id, other.id}


def test_list_transfers_created_gte_pagination(stripe_client, stripe_server):
    account = make_account(stripe_client)
    for _ in range(3):
        stripe_client.v1.transfers.create(params=transfer_params(account.id))
    stripe_server.advance_clock(3600)
    since = stripe_server.now()
    recent = [
        stripe_client.v1.transfers.create(params=transfer_params(account.id, amount=100 + i)).id
        for i in range(5)
    ]
    page = stripe_client.v1.transfers.list(params={"created": {"gte": since}, "limit": 2})
    assert page.has_more is True
    assert [t.id for t in page.data] == recent[::-1][:2]  # newest first
    assert raw(page)["url"] == "/v1/transfers"
    everything = [t.id for t in page.auto_paging_iter()]
    assert everything == recent[::-1]
    cursors = [
        r.params.get("starting_after") for r in stripe_server.requests_to("GET", "/v1/transfers")
    ]
    assert cursors == [None, recent[3], recent[1]]
    all_ids = stripe_client.v1.transfers.list(params={"limit": 100})
    assert len(all_ids.data) == 8 and all_ids.has_more is False


# --------------------------------------------------------------------------- webhooks


class _Receiver:
    """A tiny webhook endpoint verifying with stripe-python's real signature check."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.verified: list[str] = []
        self.rejected: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                payload = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    event = stripe.Webhook.construct_event(
                        payload, self.headers["Stripe-Signature"], receiver.secret
                    )
                except stripe.SignatureVerificationError as exc:
                    receiver.rejected.append(str(exc))
                    self.send_response(400)
                else:
                    receiver.verified.append(event.id)
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks/stripe/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver(stripe_server):
    rec = _Receiver(stripe_server.webhook_secret)
    stripe_server.webhook_url = rec.url
    yield rec
    rec.close()


def test_webhook_signatures_verify_with_stripe_python(stripe_client, stripe_server, receiver):
    account = make_account(stripe_client)
    good = stripe_server.send_event("account.updated", raw(account), account=account.id)
    assert good.status == 200
    assert receiver.verified == [good.event["id"]]
    assert good.event["account"] == account.id
    assert good.event["livemode"] is False
    assert good.signature_header.startswith("t=") and ",v1=" in good.signature_header
    assert not stripe_server.fixture_keys("event") - set(good.event)

    stale = stripe_server.resend(good.event, stale=True)
    bad = stripe_server.resend(good.event, bad_signature=True)
    assert (stale.status, bad.status) == (400, 400)
    assert "tolerance" in receiver.rejected[0]
    assert "No signatures found matching" in receiver.rejected[1]

    again = stripe_server.resend(good.event)  # a duplicate delivery, same event id
    assert again.status == 200 and receiver.verified == [good.event["id"]] * 2


def test_state_changes_queue_events_for_delivery(stripe_client, stripe_server, receiver):
    account = make_account(stripe_client)
    transfer = stripe_client.v1.transfers.create(
        params=transfer_params(account.id), options={"idempotency_key": "k-9"}
    )
    stripe_client.v1.transfers.reversals.create(transfer.id)
    deliveries = stripe_server.deliver_events(reverse=True)  # out of order
    assert [d.event["type"] for d in deliveries] == ["transfer.reversed", "transfer.created"]
    assert all(d.status == 200 for d in deliveries)
    assert deliveries[1].event["request"]["idempotency_key"] == "k-9"
    assert receiver.verified == [d.event["id"] for d in deliveries]
    assert stripe_server.deliver_events() == []


def test_invoiceitem_price_data_and_pending_items(stripe_client, stripe_server):
    customer = stripe_client.v1.customers.create()
    item = stripe_client.v1.invoice_items.create(
        params={
            "customer": customer.id,
            "quantity": 3,
            "price_data": {"currency": "gbp", "unit_amount": 250, "product": "prod_x"},
        }
    )
    assert (item.amount, item.currency, item.invoice) == (750, "gbp", None)
    invoice = stripe_client.v1.invoices.create(
        params={"customer": customer.id, "pending_invoice_items_behavior": "include"}
    )
    assert (invoice.currency, invoice.amount_due) == ("gbp", 750)
    assert stripe_client.v1.invoice_items.retrieve(item.id).invoice == invoice.id


def test_missing_api_key_and_decline_replay(stripe_client, stripe_server):
    request = urllib.request.Request(f"{stripe_server.url}/v1/customers", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=5)
    assert exc.value.code == 401
    error = json.loads(exc.value.read())["error"]
    assert error["type"] == "invalid_request_error" and "API key" in error["message"]

    # A decline is the endpoint's answer: stored under the key and replayed as such.
    account = make_account(stripe_client)
    stripe_server.decline_next("balance_insufficient", path_prefix="/v1/transfers")
    options = {"idempotency_key": "declined-once"}
    for _ in range(2):
        with pytest.raises(stripe.InvalidRequestError) as exc:
            stripe_client.v1.transfers.create(params=transfer_params(account.id), options=options)
        assert exc.value.code == "balance_insufficient"
    assert [r.replayed for r in stripe_server.requests_to("POST", "/v1/transfers")] == [
        False,
        True,
    ]
    assert stripe_server.transfers == {}
