import pytest

from commune_reports.sample_data import sample_values as _sample_values


@pytest.fixture(scope="session")
def sample_values() -> dict:
    return _sample_values()
