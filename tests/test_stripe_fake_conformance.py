"""Our fake Stripe server's objects against Stripe's own fixture objects.

The server shapes its objects from ``tests/stripe_fake/shapes.py``; this is the one test that
reads Stripe's ``fixtures3.json`` (from ``../shared/stripe/``, never copied into the repository)
and it skips, saying so, where that file is absent.
"""

from __future__ import annotations

from typing import Any

from tests.stripe_fake.fixture import load_stripe_fixtures
from tests.stripe_fake.shapes import SHAPES
from tests.test_stripe_fake import one_of_each

# Nested objects the server fills in or our gateway reads: their keys must be Stripe's too.
NESTED = {
    "account": ["requirements", "future_requirements", "tos_acceptance", "external_accounts"],
    "transfer": ["reversals"],
    "payout": ["trace_id"],
    "customer": ["invoice_settings"],
    "invoiceitem": ["period", "pricing"],
    "invoice": ["lines", "status_transitions", "automatic_tax", "payment_settings"],
    "line_item": ["period", "pricing", "parent"],
    "event": ["data", "request"],
}


def _kind(value: Any) -> str:
    # bool before int: True is an int to isinstance, but a different JSON type.
    for name, types in (("bool", bool), ("int", int), ("str", str), ("dict", dict), ("list", list)):
        if isinstance(value, types):
            return name
    return type(value).__name__


def _differences(resource: str, ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    found = []
    if missing := sorted(set(theirs) - set(ours)):
        found.append(f"{resource} lacks Stripe's keys {missing}")
    for key in sorted(set(theirs) & set(ours)):
        if ours[key] is None or theirs[key] is None:
            continue  # nullable: either side may be the null of an optional field
        if _kind(ours[key]) != _kind(theirs[key]):
            found.append(
                f"{resource}.{key} is {_kind(ours[key])}, Stripe's is {_kind(theirs[key])}"
            )
    for key in NESTED.get(resource, []):
        if not (isinstance(ours.get(key), dict) and isinstance(theirs.get(key), dict)):
            continue
        if missing := sorted(set(theirs[key]) - set(ours[key])):
            found.append(f"{resource}.{key} lacks Stripe's keys {missing}")
    return found


def test_the_servers_objects_have_stripes_keys_and_types(stripe_client, stripe_server):
    stripe = load_stripe_fixtures()
    theirs = stripe.get("resources", stripe)
    returned = one_of_each(stripe_client, stripe_server)
    returned["line_item"] = returned["invoice"]["lines"]["data"][0]

    problems = []
    for resource, body in returned.items():
        problems += _differences(resource, body, theirs[resource])
        # The templates themselves, so a key the server happens to add does not hide one
        # missing from shapes.py (a key Stripe does not have is a typo of ours).
        problems += _differences(f"shapes.{resource}", SHAPES[resource], theirs[resource])
        if extra := sorted(set(SHAPES[resource]) - set(theirs[resource])):
            problems.append(f"shapes.{resource} has keys Stripe's object lacks: {extra}")
    assert not problems, "\n".join(problems)
