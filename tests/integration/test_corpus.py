"""The messy and hostile corpus (tests/corpus/make_corpus.py) through ``commune-reports ingest
--format json`` in one batch, on SQLite and PostgreSQL: every file gets its expected outcome,
accepted files load their exact values, rejected ones are quarantined with feedback naming the
rule and cell, and no parse worker crashes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from commune_reports.cli import main
from commune_reports.readers import Limits
from commune_reports.settings import load_settings
from commune_reports.warehouse import get_engine
from tests.corpus.make_corpus import Case, make_corpus, measure


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Case]]:
    folder = tmp_path_factory.mktemp("corpus")
    return folder, make_corpus(folder)


def test_corpus_is_large_and_varied(corpus: tuple[Path, list[Case]]) -> None:
    _, cases = corpus
    assert len(cases) >= 40
    assert {c.outcome for c in cases} == {"accepted", "rejected", "duplicate"}
    assert sum(c.hostile for c in cases) >= 12
    assert {Path(c.name).suffix for c in cases} >= {".xlsx", ".xls", ".ods", ".csv"}


def test_every_file_gets_its_expected_outcome(
    warehouse: str, corpus: tuple[Path, list[Case]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, cases = corpus
    code = main(["ingest", "--format", "json", *[str(folder / c.name) for c in cases]])
    results = {Path(r["file"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert code == 3  # some files are rejected
    assert len(results) == len(cases)
    wrong = []
    for case in cases:
        got = results[case.name]
        rules = [e["rule"] for e in got["errors"]]
        if got["status"] != case.outcome:
            wrong.append((case.name, case.outcome, got["status"], rules))
            continue
        if case.outcome == "rejected":
            if not set(case.rules) <= set(rules):
                wrong.append((case.name, case.rules, rules))
            if case.cell and not any(
                e["rule"] == case.rules[0] and e["cell"] == case.cell for e in got["errors"]
            ):
                wrong.append(
                    (case.name, case.cell, [(e["rule"], e["cell"]) for e in got["errors"]])
                )
            assert all(e["message_vi"] and e["message_en"] for e in got["errors"]), case.name
        if case.outcome == "accepted":
            assert (got["unit"], got["period"]) == (case.unit, case.period), case.name
    assert wrong == []
    all_rules = {e["rule"] for r in results.values() for e in r["errors"]}
    assert not all_rules & {"parser_crashed", "parse_timeout", "too_much_memory"}

    engine = get_engine(warehouse)
    with engine.connect() as conn:
        for case in (c for c in cases if c.outcome == "accepted"):
            facts = dict(
                conn.execute(
                    text(
                        "SELECT metric_code, value FROM facts "
                        "WHERE unit_code = :u AND period_code = :p"
                    ),
                    {"u": case.unit, "p": case.period},
                ).all()
            )
            got = {
                k: None if v is None else str(Decimal(str(v)).normalize()) for k, v in facts.items()
            }
            assert got == case.values, case.name
        stored = conn.execute(
            text("SELECT COUNT(*) FROM submissions WHERE status = 'rejected'")
        ).scalar_one()
        assert stored == sum(c.outcome == "rejected" for c in cases)
        # the same problems as the JSON output, per submission
        for case in (c for c in cases if c.outcome == "rejected"):
            sid = results[case.name]["submission_id"]
            rules = conn.execute(
                text("SELECT rule FROM submission_errors WHERE submission_id = :s ORDER BY seq"),
                {"s": sid},
            ).scalars()
            assert list(rules) == [e["rule"] for e in results[case.name]["errors"]]
        warned = dict(
            conn.execute(text("SELECT rule, COUNT(*) FROM submission_warnings GROUP BY rule")).all()
        )
    assert {"hidden_sheet_ignored", "totals_row_ignored", "legacy_encoding_converted"} <= set(
        warned
    )
    quarantine = load_settings().quarantine
    kept = [p for p in quarantine.rglob("*") if p.is_file() and not p.name.endswith(".loi.txt")]
    assert len(kept) == sum(c.outcome == "rejected" for c in cases)
    for path in kept:
        feedback = path.with_name(path.name + ".loi.txt").read_text("utf-8")
        assert feedback.index("bị từ chối") < feedback.index("was rejected")  # VI first
    ambiguous = next(p for p in kept if p.name.endswith("30037_2021Q3.xlsx"))
    feedback = ambiguous.with_name(ambiguous.name + ".loi.txt").read_text("utf-8")
    assert "BaoCao!E12" in feedback and "1,234" in feedback and "ambiguous_number" in feedback


def test_hostile_files_stay_within_limits(corpus: tuple[Path, list[Case]]) -> None:
    """Each hostile file parsed alone: a named reason, fast, and a small worker."""
    folder, cases = corpus
    limits = Limits()
    rows = measure(folder, [c for c in cases if c.hostile])
    for row in rows:
        assert row["parse_seconds"] is not None and row["parse_seconds"] < limits.seconds, row
        assert 0 < row["worker_peak_mib"] < limits.memory_mb / 4, row
        assert not set(row["rules"]) & {"parser_crashed", "parse_timeout"}, row
