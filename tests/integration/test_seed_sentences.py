"""The seed report's own sentences, on both engines: with the sample's 2021-2023 loaded, the
report of huyện Tháp Mười renders footnotes 1, 3, 4 and 5 word for word as the district
wrote them (tests/fixtures/seed_footnotes.txt), the "Hằng năm, có 100% đơn vị…" and
"… đạt trên 99%" sentences, and the JSON says the 2023 PAR Index and SIPAS are pending."""

from __future__ import annotations

import shutil
from pathlib import Path

from commune_reports.periods import parse_period_range
from commune_reports.pipeline import run_periods
from commune_reports.report import figure_rows, load_figures, render_text
from commune_reports.settings import load_settings
from commune_reports.warehouse import get_engine
from tests.conftest import REPO, SAMPLE_INBOX

FOOTNOTES = (REPO / "tests" / "fixtures" / "seed_footnotes.txt").read_text("utf-8").splitlines()
SEED = REPO.parent / "shared" / "seed" / "000_161ebe69bc6a6787.txt"
CONFERENCE = (
    "Hằng năm, có 100% đơn vị tổ chức Hội nghị cán bộ, công chức, viên chức của cơ quan, đơn vị"
)
ON_TIME = (
    "tỷ lệ hồ sơ giải quyết đúng, trước hạn cho công dân, tổ chức thuộc thủ tục hành chính "
    "cấp huyện, cấp xã đạt trên 99%"
)


def test_the_seed_sentences(home: Path, warehouse: str) -> None:
    shutil.copytree(SAMPLE_INBOX, home / "inbox", dirs_exist_ok=True)
    periods = parse_period_range("2021Q1..2023Q4") + parse_period_range("2021..2023")
    run_periods(load_settings(), periods)
    figures = load_figures(get_engine(warehouse), "2021..2023", unit="872")
    report = render_text(figures).splitlines()

    assert [line for line in report if line[:1] in "¹³⁴⁵" and line[:1]] == FOOTNOTES
    summary = [line.strip() for line in report if line.startswith("   - ")]
    assert f"- {CONFERENCE}." in summary
    assert f"- {ON_TIME[0].upper()}{ON_TIME[1:]}." in summary
    if SEED.exists():  # the fixture is the seed's text, but for footnote 5's typo
        seed = SEED.read_text("utf-8").replace("⁵ Năm năm 2021", "⁵ Năm 2021")
        assert all(line in seed.splitlines() for line in FOOTNOTES)
        assert CONFERENCE in seed and ON_TIME in seed

    pending = [
        (r["metric"], r["status"])
        for r in figure_rows(figures)
        if r["period"] == "2023" and r["level"] == "district" and r["value"] is None
    ]
    assert sorted(pending) == [("par_index_rank", "pending"), ("sipas_rank", "pending")]
