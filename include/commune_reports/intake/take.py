"""Take what the sources offer: stage each item's files, register them in the ledger with the
item's receipt time, record the item, then mark it done at the source.

The order makes a fault lose nothing and take nothing twice: a file is in the ledger (and its
bytes in the archive) before its item is recorded, and the item is recorded before it is
moved at the source. A run stopped between two steps leaves an item the next run finds again:
registered files are then duplicates of themselves, and a recorded item is only moved.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from commune_reports.intake.items import Offered, Source
from commune_reports.quarantine import safe_name
from commune_reports.redact import mask
from commune_reports.settings import Settings
from commune_reports.sources import register_files
from commune_reports.warehouse import exclusive, utc_seconds, writing

log = logging.getLogger(__name__)

_INSERT = text(
    "INSERT INTO intake_items (source, item_key, part, kind, name, outcome, submission_id, "
    "received_at, sender, message_id, subject, taken_at, batch_id) VALUES (:source, :key, "
    ":part, :kind, :name, :outcome, :submission, :received, :sender, :message_id, :subject, "
    ":taken, :batch) ON CONFLICT (source, item_key, part) DO NOTHING"
)


def known_keys(engine: Engine, source: str) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.execute(
                text("SELECT DISTINCT item_key FROM intake_items WHERE source = :s"), {"s": source}
            ).scalars()
        )


def take(
    engine: Engine, settings: Settings, source: Source, batch_id: str, now: dt.datetime
) -> dict[str, int]:
    """Take one source's new items under ``batch_id``; return what was done, by outcome.
    Runs that overlap (the light discovery and a collection run) take turns per source, so
    the second finds the first's items recorded and moved."""
    counts: dict[str, int] = {"items": 0, "again": 0}
    with exclusive(engine, f"intake:{source.name}"):
        known = known_keys(engine, source.name)
        handled: list[Offered] = []
        for item in source.offered(known, now):
            if item.again:
                counts["again"] += 1
                handled.append(item)
                continue
            rows = _register(engine, settings, source, item, batch_id, now)
            with writing(engine) as conn:
                conn.execute(_INSERT, rows)
            counts["items"] += 1
            for row in rows:
                counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
            handled.append(item)
        source.done(handled)
    log.info("source %s (%s): %s", source.name, source.kind, counts)
    return counts


def _register(
    engine: Engine,
    settings: Settings,
    source: Source,
    item: Offered,
    batch_id: str,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Stage and register the item's files; its rows for ``intake_items``."""
    base = {
        "source": source.name,
        "key": item.key,
        "kind": source.kind,
        "received": utc_seconds(item.received_at),
        "sender": item.sender,
        "message_id": item.message_id,
        "subject": (item.subject or "")[:500] or None,
        "taken": utc_seconds(now),
        "batch": batch_id,
    }
    rows: list[dict[str, Any]] = []
    folder = settings.home / "incoming" / safe_name(source.name)
    folder = folder / f"{hashlib.sha256(item.key.encode()).hexdigest()[:20]}-{uuid.uuid4().hex[:8]}"
    staged: list[Path] = []
    try:
        for index, (name, data) in enumerate(item.files, start=1):
            path = folder / str(index) / safe_name(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            moment = item.received_at.timestamp()
            os.utime(path, (moment, moment))  # the file's own time is unknown: its receipt
            staged.append(path)
        registrations = register_files(
            engine,
            settings,
            staged,
            batch_id,
            None,
            now,
            received_at=item.received_at,
            via=source.kind,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the archive holds every file taken
    for index, ((name, _), reg) in enumerate(zip(item.files, registrations, strict=True), 1):
        outcome = "taken" if reg.status == "new" else "duplicate"  # the bytes came before
        rows.append(
            base
            | {
                "part": str(index),
                "name": name,
                "outcome": outcome,
                "submission": reg.submission_id,
            }
        )
    start = len(item.files)
    for index, (name, outcome) in enumerate(item.refused, start=start + 1):
        rows.append(
            base | {"part": str(index), "name": name, "outcome": outcome, "submission": None}
        )
    if not rows:
        outcome = "automatic" if item.automatic else "no_attachment"
        rows.append(base | {"part": "-", "name": "", "outcome": outcome, "submission": None})
    if item.automatic:
        for row in rows:
            row["sender"] = None  # an automatic message is never answered (no mail loops)
    return rows


def take_all(
    engine: Engine,
    settings: Settings,
    sources: Sequence[Source],
    batch_id: str,
    now: dt.datetime | None = None,
) -> dict[str, dict[str, int]]:
    """Take every source's new items; a source that fails does not stop the others, and
    their errors are raised together at the end (the next run takes what was left)."""
    now = now or dt.datetime.now(dt.UTC)
    out: dict[str, dict[str, int]] = {}
    errors: list[str] = []
    for source in sources:
        try:
            out[source.name] = take(engine, settings, source, batch_id, now)
        except Exception as exc:  # one line per source, with what it was doing
            log.exception("source %s failed", source.name)
            errors.append(f"{source.name}: {type(exc).__name__}: {exc}")
    if errors:
        raise IntakeError(mask("; ".join(errors)))
    return out


class IntakeError(RuntimeError):
    """One or more sources could not be read: their names and errors in one line."""


def take_configured(
    settings: Settings,
    batch_id: str,
    now: dt.datetime | None = None,
    opener: Any = None,
) -> dict[str, dict[str, int]]:
    """Take from every source of ``COMMUNE_REPORTS_SOURCES`` (nothing when it is unset),
    opened by ``opener`` (Airflow's hooks in a task, the environment's connections else)."""
    from commune_reports.intake.config import load_sources
    from commune_reports.intake.connect import open_from_env
    from commune_reports.warehouse import ensure_schema, get_engine

    configs = load_sources()
    if not configs:
        return {}
    engine = get_engine(settings.warehouse_url)
    ensure_schema(engine)
    opener = opener or open_from_env
    errors: list[str] = []
    out: dict[str, dict[str, int]] = {}
    with contextlib.ExitStack() as stack:
        sources = []
        for config in configs:  # a server that is down does not keep the others from a run
            try:
                sources.append(opener(config, stack))
            except Exception as exc:
                log.exception("source %s: cannot connect", config.name)
                errors.append(f"{config.name}: cannot connect: {type(exc).__name__}: {exc}")
        try:
            out = take_all(engine, settings, sources, batch_id, now)
        except IntakeError as exc:
            errors.append(str(exc))
    if errors:
        raise IntakeError(mask("; ".join(errors)))
    return out
