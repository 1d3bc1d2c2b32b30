"""A small stateful Stripe-compatible HTTP server for the test suite (standard library only).

The real stripe-python client talks to it over HTTP on 127.0.0.1; see `server.py` for the API
it implements and the control methods tests call directly, and `fixture.py` for the pytest
fixtures (`stripe_server`, `stripe_client`).
"""

from tests.stripe_fake.server import Delivery, RecordedRequest, StripeFakeServer

__all__ = ["Delivery", "RecordedRequest", "StripeFakeServer"]
