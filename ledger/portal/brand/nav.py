"""The brand menu: (label, URL name), in order."""

NAV = [
    ("Dashboard", "brand:dashboard"),
]
