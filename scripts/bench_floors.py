"""Floors for the benchmarks: the least honest work each pipeline stage must do, on the same
files and the same engine, so a stage's time can be read against what it could not avoid.

    discover      read each file, hash it (SHA-256) and keep one copy under its hash; one
                  transaction inserting a row per file
    parse         python-calamine alone: the form's sheet to Python rows, the unit and period
                  from the stamp, the metric codes and values of the data rows
    validate      the form's rules (value present, a number, not negative, A >= B for the
                  pairs) on one pandas frame of the whole batch, with the cell of each problem
    load          one transaction inserting every fact into a bare table
    marts         one GROUP BY of the new facts over the unit tree (every unit above each
                  commune), into a bare table
    completeness  one LEFT JOIN of the units expected against the files received, on time
                  or late by the deadline

Each floor runs on scratch tables of its own database (a SQLite file, or a PostgreSQL
database made and dropped here). Not a test: it returns seconds and row counts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from commune_reports import form_layout as L

FLOOR_STAGES = ("discover", "parse", "validate", "load", "marts", "completeness")
PAIRS = {
    "dossiers_received_online": "dossiers_received_total",
    "dossiers_resolved_on_time": "dossiers_resolved_total",
    "complaints_resolved": "complaints_received",
}
_STAMP = re.compile(r"Mã\s+đơn\s+vị\s*:\s*([\w-]+)\s+Mã\s+kỳ\s*:\s*(\w+)")
SCHEMA = (
    "CREATE TABLE floor_files (digest TEXT PRIMARY KEY, name TEXT NOT NULL, size INTEGER, "
    "received_at TEXT NOT NULL)",
    "CREATE TABLE floor_facts (unit_code TEXT NOT NULL, period_code TEXT NOT NULL, "
    "metric_code TEXT NOT NULL, value NUMERIC, cell TEXT, "
    "PRIMARY KEY (unit_code, period_code, metric_code))",
    "CREATE TABLE floor_tree (ancestor_code TEXT NOT NULL, unit_code TEXT NOT NULL, "
    "PRIMARY KEY (ancestor_code, unit_code))",
    "CREATE TABLE floor_totals (ancestor_code TEXT, period_code TEXT, metric_code TEXT, "
    "value NUMERIC, units INTEGER)",
    "CREATE TABLE floor_expected (unit_code TEXT PRIMARY KEY, deadline TEXT NOT NULL)",
    "CREATE TABLE floor_received (unit_code TEXT PRIMARY KEY, received_at TEXT NOT NULL)",
)


class Scratch:
    """A database for the floors on the engine of ``like_url``: a new SQLite file beside
    ``work``, or a new PostgreSQL database on the same server."""

    def __init__(self, like_url: str, work: Path) -> None:
        from sqlalchemy import create_engine

        self.name = f"bench_floor_{uuid.uuid4().hex[:8]}"
        self.admin_url = None
        if like_url.startswith("sqlite"):
            self.url = f"sqlite:///{work / (self.name + '.db')}"
        else:
            self.admin_url = like_url.rsplit("/", 1)[0] + "/postgres"
            self._admin(f'CREATE DATABASE "{self.name}"')
            self.url = like_url.rsplit("/", 1)[0] + f"/{self.name}"
        self.engine = create_engine(self.url)
        with self.engine.begin() as conn:
            for statement in SCHEMA:
                conn.exec_driver_sql(statement)

    def _admin(self, sql: str) -> None:
        from sqlalchemy import create_engine

        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(sql)
        admin.dispose()

    def close(self) -> None:
        self.engine.dispose()
        if self.admin_url:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _tree(catalog: Any, day: dt.date) -> list[dict[str, str]]:
    """(ancestor, unit) for every unit valid on ``day`` and itself, by code."""
    from commune_reports.hierarchy import ancestors

    rows = []
    for unit in catalog.units_valid_on(day):
        for above in [unit, *ancestors(catalog, unit)]:
            rows.append({"ancestor_code": above.code, "unit_code": unit.code})
    return rows


def measure_floors(paths: Sequence[Path], like_url: str, work: Path, period: Any) -> dict:
    """Every floor once on ``paths`` (forms of ``period``); seconds per floor stage."""
    import pandas as pd
    from python_calamine import CalamineWorkbook
    from sqlalchemy import text

    from commune_reports.catalog import load_catalog

    catalog = load_catalog()
    scratch = Scratch(like_url, work)
    keep = work / f"{scratch.name}_archive"
    keep.mkdir()
    seconds: dict[str, float] = {}
    try:
        with scratch.engine.begin() as conn:  # untimed: what the catalog sync keeps ready
            conn.execute(
                text("INSERT INTO floor_tree VALUES (:ancestor_code, :unit_code)"),
                _tree(catalog, period.end),
            )
            deadline = dt.datetime.combine(period.end + dt.timedelta(days=18), dt.time())
            expected = [
                {"unit_code": u.code, "deadline": deadline.isoformat()}
                for u in catalog.units_valid_on(period.end)
                if u.kind == "commune" and catalog.regime_for(u, "quarter")
            ]
            conn.execute(
                text("INSERT INTO floor_expected VALUES (:unit_code, :deadline)"), expected
            )

        start = time.perf_counter()
        files, kept = [], []
        for path in paths:
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            target = keep / f"{digest}{path.suffix}"
            target.write_bytes(data)
            kept.append(target)
            received = dt.datetime.fromtimestamp(path.stat().st_mtime).isoformat()
            files.append(
                {"digest": digest, "name": path.name, "size": len(data), "received_at": received}
            )
        with scratch.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO floor_files VALUES (:digest, :name, :size, :received_at)"),
                files,
            )
        seconds["discover"] = time.perf_counter() - start

        start = time.perf_counter()
        rows = []
        for path in kept:
            sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(L.SHEET_NAME)
            cells = sheet.to_python(skip_empty_area=False)
            stamp = _STAMP.search(str(cells[3][0]))
            if stamp is None:
                raise RuntimeError(f"{path.name}: no stamp in A4")
            for r, line in enumerate(cells[L.FIRST_DATA_ROW - 1 :], L.FIRST_DATA_ROW):
                if len(line) > 4 and line[1]:
                    rows.append(
                        {
                            "unit_code": stamp[1],
                            "period_code": stamp[2],
                            "metric_code": str(line[1]),
                            "value": line[4],
                            "cell": f"E{r}",
                        }
                    )
        seconds["parse"] = time.perf_counter() - start

        start = time.perf_counter()
        frame = pd.DataFrame(rows)
        value = pd.to_numeric(frame["value"].replace("", None), errors="coerce")
        wide = frame.assign(value=value).pivot(
            index="unit_code", columns="metric_code", values="value"
        )
        bad = value.isna() | (value < 0)
        for a, b in PAIRS.items():
            if a in wide and b in wide:
                over = wide.index[wide[a] > wide[b]]
                bad |= frame["unit_code"].isin(over) & (frame["metric_code"] == a)
        problems = frame.loc[bad, ["unit_code", "cell"]]
        seconds["validate"] = time.perf_counter() - start
        if len(problems):
            raise RuntimeError(f"{len(problems)} problems in valid forms: the floor is wrong")

        start = time.perf_counter()
        facts = frame.assign(value=value.astype(float)).to_dict("records")
        with scratch.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO floor_facts VALUES (:unit_code, :period_code, :metric_code, "
                    ":value, :cell)"
                ),
                facts,
            )
        seconds["load"] = time.perf_counter() - start

        start = time.perf_counter()
        with scratch.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO floor_totals SELECT t.ancestor_code, f.period_code, "
                    "f.metric_code, SUM(f.value), COUNT(*) FROM floor_facts AS f "
                    "JOIN floor_tree AS t ON f.unit_code = t.unit_code "
                    "WHERE f.period_code = :p GROUP BY t.ancestor_code, f.period_code, "
                    "f.metric_code"
                ),
                {"p": period.code},
            )
        seconds["marts"] = time.perf_counter() - start

        start = time.perf_counter()
        with scratch.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO floor_received SELECT f.unit_code, MIN(s.received_at) "
                    "FROM floor_facts AS f JOIN floor_files AS s "
                    "ON s.name = f.unit_code || '_' || f.period_code || '.xlsx' "
                    "GROUP BY f.unit_code"
                )
            )
            by_status = dict(
                conn.execute(
                    text(
                        "SELECT CASE WHEN r.unit_code IS NULL THEN 'missing' "
                        "WHEN r.received_at <= e.deadline THEN 'on_time' ELSE 'late' END, "
                        "COUNT(*) FROM floor_expected AS e "
                        "LEFT JOIN floor_received AS r ON e.unit_code = r.unit_code GROUP BY 1"
                    )
                ).all()
            )
        seconds["completeness"] = time.perf_counter() - start
    finally:
        scratch.close()
        for path in keep.iterdir():
            path.unlink()
        keep.rmdir()
    return {"seconds": seconds, "facts": len(facts), "files": len(files), "by_status": by_status}
