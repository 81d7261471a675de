"""Benchmark: one quarter on years of history against the same quarter on an empty warehouse.

    .venv/bin/python scripts/bench_history.py [--years 5] [--repeat 5] [--engine both]
                                              [--province 87] [--national] [--json FILE]

Setup (not timed): the catalog of a whole old province (`catalog import --province 87`: 141
communes in 12 districts), a quarterly form for each of its communes for every quarter of the
history (2019Q1-2023Q4 by default) and for the measured quarter (2024Q1), and per engine two
warehouses made once through the pipeline: one with the schema and catalog only, one with the
history loaded. Measured, interleaved in each repeat so noise hits both alike: a copy of each
warehouse (a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL) takes the
measured quarter through `run_periods`, with the time of each stage; then the floors of the
stages (scripts/bench_floors.py: calamine alone for parse, the same rules in plain pandas for
validate, ...) on the same files and engine.

With --national: one post-reform quarter (2025Q3) of all 3,321 communes of today, with the
whole country's catalog (14,149 GSO units), through one run on an empty warehouse, each run
followed by the floors on the same files.

Prints medians (min, max) per stage and the history/empty ratio of the whole run and of the
marts against the target (1.25). Not a test: nothing is asserted on time; it exits non-zero
only if a form is not accepted, because then the figures mean nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import ENV_KEYS, RECEIVED_AT, FormFactory, restored_environment, unit_values
from bench_floors import measure_floors

from commune_reports import form_layout as L

TARGET_RATIO = 1.25
PG_ADMIN = os.environ.get(
    "COMMUNE_REPORTS_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
STAGES = ("discover", "parse_validate", "load_batch", "build_marts", "check_completeness")
# the floors (scripts/bench_floors.py) that make up each stage's
FLOOR_OF = {
    "discover": ("discover",),
    "parse_validate": ("parse", "validate"),
    "load_batch": ("load",),
    "build_marts": ("marts",),
    "check_completeness": ("completeness",),
}


def floor_seconds(measured: dict[str, Any]) -> dict[str, float]:
    """One floor run's seconds by pipeline stage, and in all."""
    out = {stage: sum(measured["seconds"][f] for f in parts) for stage, parts in FLOOR_OF.items()}
    out["total"] = sum(out.values())
    return out


def quarter_files(inbox: Path, period: Any) -> list[Path]:
    return sorted((inbox / period.code).glob("*.xlsx"))


def build_forms(inbox: Path, periods: Sequence[Any]) -> int:
    """A form for each commune of the catalog for each period, patched from one real form."""

    from commune_reports.catalog import load_catalog
    from commune_reports.template import write_form

    catalog = load_catalog()
    day = max(p.end for p in periods)
    communes = [
        u
        for u in catalog.units_valid_on(day)
        if u.kind == "commune" and catalog.regime_for(u, "quarter") == "quarterly"
    ]
    first = communes[0]
    metrics = [m.code for m in catalog.form_metrics("quarterly", first)]
    sentinels = {code: 987_650 + k for k, code in enumerate(metrics, start=1)}
    count = 0
    for period in periods:
        folder = inbox / period.code
        folder.mkdir(parents=True)
        template = write_form(first.code, period.code, folder.parent / "template.xlsx", sentinels)
        factory = FormFactory(
            template,
            L.heading_name(first.name, first.kind),
            L.stamp_line(first.code, period.code),
            sentinels,
            period=period.code,
        )
        for i, unit in enumerate(communes):
            path = folder / f"{unit.code}_{period.code}.xlsx"
            values = unit_values(i + 7 * period.quarter + period.year)
            factory.write(path, unit.code, unit.name, values)
            os.utime(path, (RECEIVED_AT, RECEIVED_AT))
            count += 1
        template.unlink()
    return count


@contextlib.contextmanager
def timed_stages(times: dict[str, float]) -> Iterator[None]:
    """Time each stage function that run_periods calls, by name."""
    from commune_reports import pipeline, stages

    targets: list[tuple[Any, str, str]] = [
        (stages, "discover", "discover"),
        (pipeline, "_check", "parse_validate"),
        (stages, "load_batch", "load_batch"),
        (stages, "build_marts", "build_marts"),
        (stages, "check_completeness", "check_completeness"),
    ]
    saved = [(module, attr, getattr(module, attr)) for module, attr, _ in targets]

    def wrap(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        def inner(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times[label] = times.get(label, 0.0) + time.perf_counter() - start

        return inner

    for module, attr, label in targets:
        setattr(module, attr, wrap(getattr(module, attr), label))
    try:
        yield
    finally:
        for module, attr, fn in saved:
            setattr(module, attr, fn)


class Warehouses:
    """Make and copy the two warehouses of one engine."""

    def __init__(self, engine: str, work: Path) -> None:
        self.engine, self.work = engine, work
        self.made: list[str] = []

    def url(self, name: str) -> str:
        if self.engine == "sqlite":
            return f"sqlite:///{self.work / (name + '.db')}"
        return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"

    def create(self, name: str) -> str:
        if self.engine == "postgres":
            self._admin(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return self.url(name)

    def copy(self, source: str, name: str) -> str:
        from commune_reports.warehouse import dispose_engine

        dispose_engine(self.url(source))
        if self.engine == "sqlite":
            shutil.copyfile(self.work / f"{source}.db", self.work / f"{name}.db")
        else:
            self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        self.made.append(name)
        return self.url(name)

    def drop(self, name: str) -> None:
        from commune_reports.warehouse import dispose_engine

        dispose_engine(self.url(name))
        if self.engine == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.work / name}.db{suffix}").unlink(missing_ok=True)
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_all(self) -> None:
        for name in self.made:
            self.drop(name)

    def _admin(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(sql))
        admin.dispose()


def run_quarter(home: Path, inbox: Path, url: str, period: Any) -> dict[str, float]:
    """One measured run of ``period`` on the warehouse ``url``: seconds per stage and total."""
    from commune_reports.pipeline import run_periods
    from commune_reports.settings import load_settings

    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    os.environ["COMMUNE_REPORTS_HOME"] = str(home)
    os.environ["COMMUNE_REPORTS_INBOX"] = str(inbox)
    os.environ["COMMUNE_REPORTS_WAREHOUSE_URL"] = url
    times: dict[str, float] = {}
    start = time.perf_counter()
    with timed_stages(times):
        result = run_periods(load_settings(), [period])
    times["total"] = time.perf_counter() - start
    if result["rejected"]:
        raise SystemExit(f"{result['rejected']} forms rejected: the figures would mean nothing")
    return times


def summary(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def bench_engine(engine: str, work: Path, args: argparse.Namespace, periods: list[Any]) -> dict:
    from commune_reports.pipeline import run_periods
    from commune_reports.settings import load_settings
    from commune_reports.warehouse import ensure_schema, get_engine

    history, measured = periods[:-1], periods[-1]
    stores = Warehouses(engine, work)
    tag = uuid.uuid4().hex[:8]
    try:
        empty = stores.create(f"bench_empty_{tag}")
        ensure_schema(get_engine(empty))
        full = stores.create(f"bench_history_{tag}")
        os.environ["COMMUNE_REPORTS_HOME"] = str(work / "history_home")
        os.environ["COMMUNE_REPORTS_INBOX"] = str(work / "inbox")
        os.environ["COMMUNE_REPORTS_WAREHOUSE_URL"] = full
        start = time.perf_counter()
        loaded = run_periods(load_settings(), history)
        setup_seconds = time.perf_counter() - start
        with get_engine(full).connect() as conn:
            from sqlalchemy import text

            facts = conn.execute(text("SELECT COUNT(*) FROM facts")).scalar_one()
            marts = conn.execute(text("SELECT COUNT(*) FROM mart_totals")).scalar_one()
        runs: dict[str, list[dict[str, float]]] = {"empty": [], "history": [], "floor": []}
        for repeat in range(args.repeat):
            order = ("empty", "history") if repeat % 2 == 0 else ("history", "empty")
            for kind in order:
                name = f"bench_{kind}_{tag}_{repeat}"
                url = stores.copy(f"bench_{kind}_{tag}", name)
                runs[kind].append(run_quarter(work / f"home_{kind}", work / "inbox", url, measured))
                stores.drop(name)
                stores.made.remove(name)
            files = quarter_files(work / "inbox", measured)
            runs["floor"].append(floor_seconds(measure_floors(files, empty, work, measured)))
    finally:
        stores.drop_all()
    out: dict[str, Any] = {
        "engine": engine,
        "history_periods": len(history),
        "history_facts": facts,
        "history_mart_rows": marts,
        "history_load_seconds": setup_seconds,
        "history_loaded": loaded["loaded"],
    }
    for kind, rows in runs.items():
        out[kind] = {
            label: summary([r.get(label, 0.0) for r in rows]) for label in (*STAGES, "total")
        }
    for label in ("total", "build_marts"):
        ratios = [h[label] / e[label] for h, e in zip(runs["history"], runs["empty"], strict=True)]
        out[f"ratio_{label}"] = summary(ratios)
    return out


def bench_national(engine: str, work: Path, args: argparse.Namespace, period: Any) -> dict:
    """The national quarter: every commune of today through one run, on an empty warehouse
    that holds the whole country's catalog (repeated, each on a fresh copy)."""
    from commune_reports.warehouse import ensure_schema, get_engine

    stores = Warehouses(engine, work)
    tag = uuid.uuid4().hex[:8]
    rows, floors = [], []
    try:
        base = stores.create(f"bench_national_{tag}")
        start = time.perf_counter()
        ensure_schema(get_engine(base))
        schema_seconds = time.perf_counter() - start
        for repeat in range(args.repeat):
            name = f"bench_national_{tag}_{repeat}"
            url = stores.copy(f"bench_national_{tag}", name)
            rows.append(run_quarter(work / "home_national", work / "inbox", url, period))
            stores.drop(name)
            stores.made.remove(name)
            files = quarter_files(work / "inbox", period)
            floors.append(floor_seconds(measure_floors(files, base, work, period)))
    finally:
        stores.drop_all()
    labels = (*STAGES, "total")
    return {
        "engine": engine,
        "catalog_sync_seconds": schema_seconds,
        "run": {label: summary([r.get(label, 0.0) for r in rows]) for label in labels},
        "floor": {label: summary([f[label] for f in floors]) for label in labels},
    }


def print_national(results: list[dict[str, Any]], units: int, measured: str) -> None:
    for r in results:
        print(
            f"\n== {r['engine']}: {measured}, {units:,} communes of the whole country "
            f"(catalog synced into an empty warehouse in {r['catalog_sync_seconds']:.1f} s)"
        )
        print(f"{'stage':<20}{'run: median (min-max)':>28}{'floor: median (min-max)':>30}")
        for label in (*STAGES, "total"):
            x, f = r["run"][label], r["floor"][label]
            print(
                f"{label:<20}{x['median']:>12.3f} s ({x['min']:.3f}-{x['max']:.3f})"
                f"{f['median']:>14.3f} s ({f['min']:.3f}-{f['max']:.3f})"
                f"{x['median'] / f['median']:>8.1f}x"
            )


def print_report(results: list[dict[str, Any]], units: int, measured: str) -> None:
    for r in results:
        print(
            f"\n== {r['engine']}: {measured} of {units} communes, on an empty warehouse and on "
            f"{r['history_periods']} quarters of history ({r['history_facts']:,} facts, "
            f"{r['history_mart_rows']:,} mart_totals rows; loaded in "
            f"{r['history_load_seconds']:.1f} s)"
        )
        print(
            f"{'stage':<20}{'empty: median (min-max)':>28}{'history: median (min-max)':>30}"
            f"{'floor: median (min-max)':>30}"
        )
        for label in (*STAGES, "total"):
            e, h, f = r["empty"][label], r["history"][label], r["floor"][label]
            print(
                f"{label:<20}{e['median']:>12.3f} s ({e['min']:.3f}-{e['max']:.3f})"
                f"{h['median']:>14.3f} s ({h['min']:.3f}-{h['max']:.3f})"
                f"{f['median']:>14.3f} s ({f['min']:.3f}-{f['max']:.3f})"
            )
        for label in ("total", "build_marts"):
            ratio = r[f"ratio_{label}"]
            verdict = "within" if ratio["median"] <= TARGET_RATIO else "ABOVE"
            print(
                f"history / empty, {label}: median {ratio['median']:.2f}x "
                f"({ratio['min']:.2f}-{ratio['max']:.2f}), {verdict} the target "
                f"{TARGET_RATIO:.2f}x"
            )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--years", type=int, default=5, help="years of quarterly history")
    parser.add_argument("--repeat", type=int, default=5, help="measured runs of each kind")
    parser.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--province", default="87", help="old GSO province code")
    parser.add_argument(
        "--national",
        action="store_true",
        help="instead: one post-reform quarter (2025Q3) of every commune of the country",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    from commune_reports.catalog_import import write_catalog
    from commune_reports.periods import Period

    args = parse_args(argv)
    logging.getLogger("commune_reports").setLevel(logging.ERROR)  # no per-unit lines
    last = 2023
    periods = [Period(y, q) for y in range(last - args.years + 1, last + 1) for q in range(1, 5)]
    periods.append(Period(last + 1, 1))
    engines = ["sqlite", "postgres"] if args.engine == "both" else [args.engine]
    if args.national:
        periods = [Period(2025, 3)]
    with restored_environment(ENV_KEYS), tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        scope = "all" if args.national else args.province
        units = write_catalog(work / "catalog", [scope])
        os.environ["COMMUNE_REPORTS_CATALOG_DIR"] = str(work / "catalog")
        forms = build_forms(work / "inbox", periods)
        communes = forms // len(periods)
        print(
            f"catalog: {units:,} units of {scope}; {forms:,} forms "
            f"({communes:,} communes x {len(periods)} quarters)"
        )
        if args.national:
            results = [bench_national(engine, work, args, periods[0]) for engine in engines]
        else:
            results = [bench_engine(engine, work, args, periods) for engine in engines]
    if args.national:
        print_national(results, communes, periods[0].code)
    else:
        print_report(results, communes, periods[-1].code)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
