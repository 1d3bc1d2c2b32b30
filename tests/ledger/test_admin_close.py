"""Close runs, statements, invoices and charges show in the admin, read-only, for finance."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.models import Talent
from ledger.models import Charge, CloseRun, Invoice, Payout, Statement
from ledger.periods import Period
from ledger.services.closing import period_close_execute, period_close_request
from tests.factories import UserFactory
from tests.ledger.scenario import scenario
from tests.logins import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed():
    s = scenario(agency=True, rates={"flat_fee_minor": 10_000})
    Talent.objects.filter(pk=s.talent.pk).update(stripe_account_id="acct_1", payouts_enabled=True)
    assert s.use("generation", quantity=2).status == "accepted"
    now = datetime(2026, 4, 10, tzinfo=UTC)
    run = period_close_request(period=Period.parse("2026-03"), now=now)
    period_close_execute(run_id=run.pk, now=now)


@pytest.mark.usefixtures("closed")
@pytest.mark.parametrize("model", [CloseRun, Statement, Invoice, Charge, Payout])
def test_finance_sees_close_records_read_only(client, model):
    login(client, UserFactory(is_finance=True, is_staff=True))
    meta = model._meta
    changelist = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    assert changelist.status_code == 200
    obj = model.objects.first()
    assert obj is not None
    change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {}).status_code == 403
    add = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
    assert client.get(add).status_code == 403
