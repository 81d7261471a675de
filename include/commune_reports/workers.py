"""Parse files in a pool of long-lived, resource-limited worker processes.

Every file is parsed outside the pipeline's process, whatever the batch size: a hostile file
(a zip bomb, a used range of 17 billion cells, a parser bug) can at worst kill the worker that
holds it. Each worker limits itself (address space ``RLIMIT_AS``, CPU time per file
``RLIMIT_CPU``, no core dumps) and parses many files, so isolation costs one process start per
worker, not per file. The parent gives each file a wall-clock deadline; a worker that dies or
overruns is replaced and the file it held gets a problem (``parser_crashed``,
``parse_timeout``); the files queued behind it go to the other workers.

A worker is a fresh interpreter (``python -I``), started with an environment of its own: it
never re-runs the parent's ``__main__`` (the ``airflow`` or ``celery`` entry script, as
multiprocessing's spawn and forkserver do) and never sees Airflow's settings, so it starts the
same under any executor, ``dags test`` and the command line. It talks to the parent over a
socket; the file in hand is published in a small shared memory map, so a death or an overrun
is blamed on exactly that file.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import pickle
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from commune_reports.parse import ParsedForm, parse_form
from commune_reports.problems import Problem
from commune_reports.readers import MIB, Limits

log = logging.getLogger(__name__)
progress_log = logging.getLogger("commune_reports.progress")
PROGRESS_SECONDS = 2.0  # how often a long parse says how far it is
IN_FLIGHT = 2  # chunks queued per worker, so it never waits for the parent between chunks
CHUNK = 32  # files per message at most
START_SECONDS = 60  # a worker that is not ready by then is the machine's problem
PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the folder holding commune_reports/
# What the worker may see of the parent's environment: the locale and temp folder, and the
# project's own settings that parsing reads (the catalog folder, parse limits).
_PASSED_ENV = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from commune_reports.workers import serve; serve(int(sys.argv[2]), int(sys.argv[3]))"
)
_PROGRESS = struct.Struct("dd")  # index of the file in hand (-1: none), its start (monotonic)
_FIELD = struct.Struct("d")  # one field of _PROGRESS: the index at 0, the start at 8
INDEX_AT, STARTED_AT = 0, _FIELD.size


def _publish(progress: mmap.mmap, index: int, started: float) -> None:
    """Say which file the worker now holds: its start first, then its index. The parent
    reads the index first, so it never sees a new index with the previous file's start,
    which, after a worker waited a while for work, would blame the new file for a timeout."""
    _FIELD.pack_into(progress, STARTED_AT, started)
    _FIELD.pack_into(progress, INDEX_AT, index)


def _limit_self(limits: Limits) -> None:
    """Run in the worker: cap its address space and core dumps, quiet Rust panics."""
    os.environ["RUST_BACKTRACE"] = "0"
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    memory = int(limits.memory_mb * MIB)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def _cpu_budget(seconds: int) -> None:
    """Allow this file ``seconds`` of CPU from now: SIGXCPU ends the worker past it."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _peak_reader() -> Any:
    """A function giving the worker's own peak resident memory (KiB). ``ru_maxrss`` would
    also count the parent it was forked from before ``exec``; the kernel's ``VmHWM`` is this
    program's alone (read through one open descriptor: it is asked after every chunk)."""
    try:
        fd = os.open("/proc/self/status", os.O_RDONLY)
    except OSError:
        return lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def peak() -> int:
        status = os.pread(fd, 8192, 0)
        start = status.find(b"VmHWM:")
        return int(status[start + 6 : status.index(b"kB", start)]) if start >= 0 else 0

    return peak


def serve(conn_fd: int, progress_fd: int) -> None:
    """The worker's main loop (run by ``python -I -c _BOOT``): take the limits and settings,
    then parse the chunks of jobs the parent sends; before each file, write its index and
    start time into the shared progress map so the parent knows which file a death or an
    overrun belongs to; answer each chunk with one message."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    conn = Connection(conn_fd)
    progress = mmap.mmap(progress_fd, _PROGRESS.size)
    limits, settings = conn.recv()
    os.environ.update(settings)
    _limit_self(limits)
    peak_kb = _peak_reader()
    conn.send("ready")
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        answers = []
        for index, path, name in chunk:
            started = time.monotonic()
            _publish(progress, index, started)
            _cpu_budget(limits.cpu_seconds)
            try:
                form = parse_form(path, name, limits)
            except MemoryError:
                form = ParsedForm(path=path, problems=[_memory_problem(limits)])
            answers.append((index, form, time.monotonic() - started))
            _FIELD.pack_into(progress, INDEX_AT, -1)
        conn.send((answers, peak_kb()))


def _memory_problem(limits: Limits) -> Problem:
    return Problem(
        stage="parse",
        rule="too_much_memory",
        message_vi=f"đọc tệp cần hơn {limits.memory_mb} MB bộ nhớ: không phải một biểu mẫu bình "
        "thường; chỉ gửi trang biểu mẫu",
        message_en=f"reading the file needs more than {limits.memory_mb} MB of memory: not an "
        "ordinary report form; send only the form sheet",
    )


@dataclass
class _Worker:
    process: subprocess.Popen
    conn: Connection
    progress: mmap.mmap  # shared: the file being parsed (or -1) and its start (monotonic)
    stderr: Any  # a temporary file holding what the worker printed
    chunks: deque = field(default_factory=deque)  # chunks of (index, path, name) unanswered

    def in_hand(self) -> tuple[int, float]:
        (index,) = _FIELD.unpack_from(self.progress, INDEX_AT)  # first: see _publish
        (started,) = _FIELD.unpack_from(self.progress, STARTED_AT)
        return int(index), started

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()

    def release(self) -> None:
        self.conn.close()
        self.progress.close()
        self.stderr.close()


@dataclass
class PoolStats:
    files: int = 0
    workers_started: int = 0
    crashed: int = 0
    timed_out: int = 0
    seconds: dict[int, float] = field(default_factory=dict)  # index -> wall time of its parse
    # index -> the worker's peak resident memory after the message holding that file (KiB; a
    # worker's lifetime peak, so the file's own peak when it is the worker's only file)
    peak_rss_kb: dict[int, int] = field(default_factory=dict)


class ParsePool:
    """``with ParsePool(limits) as pool: forms = pool.parse(jobs)``; jobs are
    ``(path, original_name)``, results come back in the same order."""

    def __init__(self, limits: Limits | None = None, workers: int | None = None):
        self.limits = limits or Limits.from_env()
        self.size = workers or max(1, min(os.cpu_count() or 1, 4))
        self.workers: list[_Worker] = []
        self.stats = PoolStats()
        self.lost = 0

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _start(self) -> _Worker:
        parent, child = socket.socketpair()
        # what the worker prints, kept for the error when it cannot start; closed by release()
        stderr = tempfile.TemporaryFile()  # noqa: SIM115
        with tempfile.TemporaryFile() as shared:
            shared.truncate(_PROGRESS.size)
            progress = mmap.mmap(shared.fileno(), _PROGRESS.size)
            _PROGRESS.pack_into(progress, 0, -1, 0.0)
            fds = (child.fileno(), shared.fileno())
            try:
                process = subprocess.Popen(
                    [sys.executable, "-I", "-c", _BOOT, str(PACKAGE_ROOT), *map(str, fds)],
                    env=_worker_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    pass_fds=fds,
                )
            except BaseException:
                progress.close()
                stderr.close()
                raise
            finally:
                child.close()  # the map keeps the shared memory; the worker has its own copy
        worker = _Worker(process, Connection(parent.detach()), progress, stderr)
        # a worker that cannot even start is the machine's problem, not a file's: raise, so
        # the task fails and retries instead of rejecting good files as "crashed"
        try:
            worker.conn.send((self.limits, _project_settings()))
            ready = worker.conn.recv() if worker.conn.poll(START_SECONDS) else None
        except (EOFError, OSError):
            ready = None
        if ready != "ready":
            worker.stop()
            worker.stderr.seek(0)
            said = worker.stderr.read()[-2000:].decode("utf-8", "replace").strip()
            worker.release()
            raise RuntimeError(
                f"a parse worker failed to start (exit code {process.returncode})"
                + (f": {said.splitlines()[-1]}" if said else "")
            )
        self.stats.workers_started += 1
        return worker

    def close(self) -> None:
        for worker in self.workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        deadline = time.monotonic() + 5
        for worker in self.workers:
            try:
                worker.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.stop()
            worker.release()
        self.workers = []

    def parse(self, jobs: Sequence[tuple[str, str | None]]) -> list[ParsedForm]:
        """Parse ``(path, original_name)`` jobs; the forms in the same order."""
        results: list[ParsedForm | None] = [None] * len(jobs)
        pending = deque((i, str(path), name) for i, (path, name) in enumerate(jobs))
        self.stats.files += len(jobs)
        wanted = min(self.size, len(jobs))
        # chunks: few messages for many small files, yet every worker busy until the end
        chunk_size = max(1, min(CHUNK, len(jobs) // (max(wanted, 1) * 8)))
        while len(self.workers) < wanted:
            self.workers.append(self._start())
        tick = min(1.0, self.limits.seconds / 2)
        told = time.monotonic()
        while pending or any(w.chunks for w in self.workers):
            if time.monotonic() - told >= PROGRESS_SECONDS:
                done = sum(r is not None for r in results)
                progress_log.info("đã đọc / parsed %d / %d", done, len(jobs))
                told = time.monotonic()
            for worker in list(self.workers):
                while pending and len(worker.chunks) < IN_FLIGHT:
                    chunk = [pending.popleft() for _ in range(min(chunk_size, len(pending)))]
                    try:
                        worker.conn.send(chunk)
                    except OSError:
                        pending.extendleft(reversed(chunk))
                        break
                    worker.chunks.append(chunk)
                if not worker.alive() and worker in self.workers:
                    self._collect(worker, pending, results)
            busy = [w for w in self.workers if w.chunks]
            if not busy:
                if pending and not self.workers:
                    self.workers.append(self._start())
                continue
            # a worker's answer, or the end of its socket when it dies, wakes the parent
            ready = wait([w.conn for w in busy], tick)
            for worker in busy:
                if worker.conn in ready:
                    self._collect(worker, pending, results)
            now = time.monotonic()
            for worker in [w for w in self.workers if w.chunks]:
                index, started = worker.in_hand()
                if index >= 0 and now - started >= self.limits.seconds:
                    self._collect(worker, pending, results)  # it may have just finished
                    if worker in self.workers and worker.in_hand() == (index, started):
                        worker.stop()
                        self._collect(worker, pending, results, timed_out=True)
        return [r for r in results if r is not None]

    def _collect(
        self,
        worker: _Worker,
        pending: deque,
        results: list[ParsedForm | None],
        timed_out: bool = False,
    ) -> None:
        """Take the chunks the worker has answered; if it has died (or was killed for
        overrunning), blame the file it was on, re-queue the rest and replace it."""
        ended = False
        try:
            while worker.chunks and worker.conn.poll():
                answers, peak = worker.conn.recv()
                worker.chunks.popleft()
                for index, form, seconds in answers:
                    results[index] = form
                    self.stats.seconds[index] = seconds
                    self.stats.peak_rss_kb[index] = peak
        except (EOFError, OSError, pickle.UnpicklingError):
            ended = True  # its socket closed: it is exiting, if not yet reaped
        if not ended and not timed_out and worker.alive():
            return
        exitcode = worker.process.wait()
        culprit, started = worker.in_hand()
        requeue = [job for chunk in worker.chunks for job in chunk if results[job[0]] is None]
        for index, path, name in requeue:
            if index != culprit:
                continue
            cpu = exitcode == -signal.SIGXCPU
            results[index] = ParsedForm(path=path, problems=[self._death(exitcode, timed_out)])
            self.stats.seconds[index] = time.monotonic() - started
            if timed_out or cpu:
                self.stats.timed_out += 1
            else:
                self.stats.crashed += 1
            log.warning(
                "parse worker %s stopped on %r (%s, exit %s); replacing it",
                worker.process.pid,
                name or path,
                "timeout" if timed_out or cpu else "crash",
                exitcode,
            )
        if culprit < 0:
            self.lost += 1  # died between files: nobody to blame; more than once is the machine
            if self.lost > 3:
                raise RuntimeError(f"parse workers keep dying between files (exit {exitcode})")
        pending.extendleft(reversed([job for job in requeue if job[0] != culprit]))
        worker.chunks.clear()
        worker.release()
        self.workers.remove(worker)
        if pending:
            self.workers.append(self._start())

    def _death(self, exitcode: int | None, timed_out: bool) -> Problem:
        if timed_out or exitcode == -signal.SIGXCPU:
            return Problem(
                stage="parse",
                rule="parse_timeout",
                message_vi=f"đọc tệp mất quá {self.limits.seconds:g} giây (giới hạn mỗi tệp): "
                "không phải một biểu mẫu bình thường; chỉ gửi trang biểu mẫu",
                message_en=f"reading the file took longer than {self.limits.seconds:g} s (the "
                "limit per file): not an ordinary report form; send only the form sheet",
            )
        how = f"tín hiệu {-exitcode}" if exitcode and exitcode < 0 else f"mã {exitcode}"
        how_en = f"signal {-exitcode}" if exitcode and exitcode < 0 else f"exit code {exitcode}"
        return Problem(
            stage="parse",
            rule="parser_crashed",
            message_vi=f"trình đọc bảng tính dừng đột ngột khi đọc tệp này ({how}; thường do tệp "
            f"cần quá {self.limits.memory_mb} MB bộ nhớ hoặc bị hỏng): mở tệp bằng Excel, chỉ giữ "
            "trang biểu mẫu, lưu lại dạng .xlsx",
            message_en=f"the spreadsheet reader stopped abruptly on this file ({how_en}; usually a "
            f"file needing more than {self.limits.memory_mb} MB of memory, or a damaged one): "
            "open it in Excel, keep only the form sheet and save it as .xlsx",
        )


def _worker_env() -> dict[str, str]:
    """The worker's whole environment: a few basics, never the parent's Airflow settings."""
    env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
    env.setdefault("LANG", "C.UTF-8")
    env["RUST_BACKTRACE"] = "0"
    return env


def _project_settings() -> dict[str, str]:
    """The project's own settings that parsing reads (the catalog folder, the parse limits),
    sent to each worker over its socket; nothing else (no warehouse URL, no password)."""
    return {
        k: v
        for k, v in os.environ.items()
        if k == "COMMUNE_REPORTS_CATALOG_DIR" or k.startswith("COMMUNE_REPORTS_PARSE_")
    }


def parse_files(
    jobs: Sequence[tuple[str, str | None]], limits: Limits | None = None
) -> tuple[list[ParsedForm], PoolStats]:
    """Parse ``(path, original_name)`` jobs in a fresh pool; the forms in order, and stats."""
    if not jobs:
        return [], PoolStats()
    with ParsePool(limits) as pool:
        forms = pool.parse(jobs)
    return forms, pool.stats
