"""The Django admin needs a verified second factor for every staff user, superusers included."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import BrandAPIKey
from tests.factories import BrandFactory, UserFactory
from tests.logins import login, password_only_login, totp_device
from tests.portal.conftest import PASSWORD

pytestmark = pytest.mark.django_db

OTP_URL = reverse("portal:otp")


def _admin_urls() -> list[str]:
    """The index, every app's index, and every registered model's list and add pages."""
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse("admin:app_list", args=[meta.app_label]))
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
    return sorted(set(urls))


@pytest.mark.parametrize(
    "flags",
    [{"is_superuser": True, "is_staff": True}, {"is_finance": True, "is_staff": True}],
    ids=["superuser", "finance staff"],
)
def test_every_admin_page_sends_a_password_only_staff_user_to_the_second_factor(client, flags):
    password_only_login(client, UserFactory(**flags))
    urls = _admin_urls()
    assert len(urls) > 20
    for url in urls:
        response = client.get(url, follow=True)
        landed = response.redirect_chain[-1][0] if response.redirect_chain else url
        assert landed.startswith(OTP_URL), (url, response.status_code, landed)


def test_a_password_only_superuser_cannot_create_an_api_key(client):
    brand = BrandFactory()
    password_only_login(client, UserFactory(is_superuser=True, is_staff=True))
    response = client.post(
        reverse("admin:accounts_brandapikey_add"), {"name": "sneaky", "brand": brand.pk}
    )
    assert response.status_code == 302
    assert not BrandAPIKey.objects.exists()


def test_a_verified_superuser_uses_the_admin(client):
    login(client, UserFactory(is_superuser=True, is_staff=True))
    for url in _admin_urls():
        # Journal rows are view-only for everyone: their add pages are a 403, never the login.
        expected = (200, 403) if url.endswith("/add/") else (200,)
        assert client.get(url).status_code in expected, url
    brand = BrandFactory()
    client.post(reverse("admin:accounts_brandapikey_add"), {"name": "ci", "brand": brand.pk})
    assert BrandAPIKey.objects.filter(name="ci", brand=brand).exists()


def test_a_superuser_enrols_from_the_admin_login_with_the_demo_code(client, settings):
    """What the demo admin does on `make run`: password at /admin/, then the second-factor page
    (an authenticator app's QR code the first time; the demo page also shows the current code)."""
    settings.PORTAL_DEMO_HINTS = True
    boss = UserFactory(is_superuser=True, is_staff=True, password=PASSWORD)
    client.post(
        reverse("admin:login"), {"username": boss.email, "password": PASSWORD, "next": "/admin/"}
    )
    page = client.get(reverse("admin:index"), follow=True)
    otp_page = page.redirect_chain[-1][0]
    assert otp_page.startswith(OTP_URL)
    html = page.content.decode()
    assert "<svg" in html  # enrolment: the QR code of a new device
    code = re.search(r'data-testid="demo-code">(\d{6})<', html).group(1)
    done = client.post(otp_page, {"token": code}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("admin:index")
    assert done.status_code == 200
    assert totp_device(boss).confirmed
    assert b"Site administration" in client.get(reverse("admin:index")).content


def test_an_account_that_needs_no_second_factor_is_not_asked_for_one(client):
    """A plain user is not sent to the second factor by the portal (they have nothing to guard),
    and the code page lets them through without enrolling a device."""
    user = UserFactory(password=PASSWORD)
    password_only_login(client, user)
    response = client.get(OTP_URL)
    assert response.status_code == 302
    assert not user.totpdevice_set.exists()
