"""What a source offers, whatever the source: one message or one remote file, the files in it
to take and what in it is not a form."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from commune_reports.sources import SPREADSHEET_SUFFIXES

ARCHIVE_SUFFIXES = {".zip", ".rar", ".7z", ".gz", ".tar", ".tgz"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".svg", ".tif", ".tiff"}


@dataclass
class Offered:
    """One item of a source. ``files`` are the spreadsheets to take, (name, bytes);
    ``refused`` what is not a form, (name, outcome: ``archive`` or ``not_a_form``);
    ``ignored`` what is left without a word (a signature image, the message's own body)."""

    key: str
    kind: str
    received_at: dt.datetime
    files: list[tuple[str, bytes]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    sender: str | None = None
    message_id: str | None = None
    subject: str | None = None
    automatic: bool = False  # an auto-reply or a bounce: recorded, never answered
    handle: Any = None  # the source's own reference (an IMAP UID, a remote path)
    again: bool = False  # recorded by an earlier run (not fetched): only to be marked done


class Source(Protocol):
    """A place units deliver to. ``offered`` yields its items, fetching only those whose key
    is not in ``known`` (the others come with ``again``); ``done`` marks items handled (moves
    them to a folder), the ones found again included: their earlier ``done`` did not happen."""

    name: str
    kind: str

    def offered(self, known: set[str], now: dt.datetime) -> Iterator[Offered]: ...

    def done(self, items: list[Offered]) -> None: ...


def classify(name: str, content_type: str = "") -> str:
    """``form`` (a spreadsheet to read), ``archive``, ``image`` or ``not_a_form``."""
    suffix = os.path.splitext(name)[1].lower()
    if suffix in SPREADSHEET_SUFFIXES:
        return "form"
    if suffix in ARCHIVE_SUFFIXES:
        return "archive"
    if suffix in IMAGE_SUFFIXES or content_type.startswith("image/"):
        return "image"
    return "not_a_form"
