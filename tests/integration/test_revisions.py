"""One rule for receipt time and revisions, on SQLite and PostgreSQL: a file is received when
the pipeline first sees it (or at a time stated for a historical load), whatever its
modification time says; the latest delivery wins within and across batches, ties broken by
arrival order; an old version sent again after a correction changes nothing, and a re-saved
one is used but flagged to the unit and the district; every status change is audited; an
existing warehouse takes the new columns without losing anything."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from commune_reports import migrations, stages
from commune_reports.channels import SmtpChannel
from commune_reports.notices import send_file_notices
from commune_reports.periods import Period
from commune_reports.pipeline import ingest_paths, run_periods
from commune_reports.sample_data import sample_values
from commune_reports.settings import load_settings
from commune_reports.template import write_form
from commune_reports.warehouse import ensure_schema, get_engine, run_sql_file, sql_files
from tests.servers import SmtpServer

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
UNIT, PERIOD = "30052", "2023Q4"
BASE = dict(sample_values()[(UNIT, PERIOD)])
DEADLINE_DAY = dt.datetime(2023, 12, 18, tzinfo=TZ)  # quarterly deadline of 2023Q4


def _form(folder: Path, name: str, modified: dt.datetime, **changes: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = write_form(UNIT, PERIOD, folder / name, BASE | changes)
    os.utime(path, (modified.timestamp(), modified.timestamp()))
    return path


def _rows(url: str, sql: str, **params: object) -> list:
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), params).all()


def _utc(value: object) -> dt.datetime:
    """A stored timestamp (datetime or ISO text) in UTC, to the second."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def _facts(url: str) -> dict[str, float]:
    rows = _rows(
        url,
        "SELECT metric_code, value FROM facts WHERE unit_code = :u AND period_code = :p",
        u=UNIT,
        p=PERIOD,
    )
    return {m: float(v) for m, v in rows}


def _status(url: str, unit: str) -> str:
    (row,) = _rows(
        url,
        "SELECT status FROM completeness WHERE unit_code = :u AND period_code = :p",
        u=unit,
        p=PERIOD,
    )
    return row.status


def test_receipt_time_is_when_the_pipeline_first_sees_the_file(warehouse: str, home: Path) -> None:
    """A form modified after the deadline but seen on 10 December is on time; a form carrying
    an old modification time but first seen on 19 December is late."""
    settings = load_settings()
    q4 = home / "inbox" / PERIOD
    early = _form(q4, f"{UNIT}_{PERIOD}.xlsx", dt.datetime(2024, 1, 5, tzinfo=TZ))
    seen = dt.datetime(2023, 12, 10, 9, 0, tzinfo=TZ)
    assert stages.register_inbox(settings, [Period(2023, 4)], now=seen)["new"] == 1
    late_unit = "30061"
    late = write_form(late_unit, PERIOD, q4 / f"{late_unit}_{PERIOD}.xlsx",
                      dict(sample_values()[(late_unit, PERIOD)]))  # fmt: skip
    old = dt.datetime(2023, 11, 1, tzinfo=TZ).timestamp()
    os.utime(late, (old, old))
    stages.register_inbox(settings, [Period(2023, 4)], now=dt.datetime(2023, 12, 19, tzinfo=TZ))
    run_periods(settings, [Period(2023, 4)])
    assert _status(warehouse, UNIT) == "on_time"
    assert _status(warehouse, late_unit) == "late"
    rows = {
        r.unit_code: r
        for r in _rows(
            warehouse,
            "SELECT unit_code, received_at, received_via, file_modified_at FROM submissions",
        )
    }
    assert {r.received_via for r in rows.values()} == {"inbox"}
    assert _utc(rows[UNIT].received_at) == seen
    assert _utc(rows[UNIT].file_modified_at) == dt.datetime(2024, 1, 5, tzinfo=TZ)  # kept
    assert early.exists()


def test_a_stated_receipt_time_for_historical_files(warehouse: str, tmp_path: Path) -> None:
    path = _form(tmp_path, f"{UNIT}_{PERIOD}.xlsx", dt.datetime(2026, 1, 1, tzinfo=TZ))
    stated = dt.datetime(2023, 12, 12, 8, 30, tzinfo=TZ)
    (result,) = ingest_paths(load_settings(), [path], received_at=stated)
    assert result["status"] == "accepted"
    (row,) = _rows(warehouse, "SELECT received_at, received_via FROM submissions")
    assert row.received_via == "stated"
    assert _utc(row.received_at) == stated
    assert _status(warehouse, UNIT) == "on_time"


def test_the_latest_delivery_wins_across_batches(
    warehouse: str, tmp_path: Path, smtp: SmtpServer
) -> None:
    settings = load_settings()
    day = dt.datetime(2023, 12, 1, tzinfo=TZ)
    first = _form(tmp_path / "a", "v1.xlsx", day, dialogue_sessions=2)
    correction = _form(tmp_path / "b", "v2.xlsx", day + dt.timedelta(days=2), dialogue_sessions=5)
    assert ingest_paths(settings, [first])[0]["status"] == "accepted"
    assert ingest_paths(settings, [correction])[0]["status"] == "accepted"
    assert _facts(warehouse)["dialogue_sessions"] == 5

    # the old version sent again, byte for byte: a duplicate; the correction stays
    again = tmp_path / "c" / "v1 gui lai.xlsx"
    again.parent.mkdir()
    shutil.copyfile(first, again)
    (result,) = ingest_paths(settings, [again])
    assert (result["status"], result["earlier_status"]) == ("duplicate", "superseded")
    assert _facts(warehouse)["dialogue_sessions"] == 5

    # a historical file stated as received before the correction: valid, but not the latest
    (result,) = ingest_paths(
        settings,
        [_form(tmp_path / "d", "v0.xlsx", day, dialogue_sessions=1)],
        received_at=day,
    )
    assert result["status"] == "superseded"
    assert _facts(warehouse)["dialogue_sessions"] == 5

    # an old version re-saved (other bytes, modified before the correction) and sent later:
    # the latest delivery is used, and the unit and the district are told it is older
    resaved = _form(tmp_path / "e", "v1 sua.xlsx", day + dt.timedelta(hours=1), dialogue_sessions=3)
    (result,) = ingest_paths(settings, [resaved])
    assert result["status"] == "accepted"
    assert [w["rule"] for w in result["warnings"]] == ["stale_revision"]
    assert "v2.xlsx" in result["warnings"][0]["message_en"]
    assert _facts(warehouse)["dialogue_sessions"] == 3

    channel = SmtpChannel(host="127.0.0.1", port=smtp.port)
    engine = get_engine(warehouse)
    now = dt.datetime.now(dt.UTC)
    sent = send_file_notices(engine, [channel], now)
    told = sorted(r for rcpts, _ in smtp.inbox.messages for r in rcpts)
    assert told == sorted(
        [
            "ubnd@myhoa.thapmuoi.example.vn",
            "noivu@thapmuoi.example.vn",
            "vanphong@thapmuoi.example.vn",
        ]
    )
    subject = smtp.inbox.messages[0][1]["Subject"]
    assert subject.startswith("[Tệp thay thế cũ hơn / Older replacement] 30052 2023Q4")
    assert len(sent) == 3 and send_file_notices(engine, [channel], now) == []  # once each

    history = _rows(
        warehouse,
        "SELECT original_name, status, superseded_by FROM submissions ORDER BY arrival_seq",
    )
    assert [(h.original_name, h.status) for h in history] == [
        ("v1.xlsx", "superseded"),
        ("v2.xlsx", "superseded"),
        ("v0.xlsx", "superseded"),
        ("v1 sua.xlsx", "accepted"),
    ]
    events = _rows(
        warehouse,
        "SELECT e.from_status, e.to_status, e.note FROM submission_events AS e "
        "JOIN submissions AS s ON s.submission_id = e.submission_id "
        "WHERE s.original_name = 'v2.xlsx' ORDER BY e.seq",
    )
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, "received"),
        ("received", "parsed"),
        ("parsed", "validated"),
        ("validated", "accepted"),
        ("accepted", "superseded"),
    ]
    assert events[-1].note.startswith("by ")


def test_one_discovery_ties_go_by_arrival_order(warehouse: str, home: Path) -> None:
    """Two files of one unit seen by the same discovery: the one modified last arrived last."""
    settings = load_settings()
    q4 = home / "inbox" / PERIOD
    day = dt.datetime(2023, 12, 5, tzinfo=TZ)
    _form(q4, "b_later.xlsx", day + dt.timedelta(hours=5), dialogue_sessions=9)
    _form(q4, "a_earlier.xlsx", day, dialogue_sessions=4)
    stages.register_inbox(settings, [Period(2023, 4)], now=day + dt.timedelta(days=1))
    run_periods(settings, [Period(2023, 4)])
    assert _facts(warehouse)["dialogue_sessions"] == 9
    names = _rows(warehouse, "SELECT original_name, status FROM submissions ORDER BY arrival_seq")
    assert [tuple(n) for n in names] == [
        ("a_earlier.xlsx", "superseded"),
        ("b_later.xlsx", "accepted"),
    ]


def test_an_existing_warehouse_takes_the_new_schema(warehouse: str, tmp_path: Path) -> None:
    """A warehouse made by the schema before 006 (no migrations table), with a file in it,
    gains the receipt-time columns and the audit without losing the file."""
    engine = create_engine(warehouse)
    with engine.begin() as conn:
        for path in sql_files("schema")[1:6]:  # 001-005, as they were
            run_sql_file(conn, path)
        conn.execute(
            text(
                "INSERT INTO submissions (submission_id, original_name, inbox_path, archive_path, "
                "size_bytes, received_at, registered_at, batch_id, status) VALUES ('abc', "
                "'x.xlsx', '/in/x.xlsx', '/ar/x.xlsx', 1, :at, :at, 'old', 'rejected')"
            ),
            {"at": dt.datetime(2023, 12, 1, tzinfo=dt.UTC)},
        )
    engine.dispose()
    ensure_schema(get_engine(warehouse))
    (row,) = _rows(
        warehouse,
        "SELECT status, received_via, arrival_seq, file_modified_at FROM submissions",
    )
    assert (row.status, row.received_via, row.arrival_seq) == ("rejected", "file_time", 1)
    assert _utc(row.file_modified_at) == dt.datetime(2023, 12, 1, tzinfo=dt.UTC)
    (event,) = _rows(warehouse, "SELECT actor, from_status, to_status FROM submission_events")
    assert tuple(event) == ("schema 006", None, "rejected")
    versions = [r.version_num for r in _rows(warehouse, "SELECT version_num FROM alembic_version")]
    assert versions == [migrations.head()]  # every revision from 001: 001-005 harmlessly again
    ensure_schema(get_engine(warehouse))  # again: nothing to do, nothing changes
    assert len(_rows(warehouse, "SELECT * FROM submission_events")) == 1
