"""PostgreSQL's planner statistics are refreshed after a write that changes a good part of a
table, and not after one that changes a sliver of years of history (warehouse.analyze)."""

from __future__ import annotations

from sqlalchemy import Connection, create_engine, text

from commune_reports.warehouse import ANALYZE_FRACTION, analyze


def _reltuples(conn: Connection) -> float:
    sql = "SELECT reltuples FROM pg_class WHERE relname = 'stat_probe'"
    return conn.execute(text(sql)).scalar_one()


def _insert(conn: Connection, start: int, count: int) -> None:
    conn.execute(
        text(
            "INSERT INTO stat_probe SELECT g "
            "FROM generate_series(CAST(:a AS INTEGER), CAST(:b AS INTEGER)) AS g"
        ),
        {"a": start, "b": start + count - 1},
    )


def test_analyze_only_stale_tables(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE stat_probe (x INTEGER)"))
            assert _reltuples(conn) < 0  # never analyzed
            _insert(conn, 0, 20_000)
            analyze(conn, ["stat_probe"], 20_000)  # the first load: statistics at once
            assert _reltuples(conn) == 20_000
        small = int(20_000 * ANALYZE_FRACTION) // 2  # half of what makes them stale
        with engine.begin() as conn:
            _insert(conn, 20_000, small)
            analyze(conn, ["stat_probe"], small)
            assert _reltuples(conn) == 20_000  # left to autovacuum
        with engine.begin() as conn:
            _insert(conn, 30_000, 3 * small)
            analyze(conn, ["stat_probe"], 3 * small)
            assert _reltuples(conn) == 20_000 + 4 * small
    finally:
        engine.dispose()
