"""Server-rendered pages for talents, agencies, brands and finance.

Each role has its own package (`talent`, `agency`, `brand`, `finance`) with `urls.py`, `views.py`
and `NAV` (its menu). Views stay thin: they read through `ledger.selectors` (scoped to the
viewer's party by `ledger.selectors.visibility`) and write through `ledger.services`.
"""
