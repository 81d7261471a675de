"""The HTML report and the units' pages in a real browser (headless Chromium), on both
engines: what a person sees (visible text, not the markup), that nothing is fetched from the
network and nothing goes wrong in the console; screenshots kept for a person to look at."""

from __future__ import annotations

import base64
from pathlib import Path

from selenium.webdriver.common.by import By
from sqlalchemy import text

from commune_reports.warehouse import get_engine
from tests.conftest import REPO
from tests.pages.conftest import LATE, PERIOD, REJECTED, REMOVED, Site

FOOTNOTE_4 = (REPO / "tests" / "fixtures" / "seed_footnote_4.txt").read_text("utf-8").strip()
ON_TIME_UNIT = "30037"


def _open(browser, path: Path) -> None:
    browser.get(path.as_uri())
    browser.get_log("browser")  # what an earlier page logged is not this page's


def _problems_in_console(browser) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def _fetched(browser) -> list[str]:
    """Every resource the page loaded: a page that opens offline loads none from a server."""
    return browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".concat(Array.from(document.querySelectorAll('script[src],link[href],img[src],"
        "iframe[src]')).map(e => e.src || e.href))"
    )


def _screenshot(browser, path: Path, element=None) -> None:
    """The whole page (beyond the window, as Chromium's DevTools capture it) or one element."""
    if element is not None:
        element.screenshot(str(path))
        return
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def _heatmap_cell(browser, unit: str, period: str) -> str:
    table = browser.find_element(By.CSS_SELECTOR, "table.heatmap[data-regime='quarterly']")
    heads = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    row = table.find_element(By.CSS_SELECTOR, f"tr[data-unit='{unit}']")
    cells = row.find_elements(By.CSS_SELECTOR, "td")
    return cells[heads.index(period) - 1].text


def test_the_report_as_officials_see_it(site: Site, browser, artifacts: Path) -> None:
    page = Path(site.written["html"])
    assert page == site.reports / "2021_to_2023.html"
    _open(browser, page)
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Huyện Tháp Mười" in browser.title
    assert f"⁴ {FOOTNOTE_4}" in body.splitlines()

    # the heatmap: who sent 2021Q4, as the completeness report has it
    for unit in REMOVED:
        assert _heatmap_cell(browser, unit, PERIOD) == "Chưa gửi\nmissing"
    assert _heatmap_cell(browser, REJECTED, PERIOD) == "Bị từ chối\nrejected"
    assert _heatmap_cell(browser, LATE, PERIOD) == "Trễ hạn\nlate"
    assert _heatmap_cell(browser, ON_TIME_UNIT, PERIOD) == "Đúng hạn\non time"
    assert _heatmap_cell(browser, REMOVED[0], "2022Q1") == "Đúng hạn\non time"

    # the charts are drawn, with the seed's rates on them
    online = browser.find_element(By.CSS_SELECTOR, "#chart-online_filing_rate svg")
    assert online.is_displayed() and online.size["height"] > 100
    assert {"50,43%", "82,82%", "34,83%", "69,90%"} <= set(online.text.split())
    sessions = browser.find_element(By.CSS_SELECTOR, "#chart-dissemination_sessions svg")
    assert sessions.is_displayed()

    # the 41% fall of the communes' dossiers in 2023 is flagged beside its figure
    flagged = [
        [td.text for td in r.find_elements(By.TAG_NAME, "td")]
        for r in browser.find_elements(By.CSS_SELECTOR, "table.figures tr.flagged")
    ]
    dossiers = [
        r for r in flagged if r[:2] == ["Tổng số hồ sơ thủ tục hành chính tiếp nhận", "xã commune"]
    ]
    assert len(dossiers) == 1, flagged
    cell_2023 = dossiers[0][2 + 2]  # label, level, 2021, 2022, then 2023
    assert cell_2023.startswith("27.021\n⚑ 2023, cấp xã:") and "(−41,26%)" in cell_2023

    assert _problems_in_console(browser) == []
    assert [u for u in _fetched(browser) if not u.startswith(("file:", "data:"))] == []
    _screenshot(browser, artifacts / f"report-{site.engine}.png")
    heatmap = browser.find_element(By.ID, "completeness")
    _screenshot(browser, artifacts / f"heatmap-{site.engine}.png", heatmap)


def test_a_units_page_says_what_was_wrong_and_what_to_send(
    site: Site, browser, artifacts: Path
) -> None:
    _open(browser, site.reports / "2021_to_2023.html")
    row = browser.find_element(
        By.CSS_SELECTOR, f"table.heatmap[data-regime='quarterly'] tr[data-unit='{REJECTED}']"
    )
    row.find_element(By.TAG_NAME, "a").click()
    assert browser.current_url.endswith(f"/units/2021_to_2023/{REJECTED}.html")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Xã Mỹ Hòa (30052)" in body
    still = browser.find_element(By.CSS_SELECTOR, "ul.still-to-send").text
    assert still.startswith(f"{PERIOD}: Bị từ chối (rejected)")

    # every problem the warehouse recorded for the rejected file, with its cell, both languages
    engine = get_engine(site.url)
    with engine.connect() as conn:
        expected = conn.execute(
            text(
                "SELECT e.sheet, e.cell, e.message_vi, e.message_en FROM submission_errors AS e "
                "JOIN submissions AS s ON s.submission_id = e.submission_id "
                "WHERE s.unit_code = :u AND s.period_code = :p ORDER BY e.seq"
            ),
            {"u": REJECTED, "p": PERIOD},
        ).all()
    assert expected and any(r.cell == "E13" for r in expected)
    period = browser.find_element(By.ID, f"period-{PERIOD}").text
    for sheet, cell, vi, en in expected:
        assert f"{sheet}!{cell} {vi}" in period
        assert en in period
    assert "bị từ chối" in period and "rejected" in period
    assert _problems_in_console(browser) == []
    _screenshot(browser, artifacts / f"unit-{REJECTED}-{site.engine}.png")

    # a unit that sent everything has nothing left to send
    _open(browser, site.reports / "units" / "2021_to_2023" / f"{ON_TIME_UNIT}.html")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Đã gửi đủ các kỳ. Every period has been sent." in body
    browser.find_element(By.LINK_TEXT, "← Báo cáo chung / the report").click()
    assert browser.current_url.endswith("/2021_to_2023.html")


def test_the_validation_results_open_from_a_units_page(
    site: Site, browser, artifacts: Path
) -> None:
    """The rejected file's batch links to its Great Expectations page (Data Docs), which opens
    offline and names the failed expectation with the file and cell."""
    _open(browser, site.reports / "units" / "2021_to_2023" / f"{REJECTED}.html")
    period = browser.find_element(By.ID, f"period-{PERIOD}")
    period.find_element(By.LINK_TEXT, "Data Docs").click()
    assert "/data_docs/validations/" in browser.current_url
    body = browser.find_element(By.TAG_NAME, "body").text
    assert f"{REJECTED}_{PERIOD}.xlsx" in body and "E13" in body
    assert _problems_in_console(browser) == []
    assert [u for u in _fetched(browser) if not u.startswith(("file:", "data:"))] == []
    _screenshot(browser, artifacts / f"data-docs-{site.engine}.png")
    _open(browser, site.reports / "data_docs" / "index.html")
    assert _problems_in_console(browser) == []


def test_a_period_nobody_reported_publishes_the_text_only(home: Path) -> None:
    """A scheduled run of a period before any file arrived: the text report says nothing was
    reported, and the publish task succeeds without a document or pages to write."""
    from commune_reports.publish.site import publish_all
    from commune_reports.settings import load_settings as settings_now
    from commune_reports.warehouse import ensure_schema

    settings = settings_now()
    ensure_schema(get_engine(settings.warehouse_url))
    written = publish_all(settings, "2026Q3")
    assert Path(written["text"]).is_file()
    assert "html" not in written and "docx" not in written
    assert not (home / "reports" / "2026Q3.docx").exists()
