"""Who may see an asset's image: the parties of its license, and finance."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from ledger.models import Asset, LicenseVersion
from ledger.selectors.visibility import Viewer


def asset_images_visible_to(viewer: Viewer) -> QuerySet[Asset]:
    """Assets whose image the viewer may see: the license's brand, the twin's talent, the agency
    named on a version of that license (not merely today's agency of the talent), finance (whose
    second factor the portal and the API already demand). Another party's asset is not found.
    """
    if viewer.finance:
        scoped = Asset.objects.all()
    else:
        scoped = Asset.objects.none()
        if viewer.brand_ids:
            scoped |= Asset.objects.filter(brand_id__in=viewer.brand_ids)
        if viewer.talent_id is not None:
            scoped |= Asset.objects.filter(twin__talent_id=viewer.talent_id)
        if viewer.agency_ids:
            on_license = LicenseVersion.objects.filter(
                license_id=OuterRef("license_id"), agency_id__in=viewer.agency_ids
            )
            scoped |= Asset.objects.filter(Exists(on_license))
    return scoped.select_related("image")


def assets_of_brands(viewer: Viewer) -> QuerySet[Asset]:
    """The brand pages' assets: those of the viewer's brands, newest first, images joined."""
    return (
        Asset.objects.filter(brand_id__in=viewer.brand_ids)
        .select_related("twin", "brand", "license", "image")
        .order_by("-generated_at", "-pk")
    )
