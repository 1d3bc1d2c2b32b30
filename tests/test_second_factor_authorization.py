"""Finance and staff powers need a verified second factor on every path (issue 15, items 1-2).

Every API operation and every portal URL is enumerated from the URL resolver, with each view's
own methods, so an endpoint added later is covered without editing this file (a new path
parameter fails loudly until it is given a value below). Each is called, on a world with
closed statements, invoices, uses, assets and licenses of several parties, by:

- a finance user logged in with the password only (no verified second factor),
- a superuser who is not finance, also password only,

and must be refused without a write: API 403 `second_factor_required`, portal 302 to the
second-factor page. A verified finance user still gets every read and the finance-only writes;
a verified superuser who is not finance still has no finance powers. The sessions go through the
real middleware (django-otp's OTPMiddleware), as a browser's or a script's would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate

from accounts.models import BrandAPIKey, User
from accounts.services import brand_api_key_create
from ledger.api.permissions import IsFinance
from ledger.images import image_decode
from ledger.models import Asset, AssetImage, CloseRun, Invoice, LateReport, Statement, UsageEvent
from ledger.selectors import visibility
from ledger.services.background import period_export_execute, period_export_start
from ledger.services.images import asset_image_attach
from tests.factories import UserFactory
from tests.images import png_bytes
from tests.logins import current_code, login, password_only_login, totp_device
from tests.portal.conftest import PASSWORD
from tests.portal.world import PortalWorld, build_world, quiet_celery

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
# The login flow itself (and the second-factor page it leads to) is not a page of powers.
AUTH_FLOW = {"login/", "logout/", "login/second-factor/"}
OTP_URL = "/login/second-factor/"


@dataclass(frozen=True)
class Route:
    route: str  # e.g. "api/v1/statements/<int:statement_id>/"
    name: str
    methods: tuple[str, ...]
    view_class: type | None

    def url(self, values: dict[str, Any]) -> str:
        section = self.route.split("/")[2] if self.route.startswith("api/") else ""
        section = section or self.route.split("/")[0]

        def value(match: re.Match) -> str:
            param = match.group(1)
            # The most specific name first: the path before the parameter (two kinds of run
            # share `run_id` in the finance portal), then the section, then the bare name.
            before = self.route[: match.start()].rstrip("/")
            for key in (f"{before}:{param}", f"{section}:{param}", param):
                if key in values:
                    return str(values[key])
            raise AssertionError(f"{self.route}: give `{param}` a value in this test's world")

        return "/" + PARAM.sub(value, self.route)


def _walk(patterns, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def _routes() -> list[Route]:
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        callback = pattern.callback
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if view_class is not None:
            methods = tuple(m for m in METHODS if hasattr(view_class, m))
        else:  # a function view: whatever it answers, try reading and writing
            methods = ("get", "post")
        found.append(Route(route, pattern.name or "", methods, view_class))
    return found


ROUTES = _routes()
API_ROUTES = [r for r in ROUTES if r.route.startswith("api/v1/")]
PORTAL_ROUTES = [
    r
    for r in ROUTES
    if not r.route.startswith(("api/", "admin/", "stripe/")) and r.route not in AUTH_FLOW
]
FINANCE_API_ROUTES = [
    r for r in API_ROUTES if IsFinance in getattr(r.view_class, "permission_classes", ())
]


def test_the_enumeration_finds_every_surface():
    """Guards the guard: the resolver walk sees the API, every portal role and finance's ops."""
    assert len(API_ROUTES) >= 30
    names = {r.route.split("/")[0] for r in PORTAL_ROUTES}
    assert {"talent", "agency", "brand", "finance", ""} <= names
    assert {r.name for r in FINANCE_API_ROUTES} >= {
        "period-close",
        "period-export",
        "usage-event-reverse",
    }


# --- the world ----------------------------------------------------------------------------------


@dataclass
class World:
    portal: PortalWorld
    values: dict[str, Any]
    query: dict[str, dict[str, str]]
    superuser: User
    brand_key: BrandAPIKey
    brand_raw_key: str


@pytest.fixture
def world() -> World:
    portal = build_world()
    statement = Statement.objects.filter(talent=portal.ana).order_by("pk").first()
    invoice = Invoice.objects.filter(brand=portal.atelier).order_by("pk").first()
    asset = Asset.objects.filter(twin=portal.ben_twin).order_by("pk").first()
    if not AssetImage.objects.filter(asset=asset).exists():
        asset_image_attach(asset=asset, image=image_decode(png_bytes()))
    key, raw = brand_api_key_create(brand=portal.bolt, name="probe")
    export_id = _finished_export(portal).pk
    # Real rows of other parties wherever a page or operation takes an id (nothing of them
    # belongs to finance or the superuser); rows the world has none of get an id anyway.
    values = {
        "event_id": UsageEvent.objects.filter(brand=portal.atelier).order_by("pk").first().pk,
        "twin_id": portal.ana_twin.pk,
        "license_id": portal.bolt_ana_pending.pk,  # pending: approve/decline would write
        "asset_id": asset.pk,
        "statement_id": statement.pk,
        "statements:line_id": statement.lines.order_by("pk").first().pk,
        "invoice_id": invoice.pk,
        "invoices:line_id": invoice.lines.order_by("pk").first().pk,
        "period": portal.previous.label,
        "file_type": "csv",
        "run_id": CloseRun.objects.order_by("pk").first().pk,
        "exports:run_id": export_id,
        "finance/background:run_id": export_id,
        "payout_id": 1,
        "billing_id": 1,
        "mismatch_id": 1,
        "report_id": _late_report(portal).pk,
        "prefix": key.prefix,
    }
    query = {"provenance": {"asset_ref": asset.asset_ref}}
    superuser = UserFactory(is_staff=True, is_superuser=True)
    return World(portal, values, query, superuser, key, raw)


def _finished_export(portal: PortalWorld):
    run, _ = period_export_start(period=portal.previous)
    return period_export_execute(run_id=run.pk)


def _late_report(portal: PortalWorld) -> LateReport:
    """A held report of Atelier's, written as a row: the world's license windows are wide, and
    only the row matters here (who may see or decide it)."""
    use = UsageEvent.objects.filter(brand=portal.atelier).order_by("pk").first()
    return LateReport.objects.create(
        brand=portal.atelier,
        external_id="late-probe",
        license=portal.atelier_ana,
        license_version=use.license_version,
        twin=use.twin,
        kind="generation",
        asset_ref="late-probe-asset",
        channel=use.channel,
        territory=use.territory,
        occurred_at=use.occurred_at,
        recorded_at=use.recorded_at,
        quantity=1,
        request_hash="0" * 64,
        reason=LateReport.Reason.REPORTED_LATE,
        detail="Reported after the license's window.",
        due_at=use.occurred_at,
    )


def _snapshot() -> dict[str, list[dict]]:
    """Every row of the project's own apps: equal before and after = nothing written."""
    rows = {}
    for label in ("accounts", "ledger", "otp_totp"):
        for model in apps.get_app_config(label).get_models():
            rows[model._meta.label] = list(model.objects.order_by("pk").values())
    return rows


def _call(client: Client, route: Route, method: str, world: World):
    url = route.url(world.values)
    if method == "get":
        return client.get(url, world.query.get(route.name, {}))
    body = json.dumps({"reason": "probe", "token": "000000", "decision": "approve"})
    return getattr(client, method)(url, data=body, content_type="application/json")


def _half_logged_in(world: World, who: str) -> Client:
    user = world.portal.finance if who == "finance" else world.superuser
    return password_only_login(APIClient(), user)


WHO = ["finance without second factor", "superuser without second factor"]


def _who(label: str) -> str:
    return "finance" if label.startswith("finance") else "superuser"


# --- refused without the second factor ----------------------------------------------------------


@pytest.mark.parametrize("who", WHO)
def test_every_api_operation_refuses_a_session_without_its_second_factor(world, who):
    client = _half_logged_in(world, _who(who))
    before = _snapshot()
    allowed = []
    with quiet_celery():
        for route in API_ROUTES:
            for method in route.methods:
                response = _call(client, route, method, world)
                body = response.json() if response.get("Content-Type") == "application/json" else {}
                if response.status_code != 403 or body.get("code") != "second_factor_required":
                    allowed.append((method.upper(), route.route, response.status_code, body))
    assert not allowed, allowed
    assert _snapshot() == before


@pytest.mark.parametrize("who", WHO)
def test_every_portal_url_sends_a_session_without_its_second_factor_to_it(world, who):
    client = _half_logged_in(world, _who(who))
    before = _snapshot()
    allowed = []
    with quiet_celery():
        for route in PORTAL_ROUTES:
            for method in route.methods:
                response = _call(client, route, method, world)
                where = response.get("Location", "")
                if response.status_code != 302 or not where.startswith(OTP_URL):
                    allowed.append((method.upper(), route.route, response.status_code, where))
    assert not allowed, allowed
    assert _snapshot() == before


def test_the_password_login_of_finance_leads_to_the_second_factor_then_to_its_powers(world):
    client = Client()
    finance = world.portal.finance
    response = client.post(
        reverse("portal:login"), {"username": finance.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(OTP_URL)
    assert client.get("/")["Location"].startswith(OTP_URL)
    denied = client.get("/api/v1/statements/")
    assert denied.status_code == 403
    assert denied.json()["code"] == "second_factor_required"

    # The code page verifies the session itself (django_otp.login): the same session now has
    # finance powers on the API too, through the same middleware.
    code = current_code(totp_device(finance))
    assert client.post(OTP_URL, {"token": code})["Location"] == reverse("portal:home")
    listed = client.get("/api/v1/statements/")
    assert listed.status_code == 200
    assert len(listed.json()["results"]) == Statement.objects.count() > 1


# --- the Viewer: the one place that decides finance powers --------------------------------------


def _visible_to_selectors() -> list:
    return [
        getattr(visibility, name)
        for name in dir(visibility)
        if name.endswith("_visible_to") and callable(getattr(visibility, name))
    ]


def test_a_finance_user_not_verified_sees_nothing_of_anyone_through_every_visibility_scope(world):
    """However a request reached the Viewer (here: a user no OTP middleware has verified), an
    unverified finance account is no finance: every scope is empty, never "everything"."""
    finance = User.objects.get(pk=world.portal.finance.pk)  # no is_verified: not verified
    viewer = visibility.viewer_for_user(finance)
    assert not viewer.finance and viewer.second_factor_pending
    selectors = _visible_to_selectors()
    assert len(selectors) >= 7
    for selector in selectors:
        assert not selector(viewer).exists(), selector.__name__

    finance.is_verified = lambda: True  # what OTPMiddleware sets for a verified session
    verified = visibility.viewer_for_user(finance)
    assert verified.finance and not verified.second_factor_pending
    for selector in selectors:
        assert selector(verified).exists(), selector.__name__


def test_finance_only_operations_refuse_finance_without_second_factor_even_past_authentication(
    world,
):
    """DRF's force_authenticate skips the session check: IsFinance still asks the Viewer."""
    factory = APIRequestFactory()
    finance = User.objects.get(pk=world.portal.finance.pk)
    for route in FINANCE_API_ROUTES:
        url = route.url(world.values)
        params = _kwargs(route, world)
        for method in route.methods:
            request = getattr(factory, method)(url, {"reason": "probe"}, format="json")
            force_authenticate(request, user=finance)
            response = route.view_class.as_view()(request, **params)
            assert response.status_code == 403, (route.route, method, response.data)
            assert response.data["code"] == "second_factor_required"


def _kwargs(route: Route, world: World) -> dict[str, Any]:
    section = route.route.split("/")[2]
    kwargs = {}
    for match in re.finditer(r"<(\w+):(\w+)>", route.route):
        converter, param = match.groups()
        value = world.values.get(f"{section}:{param}", world.values.get(param))
        kwargs[param] = int(value) if converter == "int" else value
    return kwargs


# --- still working with it ----------------------------------------------------------------------

# Reads a verified finance user is not meant to have: a payee's own Stripe onboarding.
NOT_FINANCE_READS = {"payout-account-refresh", "payout-account-return"}


def test_a_verified_finance_user_reads_every_api_operation(world):
    client = login(APIClient(), world.portal.finance)
    failed = []
    for route in API_ROUTES:
        if "get" not in route.methods or route.name in NOT_FINANCE_READS:
            continue
        response = _call(client, route, "get", world)
        if response.status_code != 200:
            failed.append((route.route, response.status_code, response.content[:200]))
    assert not failed, failed
    listed = client.get("/api/v1/statements/").json()["results"]
    assert {s["id"] for s in listed} == set(Statement.objects.values_list("pk", flat=True))


def test_a_verified_finance_user_closes_and_reverses(world):
    client = login(APIClient(), world.portal.finance)
    with quiet_celery():
        close = client.post(f"/api/v1/periods/{world.portal.previous.label}/close/")
        assert close.status_code == 202, close.content
        event = world.values["event_id"]
        reverse_response = client.post(
            f"/api/v1/usage-events/{event}/reverse/", {"reason": "reported twice"}, format="json"
        )
    assert reverse_response.status_code == 201, reverse_response.content


def test_a_verified_finance_user_opens_every_finance_page(world):
    client = login(Client(), world.portal.finance)
    failed = []
    for route in PORTAL_ROUTES:
        # Actions (POST only) are not pages: retry, resolve, and starting the XLSX export.
        if not route.route.startswith("finance/") or re.search(
            r"/(retry|resolve|export/xlsx)/$", route.route
        ):
            continue
        response = client.get(route.url(world.values))
        if response.status_code != 200:
            failed.append((route.route, response.status_code))
    assert not failed, failed


def test_a_verified_superuser_who_is_not_finance_has_no_finance_powers(world):
    client = login(APIClient(), world.superuser)
    before = _snapshot()
    with quiet_celery():
        for route in FINANCE_API_ROUTES:
            for method in route.methods:
                response = _call(client, route, method, world)
                assert response.status_code == 403, (route.route, method, response.content)
                assert response.json()["code"] == "finance_only"
    assert client.get("/api/v1/statements/").json()["results"] == []
    assert client.get("/api/v1/usage-events/").json()["results"] == []
    assert _snapshot() == before


def test_a_brand_api_key_is_unaffected(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.brand_raw_key}")
    response = client.get("/api/v1/usage-events/")
    assert response.status_code == 200
    licenses = {e["license"] for e in response.json()["results"]}
    assert licenses == {world.portal.bolt_ben.pk}
