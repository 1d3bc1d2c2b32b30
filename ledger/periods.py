"""Periods are calendar months in UTC: the unit of rating tiers, flat fees and the close."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ledger.errors import InvalidInput

# Before every period: the lower bound when no close has finished yet.
EARLIEST = date(1, 1, 1)

_LABEL = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True, order=True)
class Period:
    start: date  # always the first of a month

    def __post_init__(self) -> None:
        if self.start.day != 1:
            raise ValueError("A period starts on the first of a month.")

    @classmethod
    def parse(cls, label: str, *, field: str = "period") -> Period:
        """`YYYY-MM`, e.g. 2026-11; anything else is a 400 naming the field."""
        match = _LABEL.match(label or "")
        if not match or int(match.group(1)) < 2000:
            raise InvalidInput(
                f"{label!r} is not a period; use YYYY-MM, e.g. 2026-11.",
                code="invalid_period",
                field=field,
            )
        return cls(date(int(match.group(1)), int(match.group(2)), 1))

    @classmethod
    def of(cls, moment: datetime) -> Period:
        return cls(moment.astimezone(UTC).date().replace(day=1))

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m}"

    @property
    def start_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, 1, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period (exclusive end)."""
        return self.next().start_at

    @property
    def last_instant(self) -> datetime:
        """When charges of the period are booked: inside it, after every use."""
        return self.end_at - timedelta(microseconds=1)

    @property
    def days(self) -> int:
        return (self.next().start - self.start).days

    def next(self) -> Period:
        year, month = divmod(self.start.year * 12 + self.start.month, 12)
        return Period(date(year, month + 1, 1))

    def previous(self) -> Period:
        return Period((self.start - timedelta(days=1)).replace(day=1))

    def __str__(self) -> str:
        return self.label
