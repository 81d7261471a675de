"""Benchmark: N synthetic quarterly forms through the batch pipeline, against a per-file design.

    .venv/bin/python scripts/bench.py [--units N] [--sample K] [--repeat R] [--keep DIR]
                                      [--json FILE]

Setup (not timed as pipeline): a catalog folder with N extra communes, and N filled forms of
2023Q4 made by patching one real form (openpyxl would take minutes for 10,000 forms).
Pipeline: discover -> parse -> validate -> load -> marts -> completeness, each repeat in a fresh
process on a fresh embedded SQLite warehouse, so timings include cold imports (Great
Expectations is imported inside the validate stage) and memory is that run's own peak.
Floors (scripts/bench_floors.py), after each pipeline run: the least honest work of each stage
on the same N files (calamine alone for parse, the same rules in plain pandas for validate, ...).
Baseline: K of the same files, each read with openpyxl, validated by its own Great Expectations
run and inserted in its own transaction, a slice after each pipeline run so noise hits both
alike; the per-file median is extrapolated to N files.

Prints medians (min, max) over the repeats and the targets; not a test, nothing is asserted on
time. Exits non-zero if a form is not accepted, because then the figures mean nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_floors import measure_floors

from commune_reports import form_layout as L
from commune_reports.catalog import CATALOG_DIR, load_catalog
from commune_reports.periods import parse_period

PERIOD_CODE = "2023Q4"
REGIME = "quarterly"
DISTRICT_CODE = "872"
CODE_PREFIX = "9"  # "9" + 5 digits: GSO commune codes have 5 digits, so none can clash
MAX_UNITS = 99_999
STAGES = (
    "discover",
    "parse_batch",
    "validate_batch",
    "load_batch",
    "build_marts",
    "check_completeness",
)
FLOOR_OF = dict(
    zip(STAGES, ("discover", "parse", "validate", "load", "marts", "completeness"), strict=True)
)
TARGET_SECONDS_AT_10K = 60.0
TARGET_SPEEDUP = 50.0
TARGET_MEMORY_MIB = 1024.0
BOTTLENECK_SECONDS_AT_10K = 20.0
# the discovery acts as if it first saw the forms on 15 December 2023, inside the 2023Q4
# deadline, so completeness says on_time rather than late (the deadline is 18 December 2023,
# Asia/Ho_Chi_Minh); the files carry that modification time too
RECEIVED = dt.datetime(2023, 12, 15, 3, 0, tzinfo=dt.UTC)
RECEIVED_AT = RECEIVED.timestamp()
# pairs the rules check (A >= B): the per-file frame carries A beside B's row
PAIRS = {
    "dossiers_received_online": "dossiers_received_total",
    "dossiers_resolved_on_time": "dossiers_resolved_total",
    "complaints_resolved": "complaints_received",
}
ENV_KEYS = (
    "COMMUNE_REPORTS_CATALOG_DIR",
    "COMMUNE_REPORTS_HOME",
    "COMMUNE_REPORTS_INBOX",
    "COMMUNE_REPORTS_WAREHOUSE_URL",
)


# --------------------------------------------------------------------------- synthetic data


def unit_code(i: int) -> str:
    return f"{CODE_PREFIX}{i:05d}"


def unit_name(i: int) -> str:
    return f"Xã Thử Nghiệm {i}"


def unit_values(i: int) -> dict[str, int]:
    """Valid figures that vary with ``i``: non-negative, parts never above their totals."""
    received = 40 + (i * 37) % 460
    resolved = received - i % 13
    complaints = (i * 5) % 9
    return {
        "dissemination_sessions": 1 + i % 3,
        "citizen_reception_sessions": 12 + i % 2,
        "dialogue_sessions": 1 + (i * 11) % 3,
        "complaints_received": complaints,
        "complaints_resolved": complaints - (i % 2 if complaints else 0),
        "dossiers_received_total": received,
        "dossiers_received_online": received * ((i * 7) % 11) // 10,
        "dossiers_resolved_total": resolved,
        "dossiers_resolved_on_time": resolved - (i * 3) % 7,
    }


def build_catalog(folder: Path, n: int) -> Path:
    """Copy the packaged catalog and append ``n`` communes of the district to units.csv."""
    folder.mkdir(parents=True)
    for source in sorted(CATALOG_DIR.iterdir()):
        if source.suffix in {".csv", ".json"}:
            shutil.copyfile(source, folder / source.name)
    units = folder / "units.csv"
    with units.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    rows += [
        {
            "code": unit_code(i),
            "name": unit_name(i),
            "unit_type": "xa",
            "level": "commune",
            "parent_code": DISTRICT_CODE,
            "valid_from": "",
            "valid_to": "2025-06-30",
            "successor_code": "",
            "kind": "commune",
        }
        for i in range(1, n + 1)
    ]
    with units.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return folder


class FormFactory:
    """Copies of one real form with unit and values patched into the sheet XML.

    write_form (openpyxl) costs tens of milliseconds a form; rewriting the zip costs about one.
    The template is filled with sentinel numbers so every slot is found exactly once, and the
    patched files keep the writer's layout, styles and data validations.
    """

    def __init__(
        self,
        template: Path,
        heading: str,
        stamp: str,
        sentinels: dict[str, int],
        period: str = PERIOD_CODE,
    ) -> None:
        self.period = period
        with zipfile.ZipFile(template) as book:
            self.entries = [(info, book.read(info)) for info in book.infolist()]
        sheets = [info.filename for info, _ in self.entries if "worksheets/sheet" in info.filename]
        if len(sheets) != 1:
            raise RuntimeError(f"expected one worksheet in {template}, found {sheets}")
        self.sheet = sheets[0]
        xml = dict((info.filename, data) for info, data in self.entries)[self.sheet].decode()
        slots = {"heading": f"<t>{escape(heading)}</t>", "stamp": f"<t>{escape(stamp)}</t>"}
        slots |= {code: f"<v>{value}</v>" for code, value in sentinels.items()}
        found = []
        for key, needle in slots.items():
            if xml.count(needle) != 1:
                raise RuntimeError(f"slot {key} ({needle}) is not exactly once in {self.sheet}")
            found.append((xml.index(needle), key, needle))
        self.parts: list[str] = []  # static text, slot key, static text, ..., static text
        position = 0
        for start, key, needle in sorted(found):
            self.parts += [xml[position:start], key]
            position = start + len(needle)
        self.parts.append(xml[position:])

    def sheet_xml(self, code: str, name: str, values: dict[str, int]) -> bytes:
        fill = {
            "heading": f"<t>{escape(L.heading_name(name, 'commune'))}</t>",
            "stamp": f"<t>{escape(L.stamp_line(code, self.period))}</t>",
        } | {metric: f"<v>{value}</v>" for metric, value in values.items()}
        return "".join(
            fill[part] if index % 2 else part for index, part in enumerate(self.parts)
        ).encode()

    def write(self, out: Path, code: str, name: str, values: dict[str, int]) -> None:
        with zipfile.ZipFile(out, "w") as book:
            for info, data in self.entries:
                body = self.sheet_xml(code, name, values) if info.filename == self.sheet else data
                book.writestr(
                    zipfile.ZipInfo(info.filename, info.date_time), body, info.compress_type
                )


def build_inbox(work: Path, n: int) -> tuple[Path, list[Path], int]:
    """Write the ``n`` forms into <work>/inbox/2023Q4 and check a few with the real reader
    (first, middle, last); return the inbox, the files and how many were checked."""
    from commune_reports.parse import parse_form
    from commune_reports.template import write_form

    catalog = load_catalog()
    unit = catalog.unit_on(unit_code(1), dt.date(2023, 12, 31))
    if unit is None or catalog.regime_for(unit, "quarter") != REGIME:
        raise RuntimeError("the synthetic catalog does not make 900001 a quarterly reporter")
    metrics = [m.code for m in catalog.form_metrics(REGIME, unit)]
    if set(metrics) != set(unit_values(1)):
        raise RuntimeError(f"form metrics {metrics} differ from the synthetic values")
    sentinels = {code: 987_650 + k for k, code in enumerate(metrics, start=1)}
    inbox = work / "inbox"
    folder = inbox / PERIOD_CODE
    folder.mkdir(parents=True)
    template = write_form(unit.code, PERIOD_CODE, work / "template.xlsx", sentinels, catalog)
    factory = FormFactory(
        template,
        L.heading_name(unit.name, unit.kind),
        L.stamp_line(unit.code, PERIOD_CODE),
        sentinels,
    )
    paths = []
    for i in range(1, n + 1):
        path = folder / f"{unit_code(i)}_{PERIOD_CODE}.xlsx"
        factory.write(path, unit_code(i), unit_name(i), unit_values(i))
        os.utime(path, (RECEIVED_AT, RECEIVED_AT))
        paths.append(path)
    checked = sorted({1, (n + 1) // 2, n})
    for i in checked:
        form = parse_form(paths[i - 1])
        got = {v.metric_code: int(v.value) for v in form.values if v.value is not None}
        if (
            form.problems
            or form.unit_code != unit_code(i)
            or form.period_code != PERIOD_CODE
            or form.regime != REGIME
            or got != unit_values(i)
        ):
            raise RuntimeError(
                f"patched form {paths[i - 1].name} reads back wrong: unit {form.unit_code}, "
                f"period {form.period_code}, values {got}, problems {form.problems}"
            )
    return inbox, paths, len(checked)


# --------------------------------------------------------------------------- pipeline


def peak_memory_mib() -> dict[str, float]:
    """Peak RSS of this process and of its largest reaped child (the parse workers, which
    the pool starts as its own children and reaps when it closes)."""
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes vs KiB
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / scale
    return {"self": own, "largest_child": child, "max": max(own, child), "sum": own + child}


def child_run(n: int, batch_id: str) -> dict[str, Any]:
    """One pipeline run in this (fresh) process, on the warehouse of COMMUNE_REPORTS_HOME."""
    started = time.perf_counter()
    from sqlalchemy import text

    from commune_reports import stages
    from commune_reports.periods import parse_period
    from commune_reports.settings import load_settings
    from commune_reports.warehouse import get_engine

    imports = time.perf_counter() - started
    settings = load_settings()
    period = parse_period(PERIOD_CODE)
    calls: dict[str, Callable[[], Any]] = {
        "discover": lambda: stages.discover(settings, batch_id, periods=[period], now=RECEIVED),
        "parse_batch": lambda: stages.parse_batch(settings, batch_id),
        "validate_batch": lambda: stages.validate_batch(settings, batch_id, [PERIOD_CODE]),
        "load_batch": lambda: stages.load_batch(settings, batch_id),
        "build_marts": lambda: stages.build_marts(settings, [period], [REGIME]),
        "check_completeness": lambda: stages.check_completeness(settings, [period], [REGIME]),
    }
    seconds, results = {}, {}
    for name in STAGES:
        start = time.perf_counter()
        results[name] = calls[name]()
        seconds[name] = time.perf_counter() - start
    with get_engine(settings.warehouse_url).connect() as conn:
        statuses = dict(
            conn.execute(text("SELECT status, COUNT(*) FROM submissions GROUP BY status")).all()
        )
        rules = dict(
            conn.execute(text("SELECT rule, COUNT(*) FROM submission_errors GROUP BY rule")).all()
        )
        facts = conn.execute(text("SELECT COUNT(*) FROM facts")).scalar_one()
    found = results["discover"]
    return {
        "seconds": seconds,
        "total": sum(seconds.values()),
        "imports": imports,
        "memory_mib": peak_memory_mib(),
        "statuses": statuses,
        "error_rules": rules,
        "facts": facts,
        "new": found["new"],
        "validated": results["validate_batch"],
        "completeness": results["check_completeness"]["by_status"],
        "n": n,
    }


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(k) for k in (task / "children").read_text().split()]
    return kids


def tree_rss_mib(root: int) -> float:
    """Resident memory of ``root`` and all its descendants right now, in MiB (Linux /proc)."""
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
            pending += _children(pid)
        except (OSError, ValueError, IndexError):
            continue  # the process ended between two reads
    return total * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


class TreeMemorySampler:
    """Peak of the summed RSS of a process tree, sampled every 20 ms in a thread.

    ru_maxrss gives each process's own peak, never the tree's at one moment (two parse workers
    run at once); sampling can miss a spike shorter than the interval. None off Linux.
    """

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid, self.interval = pid, interval
        self.available = Path(f"/proc/{pid}/task").is_dir()
        self.peak_mib: float | None = 0.0 if self.available else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mib = max(self.peak_mib or 0.0, tree_rss_mib(self.pid))

    def __enter__(self) -> TreeMemorySampler:
        if self.available:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self.available:
            self._thread.join()


def run_repeat(script: Path, work: Path, n: int, repeat: int) -> dict[str, Any]:
    """Run the pipeline once in a child process on a fresh home; fail loudly unless all N
    forms are accepted."""
    home = work / "homes" / f"run-{repeat}"
    env = os.environ | {"COMMUNE_REPORTS_HOME": str(home)}
    log = work / f"run-{repeat}.stderr.log"
    command = [sys.executable, str(script), "--units", str(n), "--child-batch", f"bench-{repeat}"]
    with log.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
        with TreeMemorySampler(proc.pid) as sampler:
            stdout, _ = proc.communicate()
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8")[-4000:]
        raise SystemExit(f"pipeline run {repeat} failed (exit {proc.returncode}):\n{tail}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["memory_mib"]["tree_sampled"] = sampler.peak_mib
    accepted = result["statuses"].get("accepted", 0)
    if accepted != n or sum(result["statuses"].values()) != n:
        raise SystemExit(
            f"pipeline run {repeat}: {accepted} of {n} submissions accepted, statuses "
            f"{result['statuses']}, problems by rule {result['error_rules']} (log: {log})"
        )
    return result


# --------------------------------------------------------------------------- per-file baseline

_STAMP = re.compile(r"Mã\s+đơn\s+vị\s*:\s*([\w-]+)\s+Mã\s+kỳ\s*:\s*(\w+)")


class PerFileBaseline:
    """The naive design: every file read, validated and stored on its own.

    One Great Expectations context and suite are made once (as a long-running service would);
    each file then costs one openpyxl read, one DataFrame, one validation run and one
    transaction, which is what the batch pipeline avoids.
    """

    def __init__(self, db_url: str) -> None:
        import great_expectations as gx
        import great_expectations.expectations as gxe
        from great_expectations.data_context.types.base import ProgressBarsConfig

        from commune_reports.warehouse import get_engine

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        batch = context.data_sources.add_pandas("per_file").add_dataframe_asset("file")
        suite = context.suites.add(
            gx.ExpectationSuite(
                name="per_file",
                expectations=[
                    gxe.ExpectColumnValuesToNotBeNull(column="value"),
                    gxe.ExpectColumnValuesToBeBetween(column="value", min_value=0),
                    gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                        column_A="bound",
                        column_B="value",
                        or_equal=True,
                        ignore_row_if="either_value_is_missing",
                    ),
                ],
            )
        )
        self.definition = context.validation_definitions.add(
            gx.ValidationDefinition(
                name="per_file",
                data=batch.add_batch_definition_whole_dataframe("file"),
                suite=suite,
            )
        )
        self.engine = get_engine(db_url)
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TABLE IF NOT EXISTS facts_per_file (unit_code TEXT NOT NULL, "
                "period_code TEXT NOT NULL, metric_code TEXT NOT NULL, value NUMERIC, "
                "cell TEXT, PRIMARY KEY (unit_code, period_code, metric_code))"
            )

    def process(self, path: Path) -> dict[str, float]:
        """Read, validate and store one file; return the seconds of each step."""
        import pandas as pd
        from openpyxl import load_workbook
        from sqlalchemy import text

        t0 = time.perf_counter()
        book = load_workbook(path, data_only=True)
        sheet = book[L.SHEET_NAME]
        stamp = _STAMP.search(str(sheet["A4"].value or ""))
        if stamp is None:
            raise RuntimeError(f"{path.name}: no unit and period stamp in A4")
        code, period = stamp[1], stamp[2]
        rows = [
            {"metric_code": str(metric), "cell": f"E{r}", "value": value}
            for r, (_, metric, _, _, value, *_) in enumerate(
                sheet.iter_rows(min_row=L.FIRST_DATA_ROW, values_only=True), L.FIRST_DATA_ROW
            )
            if metric
        ]
        book.close()
        t1 = time.perf_counter()
        frame = pd.DataFrame(rows)
        frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
        values = dict(zip(frame["metric_code"], frame["value"], strict=True))
        frame["bound"] = [values.get(PAIRS.get(m, ""), float("nan")) for m in frame["metric_code"]]
        t2 = time.perf_counter()
        result = self.definition.run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["cell"]},
        )
        if not result.success:
            raise RuntimeError(f"{path.name}: the per-file suite failed on a valid form")
        t3 = time.perf_counter()
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO facts_per_file (unit_code, period_code, metric_code, value, "
                    "cell) VALUES (:unit_code, :period_code, :metric_code, :value, :cell)"
                ),
                [{"unit_code": code, "period_code": period, **row} for row in rows],
            )
        t4 = time.perf_counter()
        return {
            "read": t1 - t0,
            "frame": t2 - t1,
            "validate": t3 - t2,
            "insert": t4 - t3,
            "total": t4 - t0,
        }


class BaselineRuns:
    """The per-file design on ``k`` files spread over the inbox, timed a slice at a time
    between the pipeline runs so noise on the machine hits both alike."""

    def __init__(self, work: Path, paths: Sequence[Path], k: int) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        cold = "great_expectations" not in sys.modules
        start = time.perf_counter()
        import great_expectations  # noqa: F401  (timed: a one-off cost the figures omit)

        self.gx_import = time.perf_counter() - start if cold else None
        start = time.perf_counter()
        self.baseline = PerFileBaseline(f"sqlite:///{work / 'per_file.db'}")
        self.setup = time.perf_counter() - start
        k = max(1, min(k, len(paths)))
        picks = sorted({round(j * (len(paths) - 1) / max(k - 1, 1)) for j in range(k)})
        self.todo = [paths[j] for j in picks]
        warm = next((p for j, p in enumerate(paths) if j not in picks), None)
        if warm is not None:
            self.baseline.process(warm)  # untimed warm-up
        self.steps: list[dict[str, float]] = []

    def run_slice(self, repeat: int, repeats: int) -> None:
        """Time this repeat's share of the files."""
        for path in self.todo[repeat::repeats]:
            self.steps.append(self.baseline.process(path))

    def figures(self) -> dict[str, Any]:
        with self.baseline.engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT COUNT(DISTINCT unit_code) FROM facts_per_file")
            stored_units = stored.scalar_one()
        return {
            "files": len(self.steps),
            "stored_units": stored_units,
            "gx_import_seconds": self.gx_import,
            "gx_setup_seconds": self.setup,
            "per_file": {
                name: summary([s[name] for s in self.steps])
                for name in ("read", "frame", "validate", "insert", "total")
            },
        }


# --------------------------------------------------------------------------- report


def summary(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def collect(
    n: int,
    setup: dict[str, Any],
    runs: list[dict[str, Any]],
    base: dict[str, Any],
    floors: list[dict[str, Any]],
) -> dict[str, Any]:
    """All figures, as printed and as JSON."""
    stages = {name: summary([r["seconds"][name] for r in runs]) for name in STAGES}
    floor = {name: summary([f["seconds"][FLOOR_OF[name]] for f in floors]) for name in STAGES}
    total = summary([r["total"] for r in runs])
    keys = ["self", "largest_child", "max", "sum"]
    if all(r["memory_mib"]["tree_sampled"] is not None for r in runs):
        keys.append("tree_sampled")
    memory = {key: summary([r["memory_mib"][key] for r in runs]) for key in keys}
    per_file = base["per_file"]["total"]["median"]
    extrapolated = per_file * n
    at_10k = total["median"] * 10_000 / n
    worst_memory = max(memory[key]["max"] for key in ("sum", "tree_sampled") if key in memory)
    speedup = extrapolated / total["median"]
    slowest = max(STAGES, key=lambda name: stages[name]["median"])
    return {
        "units": n,
        "period": PERIOD_CODE,
        "repeats": len(runs),
        "setup": setup,
        "pipeline": {
            "stages_seconds": stages,
            "total_seconds": total,
            "files_per_second": n / total["median"],
            "imports_seconds_not_in_total": summary([r["imports"] for r in runs]),
            "peak_memory_mib": memory,
            "facts": runs[-1]["facts"],
            "completeness": runs[-1]["completeness"],
            "slowest_stage": slowest,
            "slowest_stage_seconds_at_10k": stages[slowest]["median"] * 10_000 / n,
        },
        "floors": {
            "stages_seconds": floor,
            "total_seconds": summary([sum(f["seconds"].values()) for f in floors]),
            "pipeline_over_floor": {
                name: stages[name]["median"] / floor[name]["median"] for name in STAGES
            },
        },
        "per_file_baseline": base
        | {"extrapolated_seconds": extrapolated, "speedup_vs_pipeline": speedup},
        "targets": {
            "end_to_end_10k_le_60s": {"measured": at_10k, "met": at_10k <= TARGET_SECONDS_AT_10K},
            "speedup_ge_50x": {"measured": speedup, "met": speedup >= TARGET_SPEEDUP},
            "peak_memory_le_1GiB": {
                "measured": worst_memory,
                "met": worst_memory <= TARGET_MEMORY_MIB,
            },
        },
    }


def print_report(f: dict[str, Any]) -> None:
    n, pipe, base = f["units"], f["pipeline"], f["per_file_baseline"]
    setup = f["setup"]

    def row(label: str, s: dict[str, float], unit: str = "") -> str:
        return f"  {label:<34}{s['median']:>11.3f}{s['min']:>11.3f}{s['max']:>11.3f}{unit}"

    head = f"  {'':<34}{'median':>11}{'min':>11}{'max':>11}"
    print(f"\ncommune-reports benchmark: {n} forms of {f['period']}, {f['repeats']} repeats")
    print(
        f"setup (untimed): catalog + {n} forms in {setup['generate_seconds']:.1f} s, "
        f"{setup['verified']} forms read back with parse_form"
    )
    print(f"\nPipeline (batch design), seconds; fresh process and warehouse per repeat\n{head}")
    for name, s in pipe["stages_seconds"].items():
        share = 100 * s["median"] / pipe["total_seconds"]["median"]
        print(row(name, s, f"   {share:4.1f} %"))
    print(row("total", pipe["total_seconds"]))
    print(f"  {'files / second (median total)':<34}{pipe['files_per_second']:>11.0f}")
    print(row("imports before discover (not total)", pipe["imports_seconds_not_in_total"]))
    print(f"  facts rows {pipe['facts']}, completeness {pipe['completeness']}")
    floors = f["floors"]
    print(
        "\nFloors, seconds: the least honest work of each stage on the same files, measured "
        "after each\npipeline run (scripts/bench_floors.py); x = pipeline median / floor median"
        f"\n{head}"
    )
    for name, s in floors["stages_seconds"].items():
        print(
            row(f"{name} ({FLOOR_OF[name]})", s, f"   {floors['pipeline_over_floor'][name]:5.1f}x")
        )
    print(row("total", floors["total_seconds"]))
    print(f"\nPeak memory, MiB (ru_maxrss of the run's process and its descendants)\n{head}")
    mem = pipe["peak_memory_mib"]
    print(row("pipeline process (RUSAGE_SELF)", mem["self"]))
    print(row("largest child (RUSAGE_CHILDREN)", mem["largest_child"]))
    print(row("max of the two", mem["max"]))
    print(row("sum of the two", mem["sum"]))
    if "tree_sampled" in mem:
        print(row("whole tree at once (sampled 20 ms)", mem["tree_sampled"]))
    print(
        f"\nPer-file baseline, seconds per file over {base['files']} files (a slice after each "
        f"pipeline run): openpyxl read,\npandas frame, 1 GX validation run, 1 SQLite "
        f"transaction\n{head}"
    )
    for name, s in base["per_file"].items():
        print(row(name, s))
    gx_import = base["gx_import_seconds"]
    print(
        f"  one-off, not in the per-file figures: GX import "
        f"{'n/a' if gx_import is None else f'{gx_import:.2f} s'}, "
        f"context + suite {base['gx_setup_seconds']:.2f} s"
    )
    print(
        f"  extrapolated to {n} files: {base['extrapolated_seconds']:.1f} s = "
        f"{base['per_file']['total']['median']:.4f} s x {n}"
    )
    print(
        f"  speed-up: extrapolated per-file total / pipeline total median = "
        f"{base['speedup_vs_pipeline']:.1f}x"
    )
    scaled = "" if n == 10_000 else f" (scaled linearly from {n} forms)"
    targets = f["targets"]
    print("\nTargets")
    lines = [
        (
            "10,000 forms end to end <= 60 s",
            f"{targets['end_to_end_10k_le_60s']['measured']:.1f} s",
            targets["end_to_end_10k_le_60s"]["met"],
        ),
        (
            ">= 50x the per-file design",
            f"{targets['speedup_ge_50x']['measured']:.1f}x",
            targets["speedup_ge_50x"]["met"],
        ),
        (
            "peak memory <= 1 GiB (worst repeat, sum/tree)",
            f"{targets['peak_memory_le_1GiB']['measured']:.0f} MiB",
            targets["peak_memory_le_1GiB"]["met"],
        ),
    ]
    for label, measured, met in lines:
        print(f"  {label:<44}{measured:>12}   {'met' if met else 'NOT MET'}")
    if scaled:
        print(f"  10,000-form figures{scaled}: fixed costs such as imports make them pessimistic")
    slowest = pipe["slowest_stage"]
    share = pipe["stages_seconds"][slowest]["median"] / pipe["total_seconds"]["median"]
    print(f"\nSlowest stage: {slowest}, {100 * share:.0f} % of the pipeline total")
    slow = pipe["slowest_stage_seconds_at_10k"]
    if slow > BOTTLENECK_SECONDS_AT_10K:
        print(
            f"Bottleneck: {slowest} takes {slow:.1f} s at 10,000 forms{scaled} "
            f"({slow - BOTTLENECK_SECONDS_AT_10K:.1f} s over {BOTTLENECK_SECONDS_AT_10K:.0f} s)"
        )


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=10_000, help="synthetic forms (N)")
    parser.add_argument("--sample", type=int, default=40, help="files in the per-file baseline")
    parser.add_argument("--repeat", type=int, default=3, help="pipeline runs")
    parser.add_argument("--keep", type=Path, help="work in DIR (new or empty) and keep it")
    parser.add_argument("--json", type=Path, help="write the figures here, not to stdout")
    parser.add_argument("--child-batch", help=argparse.SUPPRESS)  # internal: one pipeline run
    args = parser.parse_args(argv)
    if not 1 <= args.units <= MAX_UNITS:
        parser.error(f"--units must be between 1 and {MAX_UNITS}")
    if args.sample < 1 or args.repeat < 1:
        parser.error("--sample and --repeat must be at least 1")
    return args


@contextlib.contextmanager
def restored_environment(keys: Sequence[str]) -> Iterator[None]:
    """Put the environment variables ``keys`` back as they were when the block ends."""
    saved = {key: os.environ.get(key) for key in keys}
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child_batch:
        print(json.dumps(child_run(args.units, args.child_batch)))
        return
    if args.keep:
        if args.keep.exists() and any(args.keep.iterdir()):
            raise SystemExit(f"--keep {args.keep}: the folder is not empty")
        args.keep.mkdir(parents=True, exist_ok=True)
        work = args.keep.resolve()
    else:
        work = Path(tempfile.mkdtemp(prefix="commune-bench-"))
    try:
        with restored_environment(ENV_KEYS):
            figures = bench(work, args)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print_report(figures)
    payload = json.dumps(figures, indent=2, ensure_ascii=False)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(payload + "\n", encoding="utf-8")
        print(f"\nfigures written to {args.json}")
    else:
        print(f"\nJSON\n{payload}")


def bench(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Set up, run the pipeline repeats, then the baseline; return all figures."""
    n = args.units
    # before any package call: load_catalog reads it, and the child processes inherit it
    os.environ["COMMUNE_REPORTS_CATALOG_DIR"] = str(build_catalog(work / "catalog", n))
    os.environ.pop("COMMUNE_REPORTS_WAREHOUSE_URL", None)  # always the embedded warehouse
    print(f"work folder {work}", file=sys.stderr)
    start = time.perf_counter()
    inbox, paths, verified = build_inbox(work, n)
    setup = {"generate_seconds": time.perf_counter() - start, "verified": verified}
    os.environ["COMMUNE_REPORTS_INBOX"] = str(inbox)
    print(f"{n} forms written in {setup['generate_seconds']:.1f} s", file=sys.stderr)
    runs, floors = [], []
    base = BaselineRuns(work, paths, args.sample)
    warehouse = f"sqlite:///{work / 'floor.db'}"
    for repeat in range(1, args.repeat + 1):
        # start each run with no pending writes: otherwise a run pays for the writeback of
        # the forms or of the previous run's archive, and discover's time varies threefold.
        # Homes are removed with the work folder at the end, not between runs, for the same
        # reason (deleting 10,000 files costs disk time too).
        if hasattr(os, "sync"):
            os.sync()
        runs.append(run_repeat(Path(__file__).resolve(), work, n, repeat))
        print(f"pipeline run {repeat}: {runs[-1]['total']:.1f} s", file=sys.stderr)
        floors.append(measure_floors(paths, warehouse, work, parse_period(PERIOD_CODE)))
        if floors[-1]["facts"] != runs[-1]["facts"]:
            raise SystemExit(
                f"floors stored {floors[-1]['facts']} facts, the pipeline {runs[-1]['facts']}"
            )
        base.run_slice(repeat - 1, args.repeat)
        print(f"floors and per-file slice {repeat} done", file=sys.stderr)
    return collect(n, setup, runs, base.figures(), floors)


if __name__ == "__main__":
    main()
