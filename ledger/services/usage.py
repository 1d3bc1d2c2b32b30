"""Usage capture: check each reported use against its license and the consent in force, rate
it, and post it to the journal — or refuse it with a stable code the talent can see.

One code path for one event and for a batch: `usage_record` is a batch of one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Brand, User
from ledger.canonical import iso_utc, use_canonical
from ledger.errors import Conflict, DomainError, InvalidInput, NotFound, Refused
from ledger.merkle import canonical_json, sha256_hex
from ledger.models import (
    Asset,
    ConsentVersion,
    JournalTransaction,
    LateReport,
    LateReportDecision,
    License,
    LicenseVersion,
    RefusedAttempt,
    TierCounter,
    UsageEvent,
)
from ledger.money import Money
from ledger.rates import Rated, Rates, rate_use
from ledger.selectors.intake import (
    assets_by_ref,
    events_by_external_id,
    late_reports_by_external_id,
    licenses_by_id,
)
from ledger.selectors.licensing import (
    activated_versions,
    consent_history,
    consent_in_force,
    effective_from,
    version_in_force,
)
from ledger.services.bounds import Volumes, volumes_add, volumes_read
from ledger.services.bulk import allocate_ids_for, build, copy_rows, loaded
from ledger.services.journal import Entry, journal_post_batch_within, transaction_reverse
from ledger.services.postings import AccountCache, revenue_legs
from ledger.validation import SLUG, TERRITORY, covers
from ledger.vocabulary import SELL_OFF_KINDS, UseKind

MAX_QUANTITY = 10**12
MAX_SALE_AMOUNT_MINOR = 10**15
MAX_BATCH = 1000
FUTURE_TOLERANCE = timedelta(minutes=5)
# Uses that produce a new output, named by asset_ref: an image, or a model trained on the twin.
PRODUCING_KINDS = {UseKind.GENERATION, UseKind.TRAINING}
# Uses that a change of consent stops at once, whatever occurred_at a later report carries
# (SPEC "Changes of consent"): judged at occurred_at and again when recorded. Their reporting
# window is counted in hours; the others' (impressions, sales) in days.
JUDGED_TWICE_KINDS = {UseKind.GENERATION, UseKind.PUBLICATION, UseKind.TRAINING}
MAX_NOTE_LENGTH = 2000
USE_KINDS = frozenset(UseKind.values)

# Refusals about rights (license, consent, approval) are kept for the talent to see; refusals of
# malformed values are the brand's own bug and are only answered.
RIGHTS_CODES = {
    "license_inactive",
    "before_license_start",
    "kind_not_licensed",
    "channel_not_licensed",
    "territory_not_licensed",
    "consent_revoked",
    "no_consent",
    "kind_not_consented",
    "channel_not_consented",
    "territory_not_consented",
    "context_forbidden",
    "asset_not_approved",
    "asset_unknown",
}


@dataclass(frozen=True, slots=True)
class UsageInput:
    external_id: str
    license_id: int
    kind: str
    asset_ref: str
    channel: str
    territory: str
    occurred_at: datetime
    quantity: int
    sale_amount_minor: int | None = None
    context_tags: tuple[str, ...] = ()
    content_credential: str = ""

    def request_hash(self) -> str:
        return sha256_hex(
            canonical_json(
                {
                    "external_id": self.external_id,
                    "license": self.license_id,
                    "kind": self.kind,
                    "asset_ref": self.asset_ref,
                    "channel": self.channel,
                    "territory": self.territory,
                    "occurred_at": iso_utc(self.occurred_at),
                    "quantity": self.quantity,
                    "sale_amount_minor": self.sale_amount_minor,
                    "context_tags": sorted(set(self.context_tags)),
                    "content_credential": self.content_credential,
                }
            )
        )


@dataclass(slots=True)
class Outcome:
    """What happened to one item: accepted, replayed (the first result), held (a late report for
    the talent to decide; a replay of one answers the same), refused or conflict."""

    index: int
    external_id: str
    status: str
    event: UsageEvent | None = None
    error: DomainError | None = None
    late_report: LateReport | None = None  # status "held": the report kept for the talent


@dataclass(slots=True)
class _Plan:
    index: int
    item: UsageInput
    license: License
    version: LicenseVersion
    asset: Asset
    new_asset: bool
    request_hash: str
    rated: Rated | None = None
    period_start: date = field(default_factory=date.today)
    refused: DomainError | None = None  # past a bound, found while rating


def usage_record(*, brand: Brand, item: UsageInput, now: datetime | None = None) -> Outcome:
    return usage_record_batch(brand=brand, items=[item], now=now)[0]


def usage_record_batch(
    *, brand: Brand, items: list[UsageInput], now: datetime | None = None
) -> list[Outcome]:
    """Record each item on its own (accepted, replayed, refused or conflict), results in order.

    Accepted items are committed together, exactly once: a concurrent request carrying the same
    external_id makes one of the two fail on the unique constraint and retry, and the retry
    answers those items as replays of the winner's.
    """
    if len(items) > MAX_BATCH:
        raise InvalidInput(
            f"A batch holds at most {MAX_BATCH} events.", code="batch_too_large", field="events"
        )
    for index, item in enumerate(items):
        _check_shape(item, index)
    seen: set[str] = set()
    for item in items:
        if item.external_id in seen:
            raise InvalidInput(
                f"external_id {item.external_id!r} appears twice in the batch.",
                code="duplicate_external_id",
                field="external_id",
            )
        seen.add(item.external_id)
    now = now or timezone.now()
    # A concurrent duplicate aborts the batch; the retry then sees it as a replay (or its asset
    # as existing). Each retry therefore has at least one new item fewer, so len(items) + 1
    # attempts always suffice, however many requests race on the same ids.
    attempts = len(items) + 1
    for attempt in range(attempts):
        try:
            with transaction.atomic(durable=True):
                return _record(brand, items, now)
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def usage_reverse(
    *, event: UsageEvent, reason: str, by: User | None = None, now: datetime | None = None
) -> JournalTransaction:
    """Post the exact negation of a use's transaction; the use itself stays on record."""
    if event.transaction_id is None:
        raise Conflict(
            "This use was priced at zero: there is nothing to reverse.", code="nothing_to_reverse"
        )
    return transaction_reverse(original=event.transaction, reason=reason, now=now)


def asset_decide(
    *, asset: Asset, approve: bool, by: User | None = None, now: datetime | None = None
) -> Asset:
    """The talent approves or rejects a generated asset awaiting approval; decided once.

    Approval is of the image: an asset whose image has not arrived cannot be approved (it can
    be rejected unseen). The image is set once and never removed, so the condition in the
    UPDATE cannot be undone between this check and the commit.
    """
    now = now or timezone.now()
    decision = Asset.Approval.APPROVED if approve else Asset.Approval.REJECTED
    awaiting = Asset.objects.filter(pk=asset.pk, approval=Asset.Approval.PENDING)
    if approve:
        awaiting = awaiting.filter(image__isnull=False)
    changed = awaiting.update(approval=decision, decided_at=now, decided_by=by)
    if changed != 1:
        if Asset.objects.filter(pk=asset.pk, approval=Asset.Approval.PENDING).exists():
            raise Refused(
                f"Asset {asset.asset_ref!r} has no image yet: it can be approved once the "
                "brand has sent the image.",
                code="image_missing",
            )
        raise Conflict("This asset is not awaiting approval.", code="already_decided")
    asset.refresh_from_db()
    return asset


def late_report_decide(
    *,
    report: LateReport,
    accept: bool,
    party: str,
    by: User | None = None,
    note: str = "",
    now: datetime | None = None,
) -> LateReportDecision:
    """The talent (or its agency) accepts or declines a held report, once.

    Accepted: booked through the same path as any reported use, rated as if reported `now`
    (a period closed since puts it on the next statement as a prior-period adjustment). A use
    that cannot be booked any more (e.g. its asset_ref was generated since) stays held: decline
    it. Declined: kept as a refused attempt `late_report_declined`, posted nowhere.
    Two decisions at once: the report row is locked, and the decision is unique per report.
    """
    now = now or timezone.now()
    if party not in ("talent", "agency"):
        raise InvalidInput("Only the talent or its agency decides.", code="invalid_party")
    if not isinstance(note, str) or len(note) > MAX_NOTE_LENGTH:
        raise InvalidInput(
            f"A note has at most {MAX_NOTE_LENGTH} characters.", code="invalid_length", field="note"
        )
    try:
        with transaction.atomic(durable=True):
            report = (
                LateReport.objects.select_for_update(of=("self",))
                .select_related("brand", "license")
                .get(pk=report.pk)
            )
            if LateReportDecision.objects.filter(report=report).exists():
                raise Conflict("This late report was already decided.", code="already_decided")
            decision = LateReportDecision(
                report=report,
                decision=(
                    LateReportDecision.Decision.ACCEPTED
                    if accept
                    else LateReportDecision.Decision.DECLINED
                ),
                note=note.strip(),
                party=party,
                decided_by=by,
                decided_at=now,
            )
            if accept:
                [outcome] = _record(report.brand, [_item_of(report)], now, releasing=report)
                if outcome.status != "accepted":
                    raise outcome.error or Conflict(
                        "This use cannot be booked.", code="late_report_not_bookable"
                    )
                decision.usage_event = outcome.event
            else:
                decision.refused_attempt = RefusedAttempt.objects.create(
                    brand=report.brand,
                    license=report.license,
                    twin_id=report.twin_id,
                    external_id=report.external_id,
                    kind=report.kind,
                    channel=report.channel,
                    territory=report.territory,
                    occurred_at=report.occurred_at,
                    code="late_report_declined",
                    detail=f"The {party} declined this late report ({report.detail})"
                    + (f": {decision.note}" if decision.note else "."),
                    field="",
                    payload={
                        "asset_ref": report.asset_ref,
                        "quantity": report.quantity,
                        "context_tags": list(report.context_tags),
                        "late_report": report.pk,
                    },
                    recorded_at=now,
                )
            decision.save()
    except IntegrityError:
        raise Conflict("This late report was already decided.", code="already_decided") from None
    LateReport.decision.related.set_cached_value(report, decision)
    return decision


def _item_of(report: LateReport) -> UsageInput:
    return UsageInput(
        external_id=report.external_id,
        license_id=report.license_id,
        kind=report.kind,
        asset_ref=report.asset_ref,
        channel=report.channel,
        territory=report.territory,
        occurred_at=report.occurred_at,
        quantity=report.quantity,
        sale_amount_minor=report.sale_amount_minor,
        context_tags=tuple(report.context_tags),
        content_credential=report.content_credential,
    )


def _record(
    brand: Brand,
    items: list[UsageInput],
    now: datetime,
    releasing: LateReport | None = None,
) -> list[Outcome]:
    """`releasing`: a held report the talent is accepting now; its item is booked as if
    reported now, without being held again."""
    hashes = [item.request_hash() for item in items]
    # Assets are read before the events: a concurrent batch commits an asset together with its
    # generation event, so an asset seen here has its event seen below, and the item is answered
    # as a replay, not refused as asset_exists (each query sees what was committed when it ran).
    assets = assets_by_ref(brand.pk, {item.asset_ref for item in items})
    existing = events_by_external_id(brand.pk, [item.external_id for item in items])
    reports = late_reports_by_external_id(brand.pk, [item.external_id for item in items])
    licenses = licenses_by_id(brand.pk, {item.license_id for item in items})
    versions = activated_versions(licenses)
    consents = consent_history({license.twin_id for license in licenses.values()})

    outcomes: list[Outcome] = []
    plans: list[_Plan] = []
    refusals: list[RefusedAttempt] = []
    holds: list[LateReport] = []
    published: dict[str, datetime] = {}
    for index, (item, request_hash) in enumerate(zip(items, hashes, strict=True)):
        first = existing.get(item.external_id)
        if first is not None:
            outcomes.append(_replay(index, item, first, request_hash))
            continue
        held = reports.get(item.external_id)
        if held is not None and (releasing is None or held.pk != releasing.pk):
            outcomes.append(_replay(index, item, held, request_hash))
            continue
        license = licenses.get(item.license_id)
        try:
            if license is None:
                raise NotFound(
                    f"License {item.license_id} does not exist or is not yours.",
                    code="license_not_found",
                    field="license",
                )
            license_versions = versions.get(license.pk, [])
            history = consents.get(license.twin_id, [])
            plan = _evaluate(index, item, license, license_versions, consents, assets, now)
        except DomainError as error:
            outcomes.append(Outcome(index, item.external_id, "refused", error=error))
            if license is not None and error.code in RIGHTS_CODES:
                refusals.append(_refusal(brand, license, item, error, now))
            continue
        plan.request_hash = request_hash
        if releasing is None:
            hold = _hold(plan, license_versions, history, now)
            if hold is not None:
                holds.append(hold)
                outcomes.append(Outcome(index, item.external_id, "held", late_report=hold))
                continue
        if plan.new_asset:
            assets[item.asset_ref] = plan.asset
        if item.kind == UseKind.PUBLICATION:
            earliest = published.get(item.asset_ref) or plan.asset.first_published_at
            if earliest is None or item.occurred_at < earliest:
                published[item.asset_ref] = item.occurred_at
                # Later items of this batch see the publication, as they would one batch later
                # (impressions in a sell-off window need it).
                plan.asset.first_published_at = item.occurred_at
        plans.append(plan)
        outcomes.append(Outcome(index, item.external_id, "accepted"))

    if plans:
        increments, volumes = _rate(plans)
        kept = _without_refused(plans, outcomes)
        if len(kept) < len(plans):  # a refused publication publishes nothing
            published = {}
            for plan in kept:
                if plan.item.kind == UseKind.PUBLICATION:
                    at = published.get(plan.item.asset_ref, plan.item.occurred_at)
                    published[plan.item.asset_ref] = min(at, plan.item.occurred_at)
        plans = kept
    if plans:
        _write(brand, plans, assets, published, outcomes, now)
        # Last, so the row lock these updates take is held only until the commit just after.
        for key, units in sorted(increments.items()):
            if units:
                _counter_update(_COUNTER_ADD, key, units)
        volumes_add(volumes)
    if refusals:
        RefusedAttempt.objects.bulk_create(refusals)
    if holds:
        # In external_id order, like the uses: concurrent batches meet on the unique index in
        # the same order (and a concurrent duplicate retries as a replay of the held report).
        LateReport.objects.bulk_create(sorted(holds, key=lambda r: r.external_id))
        for report in holds:
            LateReport.decision.related.set_cached_value(report, None)
    return outcomes


def _replay(
    index: int, item: UsageInput, first: UsageEvent | LateReport, request_hash: str
) -> Outcome:
    """The first result for the same body (the booked use, or the report still held)."""
    if first.request_hash != request_hash:
        return Outcome(
            index,
            item.external_id,
            "conflict",
            error=Conflict(
                f"external_id {item.external_id!r} was already used for a different event.",
                code="idempotency_conflict",
                field="external_id",
            ),
        )
    if isinstance(first, LateReport):
        return Outcome(index, item.external_id, "held", late_report=first)
    return Outcome(index, item.external_id, "replayed", event=first)


def _evaluate(
    index: int,
    item: UsageInput,
    license: License,
    versions: list[LicenseVersion],
    consents: dict[int, list[ConsentVersion]],
    assets: dict[str, Asset],
    now: datetime,
) -> _Plan:
    """Raise the first reason the use is not allowed; otherwise return what to write."""
    _check_amounts(item)
    if item.occurred_at > now + FUTURE_TOLERANCE:
        raise Refused(
            "occurred_at is more than 5 minutes in the future.",
            code="occurred_in_future",
            field="occurred_at",
        )

    version = version_in_force(versions, item.occurred_at)
    if version is None:
        first_start = min((v.starts_at for v in license.versions.all()), default=None)
        if first_start is not None and item.occurred_at < first_start:
            raise Refused(
                "The use is before the license starts.",
                code="before_license_start",
                field="occurred_at",
            )
        raise Refused(
            "The license is not active at occurred_at.",
            code="license_inactive",
            field="occurred_at",
        )
    _check_scope(
        item,
        kinds=version.use_kinds,
        channels=version.channels,
        territories=version.territories,
        refusal="The license does not cover",
        suffix="licensed",
    )

    asset = assets.get(item.asset_ref)
    consent = _check_consent(item, version, consents.get(license.twin_id, []), asset)

    if item.kind in PRODUCING_KINDS:
        if asset is not None:
            raise Refused(
                f"Asset {item.asset_ref!r} was already generated.",
                code="asset_exists",
                field="asset_ref",
            )
        # A generated image awaits the talent when consent asks for it; a training run's
        # output (a model) is never published, so it has nothing to approve.
        approval = (
            Asset.Approval.PENDING
            if consent.requires_output_approval and item.kind == UseKind.GENERATION
            else Asset.Approval.NOT_REQUIRED
        )
        asset = build(
            Asset,
            {
                "id": None,
                "brand_id": license.brand_id,
                "license_id": license.pk,
                "twin_id": license.twin_id,
                "asset_ref": item.asset_ref,
                "content_credential": item.content_credential,
                "generated_at": item.occurred_at,
                "approval": approval,
                "decided_at": None,
                "decided_by_id": None,
                "first_published_at": None,
            },
        )
        return _Plan(index, item, license, version, asset, True, "")
    if asset is None or asset.twin_id != license.twin_id:
        raise Refused(
            f"No generated asset {item.asset_ref!r} of this twin.",
            code="asset_unknown",
            field="asset_ref",
        )
    if asset.approval in (Asset.Approval.PENDING, Asset.Approval.REJECTED):
        raise Refused(
            f"Asset {item.asset_ref!r} is {asset.get_approval_display().lower()}: the talent must approve it first.",
            code="asset_not_approved",
            field="asset_ref",
        )
    return _Plan(index, item, license, version, asset, False, "")


def _check_shape(item: UsageInput, index: int) -> None:
    """Values the API's parser already refuses, checked again for every other caller: a bad
    value here is a caller's bug (400, nothing written), not a use to refuse and keep."""

    def bad(name: str, code: str, what: str) -> InvalidInput:
        return InvalidInput(f"Event {index}: {name} {what}.", code=code, field=name)

    for name in ("external_id", "asset_ref"):
        value = getattr(item, name)
        if not isinstance(value, str) or not 1 <= len(value) <= 200:
            raise bad(name, "invalid_length", "must be 1-200 characters")
    if not isinstance(item.content_credential, str) or len(item.content_credential) > 200:
        raise bad("content_credential", "invalid_length", "must be at most 200 characters")
    if item.kind not in USE_KINDS:
        raise bad("kind", "unknown_kind", f"must be one of {', '.join(UseKind.values)}")
    if not isinstance(item.channel, str) or not SLUG.match(item.channel):
        raise bad("channel", "invalid_channel", "must be a lower-case slug such as social")
    if not isinstance(item.territory, str) or not TERRITORY.match(item.territory):
        raise bad("territory", "invalid_territory", "must be an ISO 3166-1 alpha-2 code")
    if not isinstance(item.occurred_at, datetime) or timezone.is_naive(item.occurred_at):
        raise bad("occurred_at", "invalid_datetime", "must be a time with a time zone")
    if any(not isinstance(tag, str) or not SLUG.match(tag) for tag in item.context_tags):
        raise bad("context_tags", "invalid_tag", "must be lower-case slugs")
    for name in ("quantity", "sale_amount_minor"):
        value = getattr(item, name)
        if isinstance(value, bool) or not isinstance(value, int | None):
            raise bad(name, "invalid_type", "must be an integer")


def _check_amounts(item: UsageInput) -> None:
    if not 1 <= item.quantity <= MAX_QUANTITY:
        raise Refused(
            f"quantity must be between 1 and {MAX_QUANTITY}.",
            code="invalid_quantity",
            field="quantity",
        )
    if item.kind == UseKind.SALE:
        if (
            item.sale_amount_minor is None
            or not 1 <= item.sale_amount_minor <= MAX_SALE_AMOUNT_MINOR
        ):
            raise Refused(
                f"A sale needs sale_amount_minor between 1 and {MAX_SALE_AMOUNT_MINOR}.",
                code="invalid_sale_amount",
                field="sale_amount_minor",
            )
    elif item.sale_amount_minor is not None:
        raise Refused(
            "sale_amount_minor is only for sale uses.",
            code="invalid_sale_amount",
            field="sale_amount_minor",
        )


def _check_scope(
    item: UsageInput,
    *,
    kinds: list[str],
    channels: list[str],
    territories: list[str],
    refusal: str,
    suffix: str,
) -> None:
    """The same three questions of the license and of the consent: kind, channel, territory."""
    error = _scope_refusal(
        item,
        kinds=kinds,
        channels=channels,
        territories=territories,
        refusal=refusal,
        suffix=suffix,
    )
    if error is not None:
        raise error


def _scope_refusal(
    item: UsageInput,
    *,
    kinds: list[str],
    channels: list[str],
    territories: list[str],
    refusal: str,
    suffix: str,
) -> Refused | None:
    if item.kind not in kinds:
        return Refused(f"{refusal} {item.kind!r} uses.", code=f"kind_not_{suffix}", field="kind")
    if item.channel not in channels:
        return Refused(
            f"{refusal} the {item.channel!r} channel.",
            code=f"channel_not_{suffix}",
            field="channel",
        )
    if not covers(territories, item.territory):
        return Refused(
            f"{refusal} uses in {item.territory}.",
            code=f"territory_not_{suffix}",
            field="territory",
        )
    return None


def _consent_refusal(
    item: UsageInput, consent: ConsentVersion, *, scope_only: bool = False
) -> Refused | None:
    """Why this consent version does not allow the use (None: it does); `scope_only`: the
    kinds, channels, territories and contexts a revocation keeps, not the revocation itself."""
    if consent.revoked and not scope_only:
        return Refused(
            f"The talent revoked consent on {consent.effective_from:%Y-%m-%d %H:%M} UTC.",
            code="consent_revoked",
            field="occurred_at",
        )
    error = _scope_refusal(
        item,
        kinds=consent.allowed_kinds,
        channels=consent.allowed_channels,
        territories=consent.allowed_territories,
        refusal="The talent does not consent to",
        suffix="consented",
    )
    if error is not None:
        return error
    forbidden = sorted(set(item.context_tags) & set(consent.forbidden_contexts))
    if forbidden:
        return Refused(
            f"The talent forbids the context {', '.join(forbidden)}.",
            code="context_forbidden",
            field="context_tags",
        )
    return None


def _check_consent(
    item: UsageInput, version: LicenseVersion, history: list[ConsentVersion], asset: Asset | None
) -> ConsentVersion:
    consent = consent_in_force(history, item.occurred_at)
    if consent is None:
        raise Refused(
            "The twin had no consent in force at occurred_at.",
            code="no_consent",
            field="occurred_at",
        )
    error = _consent_refusal(item, consent)
    if error is not None and not _in_sell_off(item, version, history, consent, asset):
        if consent.revoked and item.kind in SELL_OFF_KINDS:
            # What the rest of the consent refuses says more than the revocation itself.
            error = _consent_refusal(item, consent, scope_only=True) or error
        raise error
    return consent


def _refused_since(
    item: UsageInput, history: list[ConsentVersion], newest: ConsentVersion, oldest: int
) -> ConsentVersion | None:
    """The consent version since which the use has been refused without a break, walking back
    from `newest` (which refuses it) towards history index `oldest` (excluded); None when no
    version on the way allows it. History is latest first."""
    since = None
    for version in history[history.index(newest) : oldest]:
        if _consent_refusal(item, version) is None:
            return since
        since = version
    return None


def _in_sell_off(
    item: UsageInput,
    version: LicenseVersion,
    history: list[ConsentVersion],
    consent: ConsentVersion,
    asset: Asset | None,
) -> bool:
    """Impressions and sales of an asset published before the narrowing or revocation that
    refuses them, until its sell-off date (that change's time + the license's sell-off days)."""
    if item.kind not in SELL_OFF_KINDS or asset is None or asset.first_published_at is None:
        return False
    since = _refused_since(item, history, consent, len(history))
    return (
        since is not None
        and asset.first_published_at < since.effective_from
        and item.occurred_at <= since.effective_from + timedelta(days=version.sell_off_days)
    )


def _hold(
    plan: _Plan, versions: list[LicenseVersion], history: list[ConsentVersion], now: datetime
) -> LateReport | None:
    """The late report to keep instead of booking a use allowed at occurred_at, or None.

    Producing uses are judged again at the time of recording: a narrowing or a revocation (or
    narrower license terms) since occurred_at holds them. Every use is held when reported after
    its license's window. One look at data already loaded: no query.
    """
    item, version = plan.item, plan.version
    producing = item.kind in JUDGED_TWICE_KINDS
    due = item.occurred_at + (
        timedelta(hours=version.producing_report_hours)
        if producing
        else timedelta(days=version.reporting_window_days)
    )
    at = max(now, item.occurred_at)
    hold: dict[str, Any] | None = None
    if producing:
        then = consent_in_force(history, item.occurred_at)
        current = consent_in_force(history, at)
        if current is not None and then is not None and current.pk != then.pk:
            error = _consent_refusal(item, current)
            if error is not None:
                since = _refused_since(item, history, current, history.index(then) + 1) or current
                hold = {
                    "reason": LateReport.Reason.CONSENT_CHANGED_SINCE,
                    "detail": f"Allowed when it occurred, but not by the talent's consent "
                    f"v{since.version} in force since {since.effective_from:%Y-%m-%d %H:%M} UTC: "
                    f"{error.detail}",
                    "consent_version": since,
                    "changed_at": since.effective_from,
                }
        if hold is None:
            terms = _terms_at(versions, at)
            if terms is not None and terms.pk != version.pk:
                error = _scope_refusal(
                    item,
                    kinds=terms.use_kinds,
                    channels=terms.channels,
                    territories=terms.territories,
                    refusal="The license's terms now in force do not cover",
                    suffix="licensed",
                )
                if error is not None:
                    changed = effective_from(terms, activated_at=terms.activation.activated_at)
                    hold = {
                        "reason": LateReport.Reason.LICENSE_CHANGED_SINCE,
                        "detail": f"Allowed when it occurred, but license version "
                        f"{terms.version} in force since {changed:%Y-%m-%d %H:%M} UTC does not "
                        f"cover it: {error.detail}",
                        "changed_at": changed,
                    }
    if hold is None and now > due:
        window = (
            f"{version.producing_report_hours} hours"
            if producing
            else f"{version.reporting_window_days} days"
        )
        hold = {
            "reason": LateReport.Reason.REPORTED_LATE,
            "detail": f"Reported {_lateness(now - item.occurred_at)} after it occurred; the "
            f"license asks for {item.kind} uses to be reported within {window}.",
        }
    if hold is None:
        return None
    return LateReport(
        brand_id=plan.license.brand_id,
        external_id=item.external_id,
        license=plan.license,
        license_version=version,
        twin_id=plan.license.twin_id,
        kind=item.kind,
        asset_ref=item.asset_ref,
        channel=item.channel,
        territory=item.territory,
        occurred_at=item.occurred_at,
        recorded_at=now,
        quantity=item.quantity,
        sale_amount_minor=item.sale_amount_minor,
        context_tags=sorted(set(item.context_tags)),
        content_credential=item.content_credential,
        request_hash=plan.request_hash,
        due_at=due,
        **{"consent_version": None, "changed_at": None, **hold},
    )


def _terms_at(versions: list[LicenseVersion], at: datetime) -> LicenseVersion | None:
    """The newest activated terms in effect at `at`, whether or not their term has ended: an
    amendment narrows what a late report may still book; the natural end of the term does not
    (the reporting window bounds that)."""
    for version in versions:
        if effective_from(version, activated_at=version.activation.activated_at) <= at:
            return version
    return None


def _lateness(delta: timedelta) -> str:
    if delta >= timedelta(days=2):
        return f"{delta.days} days"
    hours = int(delta.total_seconds() // 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}"


Key = tuple[int, date]  # (license id, period start)


def _rate(plans: list[_Plan]) -> tuple[dict[Key, int], Volumes]:
    """Price every plan in order; per-asset tiers count under the per-period counter row.
    A plan past a bound (ledger.services.bounds) is marked refused and counts nowhere.

    Returns the counts to add, at the end of the write, to counters that were not locked, and
    the volumes the accepted plans add.
    """
    for plan in plans:
        # Periods are calendar months in UTC, whatever the offset occurred_at was given in.
        plan.period_start = plan.item.occurred_at.astimezone(UTC).date().replace(day=1)
    rates: dict[int, Rates] = {}
    for plan in plans:
        if plan.version.pk not in rates:
            rates[plan.version.pk] = Rates.parse(plan.version.rates)
    flat_from: dict[Key, int] = {}
    for plan in plans:
        if plan.item.kind == UseKind.GENERATION and rates[plan.version.pk].per_asset:
            key = (plan.license.pk, plan.period_start)
            tiers = rates[plan.version.pk].per_asset
            last_boundary = tiers[-2].up_to if len(tiers) > 1 else 0
            flat_from[key] = max(flat_from.get(key, 0), last_boundary)
    counters, locked, unlocked_start = _counters(flat_from)
    volumes = volumes_read(
        licenses={(plan.license.pk, plan.period_start) for plan in plans},
        brands={(plan.license.brand_id, plan.period_start) for plan in plans},
    )
    refused_assets: set[int] = set()  # new assets of refused plans: never written
    for plan in plans:
        key = (plan.license.pk, plan.period_start)
        plan.rated = rate_use(
            rates[plan.version.pk],
            kind=plan.item.kind,
            channel=plan.item.channel,
            quantity=plan.item.quantity,
            sale_amount_minor=plan.item.sale_amount_minor,
            already_used=counters.get(key, 0),
            currency=plan.license.currency,
        )
        try:
            if id(plan.asset) in refused_assets:
                raise Refused(
                    "The asset's generation in this batch was refused.",
                    code="asset_unknown",
                    field="asset_ref",
                )
            volumes.admit(
                license=key,
                brand=(plan.license.brand_id, plan.period_start),
                gross=plan.rated.gross.minor,
                units=plan.item.quantity,
            )
        except DomainError as error:
            plan.refused = error
            if plan.new_asset:
                refused_assets.add(id(plan.asset))
            continue
        if plan.rated.tier_units:
            counters[key] += plan.rated.tier_units
    for key in sorted(locked):
        _counter_update(_COUNTER_SET, key, counters[key])
    return {key: counters[key] - start for key, start in unlocked_start.items()}, volumes


def _without_refused(plans: list[_Plan], outcomes: list[Outcome]) -> list[_Plan]:
    """The plans rating admitted; the others' outcomes become their refusals (answered only:
    a bound is not a question of rights)."""
    kept = []
    for plan in plans:
        if plan.refused is None:
            kept.append(plan)
        else:
            outcomes[plan.index] = Outcome(
                plan.index, plan.item.external_id, "refused", error=plan.refused
            )
    return kept


def _counters(flat_from: dict[Key, int]) -> tuple[dict[Key, int], set[Key], dict[Key, int]]:
    """Units used so far per (license, period); the keys whose rows were locked; and, for the
    others, the count they were read at.

    A unit's price depends on its position only below the last tier boundary: counts only
    grow, so a counter already at or past it cannot move a price any more, and is read without
    a lock (its increment is added atomically at the end). Others are locked FOR UPDATE in a
    fixed order (no deadlocks) so concurrent uses cannot both take the last cheap unit.
    """
    keys = sorted(flat_from)
    if not keys:
        return {}, set(), {}
    current = _counters_ensure(keys)
    counters: dict[Key, int] = {}
    locked: set[Key] = set()
    unlocked: dict[Key, int] = {}
    for key in keys:
        if current[key] >= flat_from[key]:
            counters[key] = unlocked[key] = current[key]
            continue
        with connection.cursor() as cursor:
            cursor.execute(_COUNTER_LOCK, {"license": key[0], "period": key[1]})
            (counters[key],) = cursor.fetchone()
        locked.add(key)
    return counters, locked, unlocked


# The counters' SQL is hand-written, like the reads of ledger.selectors.rows: it runs on every
# rated use.
_COUNTER_LOCK = """
SELECT units FROM ledger_tiercounter
WHERE license_id = %(license)s AND period_start = %(period)s FOR UPDATE
"""
_COUNTER_SET = """
UPDATE ledger_tiercounter SET units = %(units)s
WHERE license_id = %(license)s AND period_start = %(period)s
"""
_COUNTER_ADD = """
UPDATE ledger_tiercounter SET units = units + %(units)s
WHERE license_id = %(license)s AND period_start = %(period)s
"""


def _counter_update(sql: str, key: Key, units: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, {"license": key[0], "period": key[1], "units": units})


# Make the missing counter rows and read them all in one round trip. The SELECT runs on the
# statement's snapshot: a row the INSERT made is returned by RETURNING, an older row by the
# SELECT; a row another transaction committed after the snapshot (the INSERT waited for it and
# did nothing) is in neither, and is read again below.
_COUNTERS_ENSURE = """
WITH wanted AS (
    SELECT * FROM unnest(%(licenses)s::bigint[], %(periods)s::date[]) AS w(license_id, period_start)
), made AS (
    INSERT INTO ledger_tiercounter (license_id, period_start, units)
    SELECT license_id, period_start, 0 FROM wanted
    ON CONFLICT (license_id, period_start) DO NOTHING
    RETURNING license_id, period_start, units
)
SELECT license_id, period_start, units FROM made
UNION ALL
SELECT c.license_id, c.period_start, c.units
FROM ledger_tiercounter c JOIN wanted w USING (license_id, period_start)
"""


def _counters_ensure(keys: list[Key]) -> dict[Key, int]:
    """Units so far per (license, period), counter rows made at zero where missing."""
    params = {"licenses": [lic for lic, _ in keys], "periods": [start for _, start in keys]}
    with connection.cursor() as cursor:
        cursor.execute(_COUNTERS_ENSURE, params)
        current = {(lic, start): units for lic, start, units in cursor.fetchall()}
    missing = [key for key in keys if key not in current]
    for lic, start in missing:
        current[(lic, start)] = TierCounter.objects.get(license_id=lic, period_start=start).units
    return current


def _write(
    brand: Brand,
    plans: list[_Plan],
    assets: dict[str, Asset],
    published: dict[str, datetime],
    outcomes: list[Outcome],
    now: datetime,
) -> None:
    new_assets = sorted((plan.asset for plan in plans if plan.new_asset), key=lambda a: a.asset_ref)
    # Posted in external_id order, like the usage rows below: two batches sharing keys in
    # different orders would otherwise deadlock on the journal's idempotency index.
    priced = sorted(
        (plan for plan in plans if plan.rated.gross.minor), key=lambda p: p.item.external_id
    )
    asset_ids, transaction_ids, event_ids = allocate_ids_for(
        (Asset, len(new_assets)), (JournalTransaction, len(priced)), (UsageEvent, len(plans))
    )
    if new_assets:
        for asset, asset_id in zip(new_assets, asset_ids, strict=True):
            asset.id = asset_id
        copy_rows(
            Asset, ASSET_COLUMNS, ([getattr(a, n) for n in ASSET_ATTNAMES] for a in new_assets)
        )
        for asset in new_assets:
            loaded(asset)
    # In asset_ref order: batches publishing the same assets lock their rows in the same order.
    for asset_ref, first_published_at in sorted(published.items()):
        asset = assets[asset_ref]
        Asset.objects.filter(pk=asset.pk).exclude(
            first_published_at__lte=first_published_at
        ).update(first_published_at=first_published_at)

    accounts = AccountCache()
    accounts.load(
        currencies={plan.license.currency for plan in plans},
        brands={brand.pk},
        talents={plan.license.twin.talent_id for plan in plans},
        agencies={plan.version.agency_id for plan in plans if plan.version.agency_id},
    )
    # The rows first (without their transaction): each transaction's hash commits to its row.
    events = {plan.index: _event(brand, plan, None, now) for plan in plans}
    entries = [
        Entry(
            kind=JournalTransaction.Kind.USAGE,
            source=f"usage:{brand.pk}",
            idempotency_key=plan.item.external_id,
            occurred_at=plan.item.occurred_at,
            legs=revenue_legs(
                gross=plan.rated.gross,
                brand=brand,
                talent=plan.license.twin.talent,
                agency=plan.version.agency,
                agency_commission_pct=plan.version.agency_commission_pct,
                platform_fee_pct=plan.version.platform_fee_pct,
                accounts=accounts,
            ),
            use=use_canonical(events[plan.index].__dict__),
        )
        for plan in priced
    ]
    transactions = dict(
        zip(
            (p.index for p in priced),
            journal_post_batch_within(entries, now=now, ids=transaction_ids),
            strict=True,
        )
    )
    for plan, event_id in zip(plans, event_ids, strict=True):
        tx = transactions.get(plan.index)
        events[plan.index].id = event_id
        events[plan.index].transaction_id = tx.pk if tx else None
    events = [events[plan.index] for plan in plans]

    # Written in external_id order: two batches sharing ids then wait on each other's unique
    # index entries in the same order, instead of deadlocking.
    copy_rows(
        UsageEvent,
        USAGE_COLUMNS,
        (
            [getattr(event, attname) for attname in USAGE_ATTNAMES]
            for event in sorted(events, key=lambda e: e.external_id)
        ),
    )
    by_index = dict(zip((p.index for p in plans), events, strict=True))
    for outcome in outcomes:
        if outcome.status == "accepted":
            outcome.event = loaded(by_index[outcome.index])


USAGE_COLUMNS = [field.name for field in UsageEvent._meta.concrete_fields]
USAGE_ATTNAMES = [field.attname for field in UsageEvent._meta.concrete_fields]
ASSET_COLUMNS = [field.name for field in Asset._meta.concrete_fields]
ASSET_ATTNAMES = [field.attname for field in Asset._meta.concrete_fields]


def _event(brand: Brand, plan: _Plan, tx: JournalTransaction | None, now: datetime) -> UsageEvent:
    item = plan.item
    gross: Money = plan.rated.gross
    event = build(
        UsageEvent,
        {
            "id": None,
            "brand_id": brand.pk,
            "external_id": item.external_id,
            "license_id": plan.license.pk,
            "license_version_id": plan.version.pk,
            "twin_id": plan.license.twin_id,
            "asset_id": plan.asset.pk,
            "kind": item.kind,
            "channel": item.channel,
            "territory": item.territory,
            "occurred_at": item.occurred_at,
            "recorded_at": now,
            "quantity": item.quantity,
            "sale_amount_minor": item.sale_amount_minor,
            "context_tags": sorted(set(item.context_tags)),
            "content_credential": item.content_credential,
            "currency": gross.currency,
            "gross_minor": gross.minor,
            "rating": {
                "lines": plan.rated.lines,
                "license_version": plan.version.version,
                "agency_commission_pct": str(plan.version.agency_commission_pct),
                "platform_fee_pct": str(plan.version.platform_fee_pct),
            },
            "period_start": plan.period_start,
            "request_hash": plan.request_hash,
            "transaction_id": tx.pk if tx else None,
        },
    )
    UsageEvent.asset.field.set_cached_value(event, plan.asset)
    return event


def _refusal(
    brand: Brand, license: License, item: UsageInput, error: DomainError, now: datetime
) -> RefusedAttempt:
    payload: dict[str, Any] = {
        "asset_ref": item.asset_ref,
        "quantity": item.quantity,
        "context_tags": list(item.context_tags),
    }
    return RefusedAttempt(
        brand=brand,
        license=license,
        twin_id=license.twin_id,
        external_id=item.external_id,
        kind=item.kind,
        channel=item.channel,
        territory=item.territory,
        occurred_at=item.occurred_at,
        code=error.code,
        detail=error.detail,
        field=error.field,
        payload=payload,
        recorded_at=now,
    )
