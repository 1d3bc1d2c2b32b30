"""export_csv: the finance period CSV (`ledger.exports.period_csv`) over ~200k document lines.

Run by benchmarks.run in a subprocess (it has its own scratch database):

    python -m benchmarks.export_csv --lines 200000 --statements 2000

It creates its scratch database (`BENCH_EXPORT_DATABASE_NAME`, default twinledger_bench_export,
on DATABASE_URL's server, or the embedded one benchmarks.run started), loads one closed period:
parties, twins, licenses, ledger accounts and 2,000 statements (plus one invoice per brand) with
bulk_create, then the lines with one INSERT ... SELECT over generate_series per document type
(the document tables are append-only: inserts are all they allow, and all this does). Then it
starts a second process (`--export-only`, benchmarks.settings pointed at the scratch database)
that imports everything, notes its RSS, and consumes `period_csv` for the period, timing it.
Its peak RSS (getrusage) is the export's own: nothing was loaded in that process. The export
runs `--repeat` times (default 3); `seconds` is the median, the first run included in the peak.
Prints one JSON line on stdout and drops the database.

Line figures are synthetic (shaped like real lines: kinds, channels, reversals, adjustments);
the documents' totals are not their sums. Only what the export reads is realistic: the rows.
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
from datetime import UTC, date, datetime

PERIOD = date(2026, 3, 1)
BRANDS = 20


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _rss_mb() -> float:
    """The current resident set size of this process."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- the export, in its own process --------------------------------------------------------------


def export_only(*, expect: int, repeat: int) -> dict:
    import django

    django.setup()
    import gc

    from ledger.exports import period_csv

    gc.collect()
    baseline_rss = _rss_mb()
    samples, cpu_samples = [], []
    rows = size = 0
    high_water = baseline_rss
    load = os.getloadavg()[0]
    for _ in range(repeat):
        rows = size = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        for chunk in period_csv(PERIOD):
            size += len(chunk)
            rows += chunk.count("\n")  # synthetic names and fields hold no newline
            high_water = max(high_water, _rss_mb())  # a /proc read per 2,000 lines: ~10 us
        samples.append(time.perf_counter() - started)
        cpu_samples.append(time.process_time() - cpu_started)
    lines = rows - 1  # the header
    if lines != expect:
        raise AssertionError(f"exported {lines} lines, the period has {expect}")
    seconds = statistics.median(samples)
    peak = _peak_rss_mb()
    return {
        "bench": "export_csv",
        "lines": lines,
        "seconds": round(seconds, 3),
        "lines_per_s": round(lines / seconds),
        # This process's CPU time (the Python side; PostgreSQL's share is in `seconds` only),
        # and the load average when it started: on a busy machine wall time overstates cost.
        "cpu_seconds": round(statistics.median(cpu_samples), 3),
        "load_avg_1m": round(load, 2),
        "peak_rss_mb": round(peak, 1),
        # RSS after the imports, before the export; the highest RSS seen while it ran (sampled
        # after each chunk); the growth. Flat: it does not move with the number of lines.
        "baseline_rss_mb": round(baseline_rss, 1),
        "export_rss_mb": round(high_water, 1),
        "rss_delta_mb": round(high_water - baseline_rss, 1),
        "csv_mb": round(size / 2**20, 1),
        "runs_seconds": [round(s, 3) for s in samples],
    }


# -- the scratch database --------------------------------------------------------------------------


def load(*, lines: int, statements: int) -> int:
    """A closed period of `statements` talent statements and one invoice per brand, each with
    lines // statements lines. Returns the number of lines of the period."""
    from django.db import connection

    from accounts.models import Brand, Talent, User
    from ledger.models import CloseRun, Invoice, LedgerAccount, License, Statement, Twin

    per_document = max(1, lines // statements)
    now = datetime(2026, 4, 10, tzinfo=UTC)
    run = CloseRun.objects.create(
        period_start=PERIOD, status=CloseRun.Status.DONE, requested_at=now, finished_at=now
    )
    users = User.objects.bulk_create(
        User(email=f"talent{i}@export.bench.example", full_name=f"Talent {i}")
        for i in range(statements)
    )
    talents = Talent.objects.bulk_create(
        Talent(user=user, legal_name=f"Bench Talent {i}", country="FR")
        for i, user in enumerate(users)
    )
    brands = Brand.objects.bulk_create(
        Brand(
            name=f"Bench Brand {i}",
            legal_name=f"Bench Brand {i} SAS",
            billing_email=f"billing{i}@export.bench.example",
            country="FR",
        )
        for i in range(BRANDS)
    )
    twins = Twin.objects.bulk_create(
        Twin(talent=talent, name=f"Twin {i}", created_at=now) for i, talent in enumerate(talents)
    )
    License.objects.bulk_create(
        License(
            brand=brands[i % BRANDS],
            twin=twin,
            currency="EUR",
            status=License.Status.ACTIVE,
            created_at=now,
        )
        for i, twin in enumerate(twins)
    )
    payable = LedgerAccount.objects.bulk_create(
        LedgerAccount(kind=LedgerAccount.Kind.TALENT_PAYABLE, currency="EUR", talent=talent)
        for talent in talents
    )
    receivable = LedgerAccount.objects.bulk_create(
        LedgerAccount(kind=LedgerAccount.Kind.BRAND_RECEIVABLE, currency="EUR", brand=brand)
        for brand in brands
    )
    figures = dict.fromkeys(
        (
            "opening_minor",
            "earnings_minor",
            "adjustments_minor",
            "advance_recouped_minor",
            "withholding_minor",
            "payable_minor",
            "payout_minor",
            "closing_minor",
        ),
        0,
    )
    Statement.objects.bulk_create(
        (
            Statement(
                run=run,
                account=account,
                talent=account.talent,
                period_start=PERIOD,
                currency="EUR",
                series="RS",
                number=i + 1,
                minimum_payout_minor=2500,
                issued_at=now,
                **figures,
            )
            for i, account in enumerate(payable)
        ),
        batch_size=1000,
    )
    Invoice.objects.bulk_create(
        Invoice(
            run=run,
            account=account,
            brand=account.brand,
            period_start=PERIOD,
            currency="EUR",
            series="INV",
            number=i + 1,
            subtotal_minor=0,
            adjustments_minor=0,
            advance_applied_minor=0,
            net_minor=0,
            tax_minor=0,
            total_minor=0,
            issued_at=now,
            due_at=now,
        )
        for i, account in enumerate(receivable)
    )
    # Line g of a document: a use of kind g % 5 (4 = the flat fee) on channel g % 4, every 10th a
    # prior-period adjustment, every 17th a reversal; amounts vary with the document and line.
    line_values = """
        g,
        CASE WHEN g %% 10 = 0 THEN 'adjustments' ELSE 'earnings' END,
        l.id,
        (ARRAY['flat_fee', 'generation', 'publication', 'impressions', 'sale'])[1 + g %% 5],
        CASE WHEN g %% 5 = 0 THEN 'flat_fee' WHEN g %% 17 = 0 THEN 'reversal' ELSE 'usage' END,
        CASE WHEN g %% 5 = 0 THEN '' ELSE (ARRAY['social', 'ecommerce', 'print', 'ooh'])[1 + g %% 4] END,
        CASE WHEN g %% 5 = 0 THEN 0 ELSE (1 + g %% 7) * (CASE WHEN g %% 17 = 0 THEN -1 ELSE 1 END) END,
        1 + g %% 3,
        v.gross, v.gross * 15 / 100, v.gross / 5, v.gross - v.gross * 15 / 100 - v.gross / 5
    """
    columns = (
        "position, section, license_id, kind, transaction_kind, channel, units, entries,"
        " gross_minor, commission_minor, fee_minor, amount_minor"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO ledger_documentline (statement_id, {columns})
            SELECT s.id, {line_values}
              FROM ledger_statement s
              JOIN ledger_twin t ON t.talent_id = s.talent_id
              JOIN ledger_license l ON l.twin_id = t.id
             CROSS JOIN generate_series(1, %(n)s) AS g
             CROSS JOIN LATERAL (SELECT (CASE WHEN g %% 17 = 0 THEN -1 ELSE 1 END)
                                        * (100 + (s.id * 7919 + g * 104729) %% 250000) AS gross) v
             WHERE s.period_start = %(period)s
            """,
            {"n": per_document, "period": PERIOD},
        )
        cursor.execute(
            f"""
            INSERT INTO ledger_documentline (invoice_id, {columns})
            SELECT i.id, {line_values}
              FROM ledger_invoice i
              JOIN LATERAL (SELECT min(id) AS id FROM ledger_license
                             WHERE brand_id = i.brand_id) l ON true
             CROSS JOIN generate_series(1, %(n)s) AS g
             CROSS JOIN LATERAL (SELECT (CASE WHEN g %% 17 = 0 THEN -1 ELSE 1 END)
                                        * (100 + (i.id * 7919 + g * 104729) %% 250000) AS gross) v
             WHERE i.period_start = %(period)s
            """,
            {"n": per_document, "period": PERIOD},
        )
        for table in ("ledger_documentline", "ledger_statement", "ledger_invoice"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("SELECT count(*) FROM ledger_documentline")
        return cursor.fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--statements", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--export-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--expect", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.export_only:  # the child: benchmarks.settings on the scratch database
        print(json.dumps(export_only(expect=args.expect, repeat=args.repeat)), flush=True)
        return 0

    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["TEST_DATABASE_NAME"] = os.environ.get(
        "BENCH_EXPORT_DATABASE_NAME", "twinledger_bench_export"
    )
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    config = setup_databases(verbosity=0, interactive=False, keepdb=False)
    database = connection.settings_dict["NAME"]
    try:
        started = time.perf_counter()
        total = load(lines=args.lines, statements=args.statements)
        log(f"export_csv: {total} lines loaded in {time.perf_counter() - started:.1f} s")
        connection.close()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.export_csv",
                "--export-only",
                "--expect",
                str(total),
                "--repeat",
                str(args.repeat),
            ],
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
                "BENCH_DATABASE_NAME": database,
            },
            stdout=subprocess.PIPE,
            text=True,
            timeout=600,
            check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["statements"] = args.statements
        result["invoices"] = BRANDS
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [database],
            )
        connection.close()
        teardown_databases(config, verbosity=0)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
