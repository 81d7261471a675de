"""Cross-form checks, on both engines. The sample's forms reconcile: the yearly forms restate
the four quarters' dossiers, the agencies' own count adds up to the one-stop desk's, every
schedule meets its legal minimum. A yearly form that does not add up with its quarters is
held (block): not loaded, the unit and the district told by mail with the cells, listed by
``held``; a corrected file replaces it, or the district releases it and the figure is
published flagged. The desk against the agencies and a schedule below the minimum only
warn."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

from commune_reports.channels import SmtpChannel
from commune_reports.holds import held, release
from commune_reports.notices import send_file_notices
from commune_reports.periods import parse_period, parse_period_range
from commune_reports.pipeline import ingest_paths, run_periods
from commune_reports.report import load_figures, render_text
from commune_reports.sample_data import sample_values
from commune_reports.settings import load_settings
from commune_reports.template import write_form
from commune_reports.warehouse import get_engine
from tests.conftest import SAMPLE_INBOX
from tests.servers import SmtpServer

PERIODS = [*parse_period_range("2023Q1..2023Q4"), parse_period("2023")]
COMMUNE = "30052"


def _rows(url: str, sql: str, **params: object) -> list:
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), params).all()


def _send(home: Path, unit: str, period: str, name: str, **changes: int) -> dict:
    values = dict(sample_values()[(unit, period)]) | changes
    path = write_form(unit, period, home / "fixes" / f"{unit}_{period} {name}.xlsx", values)
    (result,) = ingest_paths(load_settings(), [path])
    return result


def _fact(url: str, unit: str, metric: str) -> Decimal:
    (row,) = _rows(
        url,
        "SELECT value FROM facts WHERE unit_code = :u AND period_code = '2023' "
        "AND metric_code = :m",
        u=unit,
        m=metric,
    )
    return Decimal(str(row.value))


def test_forms_reconcile_or_the_file_is_held(home: Path, warehouse: str, smtp: SmtpServer) -> None:
    for p in PERIODS:
        shutil.copytree(SAMPLE_INBOX / p.code, home / "inbox" / p.code)
    run_periods(load_settings(), PERIODS)
    new_kinds = "('reconcile', 'minimum')"
    assert _rows(warehouse, f"SELECT * FROM figure_checks WHERE kind IN {new_kinds}") == []
    truth = sample_values()[(COMMUNE, "2023")]["dossiers_received_year"]
    assert _fact(warehouse, COMMUNE, "dossiers_received_year") == truth

    # a yearly form whose restated dossiers are 40 more than its quarters: held, not loaded
    result = _send(home, COMMUNE, "2023", "sai", dossiers_received_year=int(truth) + 40)
    assert result["status"] == "held"
    assert _fact(warehouse, COMMUNE, "dossiers_received_year") == truth
    engine = get_engine(warehouse)
    with engine.connect() as conn:
        (listed,) = held(conn, "2023")
    (finding,) = listed["findings"]
    assert finding["check"] == "dossiers_year_vs_quarters"
    assert finding["sheet"] == "BaoCao" and finding["cell"].startswith("E")
    assert f"{int(truth) + 40:,}" in finding["en"] and "2023Q4" in finding["en"]
    assert "không khớp" in finding["vi"]
    (owed,) = _rows(
        warehouse,
        "SELECT kind FROM notices_due WHERE submission_id = :s",
        s=listed["submission_id"],
    )
    assert owed.kind == "held"
    # the unit and the district are told, by mail through a real SMTP server, once
    channel = SmtpChannel(host="127.0.0.1", port=smtp.port)
    sent = send_file_notices(engine, [channel], dt.datetime.now(dt.UTC))
    told = sorted(r for rcpts, _ in smtp.inbox.messages for r in rcpts)
    assert "ubnd@myhoa.thapmuoi.example.vn" in told and "noivu@thapmuoi.example.vn" in told
    mail = smtp.inbox.messages[0][1]
    assert mail["Subject"].startswith("[Tệp bị giữ lại / File held] 30052 2023")
    body = mail.get_body(("plain",)).get_content()
    assert f"ô {finding['cell']}" in body and f"cell {finding['cell']}" in body
    assert (
        len(sent) == len(told)
        and send_file_notices(engine, [channel], dt.datetime.now(dt.UTC)) == []
    )

    # the unit sends the form again, right (and a second reception day a week): it is loaded
    # and the held one superseded
    assert (
        _send(home, COMMUNE, "2023", "dung", head_reception_days_per_week=2)["status"] == "accepted"
    )
    (status,) = _rows(
        warehouse,
        "SELECT status FROM submissions WHERE submission_id = :s",
        s=listed["submission_id"],
    )
    assert status.status == "superseded"
    with engine.connect() as conn:
        assert held(conn) == []

    # held again, then released by the district: loaded as sent, published with a flag
    assert (
        _send(
            home,
            COMMUNE,
            "2023",
            "lan 3",
            dossiers_received_year=int(truth) + 40,
            head_reception_days_per_week=2,
        )["status"]
        == "held"
    )
    with engine.connect() as conn:
        (again,) = held(conn)
    done = release(load_settings(), again["submission_id"][:12], by="Phòng Nội vụ", note="đúng")
    assert done["status"] == "accepted"
    assert _fact(warehouse, COMMUNE, "dossiers_received_year") == int(truth) + 40
    (flag,) = _rows(
        warehouse,
        "SELECT * FROM figure_checks WHERE unit_code = :u AND check_code = :c AND level = 'all'",
        u=COMMUNE,
        c="dossiers_year_vs_quarters",
    )
    assert (flag.severity, flag.reference_metric, flag.level) == (
        "block",
        "dossiers_received_total",
        "all",
    )
    assert Decimal(str(flag.value)) - Decimal(str(flag.reference)) == 40
    (event,) = _rows(
        warehouse,
        "SELECT note FROM submission_events WHERE submission_id = :s AND from_status = 'held'",
        s=again["submission_id"],
    )
    assert event.note == "released by Phòng Nội vụ: đúng"

    # warn only: the agencies count 100 dossiers fewer than the desk; a commune chairman
    # receives citizens 0 days a week
    agency = sample_values()[("872-NV", "2023")]["agency_dossiers_resolved_year"]
    assert (
        _send(home, "872-NV", "2023", "sua", agency_dossiers_resolved_year=int(agency) - 100)[
            "status"
        ]
        == "accepted"
    )
    assert (
        _send(home, "30040", "2023", "sua", head_reception_days_per_week=0)["status"] == "accepted"
    )
    (desk,) = _rows(
        warehouse,
        "SELECT * FROM figure_checks WHERE check_code = 'desk_vs_agencies' AND unit_code = '872'",
    )
    assert (desk.unit_code, desk.level, desk.severity) == ("872", "district", "warn")
    assert Decimal(str(desk.value)) - Decimal(str(desk.reference)) == 100
    (short,) = _rows(
        warehouse, "SELECT * FROM figure_checks WHERE check_code = 'head_reception_minimum'"
    )
    assert (short.unit_code, Decimal(str(short.value))) == ("30040", 0)

    printed = render_text(load_figures(engine, "2023", unit="872"))
    assert "không khớp" in printed and "does not reconcile with agency_dossiers_resolved_year" in (
        printed
    )
    assert "dưới mức tối thiểu theo quy định 1" in printed
