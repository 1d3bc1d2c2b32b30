"""The talent's pages: money and uses (earnings_urls) and consent and licensing (consent_urls)."""

from ledger.portal.images import image_urlpatterns

from .consent_urls import urlpatterns as consent_urlpatterns
from .earnings_urls import urlpatterns as earnings_urlpatterns

app_name = "talent"

urlpatterns = [*earnings_urlpatterns, *consent_urlpatterns, *image_urlpatterns("talent")]
