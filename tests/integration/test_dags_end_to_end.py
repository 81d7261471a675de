"""Both DAGs end to end with ``dag.test()`` over the sample inbox, on the embedded SQLite
warehouse and on the machine's PostgreSQL (through the Airflow connection): every golden figure
of the 2024 district report, the footnote word for word, and a rerun that changes nothing."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from commune_reports.report import figure_rows, load_figures, render_footnote, render_text
from commune_reports.warehouse import get_engine
from tests.golden import ONLINE_FILING, SESSIONS_2021_2023, figure
from tests.snapshots import snapshot

REPO = Path(__file__).resolve().parents[2]
SEED_FOOTNOTE = (REPO / "tests" / "fixtures" / "seed_footnote_4.txt").read_text("utf-8").strip()
SEED = REPO.parent / "shared" / "seed" / "000_161ebe69bc6a6787.txt"

RUNS = (("commune_reports_quarterly", "2021Q1..2023Q4"), ("commune_reports_yearly", "2021..2023"))


@pytest.fixture(scope="module")
def dags(airflow_db: Path) -> dict:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    for dag in bag.dags.values():
        for task in dag.tasks:
            task.retries = 0  # fail the test at once instead of waiting for retry delays
    return bag.dags


@pytest.fixture
def connection_only(warehouse: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """PostgreSQL reaches the DAGs through the Airflow connection alone (the env var is
    removed), so a broken connection lookup would send the data to SQLite and fail the test."""
    if warehouse.startswith("postgresql"):
        monkeypatch.delenv("COMMUNE_REPORTS_WAREHOUSE_URL", raising=False)
        monkeypatch.setenv(
            "AIRFLOW_CONN_COMMUNE_REPORTS_WAREHOUSE",
            warehouse.replace("postgresql+psycopg://", "postgresql://"),
        )
    return warehouse


def _run_all(dags: dict) -> None:
    for dag_id, periods in RUNS:
        run = dags[dag_id].test(run_conf={"periods": periods})
        assert str(run.state) in {"success", "DagRunState.SUCCESS"}, (dag_id, run.state)


def test_sample_inbox_gives_the_report_figures(
    dags: dict, home: Path, connection_only: str
) -> None:
    shutil.copytree(REPO / "include" / "sample_inbox", home / "inbox", dirs_exist_ok=True)
    _run_all(dags)
    engine = get_engine(connection_only)
    figures = load_figures(engine, "2021..2023")
    rows = figure_rows(figures)

    assert figure(rows, "dissemination_sessions", "all", "2021..2023") == SESSIONS_2021_2023
    for (year, level), (online, total, rate) in ONLINE_FILING.items():
        assert figure(rows, "dossiers_received_online", level, year) == online
        assert figure(rows, "dossiers_received_total", level, year) == total
        assert figure(rows, "online_filing_rate", level, year) == rate
    for year in ("2021", "2022", "2023"):
        for level in ("district", "commune"):
            assert figure(rows, "on_time_resolution_rate", level, year) > 99
        assert figure(rows, "staff_conference_rate", "all", year) == 100
    evaluation = {
        "2021": (95.5, 2, 6, 1, 1),
        "2022": (96, 1, 4, 3, 0),
        "2023": (97.05, 1, None, None, 0),
    }
    for year, (score, grade, par, sipas, dismissed) in evaluation.items():
        assert figure(rows, "mass_mobilization_score", "district", year) == score
        assert figure(rows, "mass_mobilization_grade", "district", year) == grade
        assert figure(rows, "civil_servants_dismissed", "district", year) == dismissed
        for metric, expected in (("par_index_rank", par), ("sipas_rank", sipas)):
            present = [r for r in rows if (r["metric"], r["period"]) == (metric, year)]
            if expected is None:  # pending: blank in the form, published as pending
                assert present
                assert all((r["value"], r["status"]) == (None, "pending") for r in present)
            else:
                assert figure(rows, metric, "district", year) == expected
    assert figure(rows, "mass_mobilization_rank", "district", "2022") == 7
    assert figure(rows, "mass_mobilization_rank", "district", "2023") == 5

    assert render_footnote(figures, "2022", "2023") == SEED_FOOTNOTE
    if SEED.exists():
        assert f"⁴ {SEED_FOOTNOTE}" in SEED.read_text("utf-8")
    report = render_text(figures)
    assert "256 cuộc" in report and SEED_FOOTNOTE in report
    published = (home / "reports" / "2021_to_2023.txt").read_text("utf-8")
    # the figures, then what the district has not approved yet (nothing, here)
    assert published.startswith(report)
    (approval,) = published.removeprefix(report).strip().splitlines()
    assert approval.startswith("Phê duyệt / Approval: chưa duyệt / not approved yet: ")
    assert approval.endswith(
        ": 2021, 2021Q1, 2021Q2, 2021Q3, 2021Q4, 2022, 2022Q1, 2022Q2, 2022Q3, 2022Q4, 2023, "
        "2023Q1, 2023Q2, 2023Q3, 2023Q4"
    )

    with engine.connect() as conn:
        statuses = dict(
            conn.execute(text("SELECT status, COUNT(*) FROM submissions GROUP BY status")).all()
        )
        assert statuses == {"accepted": 288}
        missing = conn.execute(
            text("SELECT COUNT(*) FROM completeness WHERE status IN ('missing', 'rejected')")
        ).scalar_one()
        assert missing == 0
        expected = conn.execute(text("SELECT COUNT(*) FROM completeness")).scalar_one()
        assert expected == 19 * 12 + 19 * 3 + 3  # quarterly, yearly, evaluation forms

    before = snapshot(connection_only, volatile={})
    _run_all(dags)  # a rerun of the same periods
    assert snapshot(connection_only, volatile={}) == before


def test_bad_file_rejected_others_load(dags: dict, home: Path, connection_only: str) -> None:
    import openpyxl

    inbox = home / "inbox" / "2023Q4"
    shutil.copytree(REPO / "include" / "sample_inbox" / "2023Q4", inbox)
    bad = inbox / "30052_2023Q4.xlsx"
    book = openpyxl.load_workbook(bad)
    book["BaoCao"]["E13"] = 100_000  # online dossiers above the 659 received
    book.save(bad)
    (home / "inbox" / "2023Q4" / "30055_2023Q4.xlsx").unlink()  # a commune that did not send
    run = dags["commune_reports_quarterly"].test(run_conf={"periods": "2023Q4"})
    assert str(run.state) in {"success", "DagRunState.SUCCESS"}
    engine = get_engine(connection_only)
    with engine.connect() as conn:
        rejected = conn.execute(
            text(
                "SELECT s.original_name, e.rule, e.sheet, e.cell, e.message_vi, e.message_en "
                "FROM submissions AS s JOIN submission_errors AS e "
                "ON e.submission_id = s.submission_id WHERE s.status = 'rejected'"
            )
        ).all()
        assert [(r.original_name, r.rule, r.sheet, r.cell) for r in rejected] == [
            ("30052_2023Q4.xlsx", "online_le_total", "BaoCao", "E13")
        ]
        assert "100000" in rejected[0].message_vi and "659" in rejected[0].message_en
        units = conn.execute(text("SELECT DISTINCT unit_code FROM facts")).scalars().all()
        assert len(units) == 17 and "30052" not in units
        status = dict(
            conn.execute(
                text("SELECT unit_code, status FROM completeness WHERE period_code = '2023Q4'")
            ).all()
        )
        assert status["30052"] == "rejected"
        assert status["30055"] == "missing"
        assert sum(s in ("on_time", "late") for s in status.values()) == 17
    figures = load_figures(engine, "2023Q4")
    online = figures.total("dossiers_received_online", "commune", "2023Q4")
    assert online is not None and online < Decimal(18888)
