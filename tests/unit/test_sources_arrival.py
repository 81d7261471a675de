"""The inbox listing: a file still being copied is left for the next run, a finished or long
untouched one is taken; symbolic links and odd names are never taken at face value."""

from __future__ import annotations

import os
import time
from pathlib import Path

from commune_reports.sources import arrived, list_files, unsafe_name_problem
from commune_reports.template import write_form


def test_partial_copy_waits_until_complete(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    form = write_form("30052", "2023Q4", tmp_path / "30052_2023Q4.xlsx")
    data = form.read_bytes()
    arriving = inbox / form.name
    arriving.write_bytes(data[: len(data) // 2])  # the copy is half way
    now = time.time()
    assert list_files([inbox], now) == []
    arriving.write_bytes(data)  # the copy has finished
    assert list_files([inbox], time.time()) == [arriving]


def test_a_file_untouched_for_long_is_taken_even_if_broken(tmp_path: Path) -> None:
    broken = tmp_path / "30052_2023Q4.xlsx"
    broken.write_bytes(b"PK\x03\x04 never finished")
    os.utime(broken, (time.time() - 3600, time.time() - 3600))
    assert arrived(broken, time.time())  # read, then rejected as truncated


def test_csv_has_no_end_marker_so_it_settles_by_time(tmp_path: Path) -> None:
    fresh = tmp_path / "30052_2023Q4.csv"
    fresh.write_text("Mã đơn vị: 30052\n", "utf-8")
    now = time.time()
    assert not arrived(fresh, now, settle=60)
    assert arrived(fresh, now + 61, settle=60)


def test_symbolic_links_and_hidden_files_are_skipped(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    secret = tmp_path / "secret.csv"
    secret.write_text("not for the inbox", "utf-8")
    (inbox / "30052_2023Q4.csv").symlink_to(secret)
    (inbox / ".~lock.30052_2023Q4.xlsx#").write_text("lock", "utf-8")
    (inbox / "~$30052_2023Q4.xlsx").write_bytes(b"owner file")
    assert list_files([inbox], time.time() + 3600) == []


def test_unsafe_names() -> None:
    assert unsafe_name_problem("30052_2023Q4.xlsx") is None
    assert unsafe_name_problem("Báo cáo quý 4 (bản cuối).xlsx") is None
    for name in ("..\\..\\x.xlsx", "a\x07b.xlsx", "x\u202egnp.xlsx", "../x.xlsx"):
        problem = unsafe_name_problem(name)
        assert problem is not None and problem.rule == "unsafe_file_name"
        assert "30052_2023Q4.xlsx" in problem.message_vi
