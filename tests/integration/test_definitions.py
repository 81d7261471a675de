"""Versioned definitions, on both engines: with a second definition of the dossiers total
from 2023, each fact records the version it was reported under, the 2022Q4 -> 2023Q4 swing
says the definition changed, a range across the change is marked as adding up two
definitions, and a later edit of the versions leaves the loaded facts as they were."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from commune_reports.catalog import CATALOG_DIR, load_catalog
from commune_reports.periods import Period
from commune_reports.pipeline import run_periods
from commune_reports.report import figure_rows, load_figures, render_text
from commune_reports.settings import load_settings
from commune_reports.warehouse import ensure_schema, get_engine
from tests.conftest import SAMPLE_INBOX

METRIC = "dossiers_received_total"
QUARTERS = [Period(2022, 4), Period(2023, 4)]
V2_VI = "Tổng số hồ sơ của thủ tục hành chính có cung cấp dịch vụ công trực tuyến"
V2_EN = "dossiers of procedures offered online"


def _catalog(folder: Path, v2_from: str) -> Path:
    """The project's catalog with version 2 of METRIC from ``v2_from``."""
    shutil.copytree(CATALOG_DIR, folder, dirs_exist_ok=True)
    path = folder / "definitions.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    v1 = next(r for r in rows if r["metric_code"] == METRIC)
    end = str(int(v2_from[:4]) - 1) + "-12-31"
    v1["valid_to"] = end
    rows.append(
        v1
        | {
            "version": "2",
            "valid_from": v2_from,
            "valid_to": "",
            "definition_vi": V2_VI,
            "definition_en": V2_EN,
        }
    )
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return folder


def _versions(url: str) -> dict[str, set[int]]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(
            text("SELECT period_code, definition_version FROM facts WHERE metric_code = :m"),
            {"m": METRIC},
        ).all()
    out: dict[str, set[int]] = {}
    for period, version in rows:
        out.setdefault(period, set()).add(version)
    return out


def test_definitions_by_version(
    home: Path, warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMUNE_REPORTS_CATALOG_DIR", str(_catalog(tmp_path / "cat", "2023-01-01")))
    for p in QUARTERS:
        shutil.copytree(SAMPLE_INBOX / p.code, home / "inbox" / p.code)
    run_periods(load_settings(), QUARTERS)
    assert _versions(warehouse) == {"2022Q4": {1}, "2023Q4": {2}}
    with get_engine(warehouse).connect() as conn:
        others = (
            conn.execute(
                text("SELECT DISTINCT definition_version FROM facts WHERE metric_code <> :m"),
                {"m": METRIC},
            )
            .scalars()
            .all()
        )
    assert others == [1]

    engine = get_engine(warehouse)
    q4 = load_figures(engine, "2023Q4", unit="872")
    printed = render_text(q4)
    assert "the definition changed: 2022Q4 counts under version 1" in printed
    assert f'2023Q4 under version 2 ("{V2_EN}")' in printed
    (rate,) = [
        r
        for r in figure_rows(q4)
        if (r["metric"], r["level"], r["period"]) == ("online_filing_rate", "commune", "2023Q4")
    ]
    assert rate["definition_versions"] == [1, 2]  # online v1, total v2
    (swing,) = [c for c in rate["checks"] if c["check"] == "dossiers_received_swing"]
    assert (swing["definition_version"], swing["reference_definition_version"]) == (2, 1)
    assert swing["definition_changed"] is True

    both = load_figures(engine, "2022Q4..2023Q4", unit="872")
    assert "Định nghĩa chỉ tiêu / Definitions:" in render_text(both)
    (total,) = [
        r
        for r in figure_rows(both)
        if (r["metric"], r["level"], r["period"]) == (METRIC, "all", "2022Q4..2023Q4")
    ]
    assert total["definition_versions"] == [1, 2]
    assert "Definitions:" not in render_text(load_figures(engine, "2022Q4", unit="872"))

    # the versions edited afterwards (version 2 only from 2024): loaded facts keep theirs
    monkeypatch.setenv(
        "COMMUNE_REPORTS_CATALOG_DIR", str(_catalog(tmp_path / "cat2", "2024-01-01"))
    )
    assert load_catalog().definition(METRIC, 2).valid_from.year == 2024
    ensure_schema(engine)
    assert _versions(warehouse) == {"2022Q4": {1}, "2023Q4": {2}}
