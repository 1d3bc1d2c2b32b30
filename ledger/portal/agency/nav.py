"""The agency menu: (label, URL name), in order."""

NAV = [
    ("Dashboard", "agency:dashboard"),
]
