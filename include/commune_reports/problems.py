"""Problems found in a file: sheet, cell, rule and the fix, in Vietnamese and English."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    stage: str  # parse | validate
    rule: str
    message_vi: str
    message_en: str
    sheet: str | None = None
    cell: str | None = None
    metric_code: str | None = None
    found: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        where = "!".join(x for x in (self.sheet, self.cell) if x)
        prefix = f"[{where}] " if where else ""
        return f"{prefix}{self.message_vi} / {self.message_en}"
