"""The Alembic revisions against the files of sql/schema: one revision per file, one chain; the
baseline of a warehouse of the former runner, read from its schema_migrations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, create_engine, text

from commune_reports import migrations
from commune_reports.warehouse import sql_files

FILES = [p for p in sql_files("schema") if p.stem != "000_schema_migrations"]


def test_every_schema_file_has_exactly_one_revision() -> None:
    numbers = [re.match(r"(\d{3})_\w+$", p.stem) for p in FILES]
    assert all(numbers), [p.name for p in FILES]
    by_file: dict[Path, list[str]] = {}
    for script in migrations.scripts().walk_revisions():
        by_file.setdefault(Path(script.module.SQL), []).append(script.revision)
    assert by_file == {p: [p.stem[:3]] for p in FILES}  # and no revision of a missing file


def test_the_revisions_form_one_chain_in_file_order() -> None:
    scripts = migrations.scripts()
    assert scripts.get_heads() == [FILES[-1].stem[:3]]
    assert scripts.get_bases() == ["001"]
    chain = migrations.chain()
    assert [s.revision for s in chain] == [p.stem[:3] for p in FILES]
    assert [s.down_revision for s in chain] == [None] + [s.revision for s in chain[:-1]]
    assert all(not s.branch_labels and not s.dependencies for s in chain)
    assert all(s.doc and Path(s.path).stem == Path(s.module.SQL).stem for s in chain)
    assert migrations.head() == chain[-1].revision == migrations.expected_head()


def test_downgrades_say_how_to_go_back() -> None:
    for script in migrations.chain():
        with pytest.raises(NotImplementedError, match="restoring the backup"):
            script.module.downgrade()


def test_the_environment_needs_a_connection() -> None:
    with pytest.raises(RuntimeError, match="commune-reports warehouse upgrade"):
        command.upgrade(migrations.config(), "head")


def test_a_new_revision_from_the_template(tmp_path: Path) -> None:
    cfg = migrations.config()
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(tmp_path))
    command.revision(cfg, "more checks", rev_id="099")
    (path,) = tmp_path.glob("099_*.py")
    source = path.read_text(encoding="utf-8")
    assert 'revision = "099"' in source
    assert 'SQL = SQL_DIR / "schema" / "099_more_checks.sql"' in source
    compile(source, str(path), "exec")


@pytest.fixture
def conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def _record(conn: Connection, stems: list[str]) -> None:
    conn.execute(text("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT)"))
    for stem in stems:
        conn.execute(
            text("INSERT INTO schema_migrations VALUES (:v, '2024-01-01')"),
            {"v": stem},
        )


def test_no_baseline_without_the_former_runners_table(conn: Connection) -> None:
    assert migrations.baseline(conn) is None
    assert migrations.revision_of(conn) is None
    assert [s.revision for s in migrations.pending(None)] == [p.stem[:3] for p in FILES]


def test_the_baseline_is_the_last_file_recorded(conn: Connection) -> None:
    _record(conn, [p.stem for p in FILES[:10]])
    assert migrations.baseline(conn) == "010"
    status = migrations.status(conn)
    assert (status.revision, status.baseline) == (None, "010")
    assert [s.revision for s in status.pending] == [p.stem[:3] for p in FILES[10:]]


def test_an_empty_record_is_a_new_warehouse(conn: Connection) -> None:
    _record(conn, [])
    assert migrations.baseline(conn) is None


def test_a_gap_in_the_record_is_refused(conn: Connection) -> None:
    _record(conn, [p.stem for p in FILES[:12] if not p.stem.startswith("011")])
    with pytest.raises(migrations.SchemaVersionError, match=r"lacks \['011_figure_lineage'\]"):
        migrations.baseline(conn)


def test_a_file_of_a_newer_release_is_refused(conn: Connection) -> None:
    _record(conn, [p.stem for p in FILES] + ["999_from_the_future"])
    with pytest.raises(migrations.SchemaVersionError, match="newer release"):
        migrations.baseline(conn)


def test_a_revision_of_a_newer_release_is_refused() -> None:
    with pytest.raises(migrations.SchemaVersionError, match="does not know"):
        migrations.pending("999")
