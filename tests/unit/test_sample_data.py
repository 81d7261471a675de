from commune_reports.sample_data import DISSEMINATION_TOTAL, split


def _sum(values: dict, metric: str, year: str, level: str) -> int:
    district = {"872-VP", "872-MC", "872-NV", "872-TP", "872-VHTT", "872-TTR", "872"}
    return sum(
        v.get(metric, 0)
        for (unit, period), v in values.items()
        if period.startswith(year) and (unit in district) == (level == "district")
    )


def test_sample_reproduces_the_report(sample_values: dict) -> None:
    assert sum(v.get("dissemination_sessions", 0) for v in sample_values.values()) == 256
    assert DISSEMINATION_TOTAL == 256
    expected = {
        ("2022", "district"): (2384, 4727),
        ("2022", "commune"): (16021, 45998),
        ("2023", "district"): (3447, 4162),
        ("2023", "commune"): (18888, 27021),
    }
    for (year, level), (online, total) in expected.items():
        assert _sum(sample_values, "dossiers_received_online", year, level) == online
        assert _sum(sample_values, "dossiers_received_total", year, level) == total


def test_split_is_exact_and_proportional() -> None:
    parts = split(4727, [3, 1, 1, 5])
    assert sum(parts) == 4727
    assert parts == [1418, 473, 473, 2363]  # 1418.1, 472.7, 472.7, 2363.5: largest remainders
    assert split(10, [1, 1, 1]) == [4, 3, 3]
