"""The finance menu: (label, URL name), in order."""

NAV = [
    ("Dashboard", "finance:dashboard"),
]
