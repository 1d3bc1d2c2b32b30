"""How much a brand may report: the bounds that keep every sum the close writes inside bigint.

Every figure of the journal, the coverage totals and the documents is a PostgreSQL bigint
(max 2^63 - 1 ~ 9.22 * 10^18). Bounds per event alone cannot keep sums in range (4 batches of
1,000 events at the old per-event maximum took one brand receivable past 2^63, and the fold
then failed for every party), so a use is refused before anything is written when it would
pass any of these:

  per event             quantity <= MAX_QUANTITY = 10^12 and sale amount <= 10^15
                        (ledger.services.usage), rated gross <= MAX_EVENT_GROSS_MINOR = 10^14
                        (code gross_too_large; rates go up to 10^15 per unit, so without it one
                        event could overflow a posting on its own);
  per license, period   the gross of its uses <= MAX_LICENSE_PERIOD_GROSS_MINOR = 10^15 and
                        their quantity <= MAX_LICENSE_PERIOD_UNITS = 10^15
                        (code license_period_limit);
  per brand, period     the gross of all its licenses' uses <= MAX_BRAND_PERIOD_GROSS_MINOR =
                        10^15 (code brand_period_limit): many licenses cannot add up either.

The arithmetic, per account and period (a close issues one period, or the few months no close
issued before it; say up to 12 — the fold floors late entries to the first open period):
  - a coverage total row / document line is one license's entries of one kind: gross and
    amount <= 10^15 of uses (+ reversals, which only subtract) + its charges, each bounded by
    the rates' MAX_MINOR = 10^15 (flat fee, top-up, advance application) -> <= 4 * 10^15;
    units <= 10^15. Times 12 months: <= 4.8 * 10^16.
  - a brand's invoice sums its licenses: uses <= 10^15 per month by the brand cap, charges
    <= 3 * 10^15 per license (agreed terms, not reported input); tax adds at most 999.9999 %.
    For one brand with L licenses: total <= 12 * 10 * (10^15 + 3 * 10^15 * L), below 2^63
    for L up to ~25,000 licenses at the maximum fees.
  - a talent's or agency's statement: each brand adds at most its cap (10^15) per month to any
    payee, so one brand, whatever it reports, adds at most 1.2 * 10^16 per close; the carried
    opening grows by at most what was earned: 10^15 a month for a century is 1.2 * 10^18.
    Reaching 2^63 needs ~770 brands each reporting 10 trillion major units to one talent in
    one close: not one brand's input, and far past any real volume (10^15 minor is 10
    trillion EUR; 10^15 JPY ~ 6 trillion EUR).
  - balances and exports sum postings in PostgreSQL numeric (sum(bigint) is numeric) and
    Python ints: no bound needed there.

The caps are checked while rating, against counters read at the start of the batch; the batch
then adds what it accepted to the counter rows at its end, and CHECK constraints on those rows
(migration 0027) refuse a total past a cap: two concurrent batches that both read room for
themselves cannot both commit — the second fails the constraint, its batch is retried
(IntegrityError, ledger.services.usage) and rereads the counters, refusing what no longer fits.
A reversal gives no room back: the counters count what was accepted, which is what the bounds
must keep finite (a reversal only subtracts from the sums). Anything else that books uses
(e.g. an accepted late report) must count them through `Volumes.admit` and `volumes_add` too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db import connection

from ledger.errors import Refused
from ledger.models.usage import (
    BRAND_PERIOD_GROSS_CAP,
    LICENSE_PERIOD_GROSS_CAP,
    LICENSE_PERIOD_UNITS_CAP,
)

MAX_EVENT_GROSS_MINOR = 10**14
MAX_LICENSE_PERIOD_GROSS_MINOR = LICENSE_PERIOD_GROSS_CAP
MAX_LICENSE_PERIOD_UNITS = LICENSE_PERIOD_UNITS_CAP
MAX_BRAND_PERIOD_GROSS_MINOR = BRAND_PERIOD_GROSS_CAP

LicenseKey = tuple[int, date]  # (license id, period start)
BrandKey = tuple[int, date]  # (brand id, period start)


@dataclass
class Volumes:
    """What a batch found at its start and what it has accepted since, per license and brand."""

    licenses: dict[LicenseKey, list[int]] = field(default_factory=dict)  # [gross, units]
    brands: dict[BrandKey, int] = field(default_factory=dict)
    added_licenses: dict[LicenseKey, list[int]] = field(default_factory=dict)
    added_brands: dict[BrandKey, int] = field(default_factory=dict)

    def admit(self, *, license: LicenseKey, brand: BrandKey, gross: int, units: int) -> None:
        """Count one rated use, or raise the refusal of the bound it would pass."""
        if gross > MAX_EVENT_GROSS_MINOR:
            raise Refused(
                f"The rated gross of this event ({gross} minor units) is above the per-event "
                f"maximum of {MAX_EVENT_GROSS_MINOR}; report it as several events.",
                code="gross_too_large",
                field="quantity",
            )
        so_far = self.licenses[license]
        if (
            so_far[0] + gross > MAX_LICENSE_PERIOD_GROSS_MINOR
            or so_far[1] + units > MAX_LICENSE_PERIOD_UNITS
        ):
            raise Refused(
                f"This license's uses in {license[1]:%Y-%m} would pass the per-period maximum "
                f"({MAX_LICENSE_PERIOD_GROSS_MINOR} minor units of gross, "
                f"{MAX_LICENSE_PERIOD_UNITS} units); contact the platform.",
                code="license_period_limit",
                field="quantity",
            )
        if self.brands[brand] + gross > MAX_BRAND_PERIOD_GROSS_MINOR:
            raise Refused(
                f"Your uses in {brand[1]:%Y-%m} would pass the per-period maximum of "
                f"{MAX_BRAND_PERIOD_GROSS_MINOR} minor units of gross; contact the platform.",
                code="brand_period_limit",
                field="quantity",
            )
        so_far[0] += gross
        so_far[1] += units
        self.brands[brand] += gross
        added = self.added_licenses.setdefault(license, [0, 0])
        added[0] += gross
        added[1] += units
        self.added_brands[brand] = self.added_brands.get(brand, 0) + gross


def volumes_read(*, licenses: set[LicenseKey], brands: set[BrandKey]) -> Volumes:
    """What the batch's keys have accepted so far (0 where no row yet), in one query. Read
    without a lock: the CHECK constraints on the rows `volumes_add` writes are the guard."""
    volumes = Volumes(licenses={key: [0, 0] for key in licenses}, brands=dict.fromkeys(brands, 0))
    with connection.cursor() as cursor:
        cursor.execute(_READ, _keys(licenses, brands))
        for is_license, owner, start, gross, units in cursor.fetchall():
            if is_license:
                volumes.licenses[(owner, start)] = [gross, units]
            else:
                volumes.brands[(owner, start)] = gross
    return volumes


def volumes_add(volumes: Volumes) -> None:
    """Add what the batch accepted, rows made where missing, in key order (no deadlocks between
    batches), in one statement; a total past a cap violates the rows' CHECK constraint and
    aborts the batch."""
    if not volumes.added_licenses and not volumes.added_brands:
        return
    licenses = sorted(volumes.added_licenses.items())
    brands = sorted(volumes.added_brands.items())
    with connection.cursor() as cursor:
        cursor.execute(
            _ADD,
            {
                "licenses": [license for (license, _), _ in licenses],
                "license_periods": [start for (_, start), _ in licenses],
                "license_gross": [gross for _, (gross, _) in licenses],
                "license_units": [units for _, (_, units) in licenses],
                "brands": [brand for (brand, _), _ in brands],
                "brand_periods": [start for (_, start), _ in brands],
                "brand_gross": [gross for _, gross in brands],
            },
        )


def _keys(licenses: set[LicenseKey], brands: set[BrandKey]) -> dict[str, list]:
    return {
        "licenses": [k[0] for k in licenses],
        "license_periods": [k[1] for k in licenses],
        "brands": [k[0] for k in brands],
        "brand_periods": [k[1] for k in brands],
    }


_READ = """
SELECT true, c.license_id, c.period_start, c.gross_minor, c.quantity
FROM ledger_tiercounter c
JOIN unnest(%(licenses)s::bigint[], %(license_periods)s::date[]) AS w(owner_id, period_start)
  ON w.owner_id = c.license_id AND w.period_start = c.period_start
UNION ALL
SELECT false, v.brand_id, v.period_start, v.gross_minor, 0
FROM ledger_brandperiodvolume v
JOIN unnest(%(brands)s::bigint[], %(brand_periods)s::date[]) AS w(owner_id, period_start)
  ON w.owner_id = v.brand_id AND w.period_start = v.period_start
"""
_ADD = """
WITH licenses AS (
    INSERT INTO ledger_tiercounter (license_id, period_start, units, gross_minor, quantity)
    SELECT license_id, period_start, 0, gross, units
    FROM unnest(%(licenses)s::bigint[], %(license_periods)s::date[], %(license_gross)s::bigint[],
                %(license_units)s::bigint[]) AS a(license_id, period_start, gross, units)
    ORDER BY license_id, period_start
    ON CONFLICT (license_id, period_start) DO UPDATE SET
        gross_minor = ledger_tiercounter.gross_minor + EXCLUDED.gross_minor,
        quantity = ledger_tiercounter.quantity + EXCLUDED.quantity
)
INSERT INTO ledger_brandperiodvolume (brand_id, period_start, gross_minor)
SELECT brand_id, period_start, gross
FROM unnest(%(brands)s::bigint[], %(brand_periods)s::date[], %(brand_gross)s::bigint[])
    AS a(brand_id, period_start, gross)
ORDER BY brand_id, period_start
ON CONFLICT (brand_id, period_start) DO UPDATE SET
    gross_minor = ledger_brandperiodvolume.gross_minor + EXCLUDED.gross_minor
"""
