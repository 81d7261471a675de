"""Benchmark: the README's example queries on a national five-year history (PostgreSQL).

    .venv/bin/python scripts/bench_queries.py [--years 2021..2025] [--repeat 7] [--json FILE]

Setup (timed, not measured against anything): the whole country's catalog (`catalog import`:
the 10,000-odd communes, districts and provinces before the July 2025 reform and the 3,321
communes after), a new PostgreSQL database brought up by ensure_schema, one synthetic
accepted delivery per unit and quarter that had to report, with every quarterly value, and
the marts built by refresh_marts, as a run builds them. The values are synthetic (a hash of
unit, period and metric); the shape (units, periods, metrics, the tree, the reform) is the
real one.

Measured: every query of the README's ```sql blocks (read from the README, so the document
and the benchmark cannot drift), each run once to warm up and then --repeat times; the median
(min, max) against the target of 100 ms per query. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 100.0
PG_ADMIN = os.environ.get(
    "COMMUNE_REPORTS_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

SUBMISSIONS = """
INSERT INTO submissions (
    submission_id, original_name, inbox_path, archive_path, size_bytes, received_at,
    registered_at, batch_id, unit_code, unit_key, regime, period_code, sheet, status,
    received_via, arrival_seq
)
SELECT
    'bench-' || md5(u.unit_key || p.period_code),
    u.code || '_' || p.period_code || '.xlsx',
    'inbox/' || p.period_code || '/' || u.code || '.xlsx',
    'archive/' || u.code || '_' || p.period_code || '.xlsx',
    9000,
    p.deadline_at - INTERVAL '1 day',
    p.deadline_at - INTERVAL '1 day',
    'bench',
    u.code,
    u.unit_key,
    p.regime,
    p.period_code,
    'BaoCao',
    'accepted',
    'stated',
    ROW_NUMBER() OVER (ORDER BY p.period_code, u.unit_key)
FROM units AS u
INNER JOIN periods AS p
    ON p.regime = 'quarterly' AND p.end_date BETWEEN u.valid_from AND u.valid_to
WHERE u.unit_key IN (
    SELECT mr.unit_key FROM metric_requirements AS mr
    INNER JOIN metrics AS m ON mr.metric_code = m.code AND m.regime = 'quarterly'
)
"""

FACTS = """
INSERT INTO facts (
    unit_code, regime, period_code, metric_code, unit_key, value, submission_id, sheet, cell,
    definition_version
)
SELECT
    s.unit_code,
    s.regime,
    s.period_code,
    mr.metric_code,
    s.unit_key,
    1 + abs(hashtext(s.unit_key || s.period_code || mr.metric_code)) % 400,
    s.submission_id,
    'BaoCao',
    'E' || (7 + ROW_NUMBER() OVER (PARTITION BY s.submission_id ORDER BY mr.metric_code)),
    1
FROM submissions AS s
INNER JOIN metric_requirements AS mr ON s.unit_key = mr.unit_key
INNER JOIN metrics AS m ON mr.metric_code = m.code AND m.regime = s.regime
"""


def readme_queries(path: Path) -> list[tuple[str, str]]:
    """(the comment above it, the statement) for each query of the README's sql blocks."""
    out = []
    for block in re.findall(r"```sql\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
        for chunk in block.split(";"):
            lines = [line for line in chunk.strip().splitlines() if line.strip()]
            comments = [line[2:].strip() for line in lines if line.startswith("--")]
            body = "\n".join(line for line in lines if not line.startswith("--"))
            if body.strip():
                out.append((" ".join(comments) or body.splitlines()[0], body))
    return out


def build(url: str, years: str) -> dict[str, Any]:
    """The national history in the database at ``url``: catalog, periods, deliveries, facts,
    marts; seconds and row counts of each step."""
    from commune_reports.catalog import load_catalog
    from commune_reports.periods import parse_period_range
    from commune_reports.warehouse import (
        ensure_schema,
        get_engine,
        refresh_marts,
        register_periods,
        writing,
    )

    steps: dict[str, Any] = {}
    engine = get_engine(url)
    start = time.perf_counter()
    ensure_schema(engine)
    steps["schema_and_catalog_s"] = time.perf_counter() - start
    catalog = load_catalog()
    first, _, last = years.partition("..")
    quarters = parse_period_range(f"{first}Q1..{last or first}Q4")
    with writing(engine) as conn:
        start = time.perf_counter()
        register_periods(conn, {("quarterly", q) for q in quarters}, catalog)
        conn.execute(text(SUBMISSIONS))
        conn.execute(text(FACTS))
        steps["deliveries_and_facts_s"] = time.perf_counter() - start
        for table in ("submissions", "facts", "periods"):
            conn.execute(text(f"ANALYZE {table}"))
    with writing(engine) as conn:
        start = time.perf_counter()
        refresh_marts(conn)
        steps["marts_s"] = time.perf_counter() - start
    with engine.connect() as conn:
        for table in (
            "units",
            "submissions",
            "facts",
            "mart_totals",
            "mart_rates",
            "figure_checks",
        ):
            steps[f"{table}_rows"] = conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()
    steps["quarters"] = len(quarters)
    return steps


def measure(url: str, queries: list[tuple[str, str]], repeat: int) -> list[dict[str, Any]]:
    engine = create_engine(url)
    out = []
    try:
        with engine.connect() as conn:
            for label, sql in queries:
                rows = len(conn.execute(text(sql)).all())  # warm-up
                times = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    conn.execute(text(sql)).all()
                    times.append((time.perf_counter() - start) * 1000)
                out.append(
                    {
                        "query": label,
                        "rows": rows,
                        "median_ms": statistics.median(times),
                        "min_ms": min(times),
                        "max_ms": max(times),
                    }
                )
    finally:
        engine.dispose()
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--years", default="2021..2025", help="the quarters of these years")
    parser.add_argument("--repeat", type=int, default=7, help="measured runs of each query")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    import logging

    from commune_reports.catalog_import import write_catalog
    from commune_reports.warehouse import dispose_engine

    args = parse_args(argv)
    logging.getLogger("commune_reports").setLevel(logging.ERROR)
    queries = readme_queries(REPO / "README.md")
    name = f"bench_queries_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    saved = os.environ.get("COMMUNE_REPORTS_CATALOG_DIR")
    with tempfile.TemporaryDirectory() as tmp, admin.connect() as conn:
        units = write_catalog(Path(tmp) / "catalog", ["all"])
        os.environ["COMMUNE_REPORTS_CATALOG_DIR"] = str(Path(tmp) / "catalog")
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            steps = build(url, args.years)
            results = measure(url, queries, args.repeat)
        finally:
            dispose_engine(url)
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if saved is None:
                os.environ.pop("COMMUNE_REPORTS_CATALOG_DIR", None)
            else:
                os.environ["COMMUNE_REPORTS_CATALOG_DIR"] = saved
    admin.dispose()
    print(
        f"national history {args.years}: {units:,} units in the catalog, {steps['quarters']} "
        f"quarters, {steps['submissions_rows']:,} deliveries, {steps['facts_rows']:,} facts, "
        f"{steps['mart_totals_rows']:,} mart_totals rows, {steps['mart_rates_rows']:,} "
        f"mart_rates rows, {steps['figure_checks_rows']:,} findings"
    )
    print(
        f"setup: schema and catalog {steps['schema_and_catalog_s']:.1f} s, deliveries and facts "
        f"{steps['deliveries_and_facts_s']:.1f} s, full marts build {steps['marts_s']:.1f} s"
    )
    print(f"\n{'median ms':>10} {'min':>8} {'max':>8} {'rows':>7}  query (README)")
    for r in results:
        flag = "" if r["median_ms"] <= TARGET_MS else f"  ABOVE the target {TARGET_MS:g} ms"
        print(
            f"{r['median_ms']:10.1f} {r['min_ms']:8.1f} {r['max_ms']:8.1f} {r['rows']:7d}  "
            f"{r['query'][:70]}{flag}"
        )
    if args.json:
        args.json.write_text(json.dumps({"setup": steps, "queries": results}, indent=2), "utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "include"))
    main()
