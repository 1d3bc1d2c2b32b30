"""Payout onboarding against the local fake Stripe server: the connected account is created
once per party (its id stored), every request gets a new single-use link, and the return URL
reads the account's state back from Stripe."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from accounts.models import Agency, Talent
from ledger.gateways.stripe import StripeGateway
from ledger.services.onboarding import payout_account_link
from tests.api.conftest import assert_error, key_client, user_client

LINK = "/api/v1/payout-account/link/"
REFRESH = "/api/v1/payout-account/refresh/"
RETURN = "/api/v1/payout-account/return/"


@pytest.fixture
def stripe_settings(settings, stripe_server):
    settings.STRIPE_SECRET_KEY = "sk_test_123"
    settings.STRIPE_API_BASE = stripe_server.url
    return settings


def agency_of(user) -> Agency:
    return Agency.objects.get(agencymembership__user=user)


def test_talent_gets_a_link_and_its_account_is_created_once(world, stripe_server, stripe_settings):
    client = user_client(world.talent_a.user)

    first = client.post(LINK)

    assert first.status_code == 200, first.content
    body = first.json()
    assert set(body) == {"url", "expires_at", "stripe_account"}
    account_id = body["stripe_account"]
    assert account_id.startswith("acct_")
    assert body["url"].startswith("http")
    assert body["expires_at"].endswith("Z")
    assert list(stripe_server.accounts) == [account_id]
    account = stripe_server.accounts[account_id]
    assert account["type"] == "express"
    assert account["metadata"] == {"talent": str(world.talent_a.pk)}
    assert account["email"] == world.talent_a.user.email
    assert account["country"] == world.talent_a.country
    talent = Talent.objects.get(pk=world.talent_a.pk)
    assert talent.stripe_account_id == account_id
    assert not talent.payouts_enabled
    (link,) = stripe_server.requests_to("POST", "/v1/account_links")
    assert link.params["account"] == account_id
    assert link.params["type"] == "account_onboarding"
    assert urlsplit(link.params["refresh_url"]).path == REFRESH
    assert urlsplit(link.params["return_url"]).path == RETURN

    second = client.post(LINK)

    assert second.status_code == 200, second.content
    assert second.json()["stripe_account"] == account_id
    assert second.json()["url"] != body["url"]  # a new single-use link
    assert list(stripe_server.accounts) == [account_id]
    assert len(stripe_server.requests_to("POST", "/v1/accounts")) == 1
    assert len(stripe_server.requests_to("POST", "/v1/account_links")) == 2


def test_agency_member_gets_a_link_for_its_agency(world, stripe_server, stripe_settings):
    agency = agency_of(world.agency_user)

    response = user_client(world.agency_user).post(f"{LINK}?agency={agency.pk}")

    assert response.status_code == 200, response.content
    account_id = response.json()["stripe_account"]
    account = stripe_server.accounts[account_id]
    assert account["metadata"] == {"agency": str(agency.pk)}
    assert account["email"] == world.agency_user.email  # the agency's admin
    assert account["country"] == agency.country
    assert Agency.objects.get(pk=agency.pk).stripe_account_id == account_id
    (link,) = stripe_server.requests_to("POST", "/v1/account_links")
    for name, path in (("refresh_url", REFRESH), ("return_url", RETURN)):
        url = urlsplit(link.params[name])
        assert url.path == path
        assert parse_qs(url.query) == {"agency": [str(agency.pk)]}


def test_another_agency_is_not_found(world, stripe_server, stripe_settings):
    other = agency_of(world.other_agency_user)

    response = user_client(world.agency_user).post(f"{LINK}?agency={other.pk}")

    assert_error(response, 404, "not_found", "agency")
    assert stripe_server.accounts == {}


def test_agency_member_without_talent_must_name_the_agency(world, stripe_settings):
    response = user_client(world.agency_user).post(LINK)

    assert_error(response, 400, "required", "agency")


def test_brands_and_api_keys_are_refused(world, stripe_server, stripe_settings):
    assert_error(user_client(world.brand_a_user).post(LINK), 403, "payee_only")
    assert_error(key_client(world.raw_a).post(LINK), 403, "payee_only")
    assert_error(user_client(world.brand_a_user).get(RETURN), 403, "payee_only")
    assert stripe_server.accounts == {}


def test_stripe_not_configured(world, settings):
    settings.STRIPE_SECRET_KEY = ""

    response = user_client(world.talent_a.user).post(LINK)

    assert_error(response, 503, "stripe_not_configured")
    assert Talent.objects.get(pk=world.talent_a.pk).stripe_account_id == ""


def test_stripe_unavailable(world, stripe_server, stripe_settings):
    stripe_server.fail_next(status=500, path_prefix="/v1/accounts", method="POST")

    response = user_client(world.talent_a.user).post(LINK)

    assert_error(response, 503, "stripe_unavailable")
    assert Talent.objects.get(pk=world.talent_a.pk).stripe_account_id == ""


def test_return_reads_and_stores_payouts_enabled(world, stripe_server, stripe_settings):
    client = user_client(world.talent_a.user)
    account_id = client.post(LINK).json()["stripe_account"]

    before = client.get(RETURN)
    assert before.status_code == 200, before.content
    assert before.json() == {"stripe_account": account_id, "payouts_enabled": False}

    stripe_server.set_account(account_id, payouts_enabled=True, charges_enabled=True)
    after = client.get(RETURN)

    assert after.status_code == 200, after.content
    assert after.json() == {"stripe_account": account_id, "payouts_enabled": True}
    talent = Talent.objects.get(pk=world.talent_a.pk)
    assert talent.payouts_enabled
    assert talent.can_receive_payouts


def test_return_without_an_account(world, stripe_server, stripe_settings):
    response = user_client(world.talent_b.user).get(RETURN)

    assert response.status_code == 200, response.content
    assert response.json() == {"stripe_account": None, "payouts_enabled": False}
    assert stripe_server.requests == []


def test_refresh_redirects_to_a_new_link(world, stripe_server, stripe_settings):
    agency = agency_of(world.agency_user)
    client = user_client(world.agency_user)
    first = client.post(f"{LINK}?agency={agency.pk}").json()

    response = client.get(f"{REFRESH}?agency={agency.pk}")

    assert response.status_code == 302
    assert response["Location"] != first["url"]
    links = stripe_server.requests_to("POST", "/v1/account_links")
    assert len(links) == 2
    assert {link.params["account"] for link in links} == {first["stripe_account"]}
    assert len(stripe_server.accounts) == 1


def test_a_concurrent_first_request_keeps_the_stored_account(world, stripe_server):
    """Two first requests: the one that stores its account id first wins; the other's
    conditional update changes nothing and it uses the stored id (its own account is orphaned,
    as long as account_create takes no idempotency key)."""
    gw = StripeGateway(api_key="sk_test_123", api_base=stripe_server.url)
    stale = Talent.objects.get(pk=world.talent_a.pk)  # read before the other request stored
    payout_account_link(
        talent=Talent.objects.get(pk=world.talent_a.pk),
        refresh_url="https://portal.test/refresh",
        return_url="https://portal.test/return",
        gateway=gw,
    )
    stored = Talent.objects.get(pk=world.talent_a.pk).stripe_account_id

    # The stale instance still says "no account"; the service re-reads before creating.
    payout_account_link(
        talent=stale,
        refresh_url="https://portal.test/refresh",
        return_url="https://portal.test/return",
        gateway=gw,
    )
    assert stale.stripe_account_id == stored
    assert len(stripe_server.accounts) == 1


def test_a_request_that_loses_the_race_uses_the_stored_account(world, stripe_server, caplog):
    """Another request stores its account while ours is being created in Stripe: the
    conditional update changes nothing, the stored id is used and ours is logged as orphaned
    (as long as account_create takes no idempotency key derived from the party)."""
    talent = Talent.objects.get(pk=world.talent_a.pk)

    class Racing(StripeGateway):
        def account_create(self, **kwargs):
            account = super().account_create(**kwargs)
            other = super().account_create(**kwargs)  # the other request's, stored first
            Talent.objects.filter(pk=talent.pk).update(stripe_account_id=other.id)
            self.ours, self.theirs = account.id, other.id
            return account

    gw = Racing(api_key="sk_test_123", api_base=stripe_server.url)

    payout_account_link(
        talent=talent,
        refresh_url="https://portal.test/refresh",
        return_url="https://portal.test/return",
        gateway=gw,
    )

    assert talent.stripe_account_id == gw.theirs
    assert Talent.objects.get(pk=talent.pk).stripe_account_id == gw.theirs
    (link,) = stripe_server.requests_to("POST", "/v1/account_links")
    assert link.params["account"] == gw.theirs
    assert f"Orphaned Stripe connected account {gw.ours}" in caplog.text
