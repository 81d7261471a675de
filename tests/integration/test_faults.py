"""Nothing lost under faults, on SQLite and PostgreSQL: ``ingest`` and ``run`` killed at
several points, a full disk, a terminated database backend and concurrent ingests of one
folder; each time every file reaches a final status once, with the same facts as a run that
met no fault, and people are told what happened in one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from commune_reports.pipeline import ingest_paths
from commune_reports.settings import load_settings
from commune_reports.warehouse import dispose_engine, get_engine
from tests.snapshots import snapshot

REPO = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("commune-reports")
CRASH = REPO / "tests" / "faults" / "crash_at.py"
PERIOD = "2023Q4"
FILES = 19


@pytest.fixture
def inbox(home: Path) -> Path:
    folder = home / "inbox" / PERIOD
    shutil.copytree(REPO / "include" / "sample_inbox" / PERIOD, folder)
    return folder


@pytest.fixture
def expected_facts(tmp_path: Path, inbox: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """The facts the folder gives when nothing goes wrong (a warehouse of its own)."""
    url = f"sqlite:///{tmp_path / 'reference.db'}"
    with monkeypatch.context() as m:
        m.setenv("COMMUNE_REPORTS_HOME", str(tmp_path / "reference-home"))
        results = ingest_paths(load_settings(url), [inbox])
    assert [r["status"] for r in results] == ["accepted"] * FILES
    facts = snapshot(url)["facts"]
    dispose_engine(url)
    return facts


def _cli(*args: str, crash: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, str(CRASH), crash, "--", *args] if crash else [str(CLI), *args]
    env = os.environ | {"COMMUNE_REPORTS_SETTLE_SECONDS": "0"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def _final_and_once(url: str, expected_facts: list[tuple]) -> None:
    """Every file accepted, each step of each file recorded once, the facts as expected."""
    with get_engine(url).connect() as conn:
        statuses = dict(
            conn.execute(text("SELECT status, COUNT(*) FROM submissions GROUP BY status")).all()
        )
        chains = {}
        for sid, to_status in conn.execute(
            text(
                "SELECT submission_id, to_status FROM submission_events ORDER BY submission_id, seq"
            )
        ):
            chains.setdefault(sid, []).append(to_status)
    assert statuses == {"accepted": FILES}
    assert set(map(tuple, chains.values())) == {("received", "parsed", "validated", "accepted")}
    assert snapshot(url)["facts"] == expected_facts


@pytest.mark.parametrize(
    ("command", "point"),
    [
        ("ingest", "registered"),
        ("ingest", "parsed"),
        ("ingest", "validated"),
        ("ingest", "loading"),
        ("run", "parsed"),
        ("run", "loading"),
    ],
)
def test_a_killed_command_is_finished_by_the_next(
    warehouse: str, inbox: Path, expected_facts: list[tuple], command: str, point: str
) -> None:
    args = ["ingest", str(inbox)] if command == "ingest" else ["run", "--periods", PERIOD]
    killed = _cli(*args, crash=point)
    assert killed.returncode == -9, killed.stderr[-2000:]
    again = _cli(*args, "--format", "json") if command == "ingest" else _cli(*args)
    assert again.returncode == 0, again.stderr[-2000:]
    if command == "ingest":
        assert [r["status"] for r in json.loads(again.stdout)] == ["accepted"] * FILES
    _final_and_once(warehouse, expected_facts)
    # and a further run finds everything done: nothing is called new, resumed or loaded
    assert _cli("run", "--periods", PERIOD).returncode == 0
    _final_and_once(warehouse, expected_facts)


def test_a_lost_database_connection(
    warehouse: str,
    inbox: Path,
    expected_facts: list[tuple],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL ends the session's backend in the middle of the load; on SQLite another
    process holds the database locked longer than the busy timeout. One line, exit 5, and the
    next ingest finishes the work."""
    if warehouse.startswith("postgresql"):
        failed = _cli("ingest", str(inbox), crash="terminated")
    else:
        import sqlite3

        _cli("ingest", str(inbox), crash="parsed")  # some work done, then the lock
        holder = sqlite3.connect(warehouse.split("///", 1)[1], isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        monkeypatch.setenv("COMMUNE_REPORTS_SQLITE_BUSY_SECONDS", "1")
        try:
            failed = _cli("ingest", str(inbox))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        monkeypatch.delenv("COMMUNE_REPORTS_SQLITE_BUSY_SECONDS")
    assert failed.returncode == 5, failed.stderr[-2000:]
    (line, where) = failed.stderr.strip().splitlines()[-2:]
    assert "the warehouse" in line and "the next run resumes the rest" in line
    assert "Traceback" not in failed.stderr and where.startswith("(traceback: ")
    assert Path(where[len("(traceback: ") : -1]).read_text("utf-8").count("Traceback") >= 1
    again = _cli("ingest", str(inbox))
    assert again.returncode == 0, again.stderr[-2000:]
    _final_and_once(warehouse, expected_facts)


@pytest.fixture
def small_disk(tmp_path: Path) -> Path:
    """A 64 KiB file system (tmpfs), enough for a few forms, not for the whole folder."""
    if os.geteuid() != 0:
        pytest.fail("the full-disk test mounts a tmpfs: run the tests as root (CI does)")
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk(
    warehouse: str,
    inbox: Path,
    small_disk: Path,
    expected_facts: list[tuple],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The archive (and, on SQLite, the warehouse) on a disk that fills up half-way: one line,
    exit 6; nothing lost; with space again the same command finishes the work."""
    home = small_disk / "home"
    monkeypatch.setenv("COMMUNE_REPORTS_HOME", str(home))
    if warehouse.startswith("sqlite"):
        warehouse = f"sqlite:///{home / 'warehouse.db'}"
    failed = _cli("ingest", str(inbox))
    assert failed.returncode == 6, failed.stderr[-2000:]
    assert "the disk is full" in failed.stderr and "nothing received is lost" in failed.stderr
    assert "Traceback" not in failed.stderr
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    again = _cli("ingest", str(inbox), "--format", "json")
    assert again.returncode == 0, again.stderr[-2000:]
    assert [r["status"] for r in json.loads(again.stdout)] == ["accepted"] * FILES
    _final_and_once(warehouse, expected_facts)


def test_concurrent_ingests_of_one_folder(
    warehouse: str, inbox: Path, expected_facts: list[tuple]
) -> None:
    env = os.environ | {"COMMUNE_REPORTS_SETTLE_SECONDS": "0"}
    procs = [
        subprocess.Popen(
            [str(CLI), "ingest", str(inbox), "--format", "json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    for code, out, err in outcomes:
        assert code in (0, 4), err[-2000:]
        verdicts = json.loads(out)
        assert len(verdicts) == FILES
        assert {v["status"] for v in verdicts} <= {"accepted", "duplicate", "in_progress"}
        assert (code == 4) == any(v["status"] == "in_progress" for v in verdicts)
    _final_and_once(warehouse, expected_facts)
    after = _cli("ingest", str(inbox), "--format", "json")
    assert after.returncode == 0
    assert {(v["status"], v["earlier_status"]) for v in json.loads(after.stdout)} == {
        ("duplicate", "accepted")
    }
