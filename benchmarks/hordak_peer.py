"""The django-hordak peer: the same two-legged transfers, one database transaction each.

Run by benchmarks.run in a subprocess (so hordak's Django setup never meets ours):

    DJANGO_SETTINGS_MODULE=benchmarks.hordak_settings python -m benchmarks.hordak_peer --events N

It creates its own scratch database (hordak's migrations, with its PostgreSQL triggers that check
each transaction sums to zero), makes a receivable (asset) and a payable (liability) account,
and posts N transfers the way an app would: `Account.transfer_to` inside `transaction.atomic()`,
one use per database transaction. It prints one JSON line on stdout and drops the database.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.hordak_settings")

import django


def post_transfers(n: int, *, offset: int = 0) -> float:
    """Seconds taken by n transfers of a rated use (40.00 EUR) from payable to receivable."""
    from django.db import transaction
    from djmoney.money import Money
    from hordak.models import Account, AccountType

    receivable, _ = Account.objects.get_or_create(
        code="1",
        defaults={"name": "Brand receivable", "type": AccountType.asset, "currencies": ["EUR"]},
    )
    payable, _ = Account.objects.get_or_create(
        code="2",
        defaults={"name": "Talent payable", "type": AccountType.liability, "currencies": ["EUR"]},
    )
    amount = Money("40.00", "EUR")
    started = time.perf_counter()
    for i in range(offset, offset + n):
        with transaction.atomic():
            payable.transfer_to(receivable, amount, description=f"use bench-{i}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args(argv)

    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases
    from hordak.models import Leg, Transaction

    config = setup_databases(verbosity=0, interactive=False, keepdb=False)
    try:
        post_transfers(args.warmup)
        seconds = post_transfers(args.events, offset=args.warmup)
        assert Transaction.objects.count() == args.warmup + args.events
        assert Leg.objects.count() == 2 * (args.warmup + args.events)
        from importlib.metadata import version

        result = {
            "bench": "hordak_peer",
            "events": args.events,
            "events_per_s": round(args.events / seconds),
            "legs_per_event": 2,
            "hordak": version("django-hordak"),
            "seconds": round(seconds, 2),
        }
    finally:
        connection.close()
        teardown_databases(config, verbosity=0)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
