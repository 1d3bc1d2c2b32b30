"""The brand menu: (label, URL name), in order."""

NAV = [
    ("Dashboard", "brand:dashboard"),
    ("Licenses", "brand:licenses"),
    ("Usage", "brand:usage"),
    ("Invoices", "brand:invoices"),
    ("API keys", "brand:api-keys"),
]
