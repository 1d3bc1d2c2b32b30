"""What the CSV, PDF and XLSX exports share: loading documents, labels, the period's line rows.

Every read here is a fixed number of queries whatever the number of lines: a document with its
party in one query, its lines (with license, brand and twin) in one more; a period's lines in one
streamed query per document type, joined to their document and party in SQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db.models import Func, QuerySet, TextField

from ledger.models import DocumentLine, Invoice, Statement
from ledger.money import CURRENCY_EXPONENTS, Money, currency_exponent
from ledger.periods import Period

PLATFORM_NAME = "Twin Ledger"
CHUNK_SIZE = 2000  # rows fetched per round trip of a server-side cursor


# -- documents ---------------------------------------------------------------------------------


def load_statement(statement: Statement | int) -> Statement:
    """The statement with its payee, in one query (documents are append-only: the row is it)."""
    pk = statement if isinstance(statement, int) else statement.pk
    return Statement.objects.select_related("talent", "agency").get(pk=pk)


def load_invoice(invoice: Invoice | int) -> Invoice:
    pk = invoice if isinstance(invoice, int) else invoice.pk
    return Invoice.objects.select_related("brand").get(pk=pk)


def document_lines(document: Statement | Invoice) -> QuerySet[DocumentLine]:
    """The document's lines in position order, with license, brand and twin (one query)."""
    owner = "statement" if isinstance(document, Statement) else "invoice"
    return (
        DocumentLine.objects.filter(**{owner: document.pk})
        .select_related("license__brand", "license__twin")
        .order_by("position")
    )


@dataclass(frozen=True, slots=True)
class Payee:
    type: str  # "talent" or "agency"
    id: int
    name: str
    country: str


def payee_of(statement: Statement) -> Payee:
    if statement.talent_id is not None:
        talent = statement.talent
        return Payee("talent", talent.pk, str(talent), talent.country)
    agency = statement.agency
    return Payee("agency", agency.pk, agency.name, agency.country)


def statement_title(statement: Statement) -> str:
    return "Royalty statement" if statement.talent_id is not None else "Commission statement"


def period_label(start: date) -> str:
    return Period(start).label


def period_name(start: date) -> str:
    return f"{start:%B %Y}"


def utc_date(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def major(minor: int, currency: str) -> str:
    """Minor units as the major-unit decimal string ("1234.50"), exactly; never a float."""
    return Money(minor, currency).major_str()


# -- labels ------------------------------------------------------------------------------------

# (field, label) of the statement waterfall, in SPEC order; the model stores the subtracted
# figures (advance recouped, withholding) as positive amounts, as the SPEC's table shows them.
WATERFALL = (
    ("opening", "Opening balance"),
    ("earnings", "Earnings"),
    ("adjustments", "Prior-period adjustments"),
    ("advance_recouped", "Advance recouped"),
    ("withholding", "Withholding"),
    ("payable", "Payable"),
    ("payout", "Payout"),
    ("closing", "Closing balance"),
)


def waterfall(statement: Statement) -> list[tuple[str, str, int]]:
    """(field, label, minor amount) per waterfall row."""
    return [(field, label, getattr(statement, f"{field}_minor")) for field, label in WATERFALL]


def kind_label(kind: str, transaction_kind: str) -> str:
    label = kind.replace("_", " ").capitalize()
    return f"{label} (reversal)" if transaction_kind == "reversal" else label


def spreadsheet_safe(text: str) -> str:
    """Free text (names) made inert for spreadsheets: a leading = + - @ or control character
    would make Excel or LibreOffice read the cell as a formula (CSV injection)."""
    if text and text[0] in "=+-@\t\r\n":
        return "'" + text
    return text


# -- a period's lines, for the finance exports --------------------------------------------------

# A document line's columns, in every export that lists lines.
LINE_COLUMNS = (
    "section",
    "license_id",
    "kind",
    "transaction_kind",
    "channel",
    "units",
    "entries",
    "gross",
    "commission",
    "fee",
    "amount",
)

PERIOD_LINE_HEADER = (
    "document_type",
    "document_number",
    "party_type",
    "party_id",
    "party",
    "currency",
    "period",
    "position",
    *LINE_COLUMNS,
)
AMOUNT_COLUMNS = (15, 16, 17, 18)  # where the amounts sit in a period line row
CURRENCY_COLUMN = 5

_CODES_BY_EXPONENT: dict[int, list[str]] = defaultdict(list)
for _code, _exponent in sorted(CURRENCY_EXPONENTS.items()):
    _CODES_BY_EXPONENT[_exponent].append(_code)


class MajorUnits(Func):
    """An amount in minor units as its exact major-unit decimal text, computed by PostgreSQL.

    `MajorUnits("gross_minor", "statement__currency")` gives what
    `Money(gross_minor, currency).major_str()` gives ("1234.50", "-0.05", "1234" in JPY): the
    integer times 0.01 (or 0.001, or 1) is an exact numeric with that many decimals, and its
    text is the plain decimal. tests/ledger/test_exports.py compares the two on every exponent
    and across digit boundaries. The streamed exports use it so that 800,000 amounts of a
    200,000-line period are not formatted one Python call at a time. An unknown currency gives
    NULL (the exports check each document's currency in Python, and raise).
    """

    output_field = TextField()
    arity = 2

    def as_sql(self, compiler, connection, **extra_context):
        amount, amount_params = compiler.compile(self.source_expressions[0])
        currency, currency_params = compiler.compile(self.source_expressions[1])
        whens, params = [], []
        for exponent, codes in sorted(_CODES_BY_EXPONENT.items()):
            factor = f" * 0.{'0' * (exponent - 1)}1" if exponent else ""
            whens.append(f"WHEN {currency} = ANY(%s) THEN (({amount}){factor})::text")
            params += [*currency_params, codes, *amount_params]
        return f"(CASE {' '.join(whens)} END)", params


_LINE_FIELDS = ("position", *LINE_COLUMNS)


def _amounts(currency: str) -> dict[str, MajorUnits]:
    return {
        name: MajorUnits(f"{name}_minor", currency)
        for name in ("gross", "commission", "fee", "amount")
    }


def period_lines(period_start: date, *, party: Callable[[str], object] = str) -> Iterator[tuple]:
    """Every statement line, then every invoice line, of the period: PERIOD_LINE_HEADER rows.

    Amounts are major-unit decimal strings (MajorUnits). `party` maps each document's party name
    once (to make it inert in a spreadsheet, say). Two queries, each streamed from a server-side
    cursor CHUNK_SIZE rows at a time and joined in SQL to its documents and parties, so memory
    holds one fetch whatever the size of the period; documents come in number order.
    """
    period = Period(period_start)
    label = period.label
    statement_lines = (
        DocumentLine.objects.filter(statement__period_start=period.start)
        .annotate(**_amounts("statement__currency"))
        .order_by("statement__series", "statement__number", "position")
        .values_list(
            "statement_id",
            "statement__series",
            "statement__number",
            "statement__currency",
            "statement__talent_id",
            "statement__talent__display_name",
            "statement__talent__legal_name",
            "statement__agency_id",
            "statement__agency__name",
            *_LINE_FIELDS,
        )
    )

    def statement_head(row: tuple) -> tuple:
        _, series, number, currency, talent_id, display, legal, agency_id, agency = row
        currency_exponent(currency)  # an unknown currency raises here, not as empty amounts
        if talent_id is not None:
            kind, party_id, name = "talent", talent_id, display or legal
        else:
            kind, party_id, name = "agency", agency_id, agency
        number_text = f"{series}-{number:06d}"
        return ("statement", number_text, kind, party_id, party(name), currency, label)

    invoice_lines = (
        DocumentLine.objects.filter(invoice__period_start=period.start)
        .annotate(**_amounts("invoice__currency"))
        .order_by("invoice__series", "invoice__number", "position")
        .values_list(
            "invoice_id",
            "invoice__series",
            "invoice__number",
            "invoice__currency",
            "invoice__brand_id",
            "invoice__brand__name",
            *_LINE_FIELDS,
        )
    )

    def invoice_head(row: tuple) -> tuple:
        _, series, number, currency, brand_id, brand = row
        currency_exponent(currency)
        number_text = f"{series}-{number:06d}"
        return ("invoice", number_text, "brand", brand_id, party(brand), currency, label)

    yield from _with_heads(statement_lines, 9, statement_head)
    yield from _with_heads(invoice_lines, 6, invoice_head)


def _with_heads(queryset: QuerySet, width: int, head: Callable[[tuple], tuple]) -> Iterator[tuple]:
    """Each row's first `width` columns (its document) replaced by head(), made once a document."""
    current_id = None
    prefix: tuple = ()
    for row in queryset.iterator(chunk_size=CHUNK_SIZE):
        if row[0] != current_id:
            current_id = row[0]
            prefix = head(row[:width])
        yield prefix + row[width:]
