"""The finance menu: (label, URL name), in order."""

NAV = [
    ("Dashboard", "finance:dashboard"),
    ("Periods", "finance:runs"),
    ("Payouts", "finance:payouts"),
    ("Reconciliation", "finance:reconciliation"),
    ("Verification", "finance:verification"),
]
