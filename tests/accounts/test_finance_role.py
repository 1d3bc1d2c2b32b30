"""Finance users see every party and journal record in the admin, and change only party settings."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Talent
from tests.factories import TalentFactory, UserFactory
from tests.ledger.helpers import accounts_for, post_use
from tests.logins import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance_client(client):
    return login(client, UserFactory(is_finance=True, is_staff=True))


def test_finance_sees_parties_and_the_journal_in_the_admin(finance_client):
    tx = post_use("use", accounts_for()).transaction
    assert finance_client.get(reverse("admin:index")).status_code == 200
    for name in ["accounts_talent", "accounts_brand", "ledger_journaltransaction"]:
        assert finance_client.get(reverse(f"admin:{name}_changelist")).status_code == 200
    page = finance_client.get(reverse("admin:ledger_journaltransaction_change", args=[tx.pk]))
    assert page.status_code == 200


def test_finance_can_set_a_talents_withholding_rate(finance_client):
    talent = TalentFactory()
    url = reverse("admin:accounts_talent_change", args=[talent.pk])
    page = finance_client.get(url)
    assert page.status_code == 200
    assert b'name="withholding_pct"' in page.content


def test_finance_cannot_manage_users_or_delete_parties(finance_client):
    talent = TalentFactory()
    assert finance_client.get(reverse("admin:accounts_user_add")).status_code == 403
    delete = reverse("admin:accounts_talent_delete", args=[talent.pk])
    assert finance_client.post(delete, {"post": "yes"}).status_code == 403
    assert Talent.objects.filter(pk=talent.pk).exists()


def test_a_staff_user_without_the_finance_role_sees_nothing(client):
    login(client, UserFactory(is_staff=True))  # second factor passed: still no permissions
    assert client.get(reverse("admin:accounts_talent_changelist")).status_code == 403
