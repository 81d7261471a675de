"""The analysts' read-only role on a real PostgreSQL, in the shape compose deploys: the
warehouse owned by its own (non-superuser) role, the reader made by ``commune-reports
warehouse create-reader``; it reads facts, marts and views and can change nothing."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from commune_reports.cli import main
from commune_reports.periods import Period
from commune_reports.pipeline import run_periods
from commune_reports.settings import load_settings
from commune_reports.warehouse import dispose_engine
from tests.conftest import PG_ADMIN_URL, SAMPLE_INBOX

READER_PASSWORD = "R3ader-planted-pw"


@pytest.fixture
def owned_warehouse(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A database owned by a fresh login role (not a superuser), holding 2023Q4, and the names
    of the owner and of the reader to create; everything is dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    names = {"db": f"commune_reports_acl_{tag}", "owner": f"wh_owner_{tag}", "reader": f"an_{tag}"}
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # the owner compose creates: it may create roles, it is no superuser
        conn.execute(text(f"CREATE ROLE {names['owner']} LOGIN CREATEROLE"))
        conn.execute(text(f"CREATE DATABASE {names['db']} OWNER {names['owner']}"))
    base = PG_ADMIN_URL.rsplit("@", 1)[1].rsplit("/", 1)[0]
    names["owner_url"] = f"postgresql+psycopg://{names['owner']}@{base}/{names['db']}"
    names["reader_url"] = f"postgresql+psycopg://{names['reader']}@{base}/{names['db']}"
    monkeypatch.setenv("COMMUNE_REPORTS_WAREHOUSE_URL", names["owner_url"])
    shutil.copytree(SAMPLE_INBOX / "2023Q4", home / "inbox" / "2023Q4")
    run_periods(load_settings(), [Period(2023, 4)])
    try:
        yield names
    finally:
        dispose_engine(names["owner_url"])
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {names['db']} WITH (FORCE)"))
            for role in (names["reader"], f"{names['db']}_reader", names["owner"]):
                conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def _refused(conn, statement: str) -> str:
    """Run ``statement`` as the reader; return the PostgreSQL error's SQLSTATE class name."""
    with pytest.raises(DBAPIError) as caught:
        conn.execute(text(statement))
    conn.rollback()
    return type(caught.value.orig).__name__


def test_reader_reads_everything_and_changes_nothing(
    owned_warehouse: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = owned_warehouse
    monkeypatch.setenv("ANALYST_PASSWORD", READER_PASSWORD)
    reader = names["reader"]
    assert main(["warehouse", "create-reader", reader, "--password-env", "ANALYST_PASSWORD"]) == 0
    out = capsys.readouterr()
    assert f"{reader}@" in out.out and READER_PASSWORD not in out.out + out.err
    # rerunning it is harmless
    assert main(["warehouse", "create-reader", reader]) == 0
    capsys.readouterr()

    admin = create_engine(PG_ADMIN_URL)
    with admin.connect() as conn:
        flags = conn.execute(
            text(
                "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, "
                "rolpassword IS NOT NULL FROM pg_authid WHERE rolname = :r"
            ),
            {"r": reader},
        ).one()
    admin.dispose()
    assert tuple(flags) == (True, False, False, False, True)

    engine = create_engine(names["reader_url"])
    owner = create_engine(names["owner_url"])
    try:
        with engine.connect() as conn:
            facts = conn.execute(text("SELECT COUNT(*) FROM facts")).scalar()
            assert facts > 0
            assert conn.execute(text("SELECT COUNT(*) FROM mart_totals")).scalar() > 0
            assert conn.execute(text("SELECT COUNT(*) FROM completeness")).scalar() > 0
            traced = conn.execute(
                text("SELECT original_name, cell FROM fact_sources WHERE period_code = '2023Q4'")
            ).all()
            assert len(traced) == facts and all(name and cell for name, cell in traced)
            assert conn.execute(text("SELECT COUNT(*) FROM submissions")).scalar() > 0
            assert conn.execute(text("SHOW default_transaction_read_only")).scalar() == "on"
            conn.rollback()
            statements = {
                "insert": "INSERT INTO facts (unit_code, regime, period_code, metric_code, "
                "unit_key, value, submission_id, sheet, cell) SELECT unit_code, regime, '2099Q1', "
                "metric_code, unit_key, value, submission_id, sheet, cell FROM facts",
                "update": "UPDATE mart_totals SET value = value + 1",
                "delete": "DELETE FROM submissions",
                "truncate": "TRUNCATE alerts_sent",
                "create": "CREATE TABLE mine (x INTEGER)",
                "create_view": "CREATE VIEW mine AS SELECT 1 AS x",
                "temp": "CREATE TEMP TABLE mine (x INTEGER)",
                "drop": "DROP TABLE facts",
                "alter": "ALTER TABLE facts ADD COLUMN x INTEGER",
                "function": "CREATE FUNCTION mine() RETURNS INTEGER LANGUAGE sql AS 'SELECT 1'",
            }
            # the reader may ask for a read-write transaction: privileges still refuse it all
            refused = {}
            for what, statement in statements.items():
                conn.execute(text("SET TRANSACTION READ WRITE"))
                refused[what] = _refused(conn, statement)
        assert refused == dict.fromkeys(statements, "InsufficientPrivilege"), refused
        with owner.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM facts")).scalar() == facts

        # marts rebuilt and tables the owner creates later stay readable (default privileges)
        run_periods(load_settings(), [Period(2023, 4)])
        with owner.begin() as conn:
            conn.execute(text("CREATE TABLE later_table (x INTEGER)"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM mart_totals")).scalar() > 0
            assert conn.execute(text("SELECT COUNT(*) FROM later_table")).scalar() == 0
    finally:
        engine.dispose()
        owner.dispose()
        dispose_engine(names["owner_url"])


def test_reader_is_refused_on_sqlite_and_for_bad_names(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["warehouse", "create-reader", "analyst"]) == 2
    assert "only PostgreSQL" in capsys.readouterr().err
    monkeypatch.setenv("COMMUNE_REPORTS_WAREHOUSE_URL", PG_ADMIN_URL)
    assert main(["warehouse", "create-reader", 'x"; DROP TABLE facts; --']) == 2
    assert "not a valid role name" in capsys.readouterr().err
