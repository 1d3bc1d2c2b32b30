"""`make test` closes with a line naming what was skipped and why, just before pytest's own
summary line (which stays the last line: CI reads it)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.skip_summary import skip_summary
from tests.stripe_fake.fixture import FIXTURES_SKIP_REASON

ROOT = Path(__file__).resolve().parents[1]


def test_skip_reasons_are_grouped_and_worded_for_a_newcomer():
    browser = "Skipped: chromium is not installed: apt-get install chromium (see README)"
    stripe = f"Skipped: {FIXTURES_SKIP_REASON}: /x/shared/stripe/fixtures3.json absent"
    assert skip_summary([]) == "skipped: none"
    assert skip_summary([browser] * 31 + [stripe] + ["Skipped: needs a GPU"] * 2) == (
        "skipped: 31 browser tests (no chromium: sudo apt-get install chromium); "
        "1 Stripe fixture-conformance test (../shared/stripe/fixtures3.json absent); "
        "2 tests (needs a GPU)"
    )


def _run_pytest(folder: Path, tests: str) -> list[str]:
    (folder / "conftest.py").write_text(
        "from tests.skip_summary import pytest_terminal_summary  # noqa: F401\n"
    )
    (folder / "test_sample.py").write_text(textwrap.dedent(tests))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=folder,
        # Only our hook: no plugin from the environment (pytest-django, randomly...).
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout.strip().splitlines()


def test_the_run_ends_with_the_skip_line_then_pytests_summary(tmp_path):
    lines = _run_pytest(
        tmp_path,
        """
        import pytest

        def test_passes():
            pass

        def test_needs_a_browser():
            pytest.skip("chromium is not installed: apt-get install chromium (see README)")
        """,
    )
    assert lines[-2] == "skipped: 1 browser test (no chromium: sudo apt-get install chromium)"
    assert "1 passed, 1 skipped" in lines[-1]

    lines = _run_pytest(tmp_path, "def test_passes():\n    pass\n")
    assert lines[-2:] == ["skipped: none", lines[-1]] and "1 passed" in lines[-1]
