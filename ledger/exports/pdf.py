"""PDF statements and invoices (ReportLab platypus), as finance sends them.

Rendered with `invariant=1`: the same document always gives the same bytes (no creation time
or random file id inside), so a PDF can be cached, hashed or compared. Text goes through
ReportLab's standard Helvetica (Latin-1); names are escaped before they reach Paragraph markup.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from decimal import Decimal
from itertools import groupby
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ledger.models import DocumentLine, Invoice, Statement

from .common import (
    PLATFORM_NAME,
    document_lines,
    kind_label,
    load_invoice,
    load_statement,
    major,
    payee_of,
    period_label,
    period_name,
    statement_title,
    utc_date,
    waterfall,
)

Section = DocumentLine.Section
# Short section names for the line tables (the model's labels are too wide for a column).
_STATEMENT_SECTIONS = {
    Section.EARNINGS: "Earnings",
    Section.ADJUSTMENTS: "Prior period",
    Section.ADVANCE: "Advance recouped",
    Section.WITHHOLDING: "Withholding",
    Section.PAYMENTS: "Payouts",
}
_INVOICE_SECTIONS = {
    **_STATEMENT_SECTIONS,
    Section.ADVANCE: "Advance applied",
    Section.PAYMENTS: "Payments",
}
# Lines whose units count something (uses and their reversals); a charge's units are blank.
_COUNTED = ("usage", "reversal")

_STYLES = getSampleStyleSheet()
_BODY = ParagraphStyle("body", parent=_STYLES["BodyText"], fontSize=9, leading=12)
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=8, leading=10, textColor=colors.grey)
_H1 = ParagraphStyle("h1", parent=_STYLES["Heading1"], fontSize=18, spaceAfter=2)
_H2 = ParagraphStyle("h2", parent=_STYLES["Heading2"], fontSize=12, spaceBefore=8, spaceAfter=4)
_H3 = ParagraphStyle("h3", parent=_STYLES["Heading3"], fontSize=10, spaceBefore=6, spaceAfter=2)
_TITLE_RIGHT = ParagraphStyle("title-right", parent=_H1, fontSize=14, alignment=TA_RIGHT)

_GRID = colors.HexColor("#c8c8c8")
_HEAD_BG = colors.HexColor("#eeeeee")


def _text(value: object) -> str:
    """Plain text for Paragraph markup (names may hold <, > or &)."""
    return escape(str(value))


def _pct(value: Decimal) -> str:
    """4.5000 -> "4.5", 20.0000 -> "20" (the stored rate, exactly)."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _render(
    story: list[Flowable], *, title: str, author: str, footer: Callable[[Canvas, int], str]
) -> bytes:
    buffer = io.BytesIO()

    def on_page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.grey)
        canvas.drawString(doc.leftMargin, 10 * mm, footer(canvas, doc.page))
        canvas.restoreState()

    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=20 * mm,
        title=title,
        author=author,
        creator=PLATFORM_NAME,
        invariant=1,
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def _table(
    rows: list[list], widths: list[float], *, numeric_from: int, header: bool = True, extra=()
) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    style = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8.5),
        ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, _GRID),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        style += [
            ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8.5),
            ("BACKGROUND", (0, 0), (-1, 0), _HEAD_BG),
        ]
    table.setStyle(TableStyle([*style, *extra]))
    return table


def _facts(rows: Iterable[tuple[str, str]]) -> Table:
    """Label / value pairs (the document's particulars)."""
    data = [
        [Paragraph(f"<b>{_text(label)}</b>", _BODY), Paragraph(_text(value), _BODY)]
        for label, value in rows
    ]
    table = Table(data, colWidths=[38 * mm, 80 * mm], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table


def _masthead(document_title: str) -> Table:
    table = Table(
        [[Paragraph(PLATFORM_NAME, _H1), Paragraph(_text(document_title), _TITLE_RIGHT)]],
        colWidths=[87 * mm, 87 * mm],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("LINEBELOW", (0, 0), (-1, -1), 1, colors.black),
            ]
        )
    )
    return table


def _license_heading(line: DocumentLine | None) -> str:
    if line is None or line.license is None:
        return "Other lines (not tied to a license)"
    license = line.license
    return f"License {license.pk} · {license.brand.name} · twin {license.twin.name}"


def _by_license(lines: list[DocumentLine]) -> list[tuple[DocumentLine, list[DocumentLine]]]:
    """Lines grouped per license (license order; lines without one last), in position order."""
    ordered = sorted(lines, key=lambda line: (line.license_id is None, line.license_id or 0))
    groups = []
    for _, group in groupby(ordered, key=lambda line: line.license_id):
        members = sorted(group, key=lambda line: line.position)
        groups.append((members[0], members))
    return groups


# -- statements --------------------------------------------------------------------------------


def statement_pdf(statement: Statement | int) -> bytes:
    """The statement as a PDF: particulars, the waterfall, lines per license. Two queries."""
    statement = load_statement(statement)
    payee = payee_of(statement)
    currency = statement.currency
    number = statement.display_number
    title = statement_title(statement)
    lines = list(document_lines(statement))

    def money(minor: int) -> str:
        return major(minor, currency)

    story: list[Flowable] = [
        _masthead(title),
        Spacer(1, 4 * mm),
        _facts(
            [
                ("Statement number", number),
                ("Payee", payee.name),
                ("Payee type", payee.type.capitalize()),
                ("Country", payee.country),
                (
                    "Period",
                    f"{period_name(statement.period_start)} ({period_label(statement.period_start)})",
                ),
                ("Currency", currency),
                ("Issue date", utc_date(statement.issued_at).isoformat()),
            ]
        ),
        Paragraph("Statement waterfall", _H2),
    ]
    signs = {"earnings": "+", "adjustments": "+", "advance_recouped": "-", "withholding": "-"}
    rows: list[list] = [["", f"Amount ({currency})"]]
    for field, label, amount in waterfall(statement):
        if field == "withholding":
            label = f"{label} ({_pct(statement.withholding_pct)} %)"
        if field in ("payable", "closing"):
            label = f"= {label}"
        elif field in signs:
            label = f"{signs[field]} {label}"
        rows.append([label, money(amount)])
    bold_rows = [i for i, row in enumerate(rows) if str(row[0]).startswith("=")]
    story.append(
        _table(
            rows,
            [90 * mm, 40 * mm],
            numeric_from=1,
            extra=[("FONT", (0, i), (-1, i), "Helvetica-Bold", 8.5) for i in bold_rows],
        )
    )
    if statement.carry_forward_reason:
        story.append(Spacer(1, 2 * mm))
        story.append(
            Paragraph(
                f"<b>Carried forward:</b> {_text(statement.carry_forward_reason)}. The payable "
                f"({money(statement.payable_minor)} {currency}) is carried to the next statement "
                f"(minimum payout {money(statement.minimum_payout_minor)} {currency}).",
                _BODY,
            )
        )

    story.append(Paragraph("Lines per license", _H2))
    if not lines:
        story.append(Paragraph("No lines this period.", _BODY))
    header = ["Section", "Kind", "Channel", "Units", "Gross", "Commission", "Fee", "Net"]
    widths = [28 * mm, 38 * mm, 20 * mm, 14 * mm, 18 * mm, 20 * mm, 16 * mm, 20 * mm]
    for first, group in _by_license(lines):
        rows = [header]
        for line in group:
            rows.append(
                [
                    _STATEMENT_SECTIONS.get(line.section, line.section),
                    kind_label(line.kind, line.transaction_kind),
                    line.channel,
                    line.units if line.transaction_kind in _COUNTED else "",
                    money(line.gross_minor),
                    money(line.commission_minor),
                    money(line.fee_minor),
                    money(line.amount_minor),
                ]
            )
        net = money(sum(line.amount_minor for line in group))
        rows.append(["Net for the license" if first.license_id else "Net", *[""] * 6, net])
        story.append(
            KeepTogether(
                [
                    Paragraph(_text(_license_heading(first)), _H3),
                    _table(
                        rows,
                        widths,
                        numeric_from=3,
                        extra=[("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 8.5)],
                    ),
                ]
            )
        )
    if lines:
        total = sum(line.amount_minor for line in lines)
        story.append(Spacer(1, 2 * mm))
        story.append(
            Paragraph(
                f"<b>Net of all lines: {money(total)} {currency}</b> (earnings + adjustments - "
                "advance recouped - withholding). Gross, commission and fee are the whole "
                "transactions' figures; net is the payee's share.",
                _BODY,
            )
        )

    def footer(canvas: Canvas, page: int) -> str:
        return (
            f"{PLATFORM_NAME} · {title} {number} · {payee.name} · "
            f"{period_label(statement.period_start)} · amounts in {currency} · page {page}"
        )

    return _render(story, title=f"{title} {number}", author=PLATFORM_NAME, footer=footer)


# -- invoices ----------------------------------------------------------------------------------


def invoice_pdf(invoice: Invoice | int) -> bytes:
    """The brand's invoice as a PDF: particulars, lines per license, totals. Two queries."""
    invoice = load_invoice(invoice)
    brand = invoice.brand
    currency = invoice.currency
    number = invoice.display_number
    lines = list(document_lines(invoice))

    def money(minor: int) -> str:
        return major(minor, currency)

    address = "<br/>".join(_text(part) for part in brand.billing_address.splitlines() if part)
    story: list[Flowable] = [
        _masthead("Invoice"),
        Spacer(1, 4 * mm),
        Paragraph(f"<b>Bill to</b><br/>{_text(brand.legal_name or brand.name)}", _BODY),
    ]
    if address:
        story.append(Paragraph(address, _BODY))
    story += [
        Paragraph(_text(f"{brand.country} · {brand.billing_email}"), _BODY),
        Paragraph(_text(f"VAT number: {brand.vat_number or 'not provided'}"), _BODY),
        Spacer(1, 4 * mm),
        _facts(
            [
                ("Invoice number", number),
                (
                    "Period",
                    f"{period_name(invoice.period_start)} ({period_label(invoice.period_start)})",
                ),
                ("Issue date", utc_date(invoice.issued_at).isoformat()),
                ("Due date", utc_date(invoice.due_at).isoformat()),
                ("Currency", currency),
            ]
        ),
        Paragraph("Lines per license", _H2),
    ]
    if not lines:
        story.append(Paragraph("No lines this period.", _BODY))
    header = ["Section", "Kind", "Channel", "Units", "Entries", f"Amount ({currency})"]
    widths = [30 * mm, 50 * mm, 26 * mm, 18 * mm, 16 * mm, 34 * mm]
    for first, group in _by_license(lines):
        rows = [header]
        for line in group:
            rows.append(
                [
                    _INVOICE_SECTIONS.get(line.section, line.section),
                    kind_label(line.kind, line.transaction_kind),
                    line.channel,
                    line.units if line.transaction_kind in _COUNTED else "",
                    line.entries,
                    money(line.amount_minor),
                ]
            )
        total = money(sum(line.amount_minor for line in group))
        rows.append(["Total for the license", *[""] * 4, total])
        story.append(
            KeepTogether(
                [
                    Paragraph(_text(_license_heading(first)), _H3),
                    _table(
                        rows,
                        widths,
                        numeric_from=3,
                        extra=[("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 8.5)],
                    ),
                ]
            )
        )

    story.append(Paragraph("Totals", _H2))
    totals = [
        ["Subtotal (charges of the period)", money(invoice.subtotal_minor)],
        ["+ Prior-period adjustments", money(invoice.adjustments_minor)],
        ["- Advance applied", money(invoice.advance_applied_minor)],
        ["= Net", money(invoice.net_minor)],
        [f"+ Tax ({_pct(invoice.tax_rate_pct)} %)", money(invoice.tax_minor)],
        [f"= Total due ({currency})", money(invoice.total_minor)],
    ]
    story.append(
        _table(
            totals,
            [90 * mm, 40 * mm],
            numeric_from=1,
            header=False,
            extra=[
                ("FONT", (0, 3), (-1, 3), "Helvetica-Bold", 8.5),
                ("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 9.5),
                ("LINEABOVE", (0, -1), (-1, -1), 1, colors.black),
            ],
        )
    )
    story.append(Spacer(1, 3 * mm))
    story.append(
        Paragraph(
            f"Payment due by {utc_date(invoice.due_at).isoformat()}. "
            "Advances are credited against the licenses' gross until used up.",
            _SMALL,
        )
    )

    def footer(canvas: Canvas, page: int) -> str:
        return (
            f"{PLATFORM_NAME} · Invoice {number} · {brand.name} · "
            f"{period_label(invoice.period_start)} · amounts in {currency} · page {page}"
        )

    return _render(story, title=f"Invoice {number}", author=PLATFORM_NAME, footer=footer)
