"""verify_ledger covers the figures that get paid: an edit of a use, a coverage row, a document
line, a statement, an invoice or a payout, past the append-only triggers, fails verification
and names the table and the row."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Brand, Talent
from ledger.gateways.stripe import StripeGateway
from ledger.merkle import verify_inclusion_proof
from ledger.models import DocumentLine, Invoice, Payout, Statement, UsageEvent
from ledger.periods import Period
from ledger.selectors.proofs import journal_inclusion_proof
from ledger.services.closing import period_close_execute, period_close_request
from ledger.services.payouts import payout_send
from ledger.services.sealing import seal_blocks
from ledger.services.usage import usage_reverse
from ledger.services.verification import ledger_verify
from tests.conftest import triggers_disabled
from tests.ledger.scenario import USE_AT, scenario

MARCH, APRIL = Period.parse("2026-03"), Period.parse("2026-04")


def close(period: Period) -> None:
    now = period.end_at + timedelta(days=9)
    run = period_close_request(period=period, now=now)
    period_close_execute(run_id=run.pk, now=now)


@pytest.fixture
def ledger(db, stripe_server):
    """Two closes of an agency-represented talent with withholding and a taxed brand: uses of
    every priced kind, a reversal of a March use in April (a prior-period adjustment), the
    March payout sent through Stripe (its journal entry), April's carried opening balance."""
    gateway = StripeGateway(api_key="sk_test_123", api_base=stripe_server.url, timeout=2.0)
    s = scenario(agency=True)
    account = gateway.account_create(email="t@example.test", country="FR", metadata={})
    Talent.objects.filter(pk=s.talent.pk).update(
        stripe_account_id=account.id, payouts_enabled=True, withholding_pct=Decimal("7.5")
    )
    Brand.objects.filter(pk=s.brand.pk).update(tax_rate_pct=Decimal("20"))
    uses = {
        "generation": s.use("generation", quantity=3),
        "impressions": s.use(
            "impressions", asset_ref=s.published().asset_ref, quantity=12_345, channel="social"
        ),
        "sale": s.use("sale", asset_ref=s.published().asset_ref, sale_amount_minor=99_999),
    }
    assert all(outcome.status == "accepted" for outcome in uses.values())
    close(MARCH)
    payout = Payout.objects.get(statement__talent=s.talent)
    assert payout_send(payout_id=payout.pk, gateway=gateway).status == "sent"
    s.use("generation", quantity=2, occurred_at=USE_AT + timedelta(days=30))
    usage_reverse(
        event=uses["generation"].event,
        reason="reported twice",
        now=APRIL.start_at + timedelta(days=2),
    )
    close(APRIL)
    return s


def tamper(sql: str, params: list) -> None:
    """A direct edit by someone with superuser rights, past the append-only triggers."""
    with triggers_disabled(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert cursor.rowcount == 1


def assert_caught(table: str, row_id: int) -> None:
    problems = ledger_verify().problems
    assert any(f"{table} {row_id}" in problem for problem in problems), problems
    with pytest.raises(CommandError):
        call_command("verify_ledger")


def test_an_untouched_ledger_after_closes_with_payouts_verifies_clean(ledger, capsys):
    assert Payout.objects.filter(status="sent", transaction__isnull=False).exists()
    assert Statement.objects.filter(opening_minor__gt=0).exists()
    assert DocumentLine.objects.filter(section="withholding").exists()
    assert DocumentLine.objects.filter(section="adjustments").exists()
    assert Invoice.objects.filter(tax_minor__gt=0).exists()
    assert ledger_verify().problems == []
    call_command("verify_ledger")
    assert "ledger ok" in capsys.readouterr().out


@pytest.mark.parametrize(
    "change",
    [
        "opening_minor = opening_minor + 1",
        "earnings_minor = earnings_minor + 1",
        "adjustments_minor = adjustments_minor + 1",
        "advance_recouped_minor = advance_recouped_minor + 1",
        "withholding_minor = withholding_minor + 1",
        "withholding_pct = withholding_pct + 1",
        "payable_minor = payable_minor + 1",
        "payout_minor = payout_minor + 1",
        "closing_minor = closing_minor + 1",
    ],
)
def test_an_edited_statement_figure_fails_verification_naming_the_statement(ledger, change):
    statement = Statement.objects.get(talent=ledger.talent, period_start=MARCH.start)
    tamper(f"UPDATE ledger_statement SET {change} WHERE id = %s", [statement.pk])
    assert_caught("ledger_statement", statement.pk)


@pytest.mark.parametrize(
    "change",
    [
        "subtotal_minor = subtotal_minor + 1",
        "adjustments_minor = adjustments_minor + 1",
        "advance_applied_minor = advance_applied_minor + 1",
        "net_minor = net_minor + 1",
        "tax_rate_pct = tax_rate_pct + 1",
        "tax_minor = tax_minor + 1",
        "total_minor = total_minor + 1",
    ],
)
def test_an_edited_invoice_figure_fails_verification_naming_the_invoice(ledger, change):
    invoice = Invoice.objects.get(brand=ledger.brand, period_start=MARCH.start)
    tamper(f"UPDATE ledger_invoice SET {change} WHERE id = %s", [invoice.pk])
    assert_caught("ledger_invoice", invoice.pk)


LINE_FIGURES = [
    "units",
    "entries",
    "gross_minor",
    "commission_minor",
    "fee_minor",
    "amount_minor",
]


@pytest.mark.parametrize("figure", LINE_FIGURES)
@pytest.mark.parametrize("owner", ["statement", "invoice"])
def test_an_edited_document_line_figure_fails_verification_naming_the_line(ledger, owner, figure):
    line = (
        DocumentLine.objects.filter(**{f"{owner}__isnull": False}, kind="generation")
        .order_by("id")
        .first()
    )
    tamper(f"UPDATE ledger_documentline SET {figure} = {figure} + 1 WHERE id = %s", [line.pk])
    assert_caught("ledger_documentline", line.pk)


@pytest.mark.parametrize(
    "kind, change",
    [
        ("generation", "gross_minor = gross_minor + 1"),
        ("generation", "quantity = quantity + 1"),
        ("generation", "rating = '{\"lines\": []}'::jsonb"),
        ("generation", "license_version_id = license_version_id + 1"),
        ("generation", "period_start = period_start + 31"),
        ("impressions", "quantity = quantity * 10"),
        ("impressions", "channel = 'print'"),
        ("impressions", "territory = 'US'"),
        ("impressions", "occurred_at = occurred_at - interval '1 day'"),
        ("sale", "sale_amount_minor = sale_amount_minor * 2"),
        ("sale", "context_tags = ARRAY['summer']"),
        ("sale", "kind = 'generation'"),
    ],
)
def test_an_edited_use_fails_verification_naming_the_use(ledger, kind, change):
    event = UsageEvent.objects.filter(license=ledger.license, kind=kind).order_by("id").first()
    tamper(f"UPDATE ledger_usageevent SET {change} WHERE id = %s", [event.pk])
    assert_caught("ledger_usageevent", event.pk)


@pytest.mark.parametrize("change", ["amount_minor = amount_minor - 1", "currency = 'USD'"])
def test_an_edited_payout_fails_verification_naming_the_payout(ledger, change):
    payout = Payout.objects.get(
        statement__talent=ledger.talent, statement__period_start=MARCH.start
    )
    tamper(f"UPDATE ledger_payout SET {change} WHERE id = %s", [payout.pk])
    assert_caught("ledger_payout", payout.pk)


@pytest.mark.parametrize(
    "change",
    ["units = units + 1", "gross_minor = gross_minor + 1", "fee_minor = fee_minor + 1"],
)
def test_an_edited_coverage_row_fails_verification_naming_its_transaction(ledger, change):
    event = UsageEvent.objects.filter(license=ledger.license, kind="generation").first()
    tamper(f"UPDATE ledger_coverage SET {change} WHERE transaction_id = %s", [event.transaction_id])
    assert_caught("ledger_coverage", event.transaction_id)


def test_a_use_inclusion_proof_shows_the_use_and_checks(db):
    """The use's transaction commits to the use: its proof carries the use's canonical fields
    and checks offline, and the proof of an edited use no longer does."""
    s = scenario()
    event = s.use("generation", quantity=7).event
    seal_blocks(block_size=10)
    proof = journal_inclusion_proof(event.transaction)
    assert proof["transaction"]["canonical"]["use"]["quantity"] == 7
    assert proof["transaction"]["canonical"]["v"] == 2
    assert verify_inclusion_proof(proof)

    tamper("UPDATE ledger_usageevent SET quantity = 8 WHERE id = %s", [event.pk])
    assert not verify_inclusion_proof(journal_inclusion_proof(event.transaction))


def test_a_deleted_invoice_fails_verification_naming_its_account(ledger):
    invoice = Invoice.objects.get(brand=ledger.brand, period_start=MARCH.start)
    with triggers_disabled(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_documentline WHERE invoice_id = %s", [invoice.pk])
        cursor.execute("DELETE FROM ledger_invoicebilling WHERE invoice_id = %s", [invoice.pk])
        cursor.execute("DELETE FROM ledger_invoice WHERE id = %s", [invoice.pk])
    assert_caught("ledger_ledgeraccount", invoice.account_id)
