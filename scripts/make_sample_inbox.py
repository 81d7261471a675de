"""Write the sample inbox: every unit's forms for 2021Q1-2023Q4 and 2021-2023, filled with
:mod:`commune_reports.sample_data`. Deterministic: running it twice gives the same bytes.

    .venv/bin/python scripts/make_sample_inbox.py [OUT_DIR]
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from commune_reports.sample_data import sample_values
from commune_reports.settings import SAMPLE_INBOX
from commune_reports.template import write_form


def main(out: Path = SAMPLE_INBOX) -> None:
    if out.exists():
        shutil.rmtree(out)
    values = sample_values()
    for (unit, period), metrics in sorted(values.items()):
        write_form(unit, period, out / period / f"{unit}_{period}.xlsx", metrics)
    print(f"{len(values)} forms written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE_INBOX)
