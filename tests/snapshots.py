"""Warehouse snapshots for comparing two runs table by table.

Columns that record *which run* did a step, and when, differ between runs that did the same
work: batch ids, when a file was first seen and registered and in which order (whichever run
saw it first), where a home keeps its archive, when an event or an alert happened, when the
schema was set up. Everything else must be identical.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text

from commune_reports.warehouse import get_engine, table_names

VOLATILE = {
    "submissions": {"batch_id", "registered_at", "archive_path", "received_at", "arrival_seq"},
    "completeness": {"received_at"},
    "submission_events": {"at", "actor"},
    "alerts_sent": {"sent_at"},
    "notices_sent": {"sent_at"},
    "notices_due": {"due_at"},
    "period_approvals": {"decided_at"},
    "schema_migrations": {"applied_at"},
}


def _text(value: object) -> str:
    """A cell as text; numbers canonical (12, 12.0 and 12.0000 are all "12"), so snapshots of
    SQLite and PostgreSQL compare."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return f"{Decimal(str(value)).normalize():f}"
    return str(value)


def snapshot(url: str, volatile: dict[str, set[str]] | None = None) -> dict[str, list[tuple]]:
    """Every table of the schema as sorted rows of text, without ``volatile`` columns (all
    columns when ``volatile`` is ``{}``)."""
    skip = VOLATILE if volatile is None else volatile
    out = {}
    with get_engine(url).connect() as conn:
        for table in table_names():
            result = conn.execute(text(f"SELECT * FROM {table}"))
            keep = [i for i, c in enumerate(result.keys()) if c not in skip.get(table, set())]
            out[table] = sorted(tuple(_text(row[i]) for i in keep) for row in result)
    return out


def differences(left: dict[str, list[tuple]], right: dict[str, list[tuple]]) -> list[str]:
    """Readable differences between two snapshots (empty when they are equal)."""
    lines = []
    for table in sorted(set(left) | set(right)):
        a, b = set(left.get(table, [])), set(right.get(table, []))
        if a != b:
            lines.append(f"{table}: {len(a - b)} rows only left, {len(b - a)} only right")
            lines += [f"  < {row}" for row in sorted(a - b)[:5]]
            lines += [f"  > {row}" for row in sorted(b - a)[:5]]
    return lines
