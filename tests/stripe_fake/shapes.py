"""The shapes of the objects the fake Stripe server returns, written by us.

One template per resource the server creates. Each carries the top-level fields Stripe's API
object has (so stripe-python and ``ledger/gateways/stripe.py`` find every attribute they read,
and a client that reads one more does not get ``AttributeError``), with neutral values: nulls,
zeros, empty lists, and small nested objects only where the server or our gateway reads or writes
inside them (capabilities, requirements, tos_acceptance, lists, periods, status transitions).
The server overrides ids, timestamps and every field a request drives.

``tests/test_stripe_fake_conformance.py`` compares these shapes, as the server returns them,
with Stripe's own fixture objects (``../shared/stripe/fixtures3.json``) when that file is
present, so a field Stripe adds or renames shows up there; nothing here depends on that file.
"""

from __future__ import annotations

from typing import Any


def _list(url: str = "") -> dict[str, Any]:
    return {"object": "list", "data": [], "has_more": False, "url": url}


def _requirements() -> dict[str, Any]:
    # A fresh Express account still owes its onboarding; set_account(...) clears the lists.
    due = ["external_account", "tos_acceptance.date", "tos_acceptance.ip"]
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": list(due),
        "disabled_reason": "requirements.past_due",
        "errors": [],
        "eventually_due": list(due),
        "past_due": [],
        "pending_verification": [],
    }


def _address() -> dict[str, Any]:
    return {
        "city": None,
        "country": None,
        "line1": None,
        "line2": None,
        "postal_code": None,
        "state": None,
    }


ACCOUNT: dict[str, Any] = {
    "id": "acct_shape",
    "object": "account",
    "business_profile": {"mcc": None, "name": None, "product_description": None, "url": None},
    "business_type": None,
    "capabilities": {},
    "charges_enabled": False,
    "controller": {"type": "application"},
    "country": "US",
    "created": 0,
    "default_currency": "usd",
    "details_submitted": False,
    "email": None,
    "external_accounts": _list(),
    "future_requirements": {**_requirements(), "currently_due": [], "eventually_due": []},
    "metadata": {},
    "payouts_enabled": False,
    "requirements": _requirements(),
    "settings": {
        "dashboard": {"display_name": None, "timezone": "Etc/UTC"},
        "payouts": {
            "debit_negative_balances": True,
            "schedule": {"delay_days": 2, "interval": "daily"},
            "statement_descriptor": None,
        },
    },
    "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
    "type": "express",
}

ACCOUNT_LINK: dict[str, Any] = {
    "object": "account_link",
    "created": 0,
    "expires_at": 0,
    "url": "",
}

TRANSFER: dict[str, Any] = {
    "id": "tr_shape",
    "object": "transfer",
    "amount": 0,
    "amount_reversed": 0,
    "balance_transaction": None,
    "created": 0,
    "currency": "usd",
    "description": None,
    "destination": None,
    "destination_payment": None,
    "livemode": False,
    "metadata": {},
    "reversals": _list(),
    "reversed": False,
    "source_transaction": None,
    "source_type": "card",
    "transfer_group": None,
}

TRANSFER_REVERSAL: dict[str, Any] = {
    "id": "trr_shape",
    "object": "transfer_reversal",
    "amount": 0,
    "balance_transaction": None,
    "created": 0,
    "currency": "usd",
    "destination_payment_refund": None,
    "metadata": {},
    "source_refund": None,
    "transfer": None,
}

PAYOUT: dict[str, Any] = {
    "id": "po_shape",
    "object": "payout",
    "amount": 0,
    "application_fee": None,
    "application_fee_amount": None,
    "arrival_date": 0,
    "automatic": False,
    "balance_transaction": None,
    "created": 0,
    "currency": "usd",
    "description": None,
    "destination": None,
    "failure_balance_transaction": None,
    "failure_code": None,
    "failure_message": None,
    "livemode": False,
    "metadata": {},
    "method": "standard",
    "original_payout": None,
    "payout_method": None,
    "reconciliation_status": "not_applicable",
    "reversed_by": None,
    "source_type": "card",
    "statement_descriptor": None,
    "status": "pending",
    "trace_id": {"status": "pending", "value": None},
    "type": "bank_account",
}

CUSTOMER: dict[str, Any] = {
    "id": "cus_shape",
    "object": "customer",
    "address": None,
    "balance": 0,
    "created": 0,
    "currency": None,
    "default_source": None,
    "delinquent": False,
    "description": None,
    "discount": None,
    "email": None,
    "invoice_prefix": "",
    "invoice_settings": {
        "custom_fields": None,
        "default_payment_method": None,
        "footer": None,
        "rendering_options": None,
    },
    "livemode": False,
    "metadata": {},
    "name": None,
    "next_invoice_sequence": 1,
    "phone": None,
    "preferred_locales": [],
    "shipping": None,
    "tax_exempt": "none",
    "test_clock": None,
}

INVOICEITEM: dict[str, Any] = {
    "id": "ii_shape",
    "object": "invoiceitem",
    "amount": 0,
    "currency": "usd",
    "customer": None,
    "customer_account": None,
    "date": 0,
    "description": None,
    "discountable": True,
    "discounts": [],
    "invoice": None,
    "livemode": False,
    "metadata": {},
    "net_amount": 0,
    "parent": None,
    "period": {"start": 0, "end": 0},
    "pricing": {"type": "price_details", "unit_amount_decimal": None},
    "proration": False,
    "quantity": 1,
    "quantity_decimal": "1",
    "tax_rates": [],
    "test_clock": None,
}

LINE_ITEM: dict[str, Any] = {
    "id": "il_shape",
    "object": "line_item",
    "amount": 0,
    "currency": "usd",
    "description": None,
    "discount_amounts": [],
    "discountable": True,
    "discounts": [],
    "invoice": None,
    "livemode": False,
    "metadata": {},
    "parent": None,
    "period": {"start": 0, "end": 0},
    "pretax_credit_amounts": [],
    "pricing": {"type": "price_details", "unit_amount_decimal": None},
    "quantity": 1,
    "quantity_decimal": "1",
    "subscription": None,
    "subtotal": 0,
    "taxes": [],
}

INVOICE: dict[str, Any] = {
    "id": "in_shape",
    "object": "invoice",
    "account_country": "US",
    "account_name": None,
    "account_tax_ids": None,
    "amount_due": 0,
    "amount_overpaid": 0,
    "amount_paid": 0,
    "amount_remaining": 0,
    "amount_shipping": 0,
    "application": None,
    "attempt_count": 0,
    "attempted": False,
    "auto_advance": False,
    "automatic_tax": {
        "disabled_reason": None,
        "enabled": False,
        "liability": None,
        "provider": None,
        "status": None,
    },
    "automatically_finalizes_at": None,
    "billing_reason": "manual",
    "collection_method": "charge_automatically",
    "created": 0,
    "currency": "usd",
    "custom_fields": None,
    "customer": None,
    "customer_account": None,
    "customer_address": None,
    "customer_email": None,
    "customer_name": None,
    "customer_phone": None,
    "customer_shipping": None,
    "customer_tax_exempt": "none",
    "customer_tax_ids": [],
    "default_payment_method": None,
    "default_source": None,
    "default_tax_rates": [],
    "description": None,
    "discounts": [],
    "due_date": None,
    "effective_at": None,
    "ending_balance": None,
    "footer": None,
    "from_invoice": None,
    "hosted_invoice_url": None,
    "invoice_pdf": None,
    "issuer": {"type": "self"},
    "last_finalization_error": None,
    "latest_revision": None,
    "lines": _list(),
    "livemode": False,
    "metadata": {},
    "next_payment_attempt": None,
    "number": None,
    "on_behalf_of": None,
    "parent": None,
    "payment_settings": {
        "default_mandate": None,
        "payment_method_options": None,
        "payment_method_types": None,
    },
    "period_end": 0,
    "period_start": 0,
    "post_payment_credit_notes_amount": 0,
    "pre_payment_credit_notes_amount": 0,
    "receipt_number": None,
    "rendering": None,
    "shipping_cost": None,
    "shipping_details": None,
    "starting_balance": 0,
    "statement_descriptor": None,
    "status": "draft",
    "status_transitions": {
        "finalized_at": None,
        "marked_uncollectible_at": None,
        "paid_at": None,
        "voided_at": None,
    },
    "subscription": None,
    "subtotal": 0,
    "subtotal_excluding_tax": 0,
    "test_clock": None,
    "total": 0,
    "total_discount_amounts": [],
    "total_excluding_tax": 0,
    "total_pretax_credit_amounts": [],
    "total_taxes": [],
    "webhooks_delivered_at": None,
}

EVENT: dict[str, Any] = {
    "id": "evt_shape",
    "object": "event",
    "api_version": None,
    "created": 0,
    "data": {"object": {}},
    "livemode": False,
    "pending_webhooks": 0,
    "request": {"id": None, "idempotency_key": None},
    "type": "",
}

BALANCE: dict[str, Any] = {
    "object": "balance",
    "available": [],
    "connect_reserved": [],
    "livemode": False,
    "pending": [],
}

SHAPES: dict[str, dict[str, Any]] = {
    "account": ACCOUNT,
    "account_link": ACCOUNT_LINK,
    "transfer": TRANSFER,
    "transfer_reversal": TRANSFER_REVERSAL,
    "payout": PAYOUT,
    "customer": CUSTOMER,
    "invoiceitem": INVOICEITEM,
    "invoice": INVOICE,
    "line_item": LINE_ITEM,
    "event": EVENT,
    "balance": BALANCE,
}
