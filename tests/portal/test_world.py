"""The portal tests' shared world is what its docstring says (so page tests can rely on it)."""

from __future__ import annotations

import pytest

from ledger.models import Invoice, RefusedAttempt, Statement, UsageEvent
from tests.portal.world import build_world

pytestmark = pytest.mark.django_db


def test_world_has_a_closed_previous_month_and_live_uses_this_month():
    world = build_world()
    previous = Statement.objects.filter(period_start=world.previous.start)
    assert {s.talent_id for s in previous if s.talent_id} == {world.ana.pk, world.ben.pk}
    assert previous.filter(agency=world.agency).exists()
    assert Invoice.objects.filter(period_start=world.previous.start).count() == 2
    this_month = UsageEvent.objects.filter(occurred_at__gte=world.current.start_at)
    assert this_month.filter(license=world.atelier_ana).count() == 5
    assert RefusedAttempt.objects.filter(code="territory_not_licensed").count() == 1
    assert world.bolt_ana_pending.status == "pending"
