"""Benchmark: taking forms from a mailbox against registering the same files from the inbox.

    .venv/bin/python scripts/bench_intake.py [--messages 200] [--repeat 5]

Setup (not timed): a Dovecot server on a loopback port (tests/remote_servers.py), and
``--messages`` messages, each with one form of the sample (2023Q4, cycled, made distinct by
a changed cell), delivered through Dovecot's own delivery agent. Measured, interleaved in each
repeat: ``intake.take`` of the whole mailbox on an empty SQLite warehouse (IMAP listing and
fetch, MIME parsing, staging, archive, ledger, ``intake_items``, the moves to the handled
folder), then the floor: ``register_files`` of the same attachments from a local folder on
another empty warehouse (archive and ledger only). The messages are put back in the INBOX
between repeats. Prints medians (min, max) and the ratio; asserts nothing on time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import openpyxl  # noqa: E402

from commune_reports.intake.mailbox import Mailbox  # noqa: E402
from commune_reports.intake.take import take  # noqa: E402
from commune_reports.settings import Settings  # noqa: E402
from commune_reports.sources import register_files  # noqa: E402
from commune_reports.warehouse import dispose_engine, ensure_schema, get_engine  # noqa: E402
from tests.remote_servers import DovecotServer  # noqa: E402

SAMPLE = REPO / "include" / "sample_inbox" / "2023Q4"


def forms(count: int, folder: Path) -> list[Path]:
    """``count`` distinct forms: the sample's, cycled, each with its own value in E7."""
    sources = sorted(SAMPLE.glob("*.xlsx"))
    out = []
    for i in range(count):
        book = openpyxl.load_workbook(sources[i % len(sources)])
        book.active["E7"] = 1000 + i
        path = folder / f"{i:04d}_{sources[i % len(sources)].name}"
        buffer = io.BytesIO()
        book.save(buffer)
        path.write_bytes(buffer.getvalue())
        out.append(path)
    return out


def message(path: Path, i: int) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"] = f"donvi{i}@example.vn", "baocao@example.vn"
    m["Subject"], m["Message-ID"] = f"Báo cáo {i}", f"<bench-{i}@example.vn>"
    m.set_content("Xin gửi báo cáo.")
    m.add_attachment(
        path.read_bytes(), maintype="application", subtype="octet-stream", filename=path.name
    )
    return m


def settings(root: Path) -> Settings:
    root.mkdir(parents=True)
    return Settings(home=root, warehouse_url=f"sqlite:///{root / 'w.db'}", inbox=root / "inbox")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    files = forms(args.messages, work)
    server = DovecotServer()
    server.start()
    try:
        for i, path in enumerate(files):
            server.deliver(message(path, i))
        mail_times, floor_times = [], []
        for r in range(args.repeat):
            s = settings(work / f"mail{r}")
            engine = get_engine(s.warehouse_url)
            ensure_schema(engine)
            client = server.client()
            source = Mailbox("bench", client, handled_folder=f"Done{r}")
            start = time.perf_counter()
            counts = take(engine, s, source, f"bench-{r}", dt.datetime.now(dt.UTC))
            mail_times.append(time.perf_counter() - start)
            assert counts.get("taken") == args.messages, counts
            client.select(f"Done{r}")
            client.uid("MOVE", "1:*", "INBOX")  # back for the next repeat
            client.logout()
            dispose_engine(s.warehouse_url)

            f = settings(work / f"floor{r}")
            engine = get_engine(f.warehouse_url)
            ensure_schema(engine)
            start = time.perf_counter()
            regs = register_files(engine, f, files, f"floor-{r}", None, dt.datetime.now(dt.UTC))
            floor_times.append(time.perf_counter() - start)
            assert sum(x.status == "new" for x in regs) == args.messages
            dispose_engine(f.warehouse_url)
    finally:
        server.stop()
    size = sum(p.stat().st_size for p in files) / len(files) / 1024

    def show(name: str, values: list[float]) -> float:
        median = statistics.median(values)
        print(
            f"{name:<28} {median:7.2f} s  ({min(values):.2f}, {max(values):.2f})  "
            f"{args.messages / median:7.1f} files/s"
        )
        return median

    print(f"{args.messages} messages, one form each ({size:.1f} KiB), {args.repeat} repeats")
    mail = show("take from the mailbox", mail_times)
    floor = show("register from a folder", floor_times)
    print(f"mailbox / folder: {mail / floor:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
