"""pytest fixtures for the fake Stripe server.

``stripe_server``: the running ``StripeFakeServer`` (one per session, reset before each test).
``stripe_client``: a real ``stripe.StripeClient`` pointed at it. ``make_stripe_client`` builds
others (another API key, a ``Stripe-Account``, a short timeout).

Stripe's fixture objects are read from ``../shared/stripe/fixtures3.json`` (beside the
repository, never copied into it); where that folder is absent the tests that need the
server are skipped with a reason saying so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.stripe_fake.server import StripeFakeServer

FIXTURES_PATH = Path(__file__).resolve().parents[3] / "shared" / "stripe" / "fixtures3.json"


def load_stripe_fixtures(path: Path | None = None) -> dict[str, Any]:
    """Stripe's fixture objects, or skip the calling test when ../shared/stripe is absent."""
    path = path or FIXTURES_PATH
    if not path.is_file():
        pytest.skip(
            f"Stripe fixture objects not found at {path} (the ../shared/stripe folder beside "
            "the repository is absent); the fake Stripe server shapes its objects from them"
        )
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
    server = StripeFakeServer(load_stripe_fixtures()).start()
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
