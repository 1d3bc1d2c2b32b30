"""Statement, invoice and finance period exports (CSV, PDF, XLSX). Reads only.

    statement_csv(statement) -> Iterator[str]       one CSV line per item
    statement_pdf(statement) -> bytes
    invoice_pdf(invoice) -> bytes
    period_csv(period_start) -> Iterator[str]       blocks of CSV lines, streamed
    period_xlsx(period_start, path_or_file) -> None

Documents may be passed as model instances or primary keys.
"""

from .csv import period_csv, statement_csv
from .pdf import invoice_pdf, statement_pdf
from .xlsx import period_xlsx

__all__ = ["invoice_pdf", "period_csv", "period_xlsx", "statement_csv", "statement_pdf"]
