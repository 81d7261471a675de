"""The ``commune-reports`` command line: the same functions as the DAG tasks."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path

from commune_reports.settings import load_settings

EXIT_REJECTED = 3


def _cmd_template(args: argparse.Namespace) -> int:
    from commune_reports.template import TemplateError, write_form

    try:
        path = write_form(args.unit, args.period, Path(args.out))
    except (TemplateError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    print(path)
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from commune_reports.pipeline import ingest_paths

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"không tìm thấy / not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    results = ingest_paths(load_settings(), [Path(p) for p in args.paths])
    if args.format == "json":
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for r in results:
            print(f"{r['status']:<10} {r['file']}  ({r['unit'] or '?'} {r['period'] or '?'})")
            for e in r["errors"]:
                where = "!".join(x for x in (e["sheet"], e["cell"]) if x)
                print(
                    f"    [{where}] {e['message_vi']}\n    {' ' * (len(where) + 2)} "
                    f"{e['message_en']}"
                )
    return EXIT_REJECTED if any(r["status"] == "rejected" for r in results) else 0


def _cmd_run(args: argparse.Namespace) -> int:
    from commune_reports.periods import parse_period_range
    from commune_reports.pipeline import run_periods

    summary = run_periods(load_settings(), parse_period_range(args.periods))
    print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from commune_reports.report import figure_rows, load_figures, render_text
    from commune_reports.warehouse import ensure_schema, get_engine

    settings = load_settings()
    engine = get_engine(settings.warehouse_url)
    ensure_schema(engine)
    try:
        figures = load_figures(engine, args.period)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if figures.empty:
        print(
            f"chưa có số liệu cho kỳ {args.period} trong kho dữ liệu / "
            f"no figures for period {args.period} in the warehouse ({settings.warehouse_url})",
            file=sys.stderr,
        )
        return 1
    if args.format == "json":
        print(json.dumps(figure_rows(figures), ensure_ascii=False, indent=2))
    else:
        print(render_text(figures), end="")
    return 0


def _today() -> dt.date:
    from zoneinfo import ZoneInfo

    from commune_reports.periods import TIMEZONE

    return dt.datetime.now(ZoneInfo(TIMEZONE)).date()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, not {text!r}") from exc


def _cmd_completeness(args: argparse.Namespace) -> int:
    from commune_reports.completeness import completeness_report, end_of_day, render_text
    from commune_reports.periods import parse_period
    from commune_reports.warehouse import get_engine

    try:
        period = parse_period(args.period)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    engine = get_engine(load_settings().warehouse_url)
    report = completeness_report(engine, period, end_of_day(args.as_of or _today()))
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(render_text(report), end="")
    return 0


def _cmd_alerts(args: argparse.Namespace) -> int:
    from commune_reports.alerts import send_due
    from commune_reports.channels import DeliveryError, channels_from_env
    from commune_reports.periods import parse_period_range
    from commune_reports.warehouse import get_engine

    channels = channels_from_env()
    if not channels:
        print(
            "chưa cấu hình kênh gửi / no channel configured: set COMMUNE_REPORTS_SMTP_HOST "
            "and/or COMMUNE_REPORTS_WEBHOOK_URL",
            file=sys.stderr,
        )
        return 2
    engine = get_engine(load_settings().warehouse_url)
    try:
        sent = send_due(
            engine,
            parse_period_range(args.period),
            args.as_of or _today(),
            channels,
            dt.datetime.now(dt.UTC),
        )
    except DeliveryError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps(sent, ensure_ascii=False, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="commune-reports",
        description="Commune and district report forms -> validated warehouse -> district figures.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("template", help="write the form of a unit and period")
    p.add_argument("--unit", required=True)
    p.add_argument("--period", required=True, help="2023Q4 or 2023")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_template)
    p = sub.add_parser("ingest", help="load files or folders now")
    p.add_argument("paths", nargs="+")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=_cmd_ingest)
    p = sub.add_parser("run", help="collect the inbox folders of periods (as the DAGs do)")
    p.add_argument("--periods", required=True, help="2023Q4, 2021Q1..2023Q4 or 2021..2023")
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser("report", help="print the district figures of a period")
    p.add_argument("--period", required=True, help="2023Q4, 2023 or 2021..2023")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=_cmd_report)
    p = sub.add_parser("completeness", help="who has reported for a period, and the rates")
    p.add_argument("--period", required=True, help="2023Q4 or 2023")
    p.add_argument("--as-of", type=_date, help="count deliveries up to this day (default today)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=_cmd_completeness)
    p = sub.add_parser("alerts", help="send the reminders, roll-ups and escalations now due")
    p.add_argument("--period", required=True, help="2023Q4, 2023 or a range")
    p.add_argument("--as-of", type=_date, help="the day to act as (default today)")
    p.set_defaults(func=_cmd_alerts)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
