"""The talent's money and uses pages, over the agency's talents. Menu entries: NAV."""

from ledger.portal.talent.earnings_urls import earnings_nav, earnings_urlpatterns

from . import views

urlpatterns = earnings_urlpatterns(views)
NAV = earnings_nav("agency")
