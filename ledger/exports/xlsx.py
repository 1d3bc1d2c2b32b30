"""The finance period export as an XLSX workbook, written row by row (openpyxl write-only mode).

Sheets: Statements (one row per statement with its waterfall), Invoices (one row per invoice
with its totals), Lines (every statement and invoice line, the columns of `period_csv`), Uses
(every use the period's documents count, with when it occurred and when it was recorded).
Amounts are exact decimals in major units (Decimal, written as their decimal text, never a
float), shown with the currency's number of decimals. Rows are streamed from server-side cursors
and written as they come (openpyxl keeps each sheet in a temporary file until the save), so
memory holds one fetch whatever the number of lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date
from decimal import Decimal
from os import PathLike
from typing import IO

from django.db.models import F, QuerySet
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from ledger.models import DocumentLine, Invoice, Statement, UsageEvent
from ledger.money import currency_exponent
from ledger.periods import Period
from ledger.selectors.finance import issued_periods

from .common import (
    AMOUNT_COLUMNS,
    CHUNK_SIZE,
    CURRENCY_COLUMN,
    PERIOD_LINE_HEADER,
    WATERFALL,
    major,
    period_label,
    period_lines,
    utc_date,
)

STATEMENT_COLUMNS = (
    "statement_number",
    "payee_type",
    "payee_id",
    "payee",
    "payee_country",
    "currency",
    "period",
    *(field for field, _ in WATERFALL),
    "withholding_pct",
    "minimum_payout",
    "carry_forward_reason",
    "issued",
)
INVOICE_COLUMNS = (
    "invoice_number",
    "brand_id",
    "brand",
    "vat_number",
    "currency",
    "period",
    "subtotal",
    "adjustments",
    "advance_applied",
    "net",
    "tax_rate_pct",
    "tax",
    "total",
    "issued",
    "due",
)
# The period's uses (those its documents count), each with both times and how late it was
# reported: the brand's occurred_at and our recorded_at.
USE_COLUMNS = (
    "usage_event",
    "external_id",
    "brand",
    "license",
    "twin",
    "kind",
    "channel",
    "territory",
    "quantity",
    "currency",
    "gross",
    "occurred_at",
    "recorded_at",
    "days_late",
    "prior_period",
)
_AMOUNT_FORMATS = {0: "#,##0", 2: "#,##0.00", 3: "#,##0.000"}
# Rows between two progress reports: a report is one UPDATE, cheap next to this many rows.
PROGRESS_EVERY = 2000


class _Sheet:
    """A write-only sheet with typed cells: amounts as exact decimals, text never a formula."""

    def __init__(self, book: Workbook, title: str, header: Iterable[str]) -> None:
        self.sheet: WriteOnlyWorksheet = book.create_sheet(title)
        self.sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        cells = []
        for name in header:
            cell = WriteOnlyCell(self.sheet, value=name)
            cell.font = bold
            cells.append(cell)
        self.sheet.append(cells)
        self._decimals: dict[str, Callable[[str | Decimal], WriteOnlyCell]] = {}

    def decimal(self, currency: str) -> Callable[[str | Decimal], WriteOnlyCell]:
        """A cell maker for major-unit amounts of `currency` (exact decimal text or Decimal):
        an exact Decimal cell shown with the currency's decimals."""
        make = self._decimals.get(currency)
        if make is None:
            exponent = currency_exponent(currency)
            number_format = _AMOUNT_FORMATS.get(exponent, "#,##0." + "0" * exponent)
            sheet = self.sheet

            def make(value: str | Decimal) -> WriteOnlyCell:
                cell = WriteOnlyCell(sheet, value=Decimal(value))
                cell.number_format = number_format
                return cell

            self._decimals[currency] = make
        return make

    def amount(self, currency: str) -> Callable[[int], WriteOnlyCell]:
        """A cell maker for minor amounts of `currency` (Money's exact major string)."""
        decimal = self.decimal(currency)
        return lambda minor: decimal(major(minor, currency))

    def text(self, value: str) -> WriteOnlyCell | str:
        """Free text (names): openpyxl would store a leading "=" as a formula; keep it text."""
        if value and value.startswith("="):
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.data_type = "s"
            return cell
        return value

    def append(self, row: Iterable) -> None:
        self.sheet.append(row)


def period_xlsx_rows(period_start: date) -> int:
    """How many data rows `period_xlsx` writes (the denominator of its progress)."""
    return (
        Statement.objects.filter(period_start=period_start).count()
        + Invoice.objects.filter(period_start=period_start).count()
        + DocumentLine.objects.filter(statement__period_start=period_start).count()
        + DocumentLine.objects.filter(invoice__period_start=period_start).count()
        + _period_uses(period_start).count()
    )


def _period_uses(period_start: date) -> QuerySet[UsageEvent]:
    """The uses this period's documents count: those covered in the months its close issued
    (months no close issued are taken up by the next)."""
    issued = issued_periods(Period(period_start))
    return UsageEvent.objects.filter(
        transaction__coverage__period_start__gt=issued["previous"],
        transaction__coverage__period_start__lte=issued["start"],
    )


def period_xlsx(
    period_start: date,
    path_or_file: str | PathLike[str] | IO[bytes],
    *,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write the period's Statements, Invoices, Lines and Uses sheets to a path or a binary file.

    Six queries (statements with their payees, invoices with their brands, the two line queries
    of `period_lines`, the periods the close issued and the uses; all but that one streamed),
    whatever the number of documents and lines.
    `progress(rows_written)` is called every PROGRESS_EVERY rows and once the rows are written.
    """
    label = period_label(period_start)
    book = Workbook(write_only=True)
    written = 0

    def wrote_row() -> None:
        nonlocal written
        written += 1
        if progress is not None and written % PROGRESS_EVERY == 0:
            progress(written)

    sheet = _Sheet(book, "Statements", STATEMENT_COLUMNS)
    statements = (
        Statement.objects.filter(period_start=period_start)
        .select_related("talent", "agency")
        .order_by("series", "number")
    )
    for statement in statements.iterator(chunk_size=CHUNK_SIZE):
        money = sheet.amount(statement.currency)
        if statement.talent_id is not None:
            payee_type, payee, party = "talent", statement.talent, str(statement.talent)
        else:
            payee_type, payee, party = "agency", statement.agency, statement.agency.name
        sheet.append(
            [
                statement.display_number,
                payee_type,
                payee.pk,
                sheet.text(party),
                payee.country,
                statement.currency,
                label,
                *(money(getattr(statement, f"{field}_minor")) for field, _ in WATERFALL),
                statement.withholding_pct,
                money(statement.minimum_payout_minor),
                statement.carry_forward_reason,
                utc_date(statement.issued_at),
            ]
        )
        wrote_row()

    sheet = _Sheet(book, "Invoices", INVOICE_COLUMNS)
    invoices = (
        Invoice.objects.filter(period_start=period_start)
        .select_related("brand")
        .order_by("series", "number")
    )
    for invoice in invoices.iterator(chunk_size=CHUNK_SIZE):
        money = sheet.amount(invoice.currency)
        sheet.append(
            [
                invoice.display_number,
                invoice.brand_id,
                sheet.text(invoice.brand.name),
                invoice.brand.vat_number,
                invoice.currency,
                label,
                money(invoice.subtotal_minor),
                money(invoice.adjustments_minor),
                money(invoice.advance_applied_minor),
                money(invoice.net_minor),
                invoice.tax_rate_pct,
                money(invoice.tax_minor),
                money(invoice.total_minor),
                utc_date(invoice.issued_at),
                utc_date(invoice.due_at),
            ]
        )
        wrote_row()

    sheet = _Sheet(book, "Lines", PERIOD_LINE_HEADER)
    first_amount = AMOUNT_COLUMNS[0]
    for row in period_lines(period_start, party=sheet.text):
        decimal = sheet.decimal(row[CURRENCY_COLUMN])
        sheet.append([*row[:first_amount], *(decimal(text) for text in row[first_amount:])])
        wrote_row()

    sheet = _Sheet(book, "Uses", USE_COLUMNS)
    uses = (
        _period_uses(period_start)
        .select_related("brand", "twin")
        .annotate(
            prior=F("transaction__coverage__prior"),
            counted_in=F("transaction__coverage__period_start"),
        )
        .order_by("occurred_at", "pk")
    )
    for use in uses.iterator(chunk_size=CHUNK_SIZE):
        sheet.append(
            [
                use.pk,
                sheet.text(use.external_id),
                sheet.text(use.brand.name),
                use.license_id,
                sheet.text(use.twin.name),
                use.kind,
                use.channel,
                use.territory,
                use.quantity,
                use.currency,
                sheet.amount(use.currency)(use.gross_minor),
                use.occurred_at.astimezone(UTC).replace(tzinfo=None),
                use.recorded_at.astimezone(UTC).replace(tzinfo=None),
                max(0, (use.recorded_at - use.occurred_at).days),
                "yes" if use.prior or use.counted_in < period_start else "no",
            ]
        )
        wrote_row()

    if progress is not None:
        progress(written)
    book.save(path_or_file)
