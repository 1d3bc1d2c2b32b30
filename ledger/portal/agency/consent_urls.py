"""Consent, generated assets and licenses. Menu entries: NAV."""

urlpatterns: list = []

NAV: list[tuple[str, str]] = []
