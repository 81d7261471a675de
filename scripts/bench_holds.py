"""What the blocking check costs a load: the sample 2021-2023 (288 files) run into a fresh
SQLite warehouse, with the project's catalog (dossiers_year_vs_quarters blocks) and,
interleaved, with the same catalog where that rule only warns (the baseline: the load then
reads no candidate values). Prints the medians of the whole run and of load_batch.

    .venv/bin/python scripts/bench_holds.py [RUNS]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CATALOG = REPO / "include" / "commune_reports" / "catalog"
RUN = """
import time
from commune_reports import stages
from commune_reports.periods import parse_period_range as r
from commune_reports.pipeline import run_periods
from commune_reports.settings import load_settings
spent = []
load = stages.load_batch
def timed(*a, **k):
    start = time.perf_counter()
    try:
        return load(*a, **k)
    finally:
        spent.append(time.perf_counter() - start)
stages.load_batch = timed
start = time.perf_counter()
run_periods(load_settings(), r("2021Q1..2023Q4") + r("2021..2023"))
print(time.perf_counter() - start, sum(spent))
"""


def run(catalog: Path) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as home:
        shutil.copytree(REPO / "include" / "sample_inbox", Path(home) / "inbox")
        env = os.environ | {
            "COMMUNE_REPORTS_HOME": home,
            "COMMUNE_REPORTS_CATALOG_DIR": str(catalog),
            "GX_ANALYTICS_ENABLED": "False",
        }
        out = subprocess.run(
            [sys.executable, "-c", RUN], env=env, capture_output=True, text=True, check=True
        )
    total, loading = out.stdout.split()
    return float(total), float(loading)


def main(runs: int = 4) -> None:
    with tempfile.TemporaryDirectory() as folder:
        warn = Path(folder) / "catalog"
        shutil.copytree(CATALOG, warn)
        rules = (warn / "checks.csv").read_text(encoding="utf-8")
        (warn / "checks.csv").write_text(rules.replace(",block,", ",warn,"), encoding="utf-8")
        found: dict[str, list[tuple[float, float]]] = {"block": [], "warn (baseline)": []}
        for _ in range(runs):
            found["block"].append(run(CATALOG))
            found["warn (baseline)"].append(run(warn))
    for name, values in found.items():
        total = statistics.median(v[0] for v in values)
        loading = statistics.median(v[1] for v in values)
        print(f"{name:16} run {total:.3f} s  load_batch {loading * 1000:.1f} ms  ({runs} runs)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4)
