"""Provenance: from a watermark / C2PA manifest id or a brand's asset id back to the twin, the
license it was made under and every recorded use of it — within what the caller may see."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from ledger.models import Asset, License, UsageEvent
from ledger.selectors.visibility import Viewer, assets_visible_to, usage_events_visible_to

MAX_USES = 500  # newest first; `uses_total` tells when there are more


@dataclass(frozen=True, slots=True)
class Provenance:
    asset: Asset
    license: License
    uses: list[UsageEvent]
    uses_total: int


def provenance_lookup(
    *, viewer: Viewer, content_credential: str | None = None, asset_ref: str | None = None
) -> list[Provenance]:
    """Every visible asset with this content credential or asset_ref (several brands may use
    the same asset_ref; finance and talents may see more than one), newest first."""
    if (content_credential is None) == (asset_ref is None):
        raise ValueError("Look up by exactly one of content_credential and asset_ref.")
    assets = assets_visible_to(viewer).select_related("license", "twin", "image")
    if content_credential is not None:
        # The credential given at generation, or one a later use (a publication) reported.
        assets = assets.filter(
            Q(content_credential=content_credential)
            | Q(
                pk__in=UsageEvent.objects.filter(content_credential=content_credential).values(
                    "asset"
                )
            )
        )
    else:
        assets = assets.filter(asset_ref=asset_ref)
    records = []
    for asset in assets[:100]:
        uses = usage_events_visible_to(viewer).filter(asset=asset)
        records.append(
            Provenance(
                asset=asset,
                license=asset.license,
                uses=list(uses[:MAX_USES]),
                uses_total=uses.count(),
            )
        )
    return records
