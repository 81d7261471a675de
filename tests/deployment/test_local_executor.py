"""The project on a real Airflow deployment with LocalExecutor: API server, scheduler, DAG
processor and triggerer from .venv, PostgreSQL for the metadata and the warehouse. Runs are
started as an operator starts them (REST API v2, ``airflow backfill create``) and every task
runs in the Task SDK's supervised processes, not in-process as with ``dag.test()``."""

from __future__ import annotations

import ast
import contextlib
import http.client
import os
import re
import subprocess
import sys
import time
from email.message import EmailMessage, Message
from pathlib import Path

import pytest
from sqlalchemy import text

from commune_reports.airflow_approval import ANSWER_TASK as APPROVAL_TASK
from commune_reports.airflow_approval import APPROVE
from commune_reports.periods import parse_period
from commune_reports.pipeline import run_periods
from commune_reports.settings import load_settings
from commune_reports.warehouse import dispose_engine, get_engine
from tests.deployment.checks import (
    DATA_TEAM,
    backfill_on_first_tries,
    first_try_only,
    quarter_through_the_rest_api,
)
from tests.deployment.stack import REPO, Stack
from tests.remote_servers import DovecotServer
from tests.servers import SmtpServer
from tests.snapshots import differences, snapshot

EXECUTOR = "LocalExecutor"
pytestmark = pytest.mark.deployment


def test_a_quarter_triggered_through_the_rest_api(stack: Stack) -> None:
    tis = quarter_through_the_rest_api(stack, "2023Q4")
    assert {t["task_id"] for t in tis} >= {"discover", "parse_and_validate", "load"}
    report = (stack.home / "reports" / "2023Q4.txt").read_text("utf-8")
    assert "Kỳ báo cáo: 2023Q4 (Quý IV/2023)" in report
    assert "cấp huyện tiếp nhận 721 hồ sơ, đạt 82,78%" in report


PLUGIN = "/commune-reports"  # plugins/commune_reports_views.py: the published reports in the UI
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _raw_get(stack: Stack, path: str, headers: dict[str, str] | None = None):
    """GET ``path`` exactly as written: no client removes its ``..`` or decodes its escapes."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _published_run(stack: Stack, period: str) -> str:
    """The id of a successful quarterly run of ``period`` (the first test's), else of one now."""
    dag_id = "commune_reports_quarterly"

    def find() -> str | None:
        return next(
            (
                r["dag_run_id"]
                for r in stack.runs(dag_id)
                if r["state"] == "success" and (r.get("conf") or {}).get("periods") == period
            ),
            None,
        )

    if (run_id := find()) is None:
        quarter_through_the_rest_api(stack, period)
        run_id = find()
    assert run_id, stack.runs(dag_id)
    return run_id


def test_the_published_reports_are_served_in_the_airflow_ui(stack: Stack) -> None:
    """The plugin on the real API server: its index lists the published reports newest first,
    serves each file with its type (.docx as a download) and nothing outside the folder, only
    to an authenticated user (bearer JWT or the UI's ``_token`` cookie), puts its two views in
    the UI's nav (the plugin listing) and a link to the report on ``publish_report``."""
    run_id = _published_run(stack, "2023Q4")
    reports = stack.home / "reports"
    for name in ("2023Q4.txt", "2023Q4.json", "2023Q4.html", "2023Q4.docx"):
        assert (reports / name).is_file(), name
    bearer = {"Authorization": f"Bearer {stack.token()}"}
    secret = "BÍ MẬT / not to be served"
    created: list[Path] = []

    def write(path: Path, content: bytes, mtime: float | None = None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        created.append(path)
        return path

    # files of the formats the publish step writes, whatever it has written so far
    newest = write(reports / "kiem_tra_moi.html", "<p>Mới / new</p>".encode(), time.time() + 60)
    docx = write(reports / "kiem_tra_moi.docx", b"PK\x03\x04 not really a document")
    write(reports / "kiem_tra_cu.txt", "Cũ / old".encode(), 978307200)  # 2001-01-01
    # a unit's page as the publish step writes it (units/<stem>/<code>.html), and one beside
    unit = write(reports / "units" / "kiem_tra" / "00000.html", b"<p>unit</p>")
    published = sorted((reports / "units" / "2023Q4").glob("*.html"))
    assert len(published) >= 19, published  # the 19 units of huyện Tháp Mười, and the parents
    unit_name = unit.relative_to(reports / "units").as_posix()
    docs = reports / "data_docs" / "index.html"
    if not docs.exists():
        write(docs, b'<link rel="stylesheet" href="static/kiem_tra.css"><p>Data Docs</p>')
        write(reports / "data_docs" / "static" / "kiem_tra.css", b"p { color: green }")
    write(stack.home / "kiem_tra_ngoai.txt", secret.encode())  # beside the reports folder
    link = reports / "kiem_tra_lien_ket"
    link.symlink_to(stack.home, target_is_directory=True)
    created.append(link)
    write(reports / ".kiem_tra.txt.part", secret.encode())
    try:
        # only an authenticated user: Airflow mounts plugin apps without its API's auth, so
        # the plugin resolves the user as the core API does, with the same answers
        for path in ("/", "/reports/2023Q4.txt", "/report/2023Q4", "/data-docs/"):
            status, _, body = _raw_get(stack, PLUGIN + path)
            assert status == 401, (path, status, body)
        bad = {"Authorization": "Bearer not.a.token"}
        assert _raw_get(stack, "/api/v2/dags", bad)[0] == 403
        assert _raw_get(stack, PLUGIN + "/reports/2023Q4.txt", bad)[0] == 403
        assert _raw_get(stack, PLUGIN + "/", {"Cookie": "_token=not.a.token"})[0] == 403
        status, headers, page = _raw_get(stack, PLUGIN + "/", {"Cookie": f"_token={stack.token()}"})
        assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"

        # the index: every report once, newest first, with its files, the units, Data Docs
        status, _, page = _raw_get(stack, PLUGIN + "/", bearer)
        html = page.decode()
        assert status == 200 and "Báo cáo đã công bố" in html and "Published reports" in html
        stems = re.findall(r'<tr data-stem="([^"]+)">', html)
        assert len(stems) == len(set(stems)), stems
        assert stems[0] == "kiem_tra_moi" and stems[-1] == "kiem_tra_cu", stems
        assert "2023Q4" in stems and "Quý IV/2023" in html
        for href in ("reports/2023Q4.txt", "reports/2023Q4.json", "report/2023Q4"):
            assert f'href="{href}"' in html, href
        assert f'href="reports/units/{unit_name}"' in html
        for page in published:  # every unit page the publish step wrote, under its report
            assert f'href="reports/units/{page.parent.name}/{page.name}"' in html, page
        assert "<h3>kiem_tra</h3>" in html
        assert 'href="reports/data_docs/index.html"' in html
        assert ".kiem_tra" not in html

        # each file with its type, as it is on disk; the document as a download
        expected = {
            "2023Q4.txt": "text/plain; charset=utf-8",
            "2023Q4.json": "application/json",
            newest.name: "text/html; charset=utf-8",
            f"units/{unit_name}": "text/html; charset=utf-8",
            "data_docs/index.html": "text/html; charset=utf-8",
            docx.name: DOCX,
        }
        # what the run's publish step wrote: the report, the document, its units' pages
        expected["2023Q4.html"] = "text/html; charset=utf-8"
        expected["2023Q4.docx"] = DOCX
        expected |= {
            page.relative_to(reports).as_posix(): "text/html; charset=utf-8"
            for page in published[:3]
        }
        for name, kind in expected.items():
            status, headers, body = _raw_get(stack, f"{PLUGIN}/reports/{name}", bearer)
            assert (status, headers["content-type"]) == (200, kind), name
            assert body == (reports / name).read_bytes(), name
            assert headers["x-content-type-options"] == "nosniff"
            download = headers.get("content-disposition", "")
            assert download.startswith("attachment") == (kind == DOCX), (name, download)
        if (reports / "data_docs" / "static" / "kiem_tra.css").exists():
            status, headers, _ = _raw_get(
                stack, PLUGIN + "/reports/data_docs/static/kiem_tra.css", bearer
            )
            assert (status, headers["content-type"]) == (200, "text/css; charset=utf-8")
        status, headers, _ = _raw_get(stack, PLUGIN + "/data-docs/", bearer)
        assert (status, headers["location"]) == (307, "../reports/data_docs/index.html")
        status, headers, _ = _raw_get(stack, PLUGIN + "/reports/data_docs", bearer)
        assert (status, headers["location"]) == (307, "data_docs/")

        # nothing outside the folder, however the path is spelled; nothing hidden; 404 if absent
        outside = str(stack.home / "kiem_tra_ngoai.txt").lstrip("/")
        for path in (
            "../kiem_tra_ngoai.txt",
            "..%2Fkiem_tra_ngoai.txt",
            "%2e%2e/kiem_tra_ngoai.txt",
            "%2e%2e%2fkiem_tra_ngoai.txt",
            "units/..%2F..%2Fkiem_tra_ngoai.txt",
            "../warehouse.db",
            "..%2Fwarehouse.db",
            "%2F" + outside.replace("/", "%2F"),
            "/" + outside,
            "kiem_tra_lien_ket/kiem_tra_ngoai.txt",
            ".kiem_tra.txt.part",
            "khong_co.html",
        ):
            status, _, body = _raw_get(stack, f"{PLUGIN}/reports/{path}", bearer)
            assert status in (400, 404), (path, status)
            assert secret.encode() not in body, path
        assert _raw_get(stack, PLUGIN + "/report/khong_co", bearer)[0] == 404

        # the two views in the UI's nav, as the API server lists the plugin
        plugins = stack.api("GET", "/api/v2/plugins")["plugins"]
        plugin = next(p for p in plugins if p["name"] == "commune_reports_views")
        views = {v["name"]: v for v in plugin["external_views"]}
        assert set(views) == {"Commune reports", "Data Docs"}
        assert views["Commune reports"]["href"] == "commune-reports/"
        assert views["Data Docs"]["href"] == "commune-reports/data-docs/"
        for view in views.values():
            assert view["destination"] == "nav" and view["url_route"], view
        assert [a["url_prefix"] for a in plugin["fastapi_apps"]] == [PLUGIN]
        assert plugin["global_operator_extra_links"] == [
            "<commune_reports_views.PublishedReportLink object>"
        ]
        assert stack.api("GET", "/api/v2/plugins/importErrors")["import_errors"] == []

        # the task link: publish_report's opens the report that run published; no other task has it
        runs = f"/api/v2/dags/commune_reports_quarterly/dagRuns/{run_id}/taskInstances"
        links = stack.api("GET", f"{runs}/publish_report/links")["extra_links"]
        assert links == {"Báo cáo / Report": "commune-reports/report/2023Q4"}
        assert stack.api("GET", f"{runs}/load/links")["extra_links"] == {"Báo cáo / Report": None}
        status, headers, _ = _raw_get(stack, "/" + links["Báo cáo / Report"], bearer)
        best = "2023Q4.html"
        assert (status, headers["location"]) == (307, f"../reports/{best}")
        status, _, body = _raw_get(stack, f"{PLUGIN}/reports/{best}", bearer)
        assert status == 200 and body == (reports / best).read_bytes()
    finally:
        for path in reversed(created):
            path.unlink(missing_ok=True)
        for folder in (
            reports / "data_docs" / "static",
            reports / "data_docs",
            reports / "units" / "kiem_tra",
            reports / "units",
        ):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if the test made it and it is empty again


def test_the_plugin_imports_nothing_heavy() -> None:
    """Every Airflow component imports the plugins: the plugin's import adds neither pandas,
    Great Expectations, SQLAlchemy, Jinja nor the project (read when a request comes)."""
    code = (
        "import sys, airflow.plugins_manager\n"
        "before = set(sys.modules)\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import commune_reports_views\n"
        "print(sorted({m.split('.')[0] for m in set(sys.modules) - before}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(REPO / "plugins")],
        capture_output=True,
        text=True,
        check=True,
    )
    added = set(ast.literal_eval(result.stdout.strip().splitlines()[-1]))
    assert "commune_reports_views" in added
    assert not added & {"pandas", "great_expectations", "sqlalchemy", "jinja2", "commune_reports"}


def test_overlapping_backfills_equal_serial_runs(
    stack: Stack,
    smtp: SmtpServer,
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backfill_on_first_tries(stack, smtp)

    # the same periods collected one after another, by the command line's code path, into a
    # second warehouse: the overlapping runs must have left exactly the same tables
    with get_engine(stack.warehouse_url).connect() as conn:
        codes = (
            conn.execute(text("SELECT DISTINCT period_code FROM periods ORDER BY period_code"))
            .scalars()
            .all()
        )
    monkeypatch.setenv("COMMUNE_REPORTS_HOME", str(tmp_path / "serial"))
    monkeypatch.setenv("COMMUNE_REPORTS_INBOX", str(stack.home / "inbox"))
    monkeypatch.setenv("COMMUNE_REPORTS_SETTLE_SECONDS", "0")
    settings = load_settings(postgres_url)
    for code in codes:
        run_periods(settings, [parse_period(code)])
    serial = snapshot(postgres_url)
    dispose_engine(postgres_url)
    assert differences(snapshot(stack.warehouse_url), serial) == []


def test_retries_and_a_failed_run_are_told_to_the_data_team(stack: Stack, smtp: SmtpServer) -> None:
    dag_id = "commune_reports_quarterly"
    stack.unpause(dag_id)
    stack.wait_idle(dag_id)
    smtp.inbox.messages.clear()
    run_id = stack.trigger(dag_id, {"periods": "2023"})  # a year, not a quarter: discover fails
    with pytest.raises(AssertionError, match="discover"):
        stack.wait_run(dag_id, run_id)
    error = "collects quarter periods, not 2023"

    def notices() -> list[tuple[str, str]]:
        return [
            (m["Subject"], _plain(m))
            for rcpts, m in smtp.inbox.messages
            if rcpts == [DATA_TEAM] and run_id in m["Subject"]
        ]

    deadline = time.monotonic() + 120  # the DAG-level notice comes from the DAG processor
    while time.monotonic() < deadline and not any("Run failed" in s for s, _ in notices()):
        time.sleep(1)
    sent = notices()
    retries = [body for subject, body in sent if "Retry" in subject]
    failures = [body for subject, body in sent if "Failure" in subject]
    dag_failed = [body for subject, body in sent if "Run failed" in subject]
    assert len(retries) == 2 and len(failures) == 1 and len(dag_failed) == 1, sent
    assert "try 1/3" in retries[0] and "try 2/3" in retries[1]
    assert "(Asia/Ho_Chi_Minh)" in retries[0]
    for body in retries + failures + dag_failed:
        assert "discover" in body and error in body, body
    assert "failed at task discover: ValueError: " in dag_failed[0]


def _plain(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    return ""


def test_the_light_discovery_records_new_files_as_received_now(stack: Stack) -> None:
    """A form put in the inbox folder of a period open today is recorded by the discovery
    DAG's run as received (the server's time, within the run), and nothing more is done."""
    import datetime as dt

    from commune_reports.alerts import delivery_periods
    from commune_reports.catalog import load_catalog
    from commune_reports.template import write_form

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    today = now.astimezone(dt.timezone(dt.timedelta(hours=7))).date()
    period = next(p for p in delivery_periods(today, load_catalog()) if p.quarter)
    form = write_form("30037", period.code, stack.home / "inbox" / period.code / "moi.xlsx")
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC).timestamp()
    os.utime(form, (old, old))  # what the sender's clock says does not matter
    dag_id = "commune_reports_discovery"
    stack.unpause(dag_id)  # which also starts a run for the latest quarter-hour
    run_id = stack.trigger(dag_id, {})
    stack.wait_run(dag_id, run_id)
    first_try_only(stack, dag_id, run_id)
    with get_engine(stack.warehouse_url).connect() as conn:
        row = conn.execute(
            text(
                "SELECT status, received_via, received_at, batch_id FROM submissions "
                "WHERE original_name = 'moi.xlsx'"
            )
        ).one()
    assert (row.status, row.received_via) == ("received", "inbox")
    assert row.batch_id.startswith("discovery-")
    received = row.received_at.astimezone(dt.UTC)
    assert now - dt.timedelta(seconds=5) <= received <= dt.datetime.now(dt.UTC)
    stack.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": True})


def _answer_when_asked(
    stack: Stack, dag_id: str, run_id: str, choice: str, note: str, timeout: float = 300
) -> dict:
    """Wait until the run's approval appears among the required actions (its HITL detail),
    answer it through the REST API as the admin and wait for the run; return what was
    asked."""
    path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{APPROVAL_TASK}/-1/hitlDetails"
    deadline = time.monotonic() + timeout
    while True:
        try:
            asked = stack.api("GET", path)
            break
        except RuntimeError as exc:
            assert "404" in str(exc), exc
            assert time.monotonic() < deadline, f"{run_id}: no approval asked in {timeout} s"
            state = stack.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
            assert state in ("queued", "running"), stack.describe_failure(dag_id, run_id)
            time.sleep(1)
    # answer only once the scheduler has taken in that the task paused: Airflow 3.3.2 retries
    # the task (and asks again) when the answer comes before the executor's report of the paused
    # try has been processed (the scheduler takes the resumed, queued task for one killed
    # externally), which a fast answer on a loaded machine does
    while True:
        ti = next(t for t in stack.task_instances(dag_id, run_id) if t["task_id"] == APPROVAL_TASK)
        if ti["state"] == "awaiting_input":
            seen = (
                "Received executor event with state success for task instance TaskInstanceKey("
                f"dag_id='{dag_id}', task_id='{APPROVAL_TASK}', run_id='{run_id}', "
                f"try_number={ti['try_number']},"
            )
            if seen in (stack.logs / "scheduler.log").read_text(errors="replace"):
                break
        assert time.monotonic() < deadline, f"{run_id}: {ti['state']}"
        time.sleep(0.5)
    stack.api("PATCH", path, json={"chosen_options": [choice], "params_input": {"note": note}})
    stack.wait_run(dag_id, run_id)
    tries = {t["task_id"]: t["try_number"] for t in stack.task_instances(dag_id, run_id)}
    assert tries[APPROVAL_TASK] == ti["try_number"], tries  # answered once, not asked again
    return asked


def _latest_decision(engine, period: str):
    """The latest decision recorded on the quarterly report of ``period``."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT decision, decided_by, via, note, corrections_applied FROM "
                "period_approvals WHERE regime = 'quarterly' AND period_code = :p "
                "ORDER BY seq DESC"
            ),
            {"p": period},
        ).first()


def test_the_district_approves_in_airflow_and_a_later_file_waits(stack: Stack) -> None:
    """A run asked to (``approval: yes``) puts the report among the UI's required actions; the
    answer is recorded with who gave it. A changed file for the approved quarter is then held:
    a run changes no figure, and the next approval applies exactly that unit's change."""
    import openpyxl

    dag_id, period = "commune_reports_quarterly", "2022Q4"
    stack.unpause(dag_id)
    deadline = time.monotonic() + 300  # a run an earlier test failed on purpose may be there
    while any(r["state"] in ("queued", "running") for r in stack.runs(dag_id)):
        assert time.monotonic() < deadline
        time.sleep(1)
    engine = get_engine(stack.warehouse_url)
    run_id = stack.trigger(dag_id, {"periods": period, "approval": "yes"})
    asked = _answer_when_asked(stack, dag_id, run_id, APPROVE, "đã rà soát")
    assert period in asked["subject"] and "Approve the report of 2022Q4" in asked["body"]
    assert "Kỳ báo cáo: 2022Q4" in asked["body"]
    decision = _latest_decision(engine, period)
    assert (decision.decision, decision.decided_by, decision.via, decision.note) == (
        "approved",
        "admin",
        "airflow",
        "đã rà soát",
    )
    assert "approved by admin" in (stack.home / "reports" / f"{period}.txt").read_text("utf-8")

    def facts() -> dict:
        with engine.connect() as conn:
            return {
                (r.unit_code, r.metric_code): r.value
                for r in conn.execute(
                    text("SELECT unit_code, metric_code, value FROM facts WHERE period_code = :p"),
                    {"p": period},
                )
            }

    before = facts()
    book = openpyxl.load_workbook(stack.home / "inbox" / period / f"872-MC_{period}.xlsx")
    row = next(r for r in book.active.iter_rows() if r[1].value == "dossiers_received_online")
    row[4].value = int(row[4].value) - 100
    book.save(stack.home / "inbox" / period / f"872-MC_{period}_sua.xlsx")

    held = stack.trigger(dag_id, {"periods": period})  # a manual run asks nothing by default
    stack.wait_run(dag_id, held)
    first_try_only(stack, dag_id, held)
    assert facts() == before
    report = (stack.home / "reports" / f"{period}.txt").read_text("utf-8")
    assert "1 pending correction, not in the figures above" in report

    again = stack.trigger(dag_id, {"periods": period, "approval": "yes"})
    asked = _answer_when_asked(stack, dag_id, again, APPROVE, "")
    assert "applies 1 pending correction " in asked["body"]
    assert "dossiers_received_online [" in asked["body"]
    after = facts()
    assert {k for k in after if after[k] != before.get(k)} == {
        ("872-MC", "dossiers_received_online")
    }
    assert (
        after[("872-MC", "dossiers_received_online")]
        == before[("872-MC", "dossiers_received_online")] - 100
    )
    applied = _latest_decision(engine, period).corrections_applied
    assert applied == 1
    stack.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": True})


def test_a_form_mailed_to_the_mailbox_is_loaded_and_answered(
    stack: Stack, smtp: SmtpServer, mailbox: DovecotServer
) -> None:
    """Through the real scheduler: a clerk who is not the unit's contact mails a corrected
    form for 2023Q1 to the district's mailbox; the quarterly run takes it (the task's
    ImapHook, the connection from the environment) at the mail server's receipt time,
    replaces the unit's figures with it, moves the message to the handled folder and replies
    to the clerk under their message, the unit's contact in copy; a second run takes nothing."""
    import openpyxl

    dag_id, period, unit = "commune_reports_quarterly", "2023Q1", "30052"
    clerk, contact = "canbo.myhoa@gmail.example.com", "ubnd@myhoa.thapmuoi.example.vn"
    book = openpyxl.load_workbook(stack.home / "inbox" / period / f"{unit}_{period}.xlsx")
    row = next(r for r in book.active.iter_rows() if r[1].value == "dissemination_sessions")
    row[4].value = int(row[4].value) + 7
    corrected = stack.root / f"{unit}_{period}_bo_sung.xlsx"
    book.save(corrected)
    message = EmailMessage()
    message["From"], message["To"] = clerk, "baocao@thapmuoi.example.vn"
    message["Subject"], message["Message-ID"] = "Mỹ Hòa gửi lại báo cáo quý I", "<sua@myhoa>"
    message.set_content("Xin gửi lại báo cáo đã sửa.")
    message.add_attachment(
        corrected.read_bytes(),
        maintype="application",
        subtype="octet-stream",
        filename=corrected.name,
    )
    stack.unpause(dag_id)
    deadline = time.monotonic() + 300  # a run an earlier test failed on purpose may be there
    while any(r["state"] in ("queued", "running") for r in stack.runs(dag_id)):
        assert time.monotonic() < deadline
        time.sleep(1)
    loaded = stack.trigger(dag_id, {"periods": period})  # the quarter's inbox files first
    stack.wait_run(dag_id, loaded)
    mailbox.deliver(message)  # then the correction, received later by the mail server
    smtp.inbox.messages.clear()

    run_id = stack.trigger(dag_id, {"periods": period})
    stack.wait_run(dag_id, run_id)
    first_try_only(stack, dag_id, run_id)

    engine = get_engine(stack.warehouse_url)
    with engine.connect() as conn:
        sub = conn.execute(
            text(
                "SELECT s.status, s.received_via, s.received_at, i.outcome FROM submissions AS s "
                "JOIN intake_items AS i ON i.submission_id = s.submission_id "
                "WHERE i.item_key = '<sua@myhoa>'"
            )
        ).one()
    assert (sub.status, sub.received_via, sub.outcome) == ("accepted", "imap", "taken")
    assert mailbox.folder("INBOX") == [] and len(mailbox.folder("Processed")) == 1
    replies = [(rcpts, m) for rcpts, m in smtp.inbox.messages if m["In-Reply-To"] == "<sua@myhoa>"]
    assert sorted(r for rcpts, _ in replies for r in rcpts) == sorted([clerk, contact])
    body = replies[0][1].get_body(preferencelist=("plain",)).get_content()
    assert f"- {corrected.name}: đã nhận và tổng hợp (đơn vị {unit}, kỳ {period})." in body
    assert replies[0][1]["Subject"] == "Re: Mỹ Hòa gửi lại báo cáo quý I"

    again = stack.trigger(dag_id, {"periods": period})
    stack.wait_run(dag_id, again)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM intake_items")).scalar_one() == 1
    assert len([m for _, m in smtp.inbox.messages if m["In-Reply-To"] == "<sua@myhoa>"]) == 2
