"""Run the command line, killed (SIGKILL, as by the OOM killer or a power cut) at a chosen
point, for the fault tests:

    python tests/faults/crash_at.py POINT -- ingest FOLDER

POINT is where the process dies:

- ``registered``: right after the new files are recorded as received;
- ``parsed``: right after a chunk's files were parsed and their values staged;
- ``validated``: right after a chunk was validated;
- ``loading``: inside the load's transaction, before it commits;
- ``terminated``: inside the load's transaction the database server ends this session's
  backend (PostgreSQL), so the next statement fails; the process carries on and reports it.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _after(module: Any, name: str) -> None:
    original = getattr(module, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        _die()
        return result

    setattr(module, name, wrapped)


def _terminate_own_backend(conn: Any) -> None:
    from sqlalchemy import create_engine, text

    pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(conn.engine.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def main() -> int:
    point, separator, *argv = sys.argv[1:]
    assert separator == "--", "usage: crash_at.py POINT -- ARGS..."
    from commune_reports import cli, sources, stages

    if point == "registered":
        _after(sources, "register_files")
        stages.register_files = sources.register_files
    elif point == "parsed":
        _after(stages, "parse_chunk")
    elif point == "validated":
        _after(stages, "validate_chunk")
    elif point in ("loading", "terminated"):
        original = stages.register_periods  # called inside load_batch's transaction

        def inside(conn: Any, *args: Any, **kwargs: Any) -> Any:
            if point == "loading":
                _die()
            _terminate_own_backend(conn)
            return original(conn, *args, **kwargs)

        stages.register_periods = inside
    else:
        raise SystemExit(f"unknown point {point!r}")
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
