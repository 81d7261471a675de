"""A warehouse of the previous release upgrades in place, on both engines: a loaded quarter
in a warehouse whose schema ends at 010 (no lineage views, no checks, no definition versions)
takes 011 and 012 on the next command, keeps every fact and gets its marts, views and checks
as a new warehouse would."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import text

from commune_reports.lineage import trace
from commune_reports.periods import Period
from commune_reports.pipeline import run_periods
from commune_reports.settings import load_settings
from commune_reports.warehouse import ensure_schema, get_engine, sql_files, writing
from tests.conftest import SAMPLE_INBOX
from tests.integration.test_incremental_marts import _marts

Q4 = Period(2023, 4)
NEW = ("011_figure_lineage", "012_figure_checks")
# what 011 and 012 add, removed to make the warehouse the previous release left
BEFORE = (
    "DROP VIEW figure_lineage",
    "DROP VIEW delivery_values",
    "DROP VIEW unit_feeds",
    "DROP VIEW unit_bases",
    "DROP VIEW period_groups",
    "DROP TABLE figure_checks",
    "DROP TABLE check_rules",
    "ALTER TABLE mart_totals DROP COLUMN reports_received",
    "ALTER TABLE mart_totals DROP COLUMN definition_min",
    "ALTER TABLE mart_totals DROP COLUMN definition_max",
    "DROP TABLE metric_definitions",
    "ALTER TABLE facts DROP COLUMN definition_version",
)


def test_previous_release_upgrades_in_place(home: Path, warehouse: str) -> None:
    assert [p.stem for p in sql_files("schema")][-2:] == list(NEW)
    shutil.copytree(SAMPLE_INBOX / Q4.code, home / "inbox" / Q4.code)
    run_periods(load_settings(), [Q4])
    engine = get_engine(warehouse)
    new_marts = _marts(warehouse)
    with writing(engine) as conn:
        facts = conn.execute(text("SELECT COUNT(*) FROM facts")).scalar_one()
        for statement in BEFORE:
            conn.execute(text(statement))
        conn.execute(
            text("DELETE FROM schema_migrations WHERE version IN ('011_figure_lineage', :b)"),
            {"b": NEW[1]},
        )
        conn.execute(text("DELETE FROM mart_totals"))  # as 010 built them: rebuilt below

    ensure_schema(engine)

    with engine.connect() as conn:
        versions = set(conn.execute(text("SELECT version FROM schema_migrations")).scalars())
        assert set(NEW) <= versions
        assert conn.execute(text("SELECT COUNT(*) FROM facts")).scalar_one() == facts
        received = conn.execute(
            text("SELECT MIN(reports_received) FROM mart_totals WHERE unit_code = '872'")
        ).scalar_one()
        assert received > 0
    assert _marts(warehouse) == new_marts  # marts and checks as a new warehouse has them
    t = trace(engine, "872", Q4.code, "online_filing_rate", "commune")
    assert t.agrees and len(t.parts[0].cells) == 13
    assert {c.definition_version for c in t.parts[0].cells} == {1}  # the facts loaded before
