"""Data Docs: Great Expectations' own static site of every kept validation result, so that an
official can open the page of a batch and see which expectation a file broke, in which cell;
and how long those results are kept.

Every validation run keeps its results as JSON, one file per chunk and frame, under
``<home>/validations`` (:func:`commune_reports.validate.keep_result`). :func:`build_data_docs`
loads them into a file-mode GX context in ``<home>/gx`` and lets GX build the site into
``<home>/reports/data_docs``:

- the context is configured here, in code, at every build: one site (``commune_reports``)
  whose base directory is ``<home>/reports/data_docs``, and a validation results store in
  memory, filled from the kept files (they are the record: nothing is stored twice, and a
  result :func:`prune` deleted leaves the site at the next build);
- the suites ``long`` and ``wide`` are saved in the context's expectations store as the newest
  kept result ran them (their metric sets follow the forms of the batch): the index lists them
  and each result page links to its suite;
- a failing row's file, sheet and cell (kept beside each result) are added to the unexpected
  values GX lists, so the page says "30052_2023Q4.xlsx, BaoCao, E13", not "row 5";
- builds hold a lock (``<home>/gx/build.lock``, also taken by :func:`prune`) and write a new
  site beside the old one, then swap it in: two runs building at once, or a reader, never
  see half a site, and a build of the same results writes the same files.

Offline: GX's pages take Bootstrap, bootstrap-table, jQuery, Font Awesome and Vega from five
CDNs and the logo from GX's S3 bucket (with the build time and the context id in its URL).
Without network, the pages came out unstyled, the status icons blank, and the index empty:
it is a script from a CDN that fills its tables. The site is rendered with the views of
:mod:`commune_reports.publish.datadocs_views`, which read ``templates/data_docs/`` first:
no external script, stylesheet or image; the index's tables rendered in the page; "show more"
as ``<details>``; the "failed only" filter in a few lines of plain JavaScript; a small
stylesheet in place of Bootstrap's and the icons as characters. The site opens from file://.

Retention (:func:`prune`, ``COMMUNE_REPORTS_VALIDATION_KEEP_DAYS``, default 400 days: a year's
results and a quarter, since officials compare with last year): a result file whose run is
older than that is deleted, except the newest result covering a delivery that is still its
unit's current one for the period (none received after it) and was rejected or held: the unit
must be able to see why its current file was refused, however long it takes to send another.
Once a later delivery arrives, the old result ages out like any other.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import shutil
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import text

from commune_reports.settings import Settings
from commune_reports.validate import RUN_TIME_FORMAT, safe_name

log = logging.getLogger(__name__)

SITE = "commune_reports"
SITE_FOLDER = "data_docs"
LINKS_FILE = "batches.json"  # in the site: batch id -> its page, for result_links
RESULTS_STORE = "validation_results_store"
IN_MEMORY = {
    "class_name": "ValidationResultsStore",
    "store_backend": {"class_name": "InMemoryStoreBackend"},
}
VIEWS = "commune_reports.publish.datadocs_views"
INDEX_COLUMNS = ["row_id", "file", "sheet", "cell"]
PART_HOURS = 24  # a result still being written after this long belongs to a killed run


@dataclass(frozen=True)
class Kept:
    """One kept result, loaded: the GX result, its key in the site and what it covers."""

    path: Path
    result: Any  # ExpectationSuiteValidationResult
    key: Any  # ValidationResultIdentifier
    batch_id: str
    frame: str
    chunk_number: int
    run_time: dt.datetime

    @property
    def page(self) -> str:
        """The result's page, relative to the site folder, as an href (percent-encoded)."""
        parts = [
            "validations",
            *self.key.expectation_suite_identifier.name.split("."),
            *self.key.run_id.to_tuple(),
            self.key.batch_identifier,
        ]
        return urllib.parse.quote(PurePosixPath(*parts).as_posix() + ".html")


def build_data_docs(settings: Settings) -> Path:
    """Build the Data Docs site of every kept result into ``settings.reports / "data_docs"``
    and return the path of its ``index.html``. The same kept results give the same site."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    site = settings.reports / SITE_FOLDER
    settings.reports.mkdir(parents=True, exist_ok=True)
    with _build_lock(settings):
        _remove_leftovers(settings.reports)
        context = _context(settings, site)
        kept = load_kept(settings.validations, context.validation_results_store)
        for one in kept:
            context.validation_results_store.set(one.key, one.result)
        newest: dict[str, Kept] = {}
        for one in kept:
            newest[one.result.suite_name] = one  # kept is oldest first
        for name, one in sorted(newest.items()):
            context.suites.add_or_update(_suite_of(name, one.result))
        fresh = settings.reports / f".{SITE_FOLDER}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part"
        try:
            # this build only, not saved: the site kept in great_expectations.yml is the real one
            context.variables.data_docs_sites = {SITE: site_config(fresh)}
            with _render_errors() as errors:
                context.build_data_docs(site_names=[SITE])
            if errors:
                # GX logs a page it could not render and goes on: a site missing pages must
                # not replace a whole one
                raise RuntimeError(f"Data Docs: {len(errors)} pages not rendered: {errors[0]}")
            links = json.dumps(_pages(kept), ensure_ascii=False, indent=1, sort_keys=True)
            (fresh / LINKS_FILE).write_text(links + "\n", encoding="utf-8")
            _swap(fresh, site)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
    log.info("Data Docs of %d validation results: %s", len(kept), site / "index.html")
    return site / "index.html"


def result_links(settings: Settings) -> dict[str, str]:
    """Batch id -> the href of its Data Docs page, relative to ``settings.reports`` and
    percent-encoded (``"data_docs/validations/wide/cli-1c09aed012eb/20261204T180206.956765Z/
    chunk-0-of-1.html"``), for the batches of the last build ({} before the first). The page is
    the batch's newest failing result (the one that says why files were refused), else its
    newest ``long`` result; the batch's other chunks and frames are on the index under the
    same run name."""
    path = settings.reports / SITE_FOLDER / LINKS_FILE
    if not path.is_file():
        return {}
    pages = json.loads(path.read_text("utf-8"))
    return {batch: f"{SITE_FOLDER}/{href}" for batch, href in sorted(pages.items())}


def prune(settings: Settings, keep_days: int, now: dt.datetime | None = None) -> int:
    """Delete the kept results the retention rule (module docstring) lets go; return how many
    files. The newest run covering a refused current delivery keeps both its frames' files.
    Leftovers of writes that a killed run began more than a day ago go too (not counted)."""
    now = now or dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(days=keep_days)
    folder = settings.validations
    if not folder.is_dir():
        return 0
    with _build_lock(settings):
        stale = (now - dt.timedelta(hours=PART_HOURS)).timestamp()
        for part in folder.glob(".*.part"):
            if part.stat().st_mtime < stale:
                part.unlink(missing_ok=True)
        files = sorted(folder.glob("*.json"), key=lambda p: (_run_time(p), p.name), reverse=True)
        expired = [p for p in files if _run_time(p) < cutoff]
        if not expired:
            return 0
        refused = set(_refused_current(settings))
        newest: dict[str, str] = {}  # refused submission -> the newest run covering it
        for path in files if refused else []:
            for sid in refused.intersection(covered_submissions(path)):
                newest.setdefault(sid, _run_of(path))
        kept_runs = set(newest.values())
        deleted = 0
        for path in expired:
            if _run_of(path) not in kept_runs:
                path.unlink(missing_ok=True)
                deleted += 1
    log.info(
        "validation results: %d files older than %d days deleted, %d kept for refused files",
        deleted,
        keep_days,
        len(expired) - deleted,
    )
    return deleted


# -- loading the kept results ---------------------------------------------------------------


def load_kept(folder: Path, store: Any) -> list[Kept]:
    """Every kept result of ``folder``, oldest first, made ready for people (:func:`_readable`).
    A file that is not a kept result stops the build, naming it: move it away."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            result = store.deserialize(json.loads(path.read_text("utf-8")))
            ours = result.meta.get("commune_reports") or {}
            run = result.meta["run_id"]
            run_time = dt.datetime.fromisoformat(run["run_time"]).astimezone(dt.UTC)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a kept validation result ({exc})") from exc
        batch_id = str(ours.get("batch_id") or run.get("run_name") or "unnamed")
        number, count = int(ours.get("chunk_number", 0)), int(ours.get("chunk_count", 1))
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
            run_id=RunIdentifier(run_name=safe_name(batch_id), run_time=run_time),
            batch_identifier=f"chunk-{number}-of-{count}",
        )
        _readable(result, ours.get("failed_rows") or {})
        frame = str(ours.get("frame") or result.suite_name)
        out.append(Kept(path, result, key, batch_id, frame, number, run_time))
    out.sort(key=lambda k: (k.run_time, k.path.name))
    return out


def _readable(result: Any, rows: dict[str, dict[str, Any]]) -> None:
    """Each unexpected value's file, sheet and cell beside its row id, as GX lists them."""
    for item in result.results:
        config = item.expectation_config
        if config is None:
            continue
        entries = (item.result or {}).get("unexpected_index_list")
        if not entries or not isinstance(entries[0], dict):
            continue
        column_b = config.kwargs.get("column_B")
        for entry in entries:
            row = rows.get(str(entry.get("row_id")), {})
            entry["file"] = row.get("file") or ""
            entry["sheet"] = row.get("sheet") or ""
            entry["cell"] = row.get("cell") or (row.get("cells") or {}).get(column_b) or ""
        item.result["unexpected_index_column_names"] = INDEX_COLUMNS


def _suite_of(name: str, result: Any) -> Any:
    """The suite as ``result`` ran it (without the batch it ran on)."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    expectations = []
    for item in result.results:
        config = item.expectation_config
        if config is None:
            continue
        kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
        expectations.append(
            ExpectationConfiguration(
                type=config.type, kwargs=kwargs, meta=dict(config.meta)
            ).to_domain_obj()
        )
    return gx.ExpectationSuite(name=name, expectations=expectations)


def covered_submissions(path: Path) -> list[str]:
    """The submission ids a kept result covers (from its ``commune_reports`` meta)."""
    meta = json.loads(path.read_text("utf-8")).get("meta") or {}
    return [s["submission_id"] for s in (meta.get("commune_reports") or {}).get("submissions", [])]


def _pages(kept: Sequence[Kept]) -> dict[str, str]:
    """Batch id -> the page result_links gives for it."""
    best: dict[str, Kept] = {}

    def rank(k: Kept) -> tuple[Any, ...]:
        return (not k.result.success, k.frame == "long", k.run_time, -k.chunk_number)

    for one in kept:
        if one.batch_id not in best or rank(one) > rank(best[one.batch_id]):
            best[one.batch_id] = one
    return {batch: one.page for batch, one in best.items()}


def _run_time(path: Path) -> dt.datetime:
    """A kept result's run time, from its name (``<run time>__…``); its file time otherwise."""
    try:
        stamp = dt.datetime.strptime(path.name.split("__", 1)[0], RUN_TIME_FORMAT)
        return stamp.replace(tzinfo=dt.UTC)
    except ValueError:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)


def _run_of(path: Path) -> str:
    """The run a kept result belongs to: ``<run time>__<batch>__<chunk>`` of its name."""
    parts = path.name.rsplit("__", 2)
    return parts[0] if len(parts) == 3 else path.name


def _refused_current(settings: Settings) -> list[str]:
    from commune_reports.warehouse import ensure_schema, get_engine, query_text

    engine = get_engine(settings.warehouse_url)
    ensure_schema(engine)
    with engine.connect() as conn:
        return list(conn.execute(text(query_text("refused_current"))).scalars())


# -- the GX context and site ----------------------------------------------------------------


def site_config(base_directory: Path) -> dict[str, Any]:
    """The site: GX's SiteBuilder, rendered with our offline views, without GX's how-to
    buttons and walkthrough, and with every run name (GX hides those with "profiling")."""
    page = {"module_name": VIEWS, "class_name": "OfflinePageView"}
    return {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(base_directory),
        },
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "view": {"module_name": VIEWS, "class_name": "OfflineIndexPageView"},
        },
        "site_section_builders": {
            "expectations": {"view": page},
            "validations": {"view": page, "run_name_filter": {"matches_regex": "^"}},
            "profiling": "None",
        },
    }


def _context(settings: Settings, site: Path) -> Any:
    """The file-mode context in ``<home>/gx``, created on first use, its site and validation
    results store set as this module wants them (saved only when they differ)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=settings.home)
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    wanted = site_config(site)
    sites = context.list_data_docs_sites()
    for name in [n for n in sites if n != SITE]:
        context.delete_data_docs_site(name)
    if SITE not in sites:
        context.add_data_docs_site(SITE, wanted)
    elif sites[SITE] != wanted:
        context.update_data_docs_site(SITE, wanted)
    store = context.config.stores.get(RESULTS_STORE) or {}
    if (store.get("store_backend") or {}).get("class_name") != "InMemoryStoreBackend":
        if RESULTS_STORE in context.config.stores:
            context.delete_store(RESULTS_STORE)
        context.add_store(RESULTS_STORE, IN_MEMORY)
    return context


@contextlib.contextmanager
def _render_errors() -> Iterator[list[str]]:
    """The errors GX's site builder logs while it builds (the first lines of each)."""
    found: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found.append(record.getMessage()[:2000])

    handler = Collect(level=logging.ERROR)
    builder = logging.getLogger("great_expectations.render.renderer.site_builder")
    level = builder.level
    if builder.getEffectiveLevel() > logging.ERROR:
        builder.setLevel(logging.ERROR)
    builder.addHandler(handler)
    try:
        yield found
    finally:
        builder.removeHandler(handler)
        builder.setLevel(level)


@contextlib.contextmanager
def _build_lock(settings: Settings) -> Iterator[None]:
    """One build or prune at a time on this home (an advisory lock on a file)."""
    root = settings.home / "gx"
    root.mkdir(parents=True, exist_ok=True)
    with (root / "build.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _swap(fresh: Path, site: Path) -> None:
    """Put the new site in place of the old: two renames, so the folder is missing for an
    instant at most, never half built."""
    old = site.with_name(f".{site.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.old")
    if site.exists():
        site.rename(old)
    fresh.rename(site)
    shutil.rmtree(old, ignore_errors=True)


def _remove_leftovers(folder: Path) -> None:
    """Sites a killed build left beside the real one (we hold the lock: no build is running)."""
    for pattern in (f".{SITE_FOLDER}.*.part", f".{SITE_FOLDER}.*.old"):
        for path in folder.glob(pattern):
            shutil.rmtree(path, ignore_errors=True)
