"""Dashboard, uses, statements, verification and payouts. Menu entries: NAV."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]

NAV = [
    ("Dashboard", "talent:dashboard"),
]
