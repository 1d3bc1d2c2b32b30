"""The talent's money and uses pages through Django's test client: numbers from the journal,
filters, pagination, CSV, statements, verification, payouts, and who may see what."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.urls import reverse

from accounts.models import Talent
from ledger.merkle import verify_inclusion_proof
from ledger.models import (
    Coverage,
    LedgerAccount,
    Payout,
    Posting,
    Statement,
    StripeEvent,
    UsageEvent,
)
from ledger.money import Money
from ledger.services.charges import advance_charge_within
from ledger.services.sealing import seal_blocks
from ledger.services.usage import usage_record_batch
from tests.logins import login
from tests.portal.world import _item, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _html(response) -> str:
    return response.content.decode()


def _figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert found, f"no {name} figure"
    return found[1].strip()


def _eur(minor: int) -> str:
    return Money(minor, "EUR").display()


def _ana_postings(world):
    return Posting.objects.filter(
        account__kind=LedgerAccount.Kind.TALENT_PAYABLE, account__talent=world.ana
    )


def _owed(postings) -> int:
    return -(postings.aggregate(total=Sum("amount_minor"))["total"] or 0)


# -- dashboard ---------------------------------------------------------------------------------


def test_dashboard_numbers_are_the_sums_of_the_talents_postings(client, world):
    postings = _ana_postings(world)
    earned = _owed(postings.filter(occurred_at__gte=world.current.start_at))
    # On a statement: covered in a month a close has issued (the fold covers ahead of it).
    issued = Coverage.objects.filter(period_start__lte=world.previous.start)
    pending = _owed(postings.exclude(transaction_id__in=issued.values("transaction_id")))
    payable = _owed(postings) - pending
    statement = Statement.objects.get(talent=world.ana, period_start=world.previous.start)
    assert earned > 0 and pending == earned  # this month's uses, none on a statement yet
    assert payable == statement.closing_minor  # carried forward: nothing paid out yet

    html = _html(login(client, world.ana.user).get(reverse("talent:dashboard")))
    assert _figure(html, "earned") == _eur(earned)
    assert _figure(html, "pending") == _eur(pending)
    assert _figure(html, "payable") == _eur(payable)
    assert _figure(html, "paid") == _eur(0)


def test_dashboard_next_payout_says_below_minimum_when_it_is(client, world, settings):
    owed = _owed(_ana_postings(world))
    settings.LEDGER_MINIMUM_PAYOUT = Money(owed + 1, "EUR").major_str()
    html = _html(login(client, world.ana.user).get(reverse("talent:dashboard")))
    assert "Below the minimum payout: carried forward" in html
    # Reachable minimum and a payout account: the whole balance would be paid.
    settings.LEDGER_MINIMUM_PAYOUT = "0.01"
    world.ana.stripe_account_id, world.ana.payouts_enabled = "acct_test", True
    world.ana.save()
    html = _html(client.get(reverse("talent:dashboard")))
    assert _figure(html, "next-payout") == _eur(owed)


def test_dashboard_charts_earnings_by_month_and_brand_as_svg(client, world):
    html = _html(login(client, world.ana.user).get(reverse("talent:dashboard")))
    assert html.count('role="img"') == 2
    assert "Earnings by month, EUR" in html
    assert world.atelier.name in html  # the by-brand chart names the brand
    by_month = _owed(_ana_postings(world).filter(occurred_at__gte=world.current.start_at))
    month = world.current.start
    name = f"{month:%b} {month:%Y}" if month.month == 1 else f"{month:%b}"
    assert f"<title>{name}: {_eur(by_month)}</title>" in html  # this month's bar
    assert "Show as a table" in html


def test_unrecouped_advance_is_the_talents_share_left(client, world):
    # An advance charged through its service as an activation with these terms would (the
    # stored terms are append-only and stay as they are).
    version = world.atelier_ana.active_version
    version.rates = {**version.rates, "advance_minor": 50_000}
    with transaction.atomic():
        charge = advance_charge_within(version=version, activated_at=world.now, now=world.now)
    share = charge.detail["talent_minor"]
    assert 0 < share < 50_000
    html = _html(login(client, world.ana.user).get(reverse("talent:dashboard")))
    assert "Unrecouped advances" in html
    assert _figure(html, "unrecouped") == _eur(share)
    ben = _html(login(client, world.ben.user).get(reverse("talent:dashboard")))
    assert "Unrecouped advances" not in ben


# -- uses --------------------------------------------------------------------------------------


def _rows(response) -> list[str]:
    return re.findall(r'aria-label="Verify use ([^"]+)"', _html(response))


def test_uses_feed_shows_every_use_with_share_and_gross(client, world):
    response = login(client, world.ana.user).get(reverse("talent:uses"))
    assert response.status_code == 200
    ids = _rows(response)
    assert len(ids) == 10 and "cur-a-pub" in ids and "prev-a-imp" in ids
    assert not any(i.startswith("prev-b") for i in ids)  # Ben's uses
    total_share = _owed(_ana_postings(world).filter(transaction__kind="usage"))
    gross = UsageEvent.objects.filter(license=world.atelier_ana).aggregate(g=Sum("gross_minor"))
    html = _html(response)
    assert re.search(rf'data-total-share="EUR">{re.escape(_eur(total_share))}<', html)
    assert re.search(rf'data-total-gross="EUR">{re.escape(_eur(gross["g"]))}<', html)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"kind": "generation"}, 6),
        ({"channel": "ecommerce"}, 2),
        ({"territory": "fr"}, 10),
        ({"territory": "JP"}, 0),
        ({"asset": "cur-a-asset-0"}, 3),  # its generation, publication and impressions
        ({"kind": "impressions", "channel": "social"}, 2),
    ],
)
def test_uses_filters(client, world, query, expected):
    response = login(client, world.ana.user).get(reverse("talent:uses"), query)
    assert response.status_code == 200
    assert len(_rows(response)) == expected


def test_uses_filter_by_date_brand_and_license(client, world):
    login(client, world.ana.user)
    url = reverse("talent:uses")
    since = {"date_from": world.current.start.isoformat()}
    assert all(i.startswith("cur-") for i in _rows(client.get(url, since)))
    until = {"date_to": (world.current.start - timedelta(days=1)).isoformat()}
    assert all(i.startswith("prev-") for i in _rows(client.get(url, until)))
    assert len(_rows(client.get(url, {"brand": world.atelier.pk}))) == 10
    assert len(_rows(client.get(url, {"license": world.atelier_ana.pk}))) == 10
    # Bolt has asked for Ana's twin (a pending license, visible to her): no uses yet.
    assert _rows(client.get(url, {"brand": world.bolt.pk})) == []


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "not-a-date"},
        {"date_from": "2026-05-02", "date_to": "2026-05-01"},
        {"territory": "FRA"},
        {"kind": "teleport"},
        {"channel": "<script>"},
        {"page": "0"},
        {"brand": "abc"},
    ],
)
def test_bad_filters_are_a_400_with_the_form_again(client, world, query):
    response = login(client, world.ana.user).get(reverse("talent:uses"), query)
    assert response.status_code == 400
    assert 'class="error"' in _html(response) or "alert-error" in _html(response)
    assert _rows(response) == []


def test_a_brand_the_talent_cannot_see_is_not_a_filter_choice(client, world):
    # Atelier has nothing to do with Ben: naming it is an invalid choice, not an empty list.
    response = login(client, world.ben.user).get(
        reverse("talent:uses"), {"brand": world.atelier.pk}
    )
    assert response.status_code == 400
    assert world.atelier.name not in _html(response)


def _many_uses(world, count: int) -> None:
    at = max(world.current.start_at, world.now - timedelta(hours=2))
    usage_record_batch(
        brand=world.atelier,
        items=[
            _item(world.atelier_ana, f"bulk-{n}", "generation", f"bulk-asset-{n}", at)
            for n in range(count)
        ],
        now=world.now,
    )


def test_uses_are_paginated_by_fifty_and_page_links_keep_the_filters(client, world):
    _many_uses(world, 55)  # 6 + 55 = 61 generations
    login(client, world.ana.user)
    first = client.get(reverse("talent:uses"), {"kind": "generation"})
    assert len(_rows(first)) == 50
    html = _html(first)
    assert "page 1 of 2" in html
    next_link = re.search(r'href="(\?[^"]*)" rel="next"', html)[1].replace("&amp;", "&")
    assert "kind=generation" in next_link and "page=2" in next_link
    second = client.get(reverse("talent:uses") + next_link)
    assert len(_rows(second)) == 11
    assert not set(_rows(first)) & set(_rows(second))
    assert client.get(reverse("talent:uses"), {"page": 3}).status_code == 404


def _csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_the_uses_csv_streams_from_a_server_side_cursor_not_a_file_in_memory(
    client, world, monkeypatch
):
    """Constant memory: the response is a stream, and after its first rows the feed's query is
    an open server-side cursor that has fetched one chunk, not the whole feed."""
    monkeypatch.setattr("ledger.selectors.usage_feed.CSV_CHUNK", 10)
    _many_uses(world, 55)
    login(client, world.ana.user)
    response = client.get(reverse("talent:uses-csv"))
    assert response.streaming and not hasattr(response, "content")
    stream = iter(response.streaming_content)
    header, first = next(stream), next(stream)
    assert header.startswith(b"occurred_at") and first.count(b"\n") == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE statement ILIKE '%%usage%%'")
        assert cursor.fetchone()[0] == 1  # the feed, fetched 10 rows at a time
    rest = list(stream)
    assert 1 + len(rest) == UsageEvent.objects.filter(twin__talent=world.ana).count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE statement ILIKE '%%usage%%'")
        assert cursor.fetchone()[0] == 0  # closed once the feed was read


def test_csv_has_the_filtered_feed_and_its_total_is_the_pages(client, world):
    _many_uses(world, 55)
    login(client, world.ana.user)
    query = {"kind": "generation"}
    response = client.get(reverse("talent:uses-csv"), query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert len(rows) == 61 and {r["kind"] for r in rows} == {"generation"}  # every page
    share = sum(Money.from_major(r["my_share"], "EUR").minor for r in rows)
    page = _html(client.get(reverse("talent:uses"), query))
    assert re.search(rf'data-total-share="EUR">{re.escape(_eur(share))}<', page)
    assert client.get(reverse("talent:uses-csv"), {"date_from": "x"}).status_code == 400


def test_refused_attempts_tab_shows_reason_code_and_message(client, world):
    html = _html(login(client, world.ana.user).get(reverse("talent:refused")))
    assert "territory_not_licensed" in html
    assert world.atelier.name in html
    assert "No refused attempts" in _html(
        login(client, world.ben.user).get(reverse("talent:refused"))
    )


# -- statements --------------------------------------------------------------------------------


def test_statement_shows_waterfall_lines_and_entries_with_rates(client, world):
    statement = Statement.objects.get(talent=world.ana, period_start=world.previous.start)
    login(client, world.ana.user)
    listing = _html(client.get(reverse("talent:statements")))
    assert statement.display_number in listing
    response = client.get(reverse("talent:statement", args=[statement.pk]))
    html = _html(response)
    for field in ("opening", "earnings", "payable", "closing"):
        amount = getattr(statement, f"{field}_minor")
        assert re.search(rf'data-waterfall="{field}">{re.escape(_eur(amount))}<', html)
    lines = statement.lines.all()
    assert html.count("<details") == len(lines) > 0
    assert "prev-a-gen-0" in html  # an entry behind the generation line
    assert "per asset, tier 1: 1 x €40.00" in html
    assert "per publication (social): 1 x €20.00" in html
    assert "CPM (social): 12,000 impressions at €3.33 per 1,000" in html
    assert "agency 20%, platform 10%" in html


def test_statement_downloads_csv_and_pdf(client, world):
    statement = Statement.objects.get(talent=world.ana, period_start=world.previous.start)
    login(client, world.ana.user)
    csv_response = client.get(reverse("talent:statement-file", args=[statement.pk, "csv"]))
    assert csv_response["Content-Type"] == "text/csv"
    assert statement.display_number in b"".join(csv_response.streaming_content).decode()
    pdf = client.get(reverse("talent:statement-file", args=[statement.pk, "pdf"]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert (
        client.get(reverse("talent:statement-file", args=[statement.pk, "xls"])).status_code == 404
    )


# -- verify ------------------------------------------------------------------------------------


def test_verify_says_not_sealed_then_shows_a_proof_that_checks(client, world):
    event = UsageEvent.objects.get(brand=world.atelier, external_id="cur-a-pub")
    url = reverse("talent:verify", args=[event.pk])
    login(client, world.ana.user)
    assert "Not sealed yet" in _html(client.get(url))
    seal_blocks(now=world.now)
    response = client.get(url)
    proof = response.context["proof"]
    assert proof["transaction"]["id"] == event.transaction_id
    assert verify_inclusion_proof(proof)
    html = _html(response)
    assert 'id="proof-data"' in html and proof["block_hash"] in html
    assert "portal/verify.js" in html


# -- payouts -----------------------------------------------------------------------------------


def test_payouts_without_stripe_say_so_and_connecting_is_refused_clearly(client, world, settings):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_SANDBOX = "", False
    login(client, world.ana.user)
    assert "Stripe is not configured" in _html(client.get(reverse("talent:payouts")))
    response = client.post(reverse("talent:payouts-connect"))
    assert response.status_code == 503
    assert "not set up on this platform" in _html(response)
    world.ana.refresh_from_db()
    assert world.ana.stripe_account_id == ""


def test_connecting_in_the_sandbox_goes_to_the_link_and_enables_payouts(client, world, settings):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_SANDBOX = "", True
    login(client, world.ana.user)
    assert client.get(reverse("talent:payouts-connect")).status_code == 405  # POST only
    response = client.post(reverse("talent:payouts-connect"))
    assert response.status_code == 302
    assert response.url.endswith(reverse("talent:payouts-return"))  # the sandbox's "Stripe"
    world.ana.refresh_from_db()
    assert world.ana.stripe_account_id.startswith("sandbox_acct_")
    back = client.get(response.url, follow=True)
    html = _html(back)
    assert "payouts are enabled" in html and 'data-payouts-enabled="yes"' in html
    assert "badge-sandbox" in html


def test_payout_history_shows_status_failure_reason_and_sandbox(client, world):
    statement = Statement.objects.get(talent=world.ana, period_start=world.previous.start)
    Payout.objects.create(
        statement=statement,
        account=statement.account,
        destination="sandbox_acct_x",
        currency="EUR",
        amount_minor=4_200,
        idempotency_key=uuid.uuid4(),
        status=Payout.Status.FAILED,
        stripe_transfer_id="sandbox_tr_123",
        failure_code="account_closed",
        failure_message="The destination account is closed.",
        created_at=world.now,
    )
    html = _html(login(client, world.ana.user).get(reverse("talent:payouts")))
    assert statement.display_number in html and _eur(4_200) in html
    assert "Payout failed" in html and "account_closed" in html
    assert "The destination account is closed." in html
    assert "badge-sandbox" in html
    assert "account_closed" not in _html(
        login(client, world.ben.user).get(reverse("talent:payouts"))
    )


def test_a_bank_payout_returned_by_the_bank_shows_to_its_payee_and_finance_only(client, world):
    """As stored by the `payout.failed` webhook (the flow itself: tests/ledger/test_stripe_webhooks)."""
    Talent.objects.filter(pk=world.ana.pk).update(stripe_account_id="acct_ana")
    body = {
        "id": "evt_bank_1",
        "type": "payout.failed",
        "account": "acct_ana",
        "data": {
            "object": {
                "id": "po_ana_1",
                "amount": 12_345,
                "currency": "eur",
                "failure_code": "account_closed",
                "failure_message": "The bank account has been closed.",
            }
        },
    }
    StripeEvent.objects.create(
        stripe_id="evt_bank_1",
        type="payout.failed",
        account="acct_ana",
        object_id="po_ana_1",
        created=world.now,
        body=json.dumps(body),
        received_at=world.now,
        status=StripeEvent.Status.PROCESSED,
    )
    html = _html(login(client, world.ana.user).get(reverse("talent:payouts")))
    assert "Returned by the bank" in html and "The bank account has been closed." in html
    assert "po_ana_1" in html and _eur(12_345) in html
    assert "po_ana_1" not in _html(login(client, world.ben.user).get(reverse("talent:payouts")))
    finance = _html(login(client, world.finance).get(reverse("finance:payouts")))
    assert "po_ana_1" in finance and "acct_ana" in finance
    assert "The bank account has been closed." in finance


# -- access ------------------------------------------------------------------------------------


def _talent_urls(world) -> list[str]:
    statement = Statement.objects.get(talent=world.ana, period_start=world.previous.start)
    event = UsageEvent.objects.get(brand=world.atelier, external_id="cur-a-pub")
    return [
        reverse("talent:dashboard"),
        reverse("talent:uses"),
        reverse("talent:uses-csv"),
        reverse("talent:refused"),
        reverse("talent:statements"),
        reverse("talent:statement", args=[statement.pk]),
        reverse("talent:statement-file", args=[statement.pk, "pdf"]),
        reverse("talent:verify", args=[event.pk]),
        reverse("talent:payouts"),
    ]


def test_anonymous_users_are_sent_to_login(client, world):
    for url in _talent_urls(world):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("portal:login"))
    assert client.post(reverse("talent:payouts-connect")).status_code == 302


def test_brand_users_and_agency_members_get_403_on_talent_pages(client, world):
    for user in (world.atelier_user, world.agency_user):
        login(client, user)
        for url in _talent_urls(world):
            assert client.get(url).status_code == 403, (user, url)
        assert client.post(reverse("talent:payouts-connect")).status_code == 403


def test_ben_cannot_see_anas_statement_uses_or_proof(client, world):
    statement = Statement.objects.get(talent=world.ana, period_start=world.previous.start)
    event = UsageEvent.objects.get(brand=world.atelier, external_id="cur-a-pub")
    login(client, world.ben.user)
    for url in (
        reverse("talent:statement", args=[statement.pk]),
        reverse("talent:statement-file", args=[statement.pk, "csv"]),
        reverse("talent:statement-file", args=[statement.pk, "pdf"]),
        reverse("talent:verify", args=[event.pk]),
    ):
        assert client.get(url).status_code == 404, url
    uses = client.get(reverse("talent:uses"))
    assert not any(i.startswith(("cur-a", "prev-a")) for i in _rows(uses))
    assert {i[:6] for i in _rows(uses)} == {"prev-b"}
    assert statement.display_number not in _html(client.get(reverse("talent:statements")))
    rows = _csv(client.get(reverse("talent:uses-csv")))
    assert rows and all(r["external_id"].startswith("prev-b") for r in rows)
