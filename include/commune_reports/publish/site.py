"""Publish everything people read for a period range, in one call (the DAGs' publish task
and ``commune-reports publish``): the text and JSON report, the draft document, the HTML
report with a page per unit, and the Data Docs of the validation results.

Every file is written beside its final name, then renamed, so a reader or a run publishing
the same range at the same time never sees half a file; the last run to finish wins whole.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from commune_reports.catalog import load_catalog
from commune_reports.publish.html import report_pages
from commune_reports.report import _replace_file, report_set, write_text
from commune_reports.settings import Settings
from commune_reports.warehouse import get_engine


def publish_all(
    settings: Settings, period_text: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Write the outputs of ``period_text`` under ``settings.reports``; return their paths
    (strings: this is what the publish task hands on, ids and paths, never data)."""
    from commune_reports.publish import datadocs
    from commune_reports.publish.document import write_document

    now = now or dt.datetime.now(dt.UTC)
    catalog = load_catalog()
    engine = get_engine(settings.warehouse_url)
    reports = report_set(engine, period_text, catalog)
    text_path = write_text(settings, engine, period_text, reports)
    stem = reports[0][0]
    folder = settings.reports
    datadocs.prune(settings, settings.validation_keep_days, now=now)
    docs_index = datadocs.build_data_docs(settings)
    data_docs = docs_index.relative_to(folder).as_posix()
    batch_links = datadocs.result_links(settings)
    parts = [
        (one.unit.name, one.unit.code, f"{name}.html") for name, one in reports[1:] if one.unit
    ]
    written: dict[str, Any] = {"text": str(text_path), "data_docs": str(docs_index)}
    for name, one in reports:
        if one.unit is None:
            # nothing reported for these periods yet (a scheduled run before any file): the
            # text report says so; there is no unit to write a document or pages for
            continue
        docx = folder / f"{name}.docx"
        write_document(one, catalog, docx)
        links = [
            (f"{name}.docx", "Dự thảo văn bản (.docx)", "draft document"),
            (f"{name}.txt", "Báo cáo dạng văn bản", "text report"),
            (f"{name}.json", "Số liệu (JSON)", "figures as JSON"),
            (data_docs, "Kết quả kiểm tra dữ liệu", "validation results (Data Docs)"),
        ]
        if name != stem:
            links.insert(0, (f"{stem}.html", "Báo cáo chung", "the whole report"))
        made = report_pages(
            engine,
            catalog,
            one,
            name=name,
            links=links,
            parts=parts if name == stem else None,
            batch_links=batch_links,
            data_docs=data_docs,
            now=now,
        )
        # the units' pages once, from the whole report: a district's report links to them too
        for page in made if name == stem else made[:1]:
            target = folder / page.path
            target.parent.mkdir(parents=True, exist_ok=True)
            _replace_file(target, page.html)
        if name == stem:
            written["html"] = str(folder / f"{name}.html")
            written["docx"] = str(docx)
    return written
