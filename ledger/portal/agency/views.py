"""The agency's money and uses pages: the talent's pages (ledger.portal.talent.views) with
role=AGENCY, so an agency sees the uses and statements of the talents it represents and its own
commission statements and payouts, through the same visibility selectors."""

from __future__ import annotations

from django.views.decorators.http import require_GET

from ledger.portal.access import AGENCY
from ledger.portal.talent.views import (
    dashboard_page,
    payouts_connect,
    payouts_page,
    payouts_return,
    refused_page,
    role_view,
    statement_download,
    statement_page,
    statements_page,
    uses_csv_page,
    uses_page,
    verify_page,
)

dashboard = role_view(AGENCY, dashboard_page)
uses = role_view(AGENCY, require_GET(uses_page))
uses_csv = role_view(AGENCY, require_GET(uses_csv_page))
refused = role_view(AGENCY, require_GET(refused_page))
statements = role_view(AGENCY, statements_page)
statement = role_view(AGENCY, statement_page)
statement_file = role_view(AGENCY, statement_download)
verify = role_view(AGENCY, verify_page)
payouts = role_view(AGENCY, payouts_page)
connect = role_view(AGENCY, payouts_connect)
connected = role_view(AGENCY, payouts_return)
