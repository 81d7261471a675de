"""The HTML report's charts as inline SVG made by matplotlib: no script and no CDN, so the page
opens offline and prints as it shows. Text stays text in the SVG (``svg.fonttype: none``): the
browser draws the Vietnamese labels with its own fonts and a search finds them.

matplotlib is imported here only, when a report is published, never when a DAG is parsed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal

from commune_reports.numbers import format_vn_number, format_vn_percent

# one colour per level, the same in every chart (colour-blind safe: Okabe-Ito)
LEVEL_COLOURS = {"district": "#0072B2", "commune": "#E69F00", "all": "#009E73"}
STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "commune-reports",  # the same ids in every build: diffs show real changes
    "font.family": ["DejaVu Sans", "sans-serif"],
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[Decimal | None]]],
    percent: bool = False,
) -> str:
    """Grouped bars: one group per category (a year), one bar per series (label, colour key,
    values); a missing value leaves a gap, never a zero. Returns an ``<svg>`` element."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(6.4, 3.0), layout="constrained")
        ax = fig.add_subplot()
        width = 0.8 / max(len(series), 1)
        for i, (label, colour, values) in enumerate(series):
            xs = [c + (i - (len(series) - 1) / 2) * width for c in range(len(categories))]
            shown = [(x, float(v)) for x, v in zip(xs, values, strict=True) if v is not None]
            if not shown:
                continue
            bars = ax.bar(
                [x for x, _ in shown],
                [v for _, v in shown],
                width=width * 0.95,
                label=label,
                color=LEVEL_COLOURS.get(colour, "#555555"),
            )
            texts = [_label(Decimal(str(v)), percent) for _, v in shown]
            ax.bar_label(bars, labels=texts, padding=2, fontsize=8)
        ax.set_xticks(range(len(categories)), list(categories))
        ax.set_title(title, loc="left", fontsize=11)
        if percent:
            ax.set_ylim(0, 110)
            ax.set_ylabel("%")
        else:
            ax.margins(y=0.15)
        if len(series) > 1:
            ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    return svg[svg.index("<svg") :]


def _label(value: Decimal, percent: bool) -> str:
    if percent:
        digits = 0 if value == value.to_integral_value() else 2
        return format_vn_percent(value.quantize(Decimal("0.01")), digits)
    return format_vn_number(value)
