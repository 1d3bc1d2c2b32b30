"""Login by email, failed-login lockout, finance's second factor, landing per role."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from tests.factories import BrandFactory, TalentFactory, UserFactory
from tests.logins import current_code, login, totp_device
from tests.portal.conftest import PASSWORD, browser_login, shot

pytestmark = pytest.mark.django_db


def _user(**flags) -> User:
    user = UserFactory(**flags)
    user.set_password(PASSWORD)
    user.save()
    return user


def _post_login(client, email: str, password: str):
    return client.post(reverse("portal:login"), {"username": email, "password": password})


def test_anonymous_pages_send_to_login(client):
    response = client.get(reverse("talent:dashboard"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("portal:login"))
    assert client.get("/").url == reverse("portal:login")


def test_talent_logs_in_by_email_in_any_case_and_lands_on_dashboard(client):
    talent = TalentFactory()
    talent.user.set_password(PASSWORD)
    talent.user.save()
    response = _post_login(client, talent.user.email.upper(), PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("talent:dashboard")


def test_wrong_password_is_refused_with_the_form_again(client):
    user = _user()
    response = _post_login(client, user.email, "wrong")
    assert response.status_code == 200
    assert b"Please enter a correct" in response.content
    assert "_auth_user_id" not in client.session


def test_five_failures_lock_the_email_out_even_with_the_right_password(client):
    user = _user()
    for _ in range(5):
        _post_login(client, user.email, "wrong")
    response = _post_login(client, user.email, PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session
    # Another account from the same address is not locked by someone else's failures.
    other = _user()
    assert _post_login(client, other.email, PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "variant", ["KOFI@TwinLedger.test", "Kofi@twinledger.test ", "  kofi@twinledger.TEST\t"]
)
def test_a_locked_email_stays_locked_in_any_case_or_spacing(client, variant):
    kofi = _user(email="kofi@twinledger.test")
    for _ in range(5):
        _post_login(client, kofi.email, "wrong")
    response = _post_login(client, variant, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_failures_in_different_spellings_count_for_one_email(client):
    kofi = _user(email="kofi@twinledger.test")
    for spelling in ["kofi@twinledger.test", "KOFI@twinledger.test", "kofi@twinledger.test "] * 2:
        if _post_login(client, spelling, "wrong").status_code == 429:
            break
    assert _post_login(client, kofi.email, PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_admin_login_shares_the_lockout_of_the_normalised_email(client):
    boss = _user(email="boss@twinledger.test", is_staff=True, is_superuser=True)
    for spelling in ["BOSS@twinledger.test", "boss@twinledger.test ", "Boss@TwinLedger.test"]:
        _post_login(client, spelling, "wrong")
    for spelling in ["boss@twinledger.test", " BOSS@twinledger.test"]:
        client.post(reverse("admin:login"), {"username": spelling, "password": "wrong"})
    response = client.post(
        reverse("admin:login"), {"username": "BOSS@TWINLEDGER.TEST ", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert _post_login(client, boss.email, PASSWORD).status_code == 429


def test_a_success_resets_the_failure_count(client):
    user = _user()
    for _ in range(4):
        _post_login(client, user.email, "wrong")
    assert _post_login(client, user.email, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _post_login(client, user.email, "wrong")
    assert _post_login(client, user.email, PASSWORD).status_code == 302


def test_finance_must_enrol_a_second_factor_before_any_page(client):
    finance = _user(is_finance=True, is_staff=True)
    assert _post_login(client, finance.email, PASSWORD).status_code == 302
    for url in (reverse("finance:dashboard"), reverse("admin:index")):
        response = client.get(url, follow=True)
        assert response.redirect_chain[-1][0].startswith(reverse("portal:otp"))
    page = client.get(reverse("portal:otp"))
    assert b"<svg" in page.content  # the enrolment QR code
    device = TOTPDevice.objects.get(user=finance)
    assert not device.confirmed

    wrong = client.post(reverse("portal:otp"), {"token": "000000"})
    assert wrong.status_code == 400
    assert client.get(reverse("finance:dashboard")).status_code == 302
    # django-otp throttles a device after a failure: 1 s before the next code is even checked.
    throttled = client.post(reverse("portal:otp"), {"token": current_code(device)})
    assert throttled.status_code == 400
    time.sleep(1.1)

    response = client.post(reverse("portal:otp"), {"token": current_code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("finance:dashboard")).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200


def test_finance_with_a_device_gets_no_new_qr_code(client):
    finance = _user(is_finance=True)
    device = totp_device(finance)
    client.force_login(finance)
    page = client.get(reverse("portal:otp"))
    assert b"<svg" not in page.content
    assert TOTPDevice.objects.filter(user=finance).count() == 1
    client.post(reverse("portal:otp"), {"token": current_code(device)})
    assert client.get(reverse("finance:dashboard")).status_code == 200


def test_second_factor_ignores_an_offsite_next(client):
    finance = _user(is_finance=True)
    device = totp_device(finance)
    client.force_login(finance)
    response = client.post(
        reverse("portal:otp"), {"token": current_code(device), "next": "https://evil.test/"}
    )
    assert response.status_code == 302
    assert "evil" not in response.url


@pytest.mark.parametrize(
    "page_name", ["talent:dashboard", "agency:dashboard", "brand:dashboard", "finance:dashboard"]
)
def test_a_page_of_another_role_is_forbidden(client, page_name):
    brand = BrandFactory()
    user = _user()
    brand.members.add(user)
    if page_name == "talent:dashboard":
        login(client, TalentFactory().user)
        assert client.get(reverse("brand:dashboard")).status_code == 403
        return
    login(client, user)
    expected = 200 if page_name == "brand:dashboard" else 403
    assert client.get(reverse(page_name)).status_code == expected


def test_a_person_with_two_roles_chooses_where_to_go(client):
    talent = TalentFactory()
    BrandFactory().members.add(talent.user)
    login(client, talent.user)
    page = client.get("/")
    assert page.status_code == 200
    assert reverse("talent:dashboard").encode() in page.content
    assert reverse("brand:dashboard").encode() in page.content


def test_login_page_lists_demo_logins_only_with_demo_hints(client, settings):
    settings.PORTAL_DEMO_HINTS = False
    assert b"Demo logins" not in client.get(reverse("portal:login")).content
    settings.PORTAL_DEMO_HINTS = True
    assert b"finance@twinledger.test" in client.get(reverse("portal:login")).content


def test_browser_login_and_finance_second_factor(page):
    finance = _user(is_finance=True, full_name="Fiona Finance")
    totp_device(finance)
    page.goto("/")
    assert page.get_by_role("heading", name="Log in").is_visible()
    shot(page, "login")
    browser_login(page, finance)
    assert page.url.endswith(reverse("finance:dashboard"))
    assert page.get_by_text("Fiona Finance").is_visible()
