"""The published pages as a person sees them: Debian's Chromium, headless, driven through its
own chromedriver (both installed by ``make test``), started once per test session.

The site is published once per engine from the sample's 2021-2023 as the units sent it, but
for 2021Q4: two units never sent (REMOVED), one sent a form the validation rejects (REJECTED)
and one sent the day after the deadline (LATE). Footnote 4 of the seed (2022 and 2023) is
untouched by these. Screenshots are kept under ``test-artifacts/`` (or
``$COMMUNE_REPORTS_TEST_ARTIFACTS``) for a person to look at after the run.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from tests.conftest import PG_ADMIN_URL, REPO, SAMPLE_INBOX

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PERIOD = "2021Q4"
REMOVED = ("30055", "872-TP")  # never sent
REJECTED = "30052"  # more online dossiers than received: E13 above E12
LATE = "30061"  # first seen on 19 December, the day after the deadline
CHROMIUM = Path(os.environ.get("COMMUNE_REPORTS_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("COMMUNE_REPORTS_CHROMEDRIVER", "/usr/bin/chromedriver"))
ARTIFACTS = Path(os.environ.get("COMMUNE_REPORTS_TEST_ARTIFACTS", REPO / "test-artifacts"))


@dataclass
class Site:
    engine: str
    url: str
    home: Path
    reports: Path
    written: dict[str, str]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the session, its console kept (goog:loggingPrefs)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), (
        f"{CHROMIUM} and {CHROMEDRIVER} are needed: `make test` installs Debian's chromium "
        "and chromium-driver"
    )
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
        "--lang=vi-VN",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _discover_in_time(settings: object, inbox: Path) -> None:
    """Each period's files first seen on the 10th of its last month (inside the submission
    window, before the deadline), the late unit's on 19 December."""
    from commune_reports import stages
    from commune_reports.periods import parse_period_range

    late = inbox / PERIOD / f"{LATE}_{PERIOD}.xlsx"
    aside = late.rename(inbox.parent / late.name)
    for period in parse_period_range("2021Q1..2023Q4") + parse_period_range("2021..2023"):
        month = 3 * period.quarter if period.quarter else 12
        moment = dt.datetime(period.year, month, 10, 9, 0, tzinfo=TZ)
        stages.discover(settings, f"seen-{period.code}", [period], now=moment)
    aside.rename(late)
    q4 = parse_period_range(PERIOD)
    stages.discover(settings, "seen-late", q4, now=dt.datetime(2021, 12, 19, 10, 0, tzinfo=TZ))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The published site of huyện Tháp Mười 2021..2023 on each engine."""
    from sqlalchemy import create_engine, text

    from commune_reports.periods import parse_period_range
    from commune_reports.pipeline import run_periods
    from commune_reports.publish.site import publish_all
    from commune_reports.settings import load_settings
    from commune_reports.warehouse import dispose_engine

    home = tmp_path_factory.mktemp(f"site-{request.param}") / "home"
    inbox = home / "inbox"
    shutil.copytree(SAMPLE_INBOX, inbox)
    for code in REMOVED:
        (inbox / PERIOD / f"{code}_{PERIOD}.xlsx").unlink()
    path = inbox / PERIOD / f"{REJECTED}_{PERIOD}.xlsx"
    book = openpyxl.load_workbook(path)
    book["BaoCao"]["E13"] = 99_999
    book.save(path)
    database = None
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COMMUNE_REPORTS_HOME", str(home))
        mp.setenv("COMMUNE_REPORTS_INBOX", str(inbox))
        mp.delenv("COMMUNE_REPORTS_WAREHOUSE_URL", raising=False)
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        if request.param == "postgres":
            database = f"commune_reports_pages_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{database}"'))
            mp.setenv(
                "COMMUNE_REPORTS_WAREHOUSE_URL", PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
            )
        settings = load_settings()
        try:
            _discover_in_time(settings, inbox)
            run_periods(settings, parse_period_range("2021Q1..2023Q4"))
            run_periods(settings, parse_period_range("2021..2023"))
            written = publish_all(settings, "2021..2023")
            yield Site(request.param, settings.warehouse_url, home, settings.reports, written)
        finally:
            dispose_engine(settings.warehouse_url)
            if database:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()
