"""CSV exports: one statement (header, waterfall, lines) and a whole period for finance.

Amounts are decimal strings in major units ("1234.50"; "1234" in JPY), never floats. Both
functions are generators of text: hand them to a StreamingHttpResponse as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, date
from itertools import islice

from ledger.models import Statement
from ledger.selectors.statements import use_entries

from .common import (
    CHUNK_SIZE,
    LINE_COLUMNS,
    PERIOD_LINE_HEADER,
    PLATFORM_NAME,
    document_lines,
    load_statement,
    major,
    payee_of,
    period_label,
    period_lines,
    spreadsheet_safe,
    utc_date,
    waterfall,
)

STATEMENT_LINE_HEADER = LINE_COLUMNS
# The uses behind the lines, each with both times: when it occurred and when it was recorded.
STATEMENT_ENTRY_HEADER = (
    "section",
    "license",
    "kind",
    "channel",
    "transaction",
    "reverses",
    "usage_event",
    "external_id",
    "occurred_at",
    "recorded_at",
    "days_late",
    "units",
    "amount",
)


class _Lines:
    """csv.writer into a reusable buffer: `take()` returns what was written since the last."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)

    def row(self, row: Iterable) -> str:
        self.writer.writerow(row)
        return self.take()

    def take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def statement_csv(statement: Statement | int) -> Iterator[str]:
    """The statement as CSV, one line per item (each ends with CRLF).

    Four blocks separated by an empty line: `field,value` rows describing the statement, the
    waterfall (`row,amount`), one row per document line, then one row per use those lines
    count (occurred_at, recorded_at, days late). Four queries.
    """
    statement = load_statement(statement)
    payee = payee_of(statement)
    currency = statement.currency
    out = _Lines()
    header = [
        ("platform", PLATFORM_NAME),
        ("document", "statement"),
        ("statement", statement.display_number),
        ("payee_type", payee.type),
        ("payee_id", payee.id),
        ("payee", spreadsheet_safe(payee.name)),
        ("payee_country", payee.country),
        ("period", period_label(statement.period_start)),
        ("currency", currency),
        ("issued", utc_date(statement.issued_at).isoformat()),
        ("withholding_pct", statement.withholding_pct),
        ("minimum_payout", major(statement.minimum_payout_minor, currency)),
        ("carry_forward_reason", statement.carry_forward_reason),
    ]
    yield out.row(("field", "value"))
    for row in header:
        yield out.row(row)
    yield out.row(())
    yield out.row(("waterfall", "amount"))
    for field, _, amount in waterfall(statement):
        yield out.row((field, major(amount, currency)))
    yield out.row(())
    yield out.row(STATEMENT_LINE_HEADER)
    for line in document_lines(statement).iterator(chunk_size=CHUNK_SIZE):
        yield out.row(
            (
                line.section,
                line.license_id,
                line.kind,
                line.transaction_kind,
                line.channel,
                line.units,
                line.entries,
                major(line.gross_minor, currency),
                major(line.commission_minor, currency),
                major(line.fee_minor, currency),
                major(line.amount_minor, currency),
            )
        )
    yield out.row(())
    yield out.row(STATEMENT_ENTRY_HEADER)
    for entry in use_entries(statement):
        yield out.row(
            (
                entry["section"],
                entry["license"],
                entry["kind"],
                entry["channel"],
                entry["transaction"],
                entry["reverses"] or "",
                entry["usage_event"],
                spreadsheet_safe(entry["external_id"]),
                entry["occurred_at"].astimezone(UTC).isoformat(),
                entry["recorded_at"].astimezone(UTC).isoformat(),
                entry["days_late"],
                entry["units"],
                major(entry["amount_minor"], currency),
            )
        )


def period_csv(period_start: date) -> Iterator[str]:
    """Every statement line and every invoice line of the period, one CSV row each.

    Columns: PERIOD_LINE_HEADER (the document's type, number, party and currency, then the
    line's fields). The first item is the header line; each later item is a block of complete
    lines (up to CHUNK_SIZE of them), so a consumer writes it as it comes. Two streamed queries;
    memory holds one fetch whatever the period's size.
    """
    out = _Lines()
    yield out.row(PERIOD_LINE_HEADER)
    rows = period_lines(period_start, party=spreadsheet_safe)
    while block := list(islice(rows, CHUNK_SIZE)):
        out.writer.writerows(block)
        yield out.take()
