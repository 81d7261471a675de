"""The SFTP drop on a real OpenSSH server and the object-store prefix, on SQLite and
PostgreSQL: a form uploaded is loaded once, moved to the handled folder, a rerun takes
nothing, the same bytes uploaded again are a duplicate; a file still being uploaded waits.
The Airflow path opens the same sources through the providers' hooks (``ImapHook``,
``SFTPHook``, ``ObjectStoragePath``) from the same connections."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from commune_reports.intake.config import SourceConfig
from commune_reports.intake.take import take_configured
from commune_reports.periods import Period
from commune_reports.pipeline import run_periods
from commune_reports.settings import load_settings
from commune_reports.warehouse import get_engine
from tests.conftest import SAMPLE_INBOX
from tests.intake.conftest import write_sources
from tests.remote_servers import DovecotServer, SftpServer

Q4 = Period(2023, 4)
FORM = SAMPLE_INBOX / Q4.code / "30052_2023Q4.xlsx"


def _sftp_connection(server: SftpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    host_key = " ".join(Path(f"{server.root / 'host_key'}.pub").read_text().split()[:2])
    monkeypatch.setenv(
        "AIRFLOW_CONN_COMMUNE_REPORTS_SFTP",
        json.dumps(
            {
                "conn_type": "sftp",
                "host": "127.0.0.1",
                "port": server.port,
                "login": server.user,
                "extra": {"key_file": str(server.key), "host_key": host_key},
            }
        ),
    )


@pytest.fixture
def drop(home: Path, sftp: SftpServer, monkeypatch: pytest.MonkeyPatch) -> SftpServer:
    _sftp_connection(sftp, monkeypatch)
    write_sources(
        home,
        '[[source]]\nname = "sftp-huyen"\nkind = "sftp"\nconn_id = "commune_reports_sftp"\n'
        f'path = "{sftp.drop}"\nhandled_path = "{sftp.drop}/da_nhan"\n',
        monkeypatch,
    )
    return sftp


def _upload(server: SftpServer, source: Path, name: str, mtime: float | None = None) -> None:
    import paramiko

    with paramiko.SSHClient() as ssh:
        ssh.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        ssh.connect(
            "127.0.0.1",
            server.port,
            server.user,
            key_filename=str(server.key),
            look_for_keys=False,
            allow_agent=False,
        )
        with ssh.open_sftp() as sftp:
            sftp.put(str(source), f"{server.drop}/{name}")
            if mtime is not None:
                sftp.utime(f"{server.drop}/{name}", (mtime, mtime))


def _submissions(url: str) -> list[tuple[str, str, str]]:
    with get_engine(url).connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text("SELECT unit_code, status, received_via FROM submissions ORDER BY 1")
            )
        ]


def test_the_sftp_drop_loads_a_form_once(home: Path, warehouse: str, drop: SftpServer) -> None:
    # the uploader set an old time on the file: the receipt time is when it was first seen
    _upload(drop, FORM, FORM.name, mtime=dt.datetime(2023, 12, 1, tzinfo=dt.UTC).timestamp())
    (drop.drop / "ghi_chu.pdf").write_bytes(b"%PDF-1.4")
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)

    first = run_periods(load_settings(), [Q4])

    assert first["sources"]["sftp-huyen"] == {"items": 2, "again": 0, "taken": 1, "not_a_form": 1}
    assert _submissions(warehouse) == [("30052", "accepted", "sftp")]
    assert sorted(p.name for p in drop.drop.iterdir()) == ["da_nhan"]
    assert sorted(p.name for p in (drop.drop / "da_nhan").iterdir()) == [FORM.name, "ghi_chu.pdf"]
    with get_engine(warehouse).connect() as conn:
        received, status = conn.execute(
            text(
                "SELECT s.received_at, c.status FROM submissions AS s JOIN completeness AS c "
                "ON c.submission_id = s.submission_id"
            )
        ).one()
    moment = received if isinstance(received, dt.datetime) else dt.datetime.fromisoformat(received)
    assert (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)) >= before
    assert status == "late"

    again = run_periods(load_settings(), [Q4])
    assert again["sources"]["sftp-huyen"] == {"items": 0, "again": 0}

    _upload(drop, FORM, "30052_2023Q4 (1).xlsx")  # the same form sent again
    third = run_periods(load_settings(), [Q4])
    assert third["sources"]["sftp-huyen"] == {"items": 1, "again": 0, "duplicate": 1}
    assert _submissions(warehouse) == [("30052", "accepted", "sftp")]
    assert sorted(p.name for p in (drop.drop / "da_nhan").iterdir()) == [
        "30052_2023Q4 (1).xlsx",
        FORM.name,
        "ghi_chu.pdf",
    ]


def test_a_file_still_being_uploaded_waits(home: Path, warehouse: str, drop: SftpServer) -> None:
    partial = FORM.read_bytes()[:-100]  # a zip whose end is not there yet, written just now
    (drop.drop / FORM.name).write_bytes(partial)

    first = take_configured(load_settings(), "run-1")
    assert first["sftp-huyen"] == {"items": 0, "again": 0}
    assert (drop.drop / FORM.name).exists()

    (drop.drop / FORM.name).write_bytes(FORM.read_bytes())
    second = take_configured(load_settings(), "run-2")
    assert second["sftp-huyen"] == {"items": 1, "again": 0, "taken": 1}


def test_the_object_store_prefix(home: Path, warehouse: str, monkeypatch) -> None:
    prefix = home / "kho" / "bao-cao"
    prefix.mkdir(parents=True)
    (prefix / FORM.name).write_bytes(FORM.read_bytes())
    old = time.time() - 3600
    os.utime(prefix / FORM.name, (old, old))
    write_sources(
        home,
        f'[[source]]\nname = "kho-tinh"\nkind = "object"\nurl = "file://{prefix}/"\n',
        monkeypatch,
    )
    first = run_periods(load_settings(), [Q4])
    assert first["sources"]["kho-tinh"] == {"items": 1, "again": 0, "taken": 1}
    assert _submissions(warehouse) == [("30052", "accepted", "object")]
    assert (prefix / FORM.name).exists()  # objects stay: their keys keep them from a rerun
    assert run_periods(load_settings(), [Q4])["sources"]["kho-tinh"] == {"items": 0, "again": 1}


def test_the_airflow_hooks_open_the_same_sources(
    home: Path, sftp: SftpServer, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a task the sources are opened by the providers' hooks from Airflow connections (here
    from the environment, as Airflow's own secrets backend reads them)."""
    from commune_reports.airflow_support import open_source

    _sftp_connection(sftp, monkeypatch)
    monkeypatch.setenv(
        "AIRFLOW_CONN_COMMUNE_REPORTS_IMAP",
        json.dumps(
            {
                "conn_type": "imap",
                "host": "127.0.0.1",
                "port": dovecot.port,
                "login": dovecot.user,
                "password": dovecot.password,
                "extra": {"use_ssl": False},
            }
        ),
    )
    _upload(sftp, FORM, FORM.name)
    from tests.intake.test_mailbox import _attach, _message

    dovecot.deliver(_attach(_message("ubnd@myhoa.thapmuoi.example.vn", "BC", "<h@x>"), FORM))
    prefix = home / "kho"
    prefix.mkdir()
    (prefix / FORM.name).write_bytes(FORM.read_bytes())
    now = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)  # everything has settled
    configs = [
        SourceConfig("hop-thu", "imap", "commune_reports_imap"),
        SourceConfig("sftp", "sftp", "commune_reports_sftp", path=str(sftp.drop)),
        SourceConfig("kho", "object", url=f"file://{prefix}/"),
    ]
    with contextlib.ExitStack() as stack:
        sources: list[Any] = [open_source(c, stack) for c in configs]
        found = {s.name: [i.files[0][0] for i in s.offered(set(), now) if i.files] for s in sources}
    assert found == {"hop-thu": [FORM.name], "sftp": [FORM.name], "kho": [FORM.name]}
    assert type(sources[2].root).__name__ == "ObjectStoragePath"


def test_a_source_that_cannot_be_read_does_not_stop_the_others(
    home: Path, warehouse: str, sftp: SftpServer, dovecot: DovecotServer, monkeypatch
) -> None:
    _sftp_connection(sftp, monkeypatch)
    secret = "sai-mat-khau-9431"
    monkeypatch.setenv(
        "AIRFLOW_CONN_COMMUNE_REPORTS_IMAP",
        f"imap://{dovecot.user}:{secret}@127.0.0.1:{dovecot.port}?use_ssl=false",
    )
    write_sources(
        home,
        '[[source]]\nname = "hop-thu"\nkind = "imap"\nconn_id = "commune_reports_imap"\n'
        '[[source]]\nname = "sftp-huyen"\nkind = "sftp"\nconn_id = "commune_reports_sftp"\n'
        f'path = "{sftp.drop}"\n',
        monkeypatch,
    )
    _upload(sftp, FORM, FORM.name)
    (sftp.drop / FORM.name).touch()  # its time is now: complete zips are taken at once

    summary = run_periods(load_settings(), [Q4])

    assert "hop-thu: cannot connect: error: " in summary["sources"]["errors"]
    assert secret not in summary["sources"]["errors"]
    assert _submissions(warehouse) == [("30052", "accepted", "sftp")]


def test_the_same_form_by_mail_and_on_the_drop_loads_once(
    home: Path, warehouse: str, sftp: SftpServer, dovecot: DovecotServer, monkeypatch, smtp
) -> None:
    from commune_reports.channels import SmtpChannel
    from commune_reports.intake.replies import send_configured
    from tests.intake.test_mailbox import _attach, _message

    _sftp_connection(sftp, monkeypatch)
    monkeypatch.setenv(
        "AIRFLOW_CONN_COMMUNE_REPORTS_IMAP",
        f"imap://{dovecot.user}:{dovecot.password}@127.0.0.1:{dovecot.port}?use_ssl=false",
    )
    write_sources(
        home,
        '[[source]]\nname = "sftp-huyen"\nkind = "sftp"\nconn_id = "commune_reports_sftp"\n'
        f'path = "{sftp.drop}"\n'
        '[[source]]\nname = "hop-thu"\nkind = "imap"\nconn_id = "commune_reports_imap"\n',
        monkeypatch,
    )
    _upload(sftp, FORM, FORM.name)
    (sftp.drop / FORM.name).touch()
    dovecot.deliver(_attach(_message("ubnd@myhoa.thapmuoi.example.vn", "BC", "<hai@x>"), FORM))

    summary = run_periods(load_settings(), [Q4])

    assert summary["sources"]["sftp-huyen"]["taken"] == 1
    assert summary["sources"]["hop-thu"]["duplicate"] == 1
    assert _submissions(warehouse) == [("30052", "accepted", "sftp")]
    channel = SmtpChannel(host="127.0.0.1", port=smtp.port, timeout=5)
    send_configured(get_engine(warehouse), [channel], dt.datetime.now(dt.UTC))
    ((_, reply),) = smtp.inbox.messages
    body = reply.get_body(preferencelist=("plain",)).get_content()
    assert (
        "tệp này đã được gửi trước đó (không tính lại); đã nhận và tổng hợp (đơn vị 30052" in body
    )
    assert "this file was sent before (not counted twice); received and loaded (unit 30052" in body


def test_an_object_storage_path_over_a_real_server(
    home: Path, warehouse: str, sftp: SftpServer, monkeypatch
) -> None:
    """The object-store source through Airflow's ObjectStoragePath on a real server: OpenSSH,
    by the SFTP provider's filesystem (sshfs) and its connection. Its files' times are set by
    clients, so the receipt time is when the file was first seen."""
    from commune_reports.airflow_support import open_source

    _sftp_connection(sftp, monkeypatch)
    write_sources(
        home,
        '[[source]]\nname = "kho"\nkind = "object"\nconn_id = "commune_reports_sftp"\n'
        f'url = "sftp://{sftp.drop}/"\n',
        monkeypatch,
    )
    _upload(sftp, FORM, FORM.name, mtime=dt.datetime(2023, 12, 1, tzinfo=dt.UTC).timestamp())
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)

    taken = take_configured(load_settings(), "run-1", opener=open_source)
    again = take_configured(load_settings(), "run-2", opener=open_source)
    monkeypatch.delenv("COMMUNE_REPORTS_SOURCES")
    run_periods(load_settings(), [Q4])

    assert taken["kho"] == {"items": 1, "again": 0, "taken": 1}
    assert again["kho"] == {"items": 0, "again": 1}
    assert _submissions(warehouse) == [("30052", "accepted", "object")]
    with get_engine(warehouse).connect() as conn:
        received = conn.execute(text("SELECT received_at FROM submissions")).scalar_one()
    moment = received if isinstance(received, dt.datetime) else dt.datetime.fromisoformat(received)
    assert (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)) >= before
    _close_object_stores()


def _close_object_stores() -> None:
    """Airflow keeps each object store's filesystem (here an SSH connection) for the life of
    the process, as a task process lives one task; close it before the test's logs close."""
    import gc

    from airflow.sdk.io import store

    for each in list(store._STORE_CACHE.values()):
        type(each.fs).clear_instance_cache()
    store._STORE_CACHE.clear()
    gc.collect()
