"""The warehouse's schema migrations, run by Alembic.

Each file of ``sql/schema`` from 001 on has one revision in ``versions/`` (``NNN_name.py``,
revision id ``NNN``, revising the one before) whose ``upgrade()`` runs that file with
:func:`commune_reports.warehouse.run_sql_file`: the SQL stays in ``sql/``. The chain is linear
(one head); a unit test checks it against the files, so a new file without a revision fails.

Alembic is configured here in code, not by an ``alembic.ini``: the script location is this
folder (found from the installed package), and the connection is the caller's, passed in
``Config.attributes["connection"]``, so the revisions run inside the writer's transaction of
:func:`commune_reports.warehouse.ensure_schema`, the same from the command line, a test or an
Airflow worker. Operators use ``commune-reports warehouse upgrade | current | history``.

A warehouse made before Alembic recorded the files it took in ``schema_migrations`` (kept as
history, no longer written): its first upgrade stamps it at the last revision whose file that
table records (:func:`baseline`), then runs the rest. ``alembic`` is imported inside the
functions, so importing the warehouse module does not pay for it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy import Connection, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import Script, ScriptDirectory

FOLDER = Path(__file__).resolve().parent
LEGACY_TABLE = "schema_migrations"  # the former runner's record: file stems, applied_at


class SchemaVersionError(RuntimeError):
    """The warehouse's schema is in a state this release cannot upgrade from."""


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration of the warehouse; the revisions run on ``connection``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(FOLDER).replace("%", "%%"))
    cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def scripts() -> ScriptDirectory:
    """The revisions of this release (read once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config())


def chain() -> list[Script]:
    """Every revision, oldest first."""
    return list(reversed(list(scripts().walk_revisions())))


def expected_head() -> str:
    """The revision a current warehouse is at, from the file names of ``sql/schema`` alone
    (revision NNN runs NNN_*.sql; tests/unit/test_migrations.py keeps the two equal): the
    check every task makes costs no import of Alembic."""
    from commune_reports.settings import SQL_DIR

    return sorted((SQL_DIR / "schema").glob("[0-9][0-9][0-9]_*.sql"))[-1].stem[:3]


def head() -> str:
    """The last revision: the one a current warehouse is at."""
    heads = scripts().get_heads()
    if len(heads) != 1:
        raise SchemaVersionError(f"the migrations must form one chain, found heads {heads}")
    return heads[0]


def revision_of(conn: Connection) -> str | None:
    """The revision the warehouse is at (``alembic_version``); None when it has none."""
    from alembic.runtime.migration import MigrationContext

    heads = MigrationContext.configure(conn).get_current_heads()
    if len(heads) > 1:
        raise SchemaVersionError(f"the warehouse is at several revisions {heads}")
    return heads[0] if heads else None


def baseline(conn: Connection) -> str | None:
    """The revision a warehouse of the former runner stands at: the last whose file its
    ``schema_migrations`` records, every file before it recorded too. None without that table
    or a file in it: a new warehouse, or one from before the table (its files 001-005 only
    create what is missing, so it takes every revision from 001)."""
    if not inspect(conn).has_table(LEGACY_TABLE):
        return None
    recorded = set(conn.execute(text(f"SELECT version FROM {LEGACY_TABLE}")).scalars())
    files = [(script.revision, script.module.SQL.stem) for script in chain()]
    unknown = recorded - {stem for _, stem in files}
    if unknown:
        raise SchemaVersionError(
            f"{LEGACY_TABLE} ghi các tệp {sorted(unknown)} mà phiên bản này không có: kho dữ "
            f"liệu đã được nâng cấp bởi một phiên bản mới hơn / {LEGACY_TABLE} records files "
            f"{sorted(unknown)} this release does not have: a newer release upgraded the "
            "warehouse; run that release"
        )
    taken = [i for i, (_, stem) in enumerate(files) if stem in recorded]
    if not taken:
        return None
    missing = [stem for _, stem in files[: taken[-1]] if stem not in recorded]
    if missing:
        raise SchemaVersionError(
            f"{LEGACY_TABLE} thiếu {missing} trước {files[taken[-1]][1]}: không biết lược đồ "
            f"đang ở đâu / {LEGACY_TABLE} lacks {missing} before {files[taken[-1]][1]}: "
            "where the schema stands is unknown; check those files' changes by hand and "
            "record them"
        )
    return files[taken[-1]][0]


def pending(current: str | None) -> list[Script]:
    """The revisions after ``current`` (all of them after None), oldest first."""
    scripts_ = chain()
    if current is None:
        return scripts_
    ids = [script.revision for script in scripts_]
    if current not in ids:
        raise SchemaVersionError(
            f"kho dữ liệu ở phiên bản lược đồ {current}, phiên bản phần mềm này không biết "
            f"(mới nhất: {ids[-1]}) / the warehouse is at schema revision {current}, which "
            f"this release does not know (its last is {ids[-1]}): a newer release upgraded it; "
            "run that release"
        )
    return scripts_[ids.index(current) + 1 :]


@dataclass(frozen=True)
class Status:
    """Where a warehouse's schema stands, read without writing."""

    revision: str | None  # alembic_version; None before the first upgrade
    baseline: str | None  # without a revision: what schema_migrations says it stands at
    head: str
    pending: list[Script]


def status(conn: Connection) -> Status:
    """The warehouse's revision and what an upgrade would run, read only."""
    revision = revision_of(conn)
    start = baseline(conn) if revision is None else None
    return Status(revision, start, head(), pending(revision or start))


def upgrade(conn: Connection) -> list[str]:
    """Bring the warehouse to the head revision in the caller's transaction, stamping a
    warehouse of the former runner at its :func:`baseline` first. The revisions it ran,
    oldest first (none when it was current)."""
    from alembic import command

    cfg = config(conn)
    current = revision_of(conn)
    if current is None and (start := baseline(conn)) is not None:
        command.stamp(cfg, start)
        current = start
    todo = [script.revision for script in pending(current)]
    if todo:
        command.upgrade(cfg, "head")
    return todo


def irreversible(revision: str) -> NoReturn:
    """A revision's ``downgrade()``: the schema only moves forward."""
    raise NotImplementedError(
        f"schema revision {revision} is not undone in place: the warehouse is derived from "
        "the files it keeps (the archive under COMMUNE_REPORTS_HOME, never deleted), so go "
        "back by restoring the backup taken before the upgrade, or rebuild a new warehouse of "
        "the older release from those files"
    )
