"""The brand menu: (label, URL name), in order."""

NAV = [
    ("Dashboard", "brand:dashboard"),
    ("Licenses", "brand:licenses"),
    ("Usage", "brand:usage"),
    ("Assets", "brand:assets"),
    ("Invoices", "brand:invoices"),
    ("API keys", "brand:api-keys"),
]
