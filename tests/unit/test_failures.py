"""Failures told in one line with an exit code, secrets masked; numbers the warehouse holds."""

from __future__ import annotations

import errno
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from commune_reports.failures import EXIT_ERROR, EXIT_FILES, EXIT_WAREHOUSE, explain, mask
from commune_reports.numbers import storable_problem


def test_secrets_are_masked() -> None:
    assert mask("postgresql+psycopg://analyst:s3cr3t@db:5432/w") == (
        "postgresql+psycopg://analyst:***@db:5432/w"
    )
    assert mask("https://hooks.example.vn/x?token=abc123&v=1") == (
        "https://hooks.example.vn/x?token=***&v=1"
    )
    assert mask("sqlite:////data/warehouse.db") == "sqlite:////data/warehouse.db"


def test_each_failure_has_its_code_and_one_line() -> None:
    engine = create_engine("postgresql+psycopg://u:pw@127.0.0.1:9/w")
    with pytest.raises(OperationalError) as caught:
        engine.connect()
    told = explain(caught.value, str(engine.url.render_as_string(hide_password=False)))
    assert told.code == EXIT_WAREHOUSE and "\n" not in told.message and ":pw@" not in told.message
    full = explain(OSError(errno.ENOSPC, "No space left on device", "/data/archive/ab/x.xlsx"))
    assert full.code == EXIT_FILES and "/data/archive/ab/x.xlsx" in full.message
    sqlite = create_engine("sqlite://")
    with sqlite.connect() as conn, pytest.raises(OperationalError) as caught:
        conn.execute(text("SELECT * FROM missing_table"))
    assert explain(caught.value).code == EXIT_WAREHOUSE
    assert explain(ValueError("boom")).code == EXIT_ERROR


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("99999999999999", True),  # 14 whole digits
        ("100000000000000", False),
        ("97.0512", True),
        ("97.05123", False),  # 5 decimals
        ("12345678901.2345", True),  # 15 digits in all
        ("123456789012.3456", False),  # 16 digits with decimals: not exact in a double
        ("0", True),
        ("-3", True),
    ],
)
def test_what_the_warehouse_holds_exactly(value: str, ok: bool) -> None:
    problem = storable_problem(Decimal(value))
    assert (problem is None) == ok
    if problem is not None:
        assert problem.rule == "number_out_of_range"


def test_usage_mistakes_are_exit_2_in_both_languages(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from commune_reports.cli import main

    monkeypatch.setenv("COMMUNE_REPORTS_HOME", str(tmp_path))
    monkeypatch.delenv("COMMUNE_REPORTS_WAREHOUSE_URL", raising=False)
    for argv in (["run", "--periods", "2024Q9"], ["discover", "--periods", "2023..2021"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "không hợp lệ" in err and "invalid period" in err and "unexpected" not in err
    monkeypatch.setenv("COMMUNE_REPORTS_WAREHOUSE_URL", "mysql://bob:S3cret-pw@127.0.0.1/wh")
    assert main(["report", "--period", "2023Q4"]) == 2
    err = capsys.readouterr().err
    assert "must be SQLite or PostgreSQL, not 'mysql'" in err and "S3cret-pw" not in err


def test_a_command_that_only_reads_promises_no_resume() -> None:
    engine = create_engine("postgresql+psycopg://u:pw@127.0.0.1:9/w")
    with pytest.raises(OperationalError) as caught:
        engine.connect()
    writing = explain(caught.value, "postgresql+psycopg://u:pw@127.0.0.1:9/w")
    reading = explain(caught.value, "postgresql+psycopg://u:pw@127.0.0.1:9/w", resumable=False)
    assert "the next run resumes the rest" in writing.message
    assert "resumes" not in reading.message and "làm tiếp" not in reading.message
    assert reading.code == writing.code == EXIT_WAREHOUSE
