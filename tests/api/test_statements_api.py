"""Statements, invoices and the period close over the API: each party sees only its own."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from ledger.models import BackgroundRun, CloseRun, DocumentLine, Invoice, Statement
from ledger.periods import Period
from ledger.services.background import period_export_execute
from ledger.services.closing import period_close_execute, period_close_request
from tests.factories import UserFactory
from tests.ledger.scenario import scenario
from tests.logins import login

CLOSED_AT = datetime(2026, 4, 10, tzinfo=UTC)


def close_march() -> None:
    run = period_close_request(period=Period.parse("2026-03"), now=CLOSED_AT)
    period_close_execute(run_id=run.pk, now=CLOSED_AT)


@pytest.fixture
def two_closed(db):
    """Two talents licensed to two brands, each with uses in March 2026, March closed."""
    first, second = scenario(agency=True), scenario()
    for s in (first, second):
        assert s.use("generation", quantity=3).status == "accepted"
    close_march()
    return first, second


def client_for(user) -> APIClient:
    """A session client; finance with its second factor passed (without it: no finance)."""
    return login(APIClient(), user)


def test_a_talent_lists_and_reads_only_its_own_statements(two_closed):
    first, second = two_closed
    client = client_for(first.talent.user)
    listed = client.get("/api/v1/statements/").json()["results"]
    mine = Statement.objects.get(talent=first.talent)
    assert [s["id"] for s in listed] == [mine.pk]
    body = client.get(f"/api/v1/statements/{mine.pk}/").json()
    assert body["number"] == mine.display_number
    assert (
        body["earnings_minor"]
        == mine.earnings_minor
        == sum(line["amount_minor"] for line in body["lines"] if line["section"] == "earnings")
    )
    other = Statement.objects.get(talent=second.talent)
    assert client.get(f"/api/v1/statements/{other.pk}/").status_code == 404
    line = other.lines.first()
    entries = client.get(f"/api/v1/statements/{other.pk}/lines/{line.pk}/entries/")
    assert entries.status_code == 404


def test_an_agency_sees_its_commission_statement_and_its_talents_not_others(two_closed):
    first, second = two_closed
    member = UserFactory()
    first.agency.members.add(member)
    listed = client_for(member).get("/api/v1/statements/").json()["results"]
    expected = set(
        Statement.objects.filter(agency=first.agency).values_list("pk", flat=True)
    ) | set(Statement.objects.filter(talent=first.talent).values_list("pk", flat=True))
    assert {s["id"] for s in listed} == expected
    assert len(expected) == 2
    assert Statement.objects.get(talent=second.talent).pk not in expected


def test_a_brand_sees_its_invoices_and_no_statements(two_closed):
    first, second = two_closed
    member = UserFactory()
    first.brand.members.add(member)
    client = client_for(member)
    invoices = client.get("/api/v1/invoices/").json()["results"]
    mine = Invoice.objects.get(brand=first.brand)
    assert [i["id"] for i in invoices] == [mine.pk]
    assert client.get("/api/v1/statements/").json()["results"] == []
    other = Invoice.objects.get(brand=second.brand)
    assert client.get(f"/api/v1/invoices/{other.pk}/").status_code == 404
    assert client_for(first.talent.user).get(f"/api/v1/invoices/{mine.pk}/").status_code == 404


def test_explain_a_line_lists_entries_that_sum_to_it(two_closed):
    first, _ = two_closed
    statement = Statement.objects.get(talent=first.talent)
    line = statement.lines.get(section="earnings")
    entries = client_for(first.talent.user).get(
        f"/api/v1/statements/{statement.pk}/lines/{line.pk}/entries/"
    )
    body = entries.json()
    assert len(body) == line.entries == 1
    assert sum(e["amount_minor"] for e in body) == line.amount_minor
    assert body[0]["rating"]["lines"][0]["rate"] == "per_asset"


def test_the_period_close_is_for_finance_only(two_closed):
    first, _ = two_closed
    response = client_for(first.talent.user).post("/api/v1/periods/2026-03/close/")
    assert response.status_code == 403
    assert response.json()["code"] == "finance_only"


def test_finance_reads_a_closed_run_with_its_progress(two_closed):
    finance = UserFactory(is_finance=True)
    client = client_for(finance)
    response = client.post("/api/v1/periods/2026-03/close/")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "done" and body["progress_pct"] == 100
    assert body["done"] == body["total"] > 0
    assert client.get("/api/v1/periods/2026-03/close/").json()["id"] == body["id"]
    assert CloseRun.objects.count() == 1


def test_finance_reads_the_automatic_resumes_of_a_close(two_closed):
    run = CloseRun.objects.get(period_start=date(2026, 3, 1))
    step = {
        "at": "2026-12-02T03:12:45Z",
        "by": "watchdog",
        "action": "resumed",
        "phase": "statements",
        "done": 9,
        "total": 14,
        "attempts": 1,
        "idle_s": 312,
        "detail": "Resumed automatically (watchdog): nothing moved for 312 s.",
    }
    CloseRun.objects.filter(pk=run.pk).update(resumes=1, recoveries=[step])

    body = client_for(UserFactory(is_finance=True)).get("/api/v1/periods/2026-03/close/").json()

    assert body["resumes"] == 1
    assert body["recoveries"] == [step]
    assert body["progressed_at"]


@pytest.mark.parametrize("label", ["2026-13", "26-03", "march", "2026-3"])
def test_a_bad_period_is_a_400(db, label):
    finance = UserFactory(is_finance=True)
    response = client_for(finance).post(f"/api/v1/periods/{label}/close/")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_period"
    assert CloseRun.objects.count() == 0


def test_a_period_not_ended_is_refused(db):
    finance = UserFactory(is_finance=True)
    response = client_for(finance).post("/api/v1/periods/2999-01/close/")
    assert response.status_code == 409
    assert response.json()["code"] == "period_not_ended"
    assert CloseRun.objects.count() == 0


def test_close_period_command(db, capsys):
    s = scenario()
    assert s.use("generation", quantity=2).status == "accepted"
    call_command("close_period", "2026-03")
    assert "2026-03: done, 1 statements, 1 invoices" in capsys.readouterr().out
    call_command("close_period", "2026-03")  # again: the same run, nothing new
    assert Statement.objects.count() == 1 and Invoice.objects.count() == 1


def test_statement_csv_and_pdf_for_its_talent_only(two_closed):
    first, second = two_closed
    mine = Statement.objects.get(talent=first.talent)
    client = client_for(first.talent.user)
    csv_response = client.get(f"/api/v1/statements/{mine.pk}/csv/")
    assert csv_response.status_code == 200
    assert csv_response["Content-Type"] == "text/csv"
    assert mine.display_number in b"".join(csv_response.streaming_content).decode()
    pdf = client.get(f"/api/v1/statements/{mine.pk}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    other = Statement.objects.get(talent=second.talent)
    assert client.get(f"/api/v1/statements/{other.pk}/csv/").status_code == 404
    assert client.get(f"/api/v1/statements/{other.pk}/pdf/").status_code == 404


def test_invoice_pdf_for_its_brand_only(two_closed):
    first, second = two_closed
    member = UserFactory()
    first.brand.members.add(member)
    client = client_for(member)
    mine = Invoice.objects.get(brand=first.brand)
    response = client.get(f"/api/v1/invoices/{mine.pk}/pdf/")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    other = Invoice.objects.get(brand=second.brand)
    assert client.get(f"/api/v1/invoices/{other.pk}/pdf/").status_code == 404


def test_period_export_is_finance_only_in_csv_and_xlsx(two_closed):
    first, _ = two_closed
    talent = client_for(first.talent.user)
    assert talent.get("/api/v1/periods/2026-03/export/csv/").status_code == 403
    client = client_for(UserFactory(is_finance=True))
    csv_response = client.get("/api/v1/periods/2026-03/export/csv/")
    rows = b"".join(csv_response.streaming_content).decode().strip().splitlines()
    assert len(rows) - 1 == DocumentLine.objects.count()
    assert client.get("/api/v1/periods/2026-03/export/pdf/").status_code == 404


def test_the_xlsx_export_is_started_polled_and_downloaded_by_finance_only(
    two_closed, django_capture_on_commit_callbacks
):
    first, _ = two_closed
    url = "/api/v1/periods/2026-03/export/xlsx/"
    talent = client_for(first.talent.user)
    client = client_for(UserFactory(is_finance=True))
    assert client.get(url).json()["code"] == "not_found"  # nothing exported yet
    assert talent.post(url).status_code == 403
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = client.post(url)
        again = client.post(url)
    assert started.status_code == again.status_code == 202 and len(callbacks) == 2
    body = started.json()
    assert body["id"] == again.json()["id"] and body["status"] == "pending"
    assert body["period"] == "2026-03" and body["download"] is None
    assert client.post("/api/v1/periods/2026-03/export/csv/").status_code == 405
    assert BackgroundRun.objects.count() == 1

    period_export_execute(run_id=body["id"])  # what the worker does
    polled = client.get(url).json()
    assert polled["status"] == "done" and polled["done"] == polled["total"] > 0
    assert polled["download"] == f"/api/v1/exports/{body['id']}/file/"
    assert talent.get(polled["download"]).status_code == 403
    download = client.get(polled["download"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"PK")
    assert client.get("/api/v1/exports/999999/file/").status_code == 404
