"""Fixtures for the licensing and usage service tests (builders in tests/ledger/scenario.py)."""

from __future__ import annotations

import pytest

from tests.ledger.scenario import Scenario, scenario


@pytest.fixture
def solo(db) -> Scenario:
    """An independent talent's twin, licensed to one brand (EUR, SPEC tiers, 10% platform fee)."""
    return scenario()


@pytest.fixture
def represented(db) -> Scenario:
    """The same with the talent represented by an agency (20% commission)."""
    return scenario(agency=True)
