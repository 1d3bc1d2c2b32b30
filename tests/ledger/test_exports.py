"""Exports of a real close: statement CSV and PDF, invoice PDF, the finance period CSV and XLSX.

The documents come from running the period close on uses recorded through the services, so
every figure the exports print is checked against what the close stored, and the line amounts
against the document totals.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import zlib
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.contenttypes.models import ContentType
from django.db.models import BigIntegerField, Q, Value

from accounts.models import Brand, Talent
from ledger.exports import invoice_pdf, period_csv, period_xlsx, statement_csv, statement_pdf
from ledger.exports.common import PERIOD_LINE_HEADER, MajorUnits
from ledger.models import CloseRun, DocumentLine, Invoice, Statement, UsageEvent
from ledger.money import Money
from ledger.periods import Period
from ledger.services.closing import period_close_execute, period_close_request
from tests.ledger.scenario import RATES, scenario

pytestmark = pytest.mark.django_db

MARCH = date(2026, 3, 1)
CLOSED_AT = datetime(2026, 4, 10, tzinfo=UTC)
# Two queries per document (itself with its party, then its lines with license, brand, twin);
# two streamed queries for a period's lines. Whatever the number of lines.
DOCUMENT_QUERIES = 2


@pytest.fixture
def closed() -> dict:
    """March 2026 closed: a represented talent (withholding 10 %, payouts on) with a flat fee, an
    advance, uses on two channels and a late February use; a solo talent licensed in JPY. April
    closed too, so that a period's exports have another period's documents to leave out."""
    s = scenario(agency=True, rates={**RATES, "flat_fee_minor": 10_000, "advance_minor": 5_000})
    Talent.objects.filter(pk=s.talent.pk).update(
        legal_name="Ana <Lima> & Co",
        withholding_pct=Decimal("10"),
        stripe_account_id="acct_test",
        payouts_enabled=True,
    )
    Brand.objects.filter(pk=s.brand.pk).update(
        name="=HYPERLINK(evil)",
        billing_address="1 rue de la Paix\n75002 Paris",
        vat_number="FR12345678901",
        tax_rate_pct=Decimal("20"),
    )
    for kw in (
        {"quantity": 3},
        {"quantity": 2, "channel": "ecommerce"},
        {"occurred_at": datetime(2026, 2, 15, 12, tzinfo=UTC)},  # a prior-period adjustment
    ):
        assert s.use("generation", **kw).status == "accepted"
    asset = s.published(channel="social")
    assert s.use("impressions", asset_ref=asset.asset_ref, quantity=2500).status == "accepted"

    april = datetime(2026, 4, 5, 12, tzinfo=UTC)  # on April's documents, not March's
    assert s.use("generation", occurred_at=april).status == "accepted"

    yen = scenario(currency="JPY")
    assert yen.use("generation", quantity=4).status == "accepted"

    for label, now in (("2026-03", CLOSED_AT), ("2026-04", datetime(2026, 5, 10, tzinfo=UTC))):
        run = period_close_request(period=Period.parse(label), now=now)
        period_close_execute(run_id=run.pk, now=now)
        run.refresh_from_db()
        assert run.status == CloseRun.Status.DONE, run.error
    return {"represented": s, "yen": yen}


def _statements() -> list[Statement]:
    return list(Statement.objects.filter(period_start=MARCH).order_by("pk"))


def _invoices() -> list[Invoice]:
    return list(Invoice.objects.filter(period_start=MARCH).order_by("pk"))


def _lines_of_march() -> int:
    return DocumentLine.objects.filter(
        Q(statement__period_start=MARCH) | Q(invoice__period_start=MARCH)
    ).count()


def _blocks(text: str) -> list[list[list[str]]]:
    """The CSV's blocks (separated by empty rows) as lists of rows."""
    blocks: list[list[list[str]]] = [[]]
    for row in csv.reader(io.StringIO(text)):
        if row:
            blocks[-1].append(row)
        else:
            blocks.append([])
    return blocks


def _pdf_text(pdf: bytes) -> str:
    """Every content stream of the PDF decoded (ASCII85, then Flate, as ReportLab writes them):
    what it drew, as PDF operators. Only the streams: the title in the metadata does not count."""
    parts = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\n?endstream", pdf, re.S):
        data = base64.a85decode(raw, adobe=True) if raw.rstrip().endswith(b"~>") else raw
        parts.append(zlib.decompress(data).decode("latin-1"))
    assert parts
    return "\n".join(parts)


def _major(minor: int, currency: str) -> str:
    return Money(minor, currency).major_str()


def _pdf_literal(text: str) -> str:
    """How a string appears in a PDF text operator: parentheses and backslashes escaped."""
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


# -- statement CSV -----------------------------------------------------------------------------


def test_statement_csv_parses_and_its_lines_add_up_to_the_waterfall(closed):
    statements = _statements()
    assert {s.series for s in statements} == {"RS", "CS"}  # talents' and the agency's
    assert {s.currency for s in statements} == {"EUR", "JPY"}
    sections_seen = set()
    for statement in statements:
        text = "".join(statement_csv(statement))
        header, figures, lines, entries = _blocks(text)
        assert header[0] == ["field", "value"]
        fields = dict(header[1:])
        assert fields["statement"] == statement.display_number
        assert fields["period"] == "2026-03"
        assert fields["currency"] == statement.currency
        assert fields["issued"] == "2026-04-10"

        assert figures[0] == ["waterfall", "amount"]
        waterfall = {name: Decimal(amount) for name, amount in figures[1:]}
        assert list(waterfall) == [
            "opening",
            "earnings",
            "adjustments",
            "advance_recouped",
            "withholding",
            "payable",
            "payout",
            "closing",
        ]
        for name, amount in waterfall.items():
            assert str(amount) == _major(getattr(statement, f"{name}_minor"), statement.currency)

        assert lines[0][0] == "section" and lines[0][-1] == "amount"
        rows = [dict(zip(lines[0], row, strict=True)) for row in lines[1:]]
        assert len(rows) == statement.lines.count()
        by_section: dict[str, Decimal] = defaultdict(Decimal)
        for row in rows:
            by_section[row["section"]] += Decimal(row["amount"])
            sections_seen.add(row["section"])
        assert by_section["earnings"] == waterfall["earnings"]
        assert by_section["adjustments"] == waterfall["adjustments"]
        assert -by_section["advance"] == waterfall["advance_recouped"]
        assert -by_section["withholding"] == waterfall["withholding"]
        assert waterfall["payable"] == (
            waterfall["opening"]
            + waterfall["earnings"]
            + waterfall["adjustments"]
            - waterfall["advance_recouped"]
            - waterfall["withholding"]
        )
        assert waterfall["closing"] == waterfall["payable"] - waterfall["payout"]

        # The uses behind the use lines, each with both times, add up to those lines.
        assert entries[0][:2] == ["section", "license"] and "recorded_at" in entries[0]
        uses = [dict(zip(entries[0], row, strict=True)) for row in entries[1:]]
        for section in ("earnings", "adjustments"):
            use_lines = [
                r
                for r in rows
                if r["section"] == section
                and r["transaction_kind"]
                in (
                    "usage",
                    "reversal",
                )
                and r["kind"] in ("generation", "publication", "impressions", "sale", "training")
            ]
            assert sum(Decimal(u["amount"]) for u in uses if u["section"] == section) == sum(
                Decimal(r["amount"]) for r in use_lines
            )
        for use in uses:
            assert use["occurred_at"] and use["recorded_at"] and int(use["days_late"]) >= 0
    # The scenario reaches every section a statement has, so the sums above all mean something.
    assert {"earnings", "adjustments", "advance", "withholding"} <= sections_seen


def test_statement_csv_amounts_are_exact_major_units(closed):
    talent = closed["represented"].talent
    statement = Statement.objects.get(period_start=MARCH, talent=talent)
    assert statement.payout_minor > 0  # above the minimum, payouts enabled
    text = "".join(statement_csv(statement.pk))  # by id works too
    _, figures, *_ = _blocks(text)
    for _, amount in figures[1:]:
        assert re.fullmatch(r"-?\d+\.\d{2}", amount)
    yen = Statement.objects.get(period_start=MARCH, talent=closed["yen"].talent)
    _, figures, *_ = _blocks("".join(statement_csv(yen)))
    assert dict(figures[1:])["earnings"] == _major(yen.earnings_minor, "JPY")
    assert "." not in dict(figures[1:])["earnings"]  # JPY has no minor unit


def test_statement_csv_reads_a_fixed_number_of_queries(closed, django_assert_max_num_queries):
    statement = Statement.objects.get(period_start=MARCH, talent=closed["represented"].talent)
    assert statement.lines.values("license_id").distinct().count() >= 1
    assert statement.lines.count() >= 5
    # Two more for the uses behind the lines (the periods the close issued, then the entries).
    with django_assert_max_num_queries(DOCUMENT_QUERIES + 2):
        lines = list(statement_csv(statement))
    assert len(lines) > statement.lines.count()


# -- PDFs --------------------------------------------------------------------------------------


def test_statement_pdf_shows_the_statement(closed, django_assert_max_num_queries):
    s = closed["represented"]
    statement = Statement.objects.get(period_start=MARCH, talent=s.talent)
    with django_assert_max_num_queries(DOCUMENT_QUERIES):
        pdf = statement_pdf(statement)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    text = _pdf_text(pdf)
    for expected in (
        "Twin Ledger",
        "Royalty statement",
        statement.display_number,
        _pdf_literal("Ana <Lima> & Co"),  # escaped for Paragraph markup, printed as is
        "March 2026",
        "2026-04-10",
        f"License {s.license.pk}",
        _major(statement.earnings_minor, "EUR"),
        _major(statement.payable_minor, "EUR"),
        _major(statement.withholding_minor, "EUR"),
        "Withholding \\(10 %\\)",
    ):
        assert expected in text, expected
    # The same statement renders to the same bytes (invariant mode).
    assert statement_pdf(statement.pk) == pdf


def test_statement_pdf_says_why_the_payable_is_carried_forward(closed):
    agency_statement = Statement.objects.get(
        period_start=MARCH, agency=closed["represented"].agency
    )
    assert agency_statement.carry_forward_reason  # the agency has no payout account
    text = _pdf_text(statement_pdf(agency_statement))
    assert "Commission statement" in text
    assert agency_statement.display_number in text
    assert agency_statement.carry_forward_reason in text


def test_invoice_pdf_shows_the_invoice(closed, django_assert_max_num_queries):
    s = closed["represented"]
    invoice = Invoice.objects.get(period_start=MARCH, brand=s.brand)
    assert invoice.advance_applied_minor > 0 and invoice.tax_minor > 0
    with django_assert_max_num_queries(DOCUMENT_QUERIES):
        pdf = invoice_pdf(invoice)
    assert pdf.startswith(b"%PDF-")
    text = _pdf_text(pdf)
    for expected in (
        "Twin Ledger",
        invoice.display_number,
        "FR12345678901",
        "1 rue de la Paix",
        "75002 Paris",
        "2026-04-10",
        "2026-05-10",  # due in the brand's 30 days
        _major(invoice.subtotal_minor, "EUR"),
        _major(invoice.advance_applied_minor, "EUR"),
        _major(invoice.net_minor, "EUR"),
        _major(invoice.tax_minor, "EUR"),
        _major(invoice.total_minor, "EUR"),
        "Tax \\(20 %\\)",
    ):
        assert expected in text, expected


# -- the finance period exports ------------------------------------------------------------------


def test_period_csv_has_one_row_per_line_of_the_period(closed, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        chunks = list(period_csv(MARCH))
    assert len(chunks) > 1  # header, then blocks of lines as they are fetched
    assert all(chunk.endswith("\r\n") for chunk in chunks)
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert len(rows) == _lines_of_march() < DocumentLine.objects.count()  # April's are not in

    documents = {s.display_number: s for s in _statements()} | {
        i.display_number: i for i in _invoices()
    }
    seen = {(row["document_number"], int(row["position"])) for row in rows}
    assert len(seen) == len(rows)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        document = documents[row["document_number"]]
        assert row["document_type"] == (
            "statement" if isinstance(document, Statement) else "invoice"
        )
        assert row["currency"] == document.currency
        assert row["period"] == "2026-03"
        totals[row["document_number"]] += Decimal(row["amount"])
    for number, document in documents.items():
        if isinstance(document, Statement):  # earnings + adjustments - recouped - withholding
            expected = document.payable_minor - document.opening_minor
        else:  # subtotal + adjustments - advance applied
            expected = document.net_minor
        assert totals[number] == Decimal(_major(expected, document.currency)), number

    brand_rows = [row for row in rows if row["party_type"] == "brand"]
    assert {row["party"] for row in brand_rows} >= {"'=HYPERLINK(evil)"}  # inert in a sheet


def test_period_csv_of_a_period_without_documents_is_its_header(closed):
    assert "".join(period_csv(date(2026, 2, 1))) == ",".join(PERIOD_LINE_HEADER) + "\r\n"


def test_period_xlsx_has_the_statements_invoices_and_lines(closed, django_assert_max_num_queries):
    buffer = io.BytesIO()
    with django_assert_max_num_queries(6):
        period_xlsx(MARCH, buffer)
    book = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    assert book.sheetnames == ["Statements", "Invoices", "Lines", "Uses"]

    statements = list(book["Statements"].iter_rows(values_only=True))
    header, body = statements[0], statements[1:]
    assert len(body) == len(_statements())
    by_number = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    for statement in _statements():
        row = by_number[statement.display_number]
        for name in ("opening", "earnings", "payable", "payout", "closing", "withholding"):
            expected = _major(getattr(statement, f"{name}_minor"), statement.currency)
            assert Decimal(str(row[name])) == Decimal(expected), name

    invoices = list(book["Invoices"].iter_rows(values_only=True))
    assert len(invoices) == len(_invoices()) + 1
    invoice_rows = {row[0]: dict(zip(invoices[0], row, strict=True)) for row in invoices[1:]}
    for invoice in _invoices():
        row = invoice_rows[invoice.display_number]
        assert Decimal(str(row["total"])) == Decimal(_major(invoice.total_minor, invoice.currency))

    lines = list(book["Lines"].iter_rows(values_only=True))
    assert len(lines) == _lines_of_march() + 1
    csv_rows = list(csv.reader(io.StringIO("".join(period_csv(MARCH)))))
    assert list(lines[0]) == csv_rows[0]
    amount = csv_rows[0].index("amount")
    assert sorted(Decimal(str(row[amount])) for row in lines[1:]) == sorted(
        Decimal(row[amount]) for row in csv_rows[1:]
    )
    # A brand name that starts with "=" is text, not a formula.
    cells = [c for row in book["Lines"].iter_rows() for c in row if c.value == "=HYPERLINK(evil)"]
    assert cells and all(c.data_type == "s" for c in cells)

    # Every use March's documents count, with both times; a late one is marked prior.
    uses = list(book["Uses"].iter_rows(values_only=True))
    rows = [dict(zip(uses[0], row, strict=True)) for row in uses[1:]]
    covered = UsageEvent.objects.filter(transaction__coverage__period_start__lte=MARCH)
    assert sorted(r["usage_event"] for r in rows) == sorted(covered.values_list("pk", flat=True))
    for row in rows:
        event = covered.get(pk=row["usage_event"])
        assert row["recorded_at"] == event.recorded_at.astimezone(UTC).replace(tzinfo=None)
        assert row["days_late"] == (event.recorded_at - event.occurred_at).days
    assert {r["prior_period"] for r in rows} == {"yes", "no"}


# -- amounts formatted by PostgreSQL in the streamed exports ---------------------------------------

BOUNDARIES = [0, 1, 5, 9, 10, 11, 99, 100, 101, 999, 1000, 1001, 123_456_789, 10**18, 10**18 - 1]


@pytest.mark.parametrize("currency", ["EUR", "JPY", "KWD", "USD", "CLP", "BHD"])
def test_major_units_in_sql_equals_money_major_str(currency):
    """MajorUnits (PostgreSQL) and Money.major_str (Python) give the same text on each exponent,
    on both sides of every digit boundary, for positive and negative amounts."""
    values = sorted({sign * value for value in BOUNDARIES for sign in (1, -1)})
    expressions = {
        f"v{i}": MajorUnits(Value(value, BigIntegerField()), Value(currency))
        for i, value in enumerate(values)
    }
    row = ContentType.objects.annotate(**expressions).values(*expressions)[0]
    for i, value in enumerate(values):
        assert row[f"v{i}"] == Money(value, currency).major_str(), value
