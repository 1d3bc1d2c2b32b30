"""pytest fixtures for the fake Stripe server.

``stripe_server``: the running ``StripeFakeServer`` (one per session, reset before each test).
``stripe_client``: a real ``stripe.StripeClient`` pointed at it. ``make_stripe_client`` builds
others (another API key, a ``Stripe-Account``, a short timeout).

The server shapes its objects from our own templates (``shapes.py``), so every test that uses
it runs on any clone. Only the conformance test reads Stripe's fixture objects from
``../shared/stripe/fixtures3.json`` (beside the repository, never copied into it;
``load_stripe_fixtures``) and skips, saying so, where that file is absent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.stripe_fake.server import StripeFakeServer

FIXTURES_PATH = Path(__file__).resolve().parents[3] / "shared" / "stripe" / "fixtures3.json"
# The start of the skip reason; tests/conftest.py's closing summary groups skips by it.
FIXTURES_SKIP_REASON = "Stripe fixture objects for the conformance check not found"


def load_stripe_fixtures(path: Path | None = None) -> dict[str, Any]:
    """Stripe's fixture objects, or skip the calling test when ../shared/stripe is absent."""
    path = path or FIXTURES_PATH
    if not path.is_file():
        pytest.skip(f"{FIXTURES_SKIP_REASON}: {path} absent")
    return json.loads(path.read_text())


def make_stripe_client(
    server: StripeFakeServer,
    *,
    api_key: str = "sk_test_123",
    stripe_account: str | None = None,
    timeout: float = 5.0,
    max_network_retries: int = 0,
):
    """A real stripe-python client talking to ``server`` over HTTP (requests, ``timeout`` s)."""
    import stripe

    return stripe.StripeClient(
        api_key,
        stripe_account=stripe_account,
        base_addresses={"api": server.url, "connect": server.url, "files": server.url},
        max_network_retries=max_network_retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


@pytest.fixture(scope="session")
def stripe_fake_session() -> Iterator[StripeFakeServer]:
    server = StripeFakeServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stripe_server(stripe_fake_session: StripeFakeServer) -> Iterator[StripeFakeServer]:
    stripe_fake_session.reset()
    yield stripe_fake_session
    stripe_fake_session.reset()


@pytest.fixture
def stripe_client(stripe_server: StripeFakeServer):
    return make_stripe_client(stripe_server)
