"""The unit tree and the 2025 reform as the catalog records them (domain brief §2)."""

import datetime as dt

import pytest

from commune_reports.catalog import load_catalog
from commune_reports.hierarchy import (
    HierarchyError,
    ancestors,
    predecessors,
    successors,
    tree_rows,
)

CATALOG = load_catalog()
BEFORE = dt.date(2023, 12, 31)
AFTER = dt.date(2025, 7, 1)

# Resolution 1663/NQ-UBTVQH15: Tháp Mười's 13 units became 6 communes of the new Đồng Tháp.
NEW_COMMUNES = {
    "30037": {"30037", "30052", "30064"},
    "30043": {"30043"},  # also 30082 of huyện Cao Lãnh, which the catalog does not hold yet
    "30046": {"30040", "30046"},
    "30055": {"30055", "30058", "30070"},
    "30061": {"30049", "30061"},
    "30073": {"30067", "30073"},
}


def _unit(code: str, day: dt.date, catalog=CATALOG):
    found = catalog.unit_on(code, day)
    assert found is not None, code
    return found


def test_parents_are_the_versions_of_their_time() -> None:
    assert [u.key for u in ancestors(CATALOG, _unit("30040", BEFORE))] == [
        "872@1900-01-01",
        "87@1900-01-01",
    ]
    assert [u.key for u in ancestors(CATALOG, _unit("872-MC", BEFORE))] == [
        "872@1900-01-01",
        "87@1900-01-01",
    ]
    # code 30037 is reused: after the reform it sits directly under the new province
    assert [u.key for u in ancestors(CATALOG, _unit("30037", AFTER))] == ["82@2025-07-01"]


def test_every_unit_under_the_district_is_in_its_subtree() -> None:
    rows = tree_rows(CATALOG)["unit_tree"]
    under_872 = {r["unit_key"] for r in rows if r["ancestor_key"] == "872@1900-01-01"}
    assert len(under_872) == 1 + 13 + 6  # itself, its communes, its agencies
    under_87 = {r["unit_key"] for r in rows if r["ancestor_key"] == "87@1900-01-01"}
    assert under_87 == under_872 | {"87@1900-01-01"}
    under_82 = {r["unit_key"] for r in rows if r["ancestor_key"] == "82@2025-07-01"}
    assert len(under_82) == 1 + 6


def test_the_six_new_communes_take_their_predecessors() -> None:
    for code, old in NEW_COMMUNES.items():
        new = _unit(code, AFTER)
        got = {u.code for u in predecessors(CATALOG, new) if u.valid_to < AFTER}
        assert got == old, code
    # a merge passes figures whole; the district and its agencies map to no unit of today
    merged = successors(CATALOG, _unit("30052", BEFORE))
    assert [(link.successor.key, link.share) for link in merged] == [("30037@2025-07-01", None)]
    current = {r["unit_key"] for r in tree_rows(CATALOG)["unit_current"]}
    assert "872@1900-01-01" not in current and "872-NV@1900-01-01" not in current


def _with(unit_code: str, successor_code: str):
    from dataclasses import replace

    units = tuple(
        replace(u, successor_code=successor_code) if u.key == f"{unit_code}@1900-01-01" else u
        for u in CATALOG.units
    )
    return replace(
        CATALOG,
        units=units,
        units_by_code={
            code: tuple(u for u in units if u.code == code) for code in CATALOG.units_by_code
        },
    )


def test_a_split_maps_by_documented_shares_or_not_at_all() -> None:
    split = _with("30058", "30055:0.25 30037:0.75")
    links = successors(split, _unit("30058", BEFORE, split))
    assert [(link.successor.code, link.share, link.mappable) for link in links] == [
        ("30055", 0.25, True),
        ("30037", 0.75, True),
    ]
    unknown = _with("30058", "30055 30037")
    links = successors(unknown, _unit("30058", BEFORE, unknown))
    assert {link.mappable for link in links} == {False}
    rows = [r for r in tree_rows(unknown)["unit_current"] if r["unit_key"] == "30058@1900-01-01"]
    assert {r["mappable"] for r in rows} == {0}


def test_a_successor_that_does_not_exist_is_an_error() -> None:
    with pytest.raises(HierarchyError, match="successor 99999"):
        broken = _with("30058", "99999")
        successors(broken, _unit("30058", BEFORE, broken))
