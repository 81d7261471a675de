"""The unit tree and its history: which unit version sits under which, and what became of a
unit that a reform merged or split.

Units are versions (code + validity), so a parent or successor named by code is resolved to the
version that exists at the right time: a parent to the version valid while the child is, a
successor to the version valid on the day after the unit ended. Every figure per unit of the
tree, and every figure "as the units are now", reads the two tables built here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from commune_reports.catalog import FAR_FUTURE, Catalog, Unit


class HierarchyError(ValueError):
    """The catalog names a parent or successor that does not exist when it must."""


@dataclass(frozen=True)
class SuccessorLink:
    successor: Unit
    share: float | None  # the documented share of a split; None for a whole merge
    mappable: bool  # False for a split with no documented shares


def successor_specs(unit: Unit) -> list[tuple[str, float | None]]:
    """The ``successor_code`` column: codes separated by spaces, each ``code`` or
    ``code:share`` (a split's documented share of the old unit's figures)."""
    specs = []
    for item in unit.successor_code.split():
        code, _, share = item.partition(":")
        specs.append((code, float(share) if share else None))
    return specs


def parent(catalog: Catalog, unit: Unit) -> Unit | None:
    """The parent version that exists while ``unit`` does (on its last day)."""
    if not unit.parent_code:
        return None
    found = catalog.unit_on(unit.parent_code, unit.valid_to) or catalog.unit_on(
        unit.parent_code, unit.valid_from
    )
    if found is None:
        raise HierarchyError(f"{unit.key}: parent {unit.parent_code} does not exist then")
    return found


def ancestors(catalog: Catalog, unit: Unit) -> list[Unit]:
    """Parent, grandparent, ... up to the root."""
    chain: list[Unit] = []
    current = parent(catalog, unit)
    while current is not None:
        if current in chain:
            raise HierarchyError(f"{unit.key}: the parent chain loops at {current.key}")
        chain.append(current)
        current = parent(catalog, current)
    return chain


def successors(catalog: Catalog, unit: Unit) -> list[SuccessorLink]:
    """The versions that took over ``unit`` when it ended. A split is mappable only when
    every part has a documented share and the shares add up to 1."""
    specs = successor_specs(unit)
    if not specs:
        return []
    day = unit.valid_to + dt.timedelta(days=1)
    shares = [share for _, share in specs]
    if len(specs) == 1:
        mappable, shares = True, [None]
    else:
        known = [s for s in shares if s is not None]
        mappable = len(known) == len(shares) and abs(sum(known) - 1) < 1e-9
    links = []
    for (code, _), share in zip(specs, shares, strict=True):
        found = catalog.unit_on(code, day)
        if found is None:
            raise HierarchyError(f"{unit.key}: successor {code} does not exist on {day}")
        links.append(SuccessorLink(found, share, mappable))
    return links


def current_versions(catalog: Catalog, unit: Unit) -> list[tuple[Unit, float | None, bool]]:
    """Where ``unit`` ends up through every later reform: the versions that have no
    successor, with the product of the shares on the way and whether the path is mappable."""
    links = successors(catalog, unit)
    if not links:  # a unit of today, or one abolished with nothing after it (a district)
        return [(unit, None, True)] if unit.valid_to == FAR_FUTURE else []
    result: list[tuple[Unit, float | None, bool]] = []
    for link in links:
        for final, share, mappable in current_versions(catalog, link.successor):
            if link.share is None:
                combined = share
            else:
                combined = link.share * (1.0 if share is None else share)
            result.append((final, combined, mappable and link.mappable))
    return result


def tree_rows(catalog: Catalog) -> dict[str, list[dict[str, Any]]]:
    """Rows of ``unit_tree`` (each unit with itself and every ancestor, by depth) and of
    ``unit_successors`` (direct links) and ``unit_current`` (where each unit ends up)."""
    tree, links, current = [], [], []
    for unit in catalog.units:
        tree.append({"ancestor_key": unit.key, "unit_key": unit.key, "depth": 0})
        for depth, above in enumerate(ancestors(catalog, unit), start=1):
            tree.append({"ancestor_key": above.key, "unit_key": unit.key, "depth": depth})
        for link in successors(catalog, unit):
            links.append(
                {
                    "unit_key": unit.key,
                    "successor_key": link.successor.key,
                    "share": link.share,
                    "mappable": int(link.mappable),
                }
            )
        for final, share, mappable in current_versions(catalog, unit):
            current.append(
                {
                    "unit_key": unit.key,
                    "current_key": final.key,
                    "share": share,
                    "mappable": int(mappable),
                }
            )
    return {"unit_tree": tree, "unit_successors": links, "unit_current": current}


def predecessors(catalog: Catalog, unit: Unit) -> list[Unit]:
    """The units whose figures map onto ``unit`` as it is now (itself included)."""
    rows = tree_rows(catalog)["unit_current"]
    keys = {r["unit_key"] for r in rows if r["current_key"] == unit.key}
    return [u for u in catalog.units if u.key in keys]


def overseer(catalog: Catalog, code: str, day: dt.date | None = None) -> str | None:
    """The code of the nearest unit above unit ``code`` (its version on ``day``, else its
    latest) that has oversight recipients: the district for its communes and agencies before
    the reform, the province for its communes after it."""
    versions = catalog.units_by_code.get(code, ())
    unit = (catalog.unit_on(code, day) if day else None) or (versions[-1] if versions else None)
    if unit is None:
        return None
    for above in ancestors(catalog, unit):
        if catalog.emails(above.code, "oversight"):
            return above.code
    # a unit with nobody above it (huyện Tháp Mười's own forms, no province contact) is
    # followed up by its own oversight contacts
    return unit.code if catalog.emails(unit.code, "oversight") else None


def oversight_emails(catalog: Catalog, code: str | None, day: dt.date | None = None) -> list[str]:
    """Who oversees unit ``code``; for a file whose unit is unknown, every overseer."""
    found = overseer(catalog, code, day) if code else None
    if found is not None:
        return list(catalog.emails(found, "oversight"))
    if code and catalog.units_by_code.get(code):
        return []
    everyone: list[str] = []
    for (_, role), emails in sorted(catalog.recipients.items()):
        everyone += [e for e in emails if role == "oversight" and e not in everyone]
    return everyone
