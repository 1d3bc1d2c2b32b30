"""The agency's money and uses pages: its represented talents' uses and statements, its own
commission, and nothing of an independent talent's."""

from __future__ import annotations

import re

import pytest
from django.db.models import Sum
from django.urls import reverse

from accounts.models import Agency, AgencyMembership
from ledger.models import LedgerAccount, Posting, Statement, UsageEvent
from ledger.money import Money
from ledger.services.sealing import seal_blocks
from tests.factories import AgencyFactory, UserFactory
from tests.logins import login
from tests.portal.world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _html(response) -> str:
    return response.content.decode()


def _rows(response) -> list[str]:
    return re.findall(r'aria-label="Verify use ([^"]+)"', _html(response))


def _commission(world, **extra) -> int:
    postings = Posting.objects.filter(
        account__kind=LedgerAccount.Kind.AGENCY_PAYABLE, account__agency=world.agency, **extra
    )
    return -(postings.aggregate(total=Sum("amount_minor"))["total"] or 0)


def test_agency_dashboard_shows_its_commission_from_the_journal(client, world):
    earned = _commission(world, occurred_at__gte=world.current.start_at)
    assert earned > 0
    html = _html(login(client, world.agency_user).get(reverse("agency:dashboard")))
    assert "Commission dashboard" in html
    found = re.search(r'data-figure="earned">([^<]*)<', html)[1]
    assert found == Money(earned, "EUR").display()
    assert 'role="img"' in html


def test_agency_sees_anas_uses_but_not_bens(client, world):
    login(client, world.agency_user)
    ids = _rows(client.get(reverse("agency:uses")))
    assert len(ids) == 10 and all(i.startswith(("cur-a", "prev-a")) for i in ids)
    # Its share column is the commission: the page total is the agency's postings on uses.
    html = _html(client.get(reverse("agency:uses")))
    total = _commission(world, transaction__kind="usage")
    assert re.search(rf'data-total-share="EUR">{re.escape(Money(total, "EUR").display())}<', html)
    assert "Commission" in html
    ben_use = UsageEvent.objects.get(brand=world.bolt, external_id="prev-b-gen-0")
    assert client.get(reverse("agency:verify", args=[ben_use.pk])).status_code == 404
    ana_use = UsageEvent.objects.get(brand=world.atelier, external_id="prev-a-pub")
    seal_blocks(now=world.now)
    assert "proof-data" in _html(client.get(reverse("agency:verify", args=[ana_use.pk])))
    assert "territory_not_licensed" in _html(client.get(reverse("agency:refused")))


def test_agency_sees_its_own_and_anas_statements_but_not_bens(client, world):
    own = Statement.objects.get(agency=world.agency, period_start=world.previous.start)
    anas = Statement.objects.get(talent=world.ana, period_start=world.previous.start)
    bens = Statement.objects.get(talent=world.ben, period_start=world.previous.start)
    login(client, world.agency_user)
    listing = _html(client.get(reverse("agency:statements")))
    assert own.display_number in listing and anas.display_number in listing
    assert bens.display_number not in listing
    assert "Commission statement" in _html(client.get(reverse("agency:statement", args=[own.pk])))
    assert client.get(reverse("agency:statement", args=[anas.pk])).status_code == 200
    for url in (
        reverse("agency:statement", args=[bens.pk]),
        reverse("agency:statement-file", args=[bens.pk, "pdf"]),
    ):
        assert client.get(url).status_code == 404


def test_another_agency_sees_none_of_it(client, world):
    other = AgencyFactory(name="Other Agency")
    member = UserFactory()
    AgencyMembership.objects.create(agency=other, user=member, role="admin")
    own = Statement.objects.get(agency=world.agency, period_start=world.previous.start)
    login(client, member)
    assert _rows(client.get(reverse("agency:uses"))) == []
    assert client.get(reverse("agency:statement", args=[own.pk])).status_code == 404
    assert own.display_number not in _html(client.get(reverse("agency:statements")))


def test_talents_and_brands_get_403_and_anonymous_goes_to_login(client, world):
    urls = [
        reverse(f"agency:{name}")
        for name in ("dashboard", "uses", "uses-csv", "refused", "statements", "payouts")
    ]
    for user in (world.ana.user, world.atelier_user):
        login(client, user)
        for url in urls:
            assert client.get(url).status_code == 403, (user, url)
    client.logout()
    for url in urls:
        assert client.get(url).url.startswith(reverse("portal:login"))


def test_agency_connects_its_own_payout_account_in_the_sandbox(client, world, settings):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_SANDBOX = "", True
    login(client, world.agency_user)
    # An agency the member does not belong to is not found.
    other = AgencyFactory(name="Someone Else")
    assert client.post(reverse("agency:payouts-connect"), {"agency": other.pk}).status_code == 404
    response = client.post(reverse("agency:payouts-connect"), {"agency": world.agency.pk})
    assert response.status_code == 302
    html = _html(client.get(response.url, follow=True))
    assert 'data-payouts-enabled="yes"' in html
    assert Agency.objects.get(pk=world.agency.pk).stripe_account_id.startswith("sandbox_acct_")
    assert Agency.objects.get(pk=other.pk).stripe_account_id == ""


def test_agency_csv_lists_only_its_talents_uses(client, world):
    login(client, world.agency_user)
    response = client.get(reverse("agency:uses-csv"))
    body = b"".join(response.streaming_content).decode()
    assert "prev-a-pub" in body and "prev-b" not in body
