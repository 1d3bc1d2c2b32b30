"""The talent menu: (label, URL name), in order."""

NAV = [
    ("Dashboard", "talent:dashboard"),
]
