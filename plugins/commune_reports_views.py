"""The published reports and the Great Expectations Data Docs, in the Airflow UI.

An Airflow 3 plugin: a FastAPI app the API server mounts at ``/commune-reports`` serves the
reports folder (``load_settings().reports``, read from the environment on every request)
read-only, two nav entries open it inside the UI, and a task link on each collection run's
``publish_report`` opens the report that run published.

URLs (under the API server's base URL):

- ``commune-reports/``: the published reports, newest first, the unit pages and Data Docs;
- ``commune-reports/reports/<file>``: one file of the folder (``2023Q4.html``, ``2023Q4.docx``
  as a download, ``units/2023Q4/30052.html``, ``data_docs/index.html`` and its css/js);
- ``commune-reports/report/<stem>``: the report ``<stem>`` (``2023Q4``, ``2021_to_2023``) in
  its best published format (HTML, else text); the task link points here;
- ``commune-reports/data-docs/``: the Data Docs' index page.

Airflow does not authenticate plugin apps (``init_plugins`` in ``airflow/api_fastapi/app.py``
mounts them with ``app.mount``, outside the core API's router dependencies), so every route
here resolves the user itself as the core API does (``get_user``: the ``Authorization: Bearer``
JWT, else the ``_token`` cookie the UI's browser session holds), then asks the auth manager
whether that user may read a collection DAG. Missing credentials are 401, an invalid token 403,
as on ``/api/v2``.

Import stays light (the plugin is loaded by every Airflow component): FastAPI and the SDK's link
base class only; the project's settings, Jinja and Airflow's security code are imported when a
request comes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import mimetypes
import os
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseOperatorLink
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

URL_PREFIX = "/commune-reports"
COLLECTION_DAGS = ("commune_reports_quarterly", "commune_reports_yearly")
PUBLISH_TASK = "publish_report"
REPORT_FORMATS = (".html", ".docx", ".txt", ".json")  # a report's files, in the index's order
# what a browser shows itself; anything else is sent as a download
INLINE_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
}
DOWNLOAD_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv; charset=utf-8",
}
KINDS = {
    ".html": "HTML",
    ".docx": "Word (.docx)",
    ".txt": "Văn bản / Text",
    ".json": "JSON",
}
_STEM = re.compile(r"^[0-9A-Za-z_.\-]+$")
_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache, private"}


# -- access ---------------------------------------------------------------------------------


async def reader(request: Request) -> Any:
    """The user of the request, as the core API resolves it, if it may read the reports:
    whoever may read one of the collection DAGs that publish them."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi.security import HTTPBearer

    credentials = await HTTPBearer(auto_error=False)(request)
    user = await get_user(request, None, credentials)
    manager = get_auth_manager()
    if not any(
        manager.is_authorized_dag(method="GET", details=DagDetails(id=dag_id), user=user)
        for dag_id in COLLECTION_DAGS
    ):
        raise HTTPException(403, "Forbidden")
    return user


# -- the reports folder ---------------------------------------------------------------------


def reports_folder() -> Path:
    """``<COMMUNE_REPORTS_HOME>/reports``, from the environment now (never cached)."""
    from commune_reports.settings import load_settings

    return load_settings().reports


def resolve_inside(root: Path, relative: str) -> Path:
    """The file or folder ``relative`` names under ``root``; 404 for anything that leaves it
    (``..``, an absolute path, a symlink out), a hidden name (a ``.part`` being written) or a
    path that cannot be a file name."""
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if any(p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
        raise HTTPException(404, "Not Found")
    try:
        base = root.resolve(strict=True)
        target = base.joinpath(*parts).resolve(strict=True)
    except (OSError, ValueError, RuntimeError):
        raise HTTPException(404, "Not Found") from None
    if target != base and not target.is_relative_to(base):
        raise HTTPException(404, "Not Found")
    return target


def file_response(path: Path) -> FileResponse:
    suffix = path.suffix.lower()
    if suffix in INLINE_TYPES:
        return FileResponse(path, media_type=INLINE_TYPES[suffix], headers=_HEADERS)
    media_type = DOWNLOAD_TYPES.get(suffix) or (
        mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )
    return FileResponse(
        path,
        media_type=media_type,
        filename=path.name,
        content_disposition_type="attachment",
        headers=_HEADERS,
    )


def period_label(stem: str) -> str:
    """``2023Q4`` → "Quý IV/2023", ``2021_to_2023`` → "Năm 2021 – Năm 2023", a district's
    ``2023.872`` → "Năm 2023 · đơn vị / unit 872"; the stem itself if it is no period."""
    from commune_reports.periods import PeriodError, parse_period

    period, _, unit = stem.partition(".")
    try:
        label = " – ".join(parse_period(p).label_vi for p in period.split("_to_"))
    except (PeriodError, ValueError):
        return stem
    return f"{label} · đơn vị / unit {unit}" if unit else label


def published_reports(root: Path) -> list[dict[str, Any]]:
    """The reports in the folder, newest first: one entry per stem with its files."""
    groups: dict[str, list[os.DirEntry]] = {}
    with os.scandir(root) as entries:
        for entry in entries:
            name = entry.name
            suffix = os.path.splitext(name)[1].lower()
            if name.startswith(".") or suffix not in REPORT_FORMATS or not entry.is_file():
                continue
            groups.setdefault(name[: -len(suffix)], []).append(entry)
    reports = []
    for stem, files in groups.items():
        files.sort(key=lambda e: REPORT_FORMATS.index(os.path.splitext(e.name)[1].lower()))
        newest = max(e.stat().st_mtime for e in files)
        reports.append(
            {
                "stem": stem,
                "code": stem.replace("_to_", ".."),
                "label": period_label(stem),
                "mtime": newest,
                "published": _local_time(newest),
                "open": f"report/{quote(stem)}",
                "files": [
                    {
                        "name": e.name,
                        "href": f"reports/{quote(e.name)}",
                        "kind": KINDS[os.path.splitext(e.name)[1].lower()],
                        "download": e.name.lower().endswith(".docx"),
                    }
                    for e in files
                ],
            }
        )
    reports.sort(key=lambda r: (-r["mtime"], r["stem"]))
    return reports


def unit_pages(root: Path) -> list[dict[str, Any]]:
    """Each report's unit pages (``units/<stem>/<code>.html``), newest report first."""
    units = root / "units"
    if not units.is_dir():
        return []
    groups = []
    for folder in units.iterdir():
        if folder.name.startswith(".") or folder.is_symlink() or not folder.is_dir():
            continue
        pages = [
            p
            for p in sorted(folder.iterdir())
            if p.suffix.lower() == ".html" and not p.name.startswith(".") and p.is_file()
        ]
        if not pages:
            continue
        newest = max(p.stat().st_mtime for p in pages)
        groups.append(
            {
                "stem": folder.name,
                "mtime": newest,
                "units": [
                    {
                        "code": p.stem,
                        "href": f"reports/units/{quote(folder.name)}/{quote(p.name)}",
                        "published": _local_time(p.stat().st_mtime),
                    }
                    for p in pages
                ],
            }
        )
    groups.sort(key=lambda g: (-g["mtime"], g["stem"]))
    return groups


def _local_time(timestamp: float) -> str:
    from zoneinfo import ZoneInfo

    from commune_reports.periods import TIMEZONE

    return dt.datetime.fromtimestamp(timestamp, ZoneInfo(TIMEZONE)).strftime("%d/%m/%Y %H:%M")


@cache
def _templates() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    import commune_reports

    folder = Path(commune_reports.__file__).with_name("templates") / "html"
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
    )


# -- the app --------------------------------------------------------------------------------

app = FastAPI(
    title="commune-reports: published reports",
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
    dependencies=[Depends(reader)],
)


@app.get("/", response_class=HTMLResponse)
def index() -> HTMLResponse:
    """The published reports, newest first, with the unit pages and Data Docs."""
    root = reports_folder()
    exists = root.is_dir()
    page = (
        _templates()
        .get_template("reports_index.html.j2")
        .render(
            reports=published_reports(root) if exists else [],
            units=unit_pages(root) if exists else [],
            data_docs=(root / "data_docs" / "index.html").is_file(),
        )
    )
    return HTMLResponse(page, headers=_HEADERS)


@app.get("/reports/{relative:path}")
def report_file(relative: str, request: Request) -> Any:
    """One file of the reports folder; a folder with an ``index.html`` (Data Docs) shows it."""
    if relative.strip("/") == "":
        return RedirectResponse("../", status_code=307)
    target = resolve_inside(reports_folder(), relative)
    if target.is_dir():
        if not request.url.path.endswith("/"):
            last = relative.rstrip("/").rsplit("/", 1)[-1]
            return RedirectResponse(f"{quote(last)}/", status_code=307)
        target = target / "index.html"
    if not target.is_file():
        raise HTTPException(404, "Not Found")
    return file_response(target)


@app.get("/report/{stem}")
def report(stem: str) -> RedirectResponse:
    """The report ``stem`` in its best published format: HTML, else the text."""
    if not _STEM.match(stem) or stem.startswith("."):
        raise HTTPException(404, "Not Found")
    root = reports_folder()
    for suffix in (".html", ".txt"):
        if (root / f"{stem}{suffix}").is_file():
            return RedirectResponse(f"../reports/{quote(stem + suffix)}", status_code=307)
    raise HTTPException(404, "Not Found")


@app.get("/data-docs/")
def data_docs() -> Any:
    """The Data Docs' index page; until a run has built them, a page saying so (404)."""
    if not (reports_folder() / "data_docs" / "index.html").is_file():
        page = (
            '<!DOCTYPE html><html lang="vi"><meta charset="utf-8"><title>Data Docs</title>'
            "<p>Chưa có Data Docs: lượt thu thập đầu tiên sẽ tạo ra chúng."
            "<br><i>No Data Docs yet: the first collection run builds them.</i>"
            '<p><a href="../">Báo cáo đã công bố / Published reports</a></p></html>'
        )
        return HTMLResponse(page, status_code=404, headers=_HEADERS)
    return RedirectResponse("../reports/data_docs/index.html", status_code=307)


# -- the task link --------------------------------------------------------------------------


class PublishedReportLink(BaseOperatorLink):
    """A button on a collection run's ``publish_report`` task: the report it published.

    Registered as a global link, because a ``@task``'s operator class is the decorator's own
    (``_PythonDecoratedOperator``, shared by every ``@task``): the API server asks it for
    every task and it answers only for ``publish_report`` of a collection DAG, from the path
    the task returned (its XCom ``return_value``: the path ``…/reports/<stem>.txt``, or the
    outputs by kind with that path under ``"text"``). Elsewhere it
    returns no URL, which the UI does not show. The URL is relative to the API server's base
    URL, as the UI resolves it (its ``<base href>``)."""

    name = "Báo cáo / Report"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        if ti_key.task_id != PUBLISH_TASK or ti_key.dag_id not in COLLECTION_DAGS:
            return ""
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            row = session.execute(
                XComModel.get_many(
                    key="return_value",
                    run_id=ti_key.run_id,
                    dag_ids=ti_key.dag_id,
                    task_ids=ti_key.task_id,
                    map_indexes=ti_key.map_index,
                ).with_only_columns(XComModel.value)
            ).first()
        if row is None:
            return ""
        value = row.value
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        if isinstance(value, dict):  # the outputs by kind: {"text": …, "html": …, …}
            value = value.get("text")
        if not isinstance(value, str) or not value.endswith(".txt"):
            return ""
        stem = Path(value).name.removesuffix(".txt")
        if not _STEM.match(stem):
            return ""
        return f"{URL_PREFIX.lstrip('/')}/report/{quote(stem)}"


class CommuneReportsViewsPlugin(AirflowPlugin):
    name = "commune_reports_views"
    fastapi_apps = [  # noqa: RUF012 (Airflow's plugin attributes are plain lists)
        {"app": app, "url_prefix": URL_PREFIX, "name": "Commune reports"},
    ]
    # hrefs without a leading slash: the UI resolves them against its <base href>, so the views
    # follow [api] base_url; url_route opens each inside the UI (/plugin/<url_route>)
    external_views = [  # noqa: RUF012
        {
            "name": "Commune reports",
            "href": f"{URL_PREFIX.lstrip('/')}/",
            "destination": "nav",
            "url_route": "commune-reports",
            "nav_top_level": True,
        },
        {
            "name": "Data Docs",
            "href": f"{URL_PREFIX.lstrip('/')}/data-docs/",
            "destination": "nav",
            "url_route": "commune-reports-data-docs",
            "nav_top_level": True,
        },
    ]
    global_operator_extra_links = [PublishedReportLink()]  # noqa: RUF012
