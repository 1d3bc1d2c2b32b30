"""Every error code the code base can answer is in ledger.api.error_codes, and the schema lists
them all with their meanings (a brand should not discover `consent_revoked` by accident)."""

from __future__ import annotations

import ast
from pathlib import Path

from ledger.api.error_codes import ERROR_CODES

ROOT = Path(__file__).resolve().parents[2]
# Where API answers come from: the API, the services, the domain modules they call.
SOURCES = [
    *sorted((ROOT / "ledger" / "api").glob("*.py")),
    *sorted((ROOT / "ledger" / "services").rglob("*.py")),
    *(ROOT / "ledger" / name for name in ("errors.py", "periods.py", "fields.py", "rates.py")),
    *(ROOT / "ledger" / name for name in ("validation.py", "money.py")),
    *sorted((ROOT / "accounts").glob("*.py")),
]
# Not API errors: states recorded on payouts and invoices (failure_code columns).
NOT_API_ERRORS = {"stripe_error"}


def _codes_in(path: Path) -> set[str]:
    codes = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.keyword) and node.arg == "code":
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                codes.add(node.value.value)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            names = {"code", "default_code"}
            constant = isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            if isinstance(target, ast.Name) and target.id in names and constant:
                codes.add(node.value.value)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "fail":
            if node.args and isinstance(node.args[0], ast.Constant):
                codes.add(node.args[0].value)  # DRF field.fail("code")
        elif isinstance(node, ast.Dict):  # error_body("code", ...) style literals
            for key, value in zip(node.keys, node.values, strict=True):
                is_code = isinstance(key, ast.Constant) and key.value == "code"
                if is_code and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    codes.add(value.value)
        is_body = isinstance(node, ast.Call) and getattr(node.func, "id", None) == "error_body"
        if is_body and node.args and isinstance(node.args[0], ast.Constant):
            codes.add(node.args[0].value)
    return codes


def test_every_code_the_code_base_raises_is_registered():
    raised = set().union(*(_codes_in(path) for path in SOURCES if path.exists()))
    # Built from a suffix at run time (ledger/services/usage.py).
    raised |= {
        f"{what}_not_{how}"
        for what in ("kind", "channel", "territory")
        for how in ("licensed", "consented")
    }
    missing = sorted(raised - set(ERROR_CODES) - NOT_API_ERRORS - {""})
    assert missing == [], f"add these to ledger/api/error_codes.py: {missing}"


def test_drf_codes_our_handler_answers_are_registered():
    from rest_framework import exceptions

    from ledger.api.errors import CODE_ALIASES

    for name in dir(exceptions):
        klass = getattr(exceptions, name)
        if isinstance(klass, type) and issubclass(klass, exceptions.APIException):
            code = CODE_ALIASES.get(klass.default_code, klass.default_code)
            if klass is not exceptions.APIException and code not in {"invalid", "error"}:
                assert code in ERROR_CODES, code


def test_the_codes_of_other_features_are_registered_ahead():
    for code in (
        "consent_changed_since",
        "late_report_declined",
        "consent_conflict",
        "second_factor_required",
        "image_too_large",
        "image_unreadable",
        "image_type_not_allowed",
        "image_exists",
        "image_missing",
        "gross_too_large",
        "license_period_limit",
        "overloaded",
        "payload_too_large",
        "nesting_too_deep",
    ):
        status, meaning = ERROR_CODES[code]
        assert 200 <= status < 600 and meaning


def test_the_schema_lists_every_code_with_its_meaning(client):
    schema = client.get("/api/schema/?format=json").json()
    listed = schema["components"]["schemas"]["Error"]["x-error-codes"]
    assert {item["code"]: (item["status"], item["meaning"]) for item in listed} == ERROR_CODES
    description = schema["info"]["description"]
    for code in ERROR_CODES:
        assert f"| `{code}` |" in description
