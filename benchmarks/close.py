"""The period close over a month of usage: wall time, the worker's peak RSS, and a bare aggregate.

Run by benchmarks.run (BENCH_ONLY=close), one subprocess per size, each with its own scratch
database (`<TEST_DATABASE_NAME>_close`, created and dropped here):

    python -m benchmarks.close                 every size of BENCH_CLOSE_SIZES, one line each
    python -m benchmarks.close --uses 100000   one size

For each size it seeds, fast and mostly in SQL:
  - 2,000 talents (one in four represented by one of 20 agencies), 200 brands, a twin per talent,
    1.5 licenses per talent (EUR, activated: version + activation + active_version), rated
    per asset (tiers) or per thousand impressions, with agency commission and platform fee;
    one asset per license, reused by its uses; a ledger account per party and the platform's;
  - N uses in March 2026, 100,000 per database transaction: the journal transactions, then ALL
    their postings in ONE INSERT (brand debit gross; talent, agency when represented, platform
    credited their shares), then the usage events. The journal triggers stay on: the statement
    trigger checks each batch's postings, the deferred one each transaction's balance at commit.
then VACUUM (ANALYZE), as autovacuum would have by the time a month closes.

The coverage tables are left as migrated (empty, never analyzed), as before a first fold.

Then, in this order:
  - bare_groupby_seconds: the same postings summed per account in plain SQL (one warm-up, the
    median of 3), before the close, so no coverage exists yet; again after it
    (bare_groupby_after_seconds). bare_lines_seconds, a reference only: the same postings
    grouped like the documents' lines (license, use kind, channel: a join to the usage events);
  - unfolded_seconds: the close on a copy of the seeded database (CREATE DATABASE ... TEMPLATE)
    where nothing was folded before it, so the close folds the whole month itself; its peak
    RSS and phases as below (unfolded_*); the copy is dropped;
  - fold_seconds: the schedule's fold (`coverage_fold_due`, every few minutes in production:
    the month's 1M uses over about 8,600 runs) of the whole month in one go, in a worker
    subprocess, with its peak RSS;
  - seconds: `period_close_request` + `period_close_execute` for 2026-03 (now = 2026-04-10)
    after that fold — a month close as production runs it — in a
    fresh subprocess with the benchmark app settings, so peak_rss_mb is the close worker's own
    (VmHWM; ru_maxrss_mb is also given, but it includes the peak of the process that started
    the worker, see _peak_rss_mb); rss_before_close_mb is the worker's peak just before the
    close began (Django set up, the close's modules imported). phase_seconds splits the time
    between the close's steps, wrapped in the worker (the close code is not edited): cover,
    invoices and statements (with lines and save inside the last two) are summed over
    the worker's connections; cover_wall, invoices_wall and statements_wall are each chunked
    phase's wall time, commits included;
  - checks (stderr, and an AssertionError when wrong): one statement per talent and agency with
    postings, one invoice per brand, one coverage row per journal transaction, and each
    document's earnings equal to the bare aggregate of its account.

Knobs: BENCH_CLOSE_SIZES ("100000,1000000"; else BENCH_CLOSE_USES, a single size),
BENCH_CLOSE_TALENTS (2000), BENCH_CLOSE_BRANDS (200), BENCH_CLOSE_AGENCIES (20),
BENCH_CLOSE_BATCH (100000), BENCH_CLOSE_EXPLAIN=1 (the worker prints EXPLAIN (ANALYZE, BUFFERS)
of the first lines query of each phase, run in the close's own transaction; the lines query then
runs twice for that chunk, so the time is a little longer).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

PERIOD_START = date(2026, 3, 1)
PERIOD_START_AT = datetime(2026, 3, 1, tzinfo=UTC)
PERIOD_END_AT = datetime(2026, 4, 1, tzinfo=UTC)
CLOSE_NOW = datetime(2026, 4, 10, tzinfo=UTC)
PAYEE_AND_BRAND_KINDS = ("talent_payable", "agency_payable", "brand_receivable")

PER_ASSET = {
    "per_asset": {
        "tiers": [{"up_to": 100, "unit_minor": 4000}, {"up_to": None, "unit_minor": 3000}]
    }
}
CPM = {"cpm": {"social": 350, "ecommerce": 500}}


def _sizes() -> list[int]:
    raw = os.environ.get("BENCH_CLOSE_SIZES") or os.environ.get("BENCH_CLOSE_USES")
    return [int(size) for size in (raw or "100000,1000000").split(",") if size.strip()]


def log(message: str) -> None:
    print(f"[bench] close: {message}", file=sys.stderr, flush=True)


def _peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM of its own memory map where /proc has it.

    ru_maxrss (RUSAGE_SELF) is the fallback only: Linux carries the parent's peak into a child
    across fork + exec, so a worker started by a bigger process reports the parent's peak.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return _ru_maxrss_mb()


def _ru_maxrss_mb() -> float:
    # Linux reports ru_maxrss in kilobytes.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# -- called by benchmarks.run -----------------------------------------------------------------


def bench_close(sizes: list[int] | None = None):
    """One JSON line per size, each measured in a subprocess with its own scratch database."""
    for uses in sizes or _sizes():
        log(f"{uses} uses, own database")
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.close", "--uses", str(uses)],
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "BENCH_CLOSE_DATABASE_NAME": _database_name(),
            },
            stdout=subprocess.PIPE,
            text=True,
            timeout=3600,
            check=True,
        )
        yield json.loads(done.stdout.strip().splitlines()[-1])


def _database_name() -> str:
    """Its own scratch database, next to the one benchmarks.run works on."""
    return os.environ.get("BENCH_CLOSE_DATABASE_NAME") or (
        os.environ.get("TEST_DATABASE_NAME", "twinledger_bench") + "_close"
    )


# -- seeding ------------------------------------------------------------------------------------


def seed_parties(*, talents: int, brands: int, agencies: int) -> dict:
    """Parties, twins, activated licenses, one asset per license, ledger accounts (ORM, bulk)."""
    from accounts.models import Agency, Brand, Talent, User
    from ledger.models import (
        Asset,
        LedgerAccount,
        License,
        LicenseActivation,
        LicenseVersion,
        Twin,
    )

    Kind = LedgerAccount.Kind
    created = datetime(2025, 12, 1, tzinfo=UTC)
    agency_rows = Agency.objects.bulk_create(
        Agency(
            name=f"Bench Agency {i}",
            country="FR",
            default_commission_pct=Decimal(15),
            stripe_account_id=f"acct_agency{i}",
            payouts_enabled=True,
            created_at=created,
        )
        for i in range(agencies)
    )
    users = User.objects.bulk_create(
        User(email=f"talent{i}@bench.example", password="!", date_joined=created)
        for i in range(talents)
    )
    talent_rows = Talent.objects.bulk_create(
        Talent(
            user=user,
            legal_name=f"Bench Talent {i}",
            country="FR",
            default_currency="EUR",
            # One in four represented, spread over the agencies.
            agency=agency_rows[(i // 4) % agencies] if agencies and i % 4 == 0 else None,
            # Half can be paid out; the others carry forward ("no payout account yet").
            stripe_account_id=f"acct_talent{i}" if i % 2 == 0 else "",
            payouts_enabled=i % 2 == 0,
            created_at=created,
        )
        for i, user in enumerate(users)
    )
    brand_rows = Brand.objects.bulk_create(
        Brand(
            name=f"Bench Brand {i}",
            legal_name=f"Bench Brand {i} SAS",
            billing_email=f"billing{i}@bench.example",
            country="FR",
            currency="EUR",
            tax_rate_pct=Decimal(20),
            created_at=created,
        )
        for i in range(brands)
    )
    twins = Twin.objects.bulk_create(
        Twin(talent=talent, name=f"Twin {i}", created_at=created)
        for i, talent in enumerate(talent_rows)
    )
    # 1.5 licenses per talent: every twin one, every other twin a second with another brand.
    pairs = [(i, i % brands) for i in range(talents)]
    pairs += [(i, (i + 37) % brands) for i in range(0, talents, 2)]
    licenses = License.objects.bulk_create(
        License(
            brand=brand_rows[b], twin=twins[t], currency="EUR", status="active", created_at=created
        )
        for t, b in pairs
    )
    versions = LicenseVersion.objects.bulk_create(
        LicenseVersion(
            license=license,
            version=1,
            use_kinds=["generation", "impressions"],
            channels=["social", "ecommerce"],
            territories=["WW"],
            brand_category="apparel",
            starts_at=datetime(2026, 1, 1, tzinfo=UTC),
            ends_at=datetime(2027, 1, 1, tzinfo=UTC),
            rates=CPM if n % 3 == 2 else PER_ASSET,
            agency=talent_rows[t].agency,
            agency_commission_pct=Decimal(15) if talent_rows[t].agency_id else Decimal(0),
            platform_fee_pct=Decimal((10, 15, 20)[n % 3]),
            proposed_at=created,
        )
        for n, (license, (t, _)) in enumerate(zip(licenses, pairs, strict=True))
    )
    LicenseActivation.objects.bulk_create(
        LicenseActivation(version=version, activated_at=created + timedelta(days=1))
        for version in versions
    )
    for license, version in zip(licenses, versions, strict=True):
        license.active_version = version
    License.objects.bulk_update(licenses, ["active_version"], batch_size=1000)
    assets = Asset.objects.bulk_create(
        Asset(
            brand_id=license.brand_id,
            license=license,
            twin_id=license.twin_id,
            asset_ref=f"bench-{license.pk}",
            generated_at=PERIOD_START_AT,
            approval="not_required",
        )
        for license in licenses
    )
    accounts = LedgerAccount.objects.bulk_create(
        [LedgerAccount(kind=Kind.BRAND_RECEIVABLE, currency="EUR", brand=b) for b in brand_rows]
        + [LedgerAccount(kind=Kind.TALENT_PAYABLE, currency="EUR", talent=t) for t in talent_rows]
        + [LedgerAccount(kind=Kind.AGENCY_PAYABLE, currency="EUR", agency=a) for a in agency_rows]
        + [LedgerAccount(kind=Kind.PLATFORM_REVENUE, currency="EUR")]
    )
    by_brand = {a.brand_id: a.pk for a in accounts if a.kind == Kind.BRAND_RECEIVABLE}
    by_talent = {a.talent_id: a.pk for a in accounts if a.kind == Kind.TALENT_PAYABLE}
    by_agency = {a.agency_id: a.pk for a in accounts if a.kind == Kind.AGENCY_PAYABLE}
    platform = next(a.pk for a in accounts if a.kind == Kind.PLATFORM_REVENUE)
    rows = []
    for idx, (license, version, asset, (t, _)) in enumerate(
        zip(licenses, versions, assets, pairs, strict=True)
    ):
        talent = talent_rows[t]
        cpm = "cpm" in version.rates
        rows.append(
            (
                idx,
                license.pk,
                version.pk,
                license.twin_id,
                license.brand_id,
                asset.pk,
                by_brand[license.brand_id],
                by_talent[talent.pk],
                by_agency.get(talent.agency_id),
                version.agency_commission_pct,
                version.platform_fee_pct,
                "impressions" if cpm else "generation",
                350 if cpm else 0,
                3000 if not cpm else 0,
            )
        )
    return {"licenses": rows, "platform": platform}


_LICENSE_TABLE = """
CREATE TEMP TABLE bench_license (
    idx int PRIMARY KEY, license_id bigint, version_id bigint, twin_id bigint, brand_id bigint,
    asset_id bigint, brand_account bigint, talent_account bigint, agency_account bigint,
    commission_pct numeric, fee_pct numeric, use_kind text, cpm bigint, unit_minor bigint
)
"""

# One row per use of the batch: its license (spread pseudo-randomly), time, quantity and split.
_BATCH = """
CREATE TEMP TABLE bench_use ON COMMIT DROP AS
SELECT s.*, s.gross - s.commission - s.fee AS talent_share
FROM (
    SELECT r.*, round(r.gross * r.commission_pct / 100)::bigint AS commission,
           round(r.gross * r.fee_pct / 100)::bigint AS fee
    FROM (
        SELECT %(first_id)s + g AS tx_id, g, l.*,
               %(start)s::timestamptz + g * %(step_us)s * interval '1 microsecond' AS occurred_at,
               CASE WHEN g %% 2 = 0 THEN 'social' ELSE 'ecommerce' END AS channel,
               q.quantity,
               CASE WHEN l.use_kind = 'impressions'
                    THEN round(q.quantity * l.cpm / 1000.0)::bigint
                    ELSE l.unit_minor END AS gross
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) AS g
        JOIN bench_license l ON l.idx = (g * 7919) %% %(licenses)s
        CROSS JOIN LATERAL (
            SELECT CASE WHEN l.use_kind = 'impressions' THEN 1000 + (g * 37) %% 49000 ELSE 1 END
                   AS quantity
        ) q
    ) r
) s
"""

_TRANSACTIONS = """
INSERT INTO ledger_journaltransaction
    (id, kind, source, idempotency_key, occurred_at, recorded_at, memo, reverses_id, content_hash)
SELECT tx_id, 'usage', 'bench', g::text, occurred_at, occurred_at + interval '1 minute',
       'bench use', NULL, md5(g::text) || md5(tx_id::text)
FROM bench_use
"""

# All the postings of the batch's transactions in one statement (the journal trigger's rule).
_POSTINGS = """
INSERT INTO ledger_posting (transaction_id, account_id, currency, amount_minor, occurred_at)
SELECT u.tx_id, leg.account, 'EUR', leg.amount, u.occurred_at
FROM bench_use u
CROSS JOIN LATERAL (VALUES (u.brand_account, u.gross),
                           (u.talent_account, -u.talent_share),
                           (u.agency_account, -u.commission),
                           (%(platform)s, -u.fee)) AS leg(account, amount)
WHERE leg.amount <> 0
ORDER BY u.tx_id
"""

_USES = """
INSERT INTO ledger_usageevent
    (brand_id, external_id, license_id, license_version_id, twin_id, asset_id, kind, channel,
     territory, occurred_at, recorded_at, quantity, sale_amount_minor, context_tags,
     content_credential, currency, gross_minor, rating, period_start, request_hash,
     transaction_id)
SELECT brand_id, 'use-' || g, license_id, version_id, twin_id, asset_id, use_kind, channel,
       'FR', occurred_at, occurred_at + interval '1 minute', quantity, NULL, '{}',
       '', 'EUR', gross, jsonb_build_object('kind', use_kind, 'gross_minor', gross),
       %(period)s, md5(g::text) || md5(tx_id::text), tx_id
FROM bench_use
"""


def seed_uses(*, uses: int, licenses: list[tuple], platform: int, batch: int) -> None:
    from django.db import connection, transaction

    step_us = (PERIOD_END_AT - PERIOD_START_AT) // timedelta(microseconds=1) // uses
    with connection.cursor() as cursor:
        cursor.execute(_LICENSE_TABLE)
        cursor.executemany(f"INSERT INTO bench_license VALUES ({', '.join(['%s'] * 14)})", licenses)
        # Reserve the transaction ids in one go: first_id + g for use g.
        cursor.execute(
            "SELECT setval(seq, nextval(seq) + %s - 1) - %s + 1"
            "  FROM pg_get_serial_sequence('ledger_journaltransaction', 'id') AS seq",
            [uses, uses],
        )
        (first_id,) = cursor.fetchone()
    for lo in range(0, uses, batch):
        hi = min(uses, lo + batch)
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                _BATCH,
                {
                    "first_id": first_id,
                    "start": PERIOD_START_AT,
                    "step_us": step_us,
                    "lo": lo,
                    "hi": hi,
                    "licenses": len(licenses),
                },
            )
            cursor.execute(_TRANSACTIONS)
            cursor.execute(_POSTINGS, {"platform": platform})
            cursor.execute(_USES, {"period": PERIOD_START})
        log(f"  uses {lo}..{hi}: {time.perf_counter() - started:.1f} s (with the commit checks)")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_license")
        for table in (
            "ledger_journaltransaction",
            "ledger_posting",
            "ledger_usageevent",
            "ledger_ledgeraccount",
            "ledger_license",
            "ledger_licenseversion",
            "ledger_asset",
        ):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


# -- measurements -----------------------------------------------------------------------------

_BARE = """
SELECT account_id, sum(amount_minor), count(*)
FROM ledger_posting
WHERE occurred_at < %(end)s AND account_id = ANY(%(accounts)s)
GROUP BY account_id
"""

# A reference, not a target: the same postings summed by the lines' grouping (license, use kind,
# channel), which needs each posting's use; no coverage, no other legs. The cast matters: Django
# binds a list of small ids as int2[], and with it the planner walks the (account, time) index
# over 2.3M postings (12 s at 1M uses) instead of a hash join on a scan (3 s).
_BARE_LINES = """
SELECT p.account_id, ue.license_id, ue.kind, ue.channel, count(*), sum(ue.quantity),
       sum(p.amount_minor), sum(ue.gross_minor)
FROM ledger_posting p
JOIN ledger_usageevent ue ON ue.transaction_id = p.transaction_id
WHERE p.occurred_at < %(end)s AND p.account_id = ANY(%(accounts)s::bigint[])
GROUP BY 1, 2, 3, 4
"""


def _accounts() -> list[int]:
    from ledger.models import LedgerAccount

    return list(
        LedgerAccount.objects.filter(kind__in=PAYEE_AND_BRAND_KINDS).values_list("pk", flat=True)
    )


def bare(sql: str) -> tuple[float, list[tuple]]:
    """Median seconds of 3 runs (after a warm-up) over the talent, agency and brand accounts."""
    from django.db import connection

    params = {"end": PERIOD_END_AT, "accounts": _accounts()}
    samples = []
    with connection.cursor() as cursor:
        for attempt in range(4):
            started = time.perf_counter()
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            if attempt:
                samples.append(time.perf_counter() - started)
    return statistics.median(samples), rows


def bare_groupby() -> tuple[float, dict[int, tuple[int, int]]]:
    """The bare aggregate's time and its sums per account: (amount, count)."""
    seconds, rows = bare(_BARE)
    return seconds, {account: (total, n) for account, total, n in rows}


def in_worker_subprocess(database: str, *, step: str = "--execute") -> dict:
    """The close (`--execute`), or the schedule's fold (`--fold`), in a fresh worker process
    with the benchmark app settings."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.close", step],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "BENCH_DATABASE_NAME": database,
        },
        stdout=subprocess.PIPE,
        text=True,
        timeout=3600,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _instrument(*, explain: bool) -> tuple[dict[str, float], dict[str, int]]:
    """Wrap the close's steps, in this worker only, to see where its time goes.

    With `explain`, the first lines query of each phase runs as EXPLAIN (ANALYZE, BUFFERS)
    inside the close's own transaction, so the plans are the ones the close gets (the query then
    runs a second time for its rows).
    """
    from django.db import connection

    from ledger.periods import Period
    from ledger.selectors.finance import issued_periods
    from ledger.services import closing, documents

    totals: dict[str, float] = {}
    calls: dict[str, int] = {}
    phase = {"name": ""}
    explained: set[tuple[str, str]] = set()

    def wrap(module, name: str, label: str, *, sets_phase: bool = False) -> None:
        original = getattr(module, name)

        def timed(*args, **kwargs):
            if sets_phase:
                phase["name"] = label
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[label] = totals.get(label, 0.0) + time.perf_counter() - started
                calls[label] = calls.get(label, 0) + 1

        setattr(module, name, timed)

    def plan(query: str, sql: str, params: dict, accounts: list[int]) -> bool:
        key = (phase["name"], query)
        if not explain or key in explained:
            return False
        explained.add(key)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            text = "\n".join(row[0] for row in cursor.fetchall())
        log(f"EXPLAIN ANALYZE {query} ({phase['name']}, {len(accounts)} accounts):\n{text}")
        return True

    lines = documents._lines

    def explained_lines(run, accounts, *, payee):
        params = {**issued_periods(Period(run.period_start)), "accounts": accounts}
        plan("_LINES", documents._LINES, params, accounts)
        return lines(run, accounts, payee=payee)

    documents._lines = explained_lines
    wrap(closing, "period_charges_post", "charges")
    wrap(closing, "committed_watermark", "watermark")
    wrap(closing, "coverage_fold_range", "cover")
    in_chunks = closing._in_chunks

    def timed_phase(run, phase, *args):
        # Wall time of a chunked phase, whatever its connections summed.
        started = time.perf_counter()
        try:
            return in_chunks(run, phase, *args)
        finally:
            label = f"{phase}_wall"
            totals[label] = totals.get(label, 0.0) + time.perf_counter() - started

    closing._in_chunks = timed_phase
    wrap(closing, "invoices_issue_within", "invoices", sets_phase=True)
    wrap(closing, "statements_issue_within", "statements", sets_phase=True)
    wrap(documents, "_lines", "lines")
    wrap(documents, "_save", "save")
    return totals, calls


def execute_fold() -> dict:
    """Worker side: the scheduled fold (`coverage_fold_due`) of everything seeded, timed."""
    import django

    django.setup()
    from ledger.services.closing import coverage_fold_due

    started = time.perf_counter()
    watermark = coverage_fold_due(now=CLOSE_NOW)
    seconds = time.perf_counter() - started
    assert watermark, "the fold found the close lock taken"
    return {"seconds": round(seconds, 2), "peak_rss_mb": _peak_rss_mb()}


def _maintenance():
    """A connection to the server's `postgres` database: a template must have no sessions."""
    import psycopg
    from django.db import connection

    settings = connection.settings_dict
    return psycopg.connect(
        dbname="postgres",
        user=settings["USER"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        password=settings["PASSWORD"] or None,
        autocommit=True,
    )


def clone_database(database: str, clone: str) -> None:
    """A copy of the seeded database (file copy: seconds, where WAL-logging it takes minutes)."""
    with _maintenance() as maintenance:
        maintenance.execute(f'DROP DATABASE IF EXISTS "{clone}"')
        maintenance.execute(f'CREATE DATABASE "{clone}" TEMPLATE "{database}" STRATEGY FILE_COPY')


def drop_database(name: str) -> None:
    with _maintenance() as maintenance:
        maintenance.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def execute_close() -> dict:
    """Worker side: request and execute the close of 2026-03; time, peak RSS, where time went."""
    import django

    django.setup()
    from ledger.periods import Period
    from ledger.services.closing import period_close_execute, period_close_request

    phases, calls = _instrument(explain=bool(os.environ.get("BENCH_CLOSE_EXPLAIN")))
    # The close runs in a Celery worker, which loaded its broker transport (kombu's Redis
    # module, 0.2 s to import) before any task: so does this stand-in, before the clock. It
    # does not connect; the close's first message still opens the connection.
    from ledger.tasks import enqueue_each

    enqueue_each.app.connection_for_write().release()
    rss_before = _peak_rss_mb()
    started = time.perf_counter()
    run = period_close_request(period=Period(PERIOD_START), now=CLOSE_NOW)
    execution = period_close_execute(run_id=run.pk, now=CLOSE_NOW)
    seconds = time.perf_counter() - started
    assert not execution.busy and execution.run.status == "done", execution
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": _peak_rss_mb(),
        "ru_maxrss_mb": _ru_maxrss_mb(),
        "rss_before_close_mb": rss_before,
        "phase_seconds": {name: round(value, 2) for name, value in phases.items()},
        "calls": calls,
    }


def check(bare: dict[int, tuple[int, int]]) -> dict:
    """Cheap assertions on the close's documents against the bare aggregate."""
    from django.db.models import Count

    from ledger.models import (
        CloseRun,
        Coverage,
        Invoice,
        JournalTransaction,
        LedgerAccount,
        Statement,
    )

    kinds = {a.pk: a.kind for a in LedgerAccount.objects.filter(pk__in=list(bare))}
    with_postings = {
        kind: sum(1 for k in kinds.values() if k == kind) for kind in set(kinds.values())
    }
    payees = with_postings.get("talent_payable", 0) + with_postings.get("agency_payable", 0)
    brands = with_postings.get("brand_receivable", 0)
    statements = dict(Statement.objects.values_list("account_id", "earnings_minor"))
    invoices = dict(Invoice.objects.values_list("account_id", "subtotal_minor"))
    coverage = Coverage.objects.count()
    transactions = JournalTransaction.objects.count()
    postings = sum(n for _, n in bare.values())
    lines = (
        Statement.objects.aggregate(n=Count("lines"))["n"]
        + Invoice.objects.aggregate(n=Count("lines"))["n"]
    )
    run = CloseRun.objects.get()
    log(
        f"checks: run {run.status}, {len(statements)} statements for {payees} talents and "
        f"agencies with postings, {len(invoices)} invoices for {brands} brands, {coverage} "
        f"coverage rows for {transactions} transactions ({postings} postings to them), "
        f"{lines} document lines"
    )
    assert run.status == "done"
    assert len(statements) == payees, (len(statements), payees)
    assert len(invoices) == brands, (len(invoices), brands)
    assert coverage == transactions, (coverage, transactions)
    documents = {account: amount for account, amount in invoices.items()}
    documents.update({account: -amount for account, amount in statements.items()})
    wrong = [account for account, (total, _) in bare.items() if documents.get(account) != total]
    assert not wrong, f"documents disagree with the bare sums on accounts {wrong[:10]}"
    log("checks: every statement's earnings and invoice's subtotal equal the bare sums")
    return {"statements": len(statements), "invoices": len(invoices), "coverage": coverage}


def measure(*, uses: int, talents: int, brands: int, agencies: int, batch: int) -> dict:
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    connection.settings_dict["CONN_MAX_AGE"] = None
    config = setup_databases(verbosity=0, interactive=False, keepdb=False)
    database = connection.settings_dict["NAME"]
    try:
        log(f"scratch database {database}; seeding {uses} uses")
        started = time.perf_counter()
        seeded = seed_parties(talents=talents, brands=brands, agencies=agencies)
        parties_seconds = time.perf_counter() - started
        log(f"parties, {len(seeded['licenses'])} licenses, accounts: {parties_seconds:.1f} s")
        seed_uses(uses=uses, licenses=seeded["licenses"], platform=seeded["platform"], batch=batch)
        seed_seconds = time.perf_counter() - started
        log(f"seeded in {seed_seconds:.1f} s ({uses / seed_seconds:.0f} uses/s, with VACUUM)")

        bare_before, sums = bare_groupby()
        log(f"bare aggregate before the close: {bare_before:.3f} s over {len(sums)} accounts")
        bare_lines, _ = bare(_BARE_LINES)
        log(f"bare lines (reference: grouped by license, kind, channel): {bare_lines:.3f} s")
        # A copy closed without any fold before: the close folds the whole month itself.
        cold = f"{database}_unfolded"
        connection.close()  # the template must have no session
        clone_database(database, cold)
        try:
            log("close without a fold before it: request + execute in a worker subprocess")
            unfolded = in_worker_subprocess(cold)
            log(
                f"close without a fold: {unfolded['seconds']} s, peak RSS "
                f"{unfolded['peak_rss_mb']} MB, phases {unfolded['phase_seconds']}"
            )
        finally:
            drop_database(cold)
        connection.close()  # the workers take their own connections; nothing of ours lingers
        log("the schedule's fold of the month, in one go, in a worker subprocess")
        fold = in_worker_subprocess(database, step="--fold")
        log(f"fold: {fold['seconds']} s, peak RSS {fold['peak_rss_mb']} MB")
        log("close after the fold: request + execute in a worker subprocess")
        close = in_worker_subprocess(database)
        log(
            f"close: {close['seconds']} s, peak RSS {close['peak_rss_mb']} MB "
            f"(before the close {close['rss_before_close_mb']} MB), phases {close['phase_seconds']}"
            f", calls {close['calls']}"
        )
        bare_after, sums_after = bare_groupby()
        assert sums_after == sums
        log(f"bare aggregate after the close: {bare_after:.3f} s")
        checked = check(sums)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM ledger_posting")
            (postings,) = cursor.fetchone()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [database],
            )
        connection.close()
        teardown_databases(config, verbosity=0)
    ratio = close["seconds"] / bare_before if bare_before else None
    unfolded_ratio = unfolded["seconds"] / bare_before if bare_before else None
    log(
        f"targets: close <= 30 s: {close['seconds']} s ({unfolded['seconds']} s without a fold "
        f"before it); <= 3x the bare aggregate: {ratio:.1f}x ({unfolded_ratio:.1f}x)"
        if ratio
        else "targets: no bare time"
    )
    return {
        "bench": "close",
        "uses": uses,
        "talents": talents,
        "brands": brands,
        "agencies": agencies,
        "licenses": len(seeded["licenses"]),
        "postings": postings,
        "seconds": close["seconds"],
        "peak_rss_mb": close["peak_rss_mb"],
        "rss_before_close_mb": close["rss_before_close_mb"],
        "ru_maxrss_mb": close["ru_maxrss_mb"],
        "bare_groupby_seconds": round(bare_before, 3),
        "bare_groupby_after_seconds": round(bare_after, 3),
        "bare_lines_seconds": round(bare_lines, 3),
        "close_over_bare": round(ratio, 1) if ratio else None,
        "phase_seconds": close["phase_seconds"],
        "fold_seconds": fold["seconds"],
        "fold_peak_rss_mb": fold["peak_rss_mb"],
        "unfolded_seconds": unfolded["seconds"],
        "unfolded_peak_rss_mb": unfolded["peak_rss_mb"],
        "unfolded_over_bare": round(unfolded_ratio, 1) if unfolded_ratio else None,
        "unfolded_phase_seconds": unfolded["phase_seconds"],
        "seed_seconds": round(seed_seconds, 1),
        **checked,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uses", type=int, help="one size (default: every BENCH_CLOSE_SIZES)")
    parser.add_argument("--execute", action="store_true", help="the close worker (internal)")
    parser.add_argument("--fold", action="store_true", help="the fold worker (internal)")
    args = parser.parse_args(argv)
    if args.execute:
        print(json.dumps(execute_close()), flush=True)
        return 0
    if args.fold:
        print(json.dumps(execute_fold()), flush=True)
        return 0

    import django

    if args.uses is not None:
        os.environ["TEST_DATABASE_NAME"] = _database_name()
    django.setup()  # exports DATABASE_URL when it starts an embedded server
    if args.uses is None:
        for line in bench_close():
            print(json.dumps(line), flush=True)
        return 0
    env = os.environ.get
    result = measure(
        uses=args.uses,
        talents=int(env("BENCH_CLOSE_TALENTS", "2000")),
        brands=int(env("BENCH_CLOSE_BRANDS", "200")),
        agencies=int(env("BENCH_CLOSE_AGENCIES", "20")),
        batch=int(env("BENCH_CLOSE_BATCH", "100000")),
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
