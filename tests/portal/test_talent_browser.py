"""A talent's money and uses pages in headless Chromium: the numbers match the journal, the feed
filters and downloads, a statement line opens to its entries, a use verifies in the browser
(and a tampered proof does not), and another talent's statement is a 404."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from django.db.models import Sum
from django.urls import reverse

from ledger.models import LedgerAccount, Posting, Statement, UsageEvent
from ledger.money import Money
from ledger.services.sealing import seal_blocks
from tests.portal.conftest import browser_login, shot
from tests.portal.world import build_world


@pytest.fixture
def world(transactional_db):
    return build_world()


def _eur(minor: int) -> str:
    return Money(minor, "EUR").display()


def _earned_this_month(world) -> int:
    total = Posting.objects.filter(
        account__kind=LedgerAccount.Kind.TALENT_PAYABLE,
        account__talent=world.ana,
        occurred_at__gte=world.current.start_at,
    ).aggregate(total=Sum("amount_minor"))["total"]
    return -total


def test_dashboard_numbers_match_the_journal(page, world):
    browser_login(page, world.ana.user)
    page.goto(reverse("talent:dashboard"))
    expected = _eur(_earned_this_month(world))
    assert page.locator('[data-figure="earned"]').inner_text().strip() == expected
    assert page.locator('[data-figure="pending"]').inner_text().strip() == expected
    assert page.get_by_role("img", name=re.compile("Earnings by month")).is_visible()
    assert page.get_by_role("img", name=re.compile("Earnings by brand")).is_visible()
    shot(page, "talent-dashboard")


def test_dashboard_on_a_phone(phone_page, world):
    browser_login(phone_page, world.ana.user)
    phone_page.goto(reverse("talent:dashboard"))
    assert phone_page.locator('[data-figure="earned"]').is_visible()
    # Nothing wider than the screen: no sideways scrolling on a phone.
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    shot(phone_page, "talent-dashboard-phone")


def test_uses_filter_and_csv_download_total_matches_the_page(page, world):
    browser_login(page, world.ana.user)
    page.goto(reverse("talent:uses"))
    assert page.locator("tbody tr").count() == 10
    shot(page, "talent-uses")
    page.get_by_label("Kind").select_option("generation")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**kind=generation**")
    assert page.locator("tbody tr").count() == 6
    page_total = page.locator('[data-total-share="EUR"]').inner_text().strip()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert len(rows) == 6 and {row["kind"] for row in rows} == {"generation"}
    csv_total = sum(Money.from_major(row["my_share"], "EUR").minor for row in rows)
    assert _eur(csv_total) == page_total

    page.get_by_role("link", name="Refused attempts").click()
    assert page.get_by_text("territory_not_licensed").is_visible()
    shot(page, "talent-refused")


def test_statement_opens_and_a_line_expands_to_its_entries(page, world):
    statement = Statement.objects.get(talent=world.ana, period_start=world.previous.start)
    browser_login(page, world.ana.user)
    page.goto(reverse("talent:statements"))
    shot(page, "talent-statements")
    page.get_by_role("link", name=statement.display_number).first.click()
    page.wait_for_url(f"**{reverse('talent:statement', args=[statement.pk])}")
    payable = page.locator('[data-waterfall="payable"]').inner_text().strip()
    assert payable == _eur(statement.payable_minor)
    line = page.locator("details.line").filter(has_text="Impressions").first
    entry_rate = line.get_by_text(re.compile(r"CPM \(social\): 12,000 impressions"))
    assert not entry_rate.is_visible()
    line.locator("summary").click()
    assert entry_rate.is_visible()
    shot(page, "talent-statement")


def test_a_use_verifies_in_the_browser_and_a_tampered_proof_does_not(page, world):
    event = UsageEvent.objects.get(brand=world.atelier, external_id="cur-a-imp")
    browser_login(page, world.ana.user)
    page.goto(reverse("talent:verify", args=[event.pk]))
    assert page.get_by_text("Not sealed yet").is_visible()
    seal_blocks(now=world.now)
    page.reload()
    verdict = page.locator("#verify-result .verdict")
    verdict.wait_for()
    assert verdict.inner_text() == "verified ✓"
    assert page.locator("#verify-steps li.ok").count() == 3
    shot(page, "talent-verify")

    # The same check on altered data: one cent more on a posting of the transaction.
    proof = json.loads(page.locator("#proof-data").text_content())
    proof["transaction"]["canonical"]["postings"][0][2] += 1
    assert page.evaluate("p => TwinLedgerVerify.verifyProof(p).then(r => r.ok)", proof) is False
    # And shown in the page: the proof on the page replaced by the altered one.
    page.evaluate(
        "p => { document.getElementById('proof-data').textContent = JSON.stringify(p);"
        " return TwinLedgerVerify.verifyAll(); }",
        proof,
    )
    assert page.locator("#verify-result .verdict").inner_text() == "does not match ✗"
    assert page.locator("#verify-steps li.bad").count() >= 1
    # A wrong sibling hash in the audit path (the tree altered) fails as well.
    proof["transaction"]["canonical"]["postings"][0][2] -= 1  # back to the sealed content
    assert page.evaluate("p => TwinLedgerVerify.verifyProof(p).then(r => r.ok)", proof) is True
    proof["audit_path"][0] = "0" * 64
    assert page.evaluate("p => TwinLedgerVerify.verifyProof(p).then(r => r.ok)", proof) is False


def test_cannot_open_another_talents_statement(page, world):
    bens = Statement.objects.get(talent=world.ben, period_start=world.previous.start)
    browser_login(page, world.ana.user)
    response = page.goto(reverse("talent:statement", args=[bens.pk]))
    assert response.status == 404
    response = page.goto(reverse("talent:statement-file", args=[bens.pk, "pdf"]))
    assert response.status == 404


def test_payouts_page(page, world, settings):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_SANDBOX = "", True
    browser_login(page, world.ana.user)
    page.goto(reverse("talent:payouts"))
    assert page.locator('[data-payouts-enabled="no"]').is_visible()
    page.get_by_role("button", name="Connect a Stripe account").click()
    page.wait_for_url(f"**{reverse('talent:payouts')}")
    assert page.locator('[data-payouts-enabled="yes"]').is_visible()
    assert page.get_by_text("payouts are enabled").is_visible()
    shot(page, "talent-payouts")
