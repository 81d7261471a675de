"""The parse pool: a worker that dies or overruns costs one file, never the batch; workers are
few and long-lived; results keep their order."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from commune_reports.readers import Limits
from commune_reports.template import write_form
from commune_reports.workers import ParsePool, parse_files


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pool")
    good = write_form("30052", "2023Q4", folder / "30052_2023Q4.xlsx", {"dialogue_sessions": 2})
    far = folder / "far.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(far, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("sheet1.xml"):
                data = data.replace(
                    b"</sheetData>",
                    b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c>'
                    b"</row></sheetData>",
                )
            out.writestr(info.filename, data)
    slow = folder / "slow.csv"
    rows = ["Mã kỳ: 2023Q4;Mã đơn vị: 30052", "STT;Mã chỉ tiêu;Chỉ tiêu;Kết quả"]
    rows += [f"{i};note_{i};Ghi chú {i};" for i in range(19_000)]
    slow.write_text("\n".join(rows), "utf-8")
    return {"good": good, "far": far, "slow": slow}


def test_results_in_order_from_few_workers(files: dict[str, Path]) -> None:
    jobs = [(str(files["good"]), f"{i}.xlsx") for i in range(50)]
    with ParsePool(workers=2) as pool:
        forms = pool.parse(jobs)
    assert [f.unit_code for f in forms] == ["30052"] * 50
    assert pool.stats.workers_started == 2  # not one process per file
    assert all(0 < kb < 1024 * 1024 for kb in pool.stats.peak_rss_kb.values())


def test_a_crash_costs_one_file_and_the_worker_is_replaced(files: dict[str, Path]) -> None:
    # without the pre-check's extent limit, the reader itself tries to allocate the
    # 17-billion-cell range: the worker aborts, its file is rejected, the others are parsed
    limits = Limits(max_rows=10**9, max_cols=10**6)
    jobs = [(str(files["good"]), None), (str(files["far"]), None)] * 3
    with ParsePool(limits, workers=2) as pool:
        forms = pool.parse(jobs)
    rules = [[p.rule for p in f.problems] for f in forms]
    assert rules == [[], ["parser_crashed"]] * 3
    assert [f.unit_code for f in forms[::2]] == ["30052"] * 3
    assert pool.stats.crashed == 3
    assert 3 <= pool.stats.workers_started <= 2 + 3  # replaced while files were waiting
    assert "signal 6" in forms[1].problems[0].message_en


def test_the_same_file_with_the_limits_is_rejected_by_name(files: dict[str, Path]) -> None:
    (form,), stats = parse_files([(str(files["far"]), None)])
    assert [p.rule for p in form.problems] == ["sheet_too_large"]
    assert stats.crashed == 0


def test_an_overrun_is_a_timeout_and_the_rest_carry_on(files: dict[str, Path]) -> None:
    limits = Limits(seconds=0.05)
    jobs = [(str(files["slow"]), None), (str(files["good"]), None), (str(files["good"]), None)]
    with ParsePool(limits, workers=1) as pool:
        forms = pool.parse(jobs)
    assert [p.rule for p in forms[0].problems] == ["parse_timeout"]
    assert [f.unit_code for f in forms[1:]] == ["30052", "30052"]
    assert pool.stats.timed_out == 1


def test_memory_limit_is_applied_in_the_worker(files: dict[str, Path]) -> None:
    limits = Limits(memory_mb=300)
    with ParsePool(limits, workers=1) as pool:
        pool.parse([(str(files["good"]), None)])
        pid = pool.workers[0].process.pid
        text = Path(f"/proc/{pid}/limits").read_text()
    line = next(x for x in text.splitlines() if x.startswith("Max address space"))
    assert re.search(rf"\b{300 * 1024 * 1024}\b", line)
    core = next(x for x in text.splitlines() if x.startswith("Max core file size"))
    assert core.split()[4] == "0"


def test_workers_start_whatever_the_parent_main_and_environment(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """As inside an Airflow task: ``__main__`` is an entry script that must not run twice and
    the Task SDK has set an unusable metadata URL; the workers start and parse all the same."""
    import subprocess
    import sys

    main = tmp_path / "entry.py"
    main.write_text(
        "import os, sys\n"
        "if __name__ != '__main__':\n"
        "    raise SystemExit('the entry script ran again in a worker')\n"
        "os.environ['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN'] = 'airflow-db-not-allowed:///'\n"
        "os.environ['PYTHONPATH'] = '/nonexistent'\n"
        "from commune_reports.workers import parse_files\n"
        f"forms, stats = parse_files([({str(files['good'])!r}, None)] * 4)\n"
        "print([f.unit_code for f in forms], stats.crashed)\n"
    )
    result = subprocess.run([sys.executable, str(main)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "['30052', '30052', '30052', '30052'] 0"


def test_workers_see_none_of_the_parent_settings(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "airflow-db-not-allowed:///")
    monkeypatch.setenv("COMMUNE_REPORTS_WAREHOUSE_URL", "postgresql://u:secret@db/warehouse")
    with ParsePool(workers=1) as pool:
        pool.parse([(str(files["good"]), None)])
        environ = Path(f"/proc/{pool.workers[0].process.pid}/environ").read_bytes()
    names = {item.split(b"=", 1)[0].decode() for item in environ.split(b"\0") if item}
    assert not {n for n in names if n.startswith(("AIRFLOW", "COMMUNE_REPORTS_"))}, names
    assert b"secret" not in environ
