"""The portal's URLs: login and landing here; each role's pages under its own prefix."""

from django.urls import include, path

from ledger.portal import auth

app_name = "portal"

urlpatterns = [
    path("", auth.home, name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("login/second-factor/", auth.second_factor, name="otp"),
]

# Included at the project's root (config/urls.py), each in its own namespace.
role_urlpatterns = [
    path("talent/", include("ledger.portal.talent.urls", namespace="talent")),
    path("agency/", include("ledger.portal.agency.urls", namespace="agency")),
    path("brand/", include("ledger.portal.brand.urls", namespace="brand")),
    path("finance/", include("ledger.portal.finance.urls", namespace="finance")),
]
