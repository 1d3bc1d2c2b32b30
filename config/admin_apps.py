"""django.contrib.admin's app, with our admin site (config/admin.py) as the default site."""

from django.contrib.admin.apps import AdminConfig


class TwinLedgerAdminConfig(AdminConfig):
    default_site = "config.admin.TwinLedgerAdminSite"
