"""The golden figures of the 2024 Tháp Mười report (the domain brief, §1) and how the tests
read one figure out of the report's rows."""

from __future__ import annotations

from typing import Any

SESSIONS_2021_2023 = 256  # "hơn 256 cuộc" dissemination sessions, all units, 2021-2023
# online dossiers, all dossiers and the online share: "2.384 hồ sơ, đạt 50,43%" ...
ONLINE_FILING = {
    ("2022", "district"): (2384, 4727, 50.43),
    ("2022", "commune"): (16021, 45998, 34.83),
    ("2023", "district"): (3447, 4162, 82.82),
    ("2023", "commune"): (18888, 27021, 69.90),
}


def figure(rows: list[dict[str, Any]], metric: str, level: str, period: str) -> Any:
    """The one value of ``metric`` at ``level`` for ``period`` in ``figure_rows`` output."""
    found = [
        r["value"]
        for r in rows
        if (r["metric"], r["level"], r["period"]) == (metric, level, period)
    ]
    assert len(found) == 1, (metric, level, period, found)
    return found[0]
