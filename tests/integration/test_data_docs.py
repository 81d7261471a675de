"""Validation results kept and browsable as Great Expectations Data Docs, on both engines: the
sample's 2023Q4 inbox with a file whose online dossiers exceed those received is run through
every stage; each chunk's results are kept as JSON (batch, chunk, run periods, files covered);
the site lists the batch's runs and the bad file's page shows the failed expectation with the
file and cell; it needs no network, a second build writes the same files, and two builds at
once leave a whole site. Retention: an old result goes unless it is the newest covering a
delivery still its unit's current one and refused."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

from commune_reports.periods import Period
from commune_reports.pipeline import ingest_paths, run_periods
from commune_reports.publish.datadocs import build_data_docs, prune, result_links
from commune_reports.sample_data import sample_values
from commune_reports.settings import load_settings
from commune_reports.template import write_form
from commune_reports.validate import safe_name
from tests.conftest import SAMPLE_INBOX

PERIOD = "2023Q4"
BAD_NAME = "30052_2023Q4 sua.xlsx"


class _Page(HTMLParser):
    """What a browser shows of a page (no script, style or head), its table rows, and every
    URL it would load by itself (scripts, stylesheets, images, icons)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.words: list[str] = []
        self.rows: list[list[str]] = []
        self.loads: list[str] = []
        self._hidden = 0
        self._cells: list[list[str]] | None = None
        self.feed(html)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.words).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("script", "style", "head"):
            self._hidden += 1
        if tag in ("script", "img") and found.get("src"):
            self.loads.append(found["src"] or "")
        if tag == "link" and found.get("href"):
            self.loads.append(found["href"] or "")
        if tag == "tr":
            self._cells = []
        if tag in ("td", "th") and self._cells is not None:
            self._cells.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._hidden -= 1
        if tag == "tr" and self._cells is not None:
            self.rows.append([" ".join(" ".join(c).split()) for c in self._cells])
            self._cells = None

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        self.words.append(data)
        if self._cells:
            self._cells[-1].append(data)


def _bad_form(folder: Path) -> Path:
    """Unit 30052's 2023Q4 form, its online dossiers (E13) above those received (E12)."""
    values = dict(sample_values()[("30052", PERIOD)])
    values["dossiers_received_total"] = 100
    values["dossiers_received_online"] = 140
    return write_form("30052", PERIOD, folder / BAD_NAME, values)


def _site_files(site: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()
    }


def test_results_kept_and_browsable_offline(home: Path, warehouse: str) -> None:
    shutil.copytree(SAMPLE_INBOX / PERIOD, home / "inbox" / PERIOD)
    _bad_form(home / "inbox" / PERIOD)
    settings = load_settings()
    done = run_periods(settings, [Period(2023, 4)])
    assert (done["validated"], done["rejected"]) == (19, 1)
    batch = done["batch_id"]

    kept = sorted(settings.validations.glob("*.json"))
    results = [json.loads(p.read_text("utf-8")) for p in kept]
    assert sorted(r["suite_name"] for r in results) == ["long", "wide"]
    for path, result in zip(kept, results, strict=True):
        ours = result["meta"]["commune_reports"]
        assert f"__{safe_name(batch)}__chunk-0-of-1__{ours['frame']}__" in path.name
        assert (ours["batch_id"], ours["chunk"], ours["run_periods"]) == (
            batch,
            f"{batch}#0/1",
            [PERIOD],
        )
        assert len(ours["submissions"]) == 20
        assert BAD_NAME in {s["file"] for s in ours["submissions"]}
        assert result["meta"]["run_id"]["run_name"] == batch
    (wide,) = [r for r in results if r["suite_name"] == "wide"]
    assert wide["success"] is False
    (failed,) = [e for e in wide["results"] if not e["success"]]
    assert failed["expectation_config"]["meta"]["rule"] == "online_le_total"
    (row,) = failed["result"]["unexpected_index_list"]  # complete, with its row ids
    rows = wide["meta"]["commune_reports"]["failed_rows"]
    assert rows[str(row["row_id"])]["file"] == BAD_NAME
    assert rows[str(row["row_id"])]["cells"] == {"dossiers_received_online": "E13"}
    assert not list(settings.validations.glob(".*"))  # nothing left half written

    index = build_data_docs(settings)
    site = settings.reports / "data_docs"
    assert index == site / "index.html"
    listed = _Page(index.read_text("utf-8"))
    runs = [r for r in listed.rows if safe_name(batch) in r]
    assert sorted(r[-1] for r in runs) == ["long", "wide"]  # the Expectation Suite column
    # Batch ID: the chunk (then GX's tooltip, which its stylesheet hides)
    assert all(r[4].startswith("chunk-0-of-1") for r in runs)

    links = result_links(settings)
    assert set(links) == {batch}
    assert links[batch].startswith("data_docs/validations/wide/")  # the failing result
    page = _Page((settings.reports / urllib.parse.unquote(links[batch])).read_text("utf-8"))
    assert "Status: Failed" in page.text
    shown = (
        "Values in dossiers_received_total must always be greater than or equal to those in "
        "dossiers_received_online"
    )
    assert shown in page.text
    (unexpected,) = [r for r in page.rows if BAD_NAME in r]
    assert unexpected[-4:] == [str(row["row_id"]), BAD_NAME, "BaoCao", "E13"]

    # offline from file://: nothing to load from elsewhere, every page's own files exist
    for html in site.rglob("*.html"):
        for url in _Page(html.read_text("utf-8")).loads:
            assert "://" not in url, (html, url)
            assert (html.parent / urllib.parse.unquote(url)).is_file(), (html, url)

    before = _site_files(site)
    build_data_docs(settings)
    assert _site_files(site) == before

    errors: list[BaseException] = []

    def build() -> None:
        try:
            build_data_docs(settings)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    builders = [threading.Thread(target=build) for _ in range(2)]
    for t in builders:
        t.start()
    for t in builders:
        t.join()
    assert errors == []
    assert _site_files(site) == before
    assert [p.name for p in settings.reports.iterdir()] == ["data_docs"]  # no leftovers


def test_retention_keeps_why_a_current_file_was_refused(home: Path, warehouse: str) -> None:
    settings = load_settings()
    folder = home / "deliveries"

    def send(unit: str, name: str, **changes: int) -> str:
        values = dict(sample_values()[(unit, PERIOD)]) | changes
        (result,) = ingest_paths(settings, [write_form(unit, PERIOD, folder / name, values)])
        return result["status"]

    assert send("30052", BAD_NAME, dossiers_received_total=100, dossiers_received_online=140) == (
        "rejected"
    )
    refused_current = set(settings.validations.glob("*.json"))
    assert send("30040", "30040_2023Q4.xlsx", dissemination_sessions=-3) == "rejected"
    assert send("30040", "30040_2023Q4 sua.xlsx") == "accepted"  # replaces the refused one
    others = set(settings.validations.glob("*.json")) - refused_current
    assert len(refused_current) == 2 and len(others) == 4
    part = settings.validations / ".killed.json.123.part"
    part.write_text("{", encoding="utf-8")
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).timestamp()
    os.utime(part, (old, old))

    assert prune(settings, settings.validation_keep_days) == 0  # all recent
    assert set(settings.validations.glob("*.json")) == refused_current | others
    assert not part.exists()

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=settings.validation_keep_days + 1)
    assert prune(settings, settings.validation_keep_days, now=later) == 4
    assert set(settings.validations.glob("*.json")) == refused_current
    assert prune(settings, settings.validation_keep_days, now=later) == 0

    build_data_docs(settings)
    (batch,) = result_links(settings)
    assert batch.startswith("ingest-")
    page = settings.reports / urllib.parse.unquote(result_links(settings)[batch])
    assert BAD_NAME in _Page(page.read_text("utf-8")).text
    listed = _Page((settings.reports / "data_docs" / "index.html").read_text("utf-8"))
    assert len([r for r in listed.rows if safe_name(batch) in r]) == 2
