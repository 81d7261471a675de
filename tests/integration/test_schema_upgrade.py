"""Schema upgrades with Alembic, on both engines.

A warehouse of the release before Alembic (its files recorded in ``schema_migrations``, no
``alembic_version``) whose schema ends at 010 (no lineage views, no checks, no definition
versions) is stamped at 010 on the next command, takes the revisions after it, keeps every fact
and gets its marts, views and checks as a new warehouse would. A new warehouse runs every
revision from 001. Once at the head, ensure_schema takes no writer lock; a revision that fails
leaves the warehouse as it was (DDL is transactional on both engines).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, inspect, text

from commune_reports import migrations
from commune_reports import warehouse as wh
from commune_reports.cli import main
from commune_reports.lineage import trace
from commune_reports.periods import Period
from commune_reports.pipeline import run_periods
from commune_reports.settings import load_settings
from commune_reports.warehouse import (
    ensure_schema,
    get_engine,
    run_sql_file,
    sql_files,
    writing,
)
from tests.conftest import SAMPLE_INBOX
from tests.integration.test_incremental_marts import _marts

Q4 = Period(2023, 4)
NEW = ("011_figure_lineage", "012_figure_checks", "013_reconcile_checks", "014_intake")
# what 011-014 add, removed to make the warehouse the previous release left at 010
BEFORE = (
    "DROP TABLE intake_replies",
    "DROP TABLE intake_items",
    "DROP VIEW figure_lineage",
    "DROP VIEW delivery_values",
    "DROP VIEW unit_feeds",
    "DROP VIEW unit_bases",
    "DROP VIEW period_groups",
    "DROP TABLE submission_holds",
    "DROP TABLE figure_checks",
    "DROP TABLE check_rules",
    "ALTER TABLE mart_totals DROP COLUMN reports_received",
    "ALTER TABLE mart_totals DROP COLUMN definition_min",
    "ALTER TABLE mart_totals DROP COLUMN definition_max",
    "DROP TABLE metric_definitions",
    "ALTER TABLE facts DROP COLUMN definition_version",
)


def _as_before_alembic(conn: Connection, stems: list[str]) -> None:
    """What the former runner left: ``schema_migrations`` recording ``stems``, no
    ``alembic_version``."""
    conn.execute(text("DROP TABLE alembic_version"))
    run_sql_file(conn, sql_files("schema")[0])  # 000_schema_migrations.sql
    conn.execute(
        text("INSERT INTO schema_migrations (version, applied_at) VALUES (:v, :at)"),
        [{"v": stem, "at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)} for stem in stems],
    )


def _revision(url: str) -> list[str]:
    with get_engine(url).connect() as conn:
        return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _no_writer(engine: Any) -> Any:
    raise AssertionError("ensure_schema took the writer lock on a current warehouse")


def test_previous_release_upgrades_in_place(
    home: Path, warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stems = [p.stem for p in sql_files("schema")]
    assert stems[11:] == list(NEW)  # a new file: add what it adds to BEFORE
    shutil.copytree(SAMPLE_INBOX / Q4.code, home / "inbox" / Q4.code)
    run_periods(load_settings(), [Q4])
    engine = get_engine(warehouse)
    new_marts = _marts(warehouse)
    with writing(engine) as conn:
        facts = conn.execute(text("SELECT COUNT(*) FROM facts")).scalar_one()
        for statement in BEFORE:
            conn.execute(text(statement))
        _as_before_alembic(conn, stems[1:11])  # 001-010
        conn.execute(text("DELETE FROM mart_totals"))  # as 010 built them: rebuilt below
    ran: list[list[str]] = []
    upgrade = migrations.upgrade
    monkeypatch.setattr(migrations, "upgrade", lambda conn: ran.append(upgrade(conn)) or ran[-1])

    ensure_schema(engine)

    assert ran == [["011", "012", "013", "014"]]  # stamped at 010, then the rest
    assert _revision(warehouse) == [migrations.head()]
    with engine.connect() as conn:
        history = set(conn.execute(text("SELECT version FROM schema_migrations")).scalars())
        assert history == set(stems[1:11])  # kept as it was: the former runner's record
        assert conn.execute(text("SELECT COUNT(*) FROM facts")).scalar_one() == facts
        received = conn.execute(
            text("SELECT MIN(reports_received) FROM mart_totals WHERE unit_code = '872'")
        ).scalar_one()
        assert received > 0
    assert _marts(warehouse) == new_marts  # marts and checks as a new warehouse has them
    t = trace(engine, "872", Q4.code, "online_filing_rate", "commune")
    assert t.agrees and len(t.parts[0].cells) == 13
    assert {c.definition_version for c in t.parts[0].cells} == {1}  # the facts loaded before

    monkeypatch.setattr(wh, "writing", _no_writer)
    ensure_schema(engine)  # again: current, nothing to do
    assert ran == [["011", "012", "013", "014"]]


def test_current_reads_a_previous_release_without_writing(
    warehouse: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The release before Alembic had 001-012: ``warehouse current`` says such a warehouse
    stands at 012 and would take 013, and stamps nothing."""
    engine = get_engine(warehouse)
    ensure_schema(engine)
    with writing(engine) as conn:
        _as_before_alembic(conn, [p.stem for p in sql_files("schema")[1:13]])

    assert main(["warehouse", "current"]) == 0

    out = capsys.readouterr().out
    assert "schema 012 (schema_migrations, before Alembic)" in out
    assert [line.split()[1] for line in out.splitlines() if "pending" in line][:1] == ["013"]
    assert not inspect(engine).has_table("alembic_version")


def test_new_warehouse_is_at_head_and_a_second_run_writes_nothing(
    warehouse: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = get_engine(warehouse)

    ensure_schema(engine)

    assert _revision(warehouse) == [migrations.head()]
    tables = set(inspect(engine).get_table_names())
    assert "schema_migrations" not in tables  # history of older warehouses only
    assert set(wh.table_names()) <= tables
    with engine.connect() as conn:
        assert migrations.status(conn).pending == []
    monkeypatch.setattr(wh, "writing", _no_writer)
    ensure_schema(engine)
    assert main(["warehouse", "upgrade"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert _revision(warehouse) == [migrations.head()]


def test_a_failing_revision_leaves_the_warehouse_as_it_was(
    warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """011 runs, 012 fails: nothing of 011 stays, no stamp, no alembic_version."""
    engine = get_engine(warehouse)
    with writing(engine) as conn:
        for path in sql_files("schema")[:11]:  # 000-010, as the former runner left them
            run_sql_file(conn, path)
        conn.execute(
            text("INSERT INTO schema_migrations (version, applied_at) VALUES (:v, :at)"),
            [
                {"v": p.stem, "at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)}
                for p in sql_files("schema")[1:11]
            ],
        )

    def failing(conn: Connection, path: Path, params: Any = None) -> None:
        if path.stem == "012_figure_checks":
            raise RuntimeError("012 fails")
        run_sql_file(conn, path, params)

    # the revisions are loaded afresh by each upgrade and take run_sql_file from the module
    monkeypatch.setattr(wh, "run_sql_file", failing)
    with pytest.raises(RuntimeError, match="012 fails"):
        ensure_schema(engine)

    tables = set(inspect(engine).get_table_names())
    assert "alembic_version" not in tables
    assert "metric_definitions" not in tables  # 011's table, rolled back
    with engine.connect() as conn:
        assert migrations.baseline(conn) == "010"
