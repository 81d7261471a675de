"""The warehouse: one SQLAlchemy engine (embedded SQLite with WAL, or PostgreSQL), the schema
from ``sql/schema``, and the catalog copied into its reference tables.

Runs overlap (a backfill runs many at once, the three DAGs overlap each other), so every
transaction that writes goes through :func:`writing`: writers take turns (a PostgreSQL advisory
transaction lock; ``BEGIN IMMEDIATE`` on SQLite, which waits up to the busy timeout), and what
a writer reads inside its transaction is still true when it writes. Reads never wait. Work that
must not run twice at once outside a transaction (sending alerts) holds :func:`exclusive`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    Numeric,
    TextClause,
    bindparam,
    create_engine,
    event,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import NullType, TypeDecorator, TypeEngine

from commune_reports import migrations
from commune_reports.catalog import Catalog, load_catalog
from commune_reports.hierarchy import tree_rows
from commune_reports.periods import TIMEZONE, Period, cutoff_window, deadline
from commune_reports.settings import SQL_DIR


class ExactNumber(TypeDecorator):
    """A figure as NUMERIC(18, 4) on PostgreSQL; on SQLite a whole number goes in as an integer
    and any other as its decimal text, never through a float, so 123456789012345678 stays
    exact (the parse rules keep other numbers within what SQLite holds exactly)."""

    impl = Numeric(18, 4, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(NullType())
        return dialect.type_descriptor(Numeric(18, 4, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else str(number)


_ENGINES: dict[str, Engine] = {}
# SQLite: how long a writer waits for another to finish before it gives up
BUSY_TIMEOUT_SECONDS = float(os.environ.get("COMMUNE_REPORTS_SQLITE_BUSY_SECONDS", "120"))
WRITER_LOCK = 0x436F6D6D  # PostgreSQL advisory lock key of the warehouse's writers
_EXCLUSIVE_SPACE = 0x436F6D6E  # keyspace of the named locks of exclusive()
_WRITE = "commune_reports_write"  # execution option marking a writing transaction


class WarehouseUrlError(ValueError):
    """A warehouse URL of an engine the project does not support (a usage error: exit 2)."""


def get_engine(url: str) -> Engine:
    """One engine per URL and process; SQLite gets WAL, foreign keys, a busy timeout and
    transactions that begin explicitly (``BEGIN IMMEDIATE`` for writers, see
    :func:`writing`) instead of the driver's implicit ones."""
    if url in _ENGINES:
        return _ENGINES[url]
    if not url.startswith(("sqlite", "postgresql", "postgres")):
        scheme = url.split(":", 1)[0]
        raise WarehouseUrlError(
            f"kho dữ liệu phải là SQLite hoặc PostgreSQL, không phải {scheme!r} "
            f"(COMMUNE_REPORTS_WAREHOUSE_URL) / the warehouse must be SQLite or PostgreSQL, not "
            f"{scheme!r} (COMMUNE_REPORTS_WAREHOUSE_URL), e.g. "
            "postgresql+psycopg://user@host:5432/warehouse"
        )
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" below starts each one

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # a writer takes the write lock before its first read (waiting for the busy
            # timeout), so it can never fail half-way on a snapshot another writer changed
            writer = conn.get_execution_options().get(_WRITE)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")
    else:
        engine = create_engine(url, pool_pre_ping=True)
    _ENGINES[url] = engine
    return engine


@contextlib.contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes, one writer at a time: committed when the block ends,
    rolled back if it raises."""
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITER_LOCK})
            yield conn


@contextlib.contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[None]:
    """Hold the lock ``name`` for the block, across processes (and machines on PostgreSQL):
    for work outside a transaction that two overlapping runs must not both do, such as
    sending the same alert. Waits for the holder to finish."""
    key = zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(
                text("SELECT pg_advisory_lock(:space, :key)"),
                {"space": _EXCLUSIVE_SPACE, "key": key},
            )
            conn.commit()
            try:
                yield
            finally:
                conn.execute(
                    text("SELECT pg_advisory_unlock(:space, :key)"),
                    {"space": _EXCLUSIVE_SPACE, "key": key},
                )
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield  # one process holds an in-memory database: nothing to exclude
        return
    lock_path = Path(f"{database}.{key:08x}.lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


ANALYZE_ROWS = 1000  # rows written after which PostgreSQL's statistics may be refreshed at once
ANALYZE_FRACTION = 0.1  # of a table's rows changed since its last ANALYZE, as autovacuum's


def analyze(conn: Connection, tables: Sequence[str], rows: int = ANALYZE_ROWS) -> None:
    """Refresh PostgreSQL's planner statistics of those of ``tables`` that a write of ``rows``
    made stale (``sql/queries/stale_statistics.sql``). Autovacuum does it too, but minutes
    later: until then a freshly loaded warehouse gets plans made for empty tables (the
    completeness query of a 10,000-unit quarter took 5.8 s instead of 0.09 s). A quarter on
    years of history changes too little of a table to need it, and an ANALYZE of the whole
    table would make each run cost more as the history grows. SQLite's planner needs no such
    step here."""
    if conn.dialect.name != "postgresql" or rows < ANALYZE_ROWS:
        return
    params = {"tables": list(tables), "written": rows, "fraction": ANALYZE_FRACTION}
    for table in conn.execute(text(query_text("stale_statistics")), params).scalars():
        conn.execute(text(f"ANALYZE {table}"))


def split_statements(sql: str) -> list[str]:
    """Split a .sql file on semicolons that end a line, outside ``$$`` blocks (a DO body);
    drop comment-only pieces."""
    out, piece, quoted = [], [], False
    for line in sql.splitlines():
        if line.strip().startswith("--") and not quoted:
            continue
        piece.append(line)
        quoted ^= line.count("$$") % 2 == 1
        if not quoted and line.rstrip().endswith(";"):
            out.append("\n".join(piece).strip().removesuffix(";").strip())
            piece = []
    tail = "\n".join(piece).strip()
    return [p for p in (*out, tail) if p]


def run_sql_file(conn: Connection, path: Path, params: Mapping[str, Any] | None = None) -> None:
    for statement in split_statements(path.read_text(encoding="utf-8")):
        conn.execute(text(statement), dict(params or {}))


def sql_files(layer: str) -> list[Path]:
    """The .sql files of one layer (``schema`` or ``marts``), in name order."""
    return sorted((SQL_DIR / layer).glob("*.sql"))


def ensure_schema(engine: Engine, catalog: Catalog | None = None) -> None:
    """Bring the schema up to date (the Alembic revisions of :mod:`commune_reports.migrations`
    not yet applied, in order: each runs one file of ``sql/schema``) and the reference tables
    in line with the catalog, atomically. Nothing is written, and no writer waits, when both
    are already current."""
    catalog = catalog or load_catalog()
    tables = catalog_rows(catalog)
    fingerprint = _fingerprint(tables)
    head = migrations.expected_head()
    with engine.connect() as conn:
        if _current(conn, head, fingerprint):
            return
    with writing(engine) as conn:
        migrated = bool(migrations.upgrade(conn))
        changed = sync_catalog(conn, catalog, tables, fingerprint)
        if not (migrated or changed):
            return
        if not conn.execute(text("SELECT COUNT(*) FROM facts")).scalar_one():
            return
        if migrated or changed - MARTS_UNCHANGED_BY:
            refresh_marts(conn)  # a new tree or a migration changes every period's marts
        elif "check_rules" in changed:
            refresh_marts(conn, files={"050_figure_checks"})  # new rules: only the findings


# Catalog tables whose edit leaves the totals and rates as they are: a definition version
# is recorded on facts when they load (the facts keep theirs), and check rules only change
# the findings. Editing them on a national warehouse costs no rebuild of every mart.
MARTS_UNCHANGED_BY = frozenset({"metric_definitions", "check_rules"})


def _current(conn: Connection, head: str, fingerprint: str) -> bool:
    """Is the schema at the ``head`` revision and the catalog copied as it is now? (A fresh
    warehouse, or one of the runner before Alembic, has no ``alembic_version``: not current.)"""
    try:
        revisions = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
        stored = conn.execute(text("SELECT fingerprint FROM catalog_state")).scalar()
    except DBAPIError:
        conn.rollback()
        return False
    return revisions == {head} and stored == fingerprint


def _replace(conn: Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    conn.execute(text(f"DELETE FROM {table}"))
    if rows:
        cols = list(rows[0])
        conn.execute(
            text(
                f"INSERT INTO {table} ({', '.join(cols)}) "
                f"VALUES ({', '.join(':' + c for c in cols)})"
            ),
            list(rows),
        )


def catalog_rows(catalog: Catalog) -> dict[str, list[dict[str, Any]]]:
    """The reference tables' rows, as the catalog defines them."""
    return {
        "units": [
            {
                "unit_key": u.key,
                "code": u.code,
                "name": u.name,
                "unit_type": u.unit_type,
                "level": u.level,
                "kind": u.kind,
                "parent_code": u.parent_code or None,
                "valid_from": u.valid_from.isoformat(),
                "valid_to": u.valid_to.isoformat(),
                "successor_code": u.successor_code or None,
            }
            for u in catalog.units
        ],
        "metrics": [
            {
                "code": m.code,
                "label": m.label,
                "unit_of_measure": m.unit_of_measure,
                "regime": m.regime,
                "value_kind": m.value_kind,
                "aggregation": m.aggregation,
                "may_be_blank": int(m.may_be_blank),
            }
            for m in catalog.metrics
        ],
        "metric_requirements": [
            {"metric_code": m.code, "unit_key": u.key}
            for m in catalog.metrics
            for u in catalog.units
            if m.required_for(u)
        ],
        "rates": [
            {
                "code": r.code,
                "label": r.label,
                "numerator": r.numerator,
                "denominator": r.denominator,
            }
            for r in catalog.rates
        ],
        "check_rules": [
            {
                "code": c.code,
                "kind": c.kind,
                "metric_code": c.metric_code,
                "threshold": c.threshold,
                "severity": c.severity,
                "other_metric": c.other_metric,
                "level": c.level,
            }
            for c in catalog.checks
        ],
        "metric_definitions": [
            {
                "metric_code": d.metric_code,
                "version": d.version,
                "valid_from": d.valid_from.isoformat(),
                "valid_to": d.valid_to.isoformat(),
                "definition_vi": d.definition_vi,
                "definition_en": d.definition_en,
                "legal_basis": d.legal_basis,
            }
            for d in catalog.definitions
        ],
        **tree_rows(catalog),
    }


def _fingerprint(tables: Mapping[str, Any]) -> str:
    """One hash per reference table, as JSON, so a sync knows which tables changed."""
    return json.dumps(
        {
            name: hashlib.sha256(
                json.dumps(rows, sort_keys=True, ensure_ascii=False).encode("utf-8")
            ).hexdigest()
            for name, rows in sorted(tables.items())
        },
        sort_keys=True,
    )


def _table_hashes(stored: str | None) -> dict[str, str]:
    """The per-table hashes of a stored fingerprint; none for an older single hash."""
    try:
        found = json.loads(stored or "")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def sync_catalog(
    conn: Connection,
    catalog: Catalog,
    tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    fingerprint: str | None = None,
) -> set[str]:
    """Copy the reference tables that differ from the catalog (units, metrics, rates, the
    tree, rules, definitions). A fingerprint per table is kept, so an unchanged catalog costs
    one read instead of a rewrite. The names of the tables rewritten."""
    tables = tables if tables is not None else catalog_rows(catalog)
    fingerprint = fingerprint or _fingerprint(tables)
    stored = conn.execute(text("SELECT fingerprint FROM catalog_state")).scalar()
    if stored == fingerprint:
        return set()
    before, now = _table_hashes(stored), _table_hashes(fingerprint)
    changed = {name for name in tables if before.get(name) != now.get(name)}
    for table in [name for name in tables if name in changed]:  # in catalog order
        _replace(conn, table, tables[table])
    conn.execute(text("DELETE FROM catalog_state"))
    conn.execute(text("INSERT INTO catalog_state (fingerprint) VALUES (:f)"), {"f": fingerprint})
    analyze(conn, sorted(changed), sum(len(tables[t]) for t in changed))
    return changed


def deadline_instant(day: dt.date) -> dt.datetime:
    """The first instant after a deadline day in Asia/Ho_Chi_Minh, in UTC."""
    local = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), ZoneInfo(TIMEZONE))
    return local.astimezone(dt.UTC)


def utc_seconds(moment: dt.datetime) -> dt.datetime:
    """Timestamps are stored in UTC to the second, so they compare the same on both engines."""
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def register_periods(
    conn: Connection, pairs: Iterable[tuple[str, Period]], catalog: Catalog
) -> None:
    """Upsert the periods rows (window, deadline) for (regime, period) pairs."""
    rows = []
    for regime_code, period in sorted(set(pairs)):
        regime = catalog.regimes[regime_code]
        start, end = cutoff_window(period, regime)
        due = deadline(period, regime)
        rows.append(
            {
                "regime": regime_code,
                "period_code": period.code,
                "period_type": period.period_type,
                "year": period.year,
                "quarter": period.quarter,
                "start_date": period.start.isoformat(),
                "end_date": period.end.isoformat(),
                "cutoff_start": start.isoformat(),
                "cutoff_end": end.isoformat(),
                "deadline": due.isoformat(),
                "deadline_at": deadline_instant(due),
            }
        )
    if not rows:
        return
    cols = list(rows[0])
    conn.execute(
        text(
            f"INSERT INTO periods ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)}) "
            "ON CONFLICT (regime, period_code) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in cols[2:])
        ),
        rows,
    )


FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


def query_text(name: str) -> str:
    """A SELECT from ``sql/queries`` (shared by a mart and the command line), comments removed
    so that a ``:name`` in a comment is not taken for a bind parameter."""
    (statement,) = split_statements((SQL_DIR / "queries" / f"{name}.sql").read_text("utf-8"))
    return statement


MART_TABLES = (
    "mart_totals",
    "mart_rates",
    "completeness",
    "mart_completeness_rates",
    "figure_checks",
)
# The marts take every unit, every period and every year, as of the latest data.
MART_PARAMS = {  # a list of codes is passed between commas: ",2023Q4,2023,"
    "all_groups": 1,
    "code_list": ",",
    "range_code": "",
    "range_year": 0,
    "unit_key": "",
    "depth": 0,
    "as_now": 0,
    "as_of": FAR_FUTURE,
}


def with_queries(statement: str) -> TextClause:
    """``statement`` with each table name ``query_NAME`` replaced by the SELECT of
    ``sql/queries/NAME.sql`` as a subquery (a query may name another), so a mart and the
    command line share one query and the mart file stays plain SQL."""
    return text(_expand(statement))


def _expand(statement: str) -> str:
    """Replace each ``query_NAME`` by its SELECT, and those inside it too."""
    return re.sub(r"\bquery_(\w+)\b", lambda m: f"({_expand(query_text(m.group(1)))})", statement)


def query(name: str) -> TextClause:
    """The SELECT of ``sql/queries/NAME.sql``, ready to execute."""
    return with_queries(query_text(name))


def refresh_marts(
    conn: Connection, periods: Sequence[Period] | None = None, files: set[str] | None = None
) -> None:
    """Rebuild the marts in file order, in the caller's transaction: with ``periods``, only
    theirs, the periods marked dirty since (``mart_dirty``) and the years they feed, so a
    run costs the same on years of history as on an empty warehouse; without, everything.
    ``files`` (stems of ``sql/marts``) runs only those, for everything (new check rules)."""
    params = dict(MART_PARAMS)
    if periods is not None:
        codes = {p.code for p in periods}
        codes |= set(conn.execute(text("SELECT period_code FROM mart_dirty")).scalars())
        groups = codes | {code[:4] for code in codes}  # a quarter feeds its year
        params |= {"all_groups": 0, "code_list": "," + ",".join(sorted(groups)) + ","}
    written = _facts_in_scope(conn, params)
    analyze(conn, ("submissions", "facts", "periods"), written)
    for path in sql_files("marts"):
        if files is not None and path.stem not in files:
            continue
        sql = path.read_text(encoding="utf-8")
        for statement in split_statements(sql):
            clause = with_queries(statement)
            conn.execute(clause, {k: v for k, v in params.items() if k in clause._bindparams})
        # the next files read what this one wrote (the checks join mart_totals to itself):
        # PostgreSQL must not plan them for the empty tables it last saw
        analyze(conn, _written_by(sql), written)
    if files is None:
        conn.execute(text("DELETE FROM mart_dirty"))


def _written_by(sql: str) -> list[str]:
    """The tables a mart file inserts into."""
    return sorted(set(re.findall(r"^INSERT INTO (\w+)", sql, re.MULTILINE)))


def _facts_in_scope(conn: Connection, params: Mapping[str, Any]) -> int:
    """The facts of the periods being rebuilt, counted for ``analyze`` only when they are a
    large part of the warehouse (a tenth, as autovacuum would judge): a first load gets fresh
    statistics at once, a quarter on years of history does not pay for re-sampling them."""
    if conn.dialect.name == "postgresql":  # the planner's own estimate: no scan of facts
        total = conn.execute(
            text("SELECT GREATEST(reltuples, 0) FROM pg_class WHERE oid = 'facts'::regclass")
        ).scalar_one()
    else:
        total = conn.execute(text("SELECT COUNT(*) FROM facts")).scalar_one()
    if params["all_groups"]:
        return int(total) or conn.execute(text("SELECT COUNT(*) FROM facts")).scalar_one()
    groups = [g for g in params["code_list"].split(",") if g]
    codes = groups + [f"{g}Q{q}" for g in groups if len(g) == 4 for q in range(1, 5)]
    scoped = conn.execute(
        text("SELECT COUNT(*) FROM facts WHERE period_code IN :codes").bindparams(
            bindparam("codes", expanding=True)
        ),
        {"codes": codes},
    ).scalar_one()
    return scoped if scoped * 10 >= total else 0


def table_names() -> list[str]:
    """Every table the schema's revisions create, for snapshots and documentation (not
    ``schema_migrations``: only warehouses of the runner before Alembic have it)."""
    names = []
    for path in (script.module.SQL for script in migrations.chain()):
        names += re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", path.read_text(encoding="utf-8"))
    return names


def dispose_engine(url: str) -> None:
    """Close the pooled connections of ``url`` (before dropping a database, or in tests)."""
    engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()
