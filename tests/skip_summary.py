"""The closing line of a test run: what was skipped and why (a pytest_terminal_summary hook).

Standard library and pytest only, so that a test can run it in a pytest of its own.
"""

from __future__ import annotations

from tests.stripe_fake.fixture import FIXTURES_SKIP_REASON

# Known skips, worded for the closing line: (what the reason contains, what was skipped, why).
KNOWN_SKIPS = (
    ("chromium is not installed", "browser", "no chromium: sudo apt-get install chromium"),
    (
        FIXTURES_SKIP_REASON,
        "Stripe fixture-conformance",
        "../shared/stripe/fixtures3.json absent",
    ),
)


def skip_summary(reasons: list[str]) -> str:
    """One line saying what was skipped and why, known reasons grouped: "skipped: none", or
    e.g. "skipped: 31 browser tests (no chromium: sudo apt-get install chromium)"."""
    groups: dict[tuple[str, str], int] = {}
    for reason in reasons:
        text = reason.removeprefix("Skipped: ")
        for needle, what, why in KNOWN_SKIPS:
            if needle in text:
                key = (what, why)
                break
        else:
            key = ("", text)
        groups[key] = groups.get(key, 0) + 1
    if not groups:
        return "skipped: none"
    parts = []
    for (what, why), n in groups.items():
        noun = f"{what} test" if what else "test"
        parts.append(f"{n} {noun}{'s' if n != 1 else ''} ({why})")
    return "skipped: " + "; ".join(parts)


def pytest_terminal_summary(terminalreporter) -> None:
    """Before pytest's own last line (which CI reads), name what was skipped and why, so a
    green run says whether it covered everything."""
    reasons = []
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reasons.append(longrepr[2] if isinstance(longrepr, tuple) else str(longrepr))
    terminalreporter.write_line(skip_summary(reasons))
