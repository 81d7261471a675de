"""The ``commune-reports`` command line: the same functions as the DAG tasks.

Exit codes are those of :mod:`commune_reports.failures`; a failure is told in one line and its
traceback goes to ``<COMMUNE_REPORTS_HOME>/logs/commune-reports.log`` (or to the screen with
``--debug``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from commune_reports.failures import (
    EXIT_CODES,
    EXIT_DISAGREES,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_UNPROCESSED,
    EXIT_USAGE,
    explain,
    mask,
)
from commune_reports.redact import MaskingFilter
from commune_reports.settings import load_settings

log = logging.getLogger("commune_reports.cli")
READ_ONLY = {
    "report",
    "completeness",
    "template",
    "catalog",
}  # nothing of theirs to resume after a failure


def _cmd_template(args: argparse.Namespace) -> int:
    from commune_reports.template import TemplateError, write_form

    try:
        path = write_form(args.unit, args.period, Path(args.out))
    except (TemplateError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    print(path)
    return 0


_STATUS_TEXT = {
    "accepted": ("đã nhận", "accepted"),
    "rejected": ("bị từ chối", "rejected"),
    "superseded": (
        "hợp lệ, nhưng đã có bản gửi sau thay thế",
        "valid, replaced by a later delivery",
    ),
    "duplicate": ("đã nhận trước đó", "already received"),
    "in_progress": (
        "một lượt chạy khác đang xử lý; kết quả sẽ có trong kho khi lượt đó xong",
        "another run is processing it; its result will be in the warehouse when that run ends",
    ),
    "left_for_later": ("để lần sau", "left for a later run"),
    "skipped": ("bỏ qua", "skipped"),
    "pending_correction": (
        "kỳ đã được duyệt: bản sửa chờ huyện quyết định, chưa tính vào số liệu",
        "the period is approved: a correction awaiting the district's decision, not yet counted",
    ),
    "declined": ("bản sửa đã bị từ chối", "a correction that was declined"),
    "held": (
        "bị giữ lại: số liệu không khớp biểu khác của đơn vị (xem: commune-reports held)",
        "held: its figures do not reconcile with the unit's other forms (see: commune-reports "
        "held)",
    ),
}


def _ingest_line(r: dict[str, Any]) -> str:
    from commune_reports.sources import SKIP_REASONS

    vi, en = _STATUS_TEXT[r["status"]]
    if r["status"] == "duplicate" and r["earlier_status"]:
        vi, en = f"{vi} ({_STATUS_TEXT[r['earlier_status']][0]})", f"{en} ({r['earlier_status']})"
    if r["reason"] in SKIP_REASONS:
        vi, en = f"{vi}: {SKIP_REASONS[r['reason']][0]}", f"{en}: {SKIP_REASONS[r['reason']][1]}"
    if r["reason"] == "changed_while_reading":
        vi, en = f"{vi}: tệp thay đổi khi đang đọc", f"{en}: the file changed while being read"
    unit = f"  ({r['unit'] or '?'} {r['period'] or '?'})" if r["submission_id"] else ""
    return f"{r['status']:<14} {r['file']}{unit}\n    {vi} / {en}"


def _cmd_ingest(args: argparse.Namespace) -> int:
    from commune_reports.pipeline import ingest_paths

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"không tìm thấy / not found: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    results = ingest_paths(
        load_settings(), [Path(p) for p in args.paths], received_at=args.received_at
    )
    if args.format == "json":
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for r in results:
            print(_ingest_line(r))
            for e in r["errors"]:
                where = "!".join(x for x in (e["sheet"], e["cell"]) if x)
                print(
                    f"    [{where}] {e['message_vi']}\n    {' ' * (len(where) + 2)} "
                    f"{e['message_en']}"
                )
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    if not results:
        print(
            f"không tìm thấy tệp nào để nhận trong {', '.join(args.paths)} / no files to ingest "
            f"in {', '.join(args.paths)}",
            file=sys.stderr,
        )
        return EXIT_UNPROCESSED
    print(
        f"{len(results)} tệp / files: "
        + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())),
        file=sys.stderr,
    )
    if counts.keys() & {"in_progress", "left_for_later", "skipped"}:
        return EXIT_UNPROCESSED
    return EXIT_REJECTED if "rejected" in counts else EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    from commune_reports.periods import parse_period_range
    from commune_reports.pipeline import run_periods

    summary = run_periods(load_settings(), parse_period_range(args.periods))
    print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    return EXIT_OK


def _cmd_discover(args: argparse.Namespace) -> int:
    from commune_reports import stages
    from commune_reports.intake.take import take_configured
    from commune_reports.periods import parse_period_range

    settings = load_settings()
    now = dt.datetime.now(dt.UTC)
    taken = take_configured(settings, f"discovery-{now:%Y%m%dT%H%M%S}-{os.getpid()}", now)
    found = stages.register_inbox(settings, parse_period_range(args.periods), now)
    print(
        json.dumps({**found, **({"sources": taken} if taken else {})}, ensure_ascii=False, indent=2)
    )
    return EXIT_OK


def _warehouse() -> tuple[Any, Any]:
    """The settings and the warehouse's engine, its schema brought up to date."""
    from commune_reports.warehouse import ensure_schema, get_engine

    settings = load_settings()
    engine = get_engine(settings.warehouse_url)
    ensure_schema(engine)
    return settings, engine


def _cmd_report(args: argparse.Namespace) -> int:
    from commune_reports.report import approval_section, figure_rows, load_figures, render_text

    if (args.format == "docx") != (args.out is not None):
        print(
            "--format docx cần --out FILE.docx, và ngược lại / --format docx takes --out "
            "FILE.docx, and --out only goes with it",
            file=sys.stderr,
        )
        return EXIT_USAGE
    settings, engine = _warehouse()
    try:
        figures = load_figures(engine, args.period, unit=args.unit, as_now=args.as_ == "now")
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if figures.empty:
        print(
            f"chưa có số liệu cho kỳ {args.period} trong kho dữ liệu / "
            f"no figures for period {args.period} in the warehouse "
            f"({mask(settings.warehouse_url)})",
            file=sys.stderr,
        )
        return 1
    if args.format == "docx":
        from commune_reports.publish.document import write_document

        issued = args.issued or dt.date.today().year
        print(write_document(figures, None, Path(args.out), issued=issued, title=args.title))
    elif args.format == "json":
        print(json.dumps(figure_rows(figures), ensure_ascii=False, indent=2))
    else:
        print(render_text(figures) + approval_section(engine, args.period), end="")
    return 0


def _cmd_trace(args: argparse.Namespace) -> int:
    from commune_reports.lineage import TraceError, render_trace, trace

    _, engine = _warehouse()
    try:
        found = trace(engine, args.unit, args.period, args.metric, args.level, args.as_ == "now")
    except (TraceError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    if found.value is None and not any(p.cells for p in found.parts):
        print(
            f"chưa có số liệu {args.metric} của {args.unit} kỳ {args.period} / "
            f"no figure {args.metric} of {args.unit} for {args.period} in the warehouse",
            file=sys.stderr,
        )
        return 1
    if args.format == "json":
        print(json.dumps(found.json(), ensure_ascii=False, indent=2))
    else:
        print(render_trace(found), end="")
    return EXIT_OK if found.agrees else EXIT_DISAGREES


def _cmd_export(args: argparse.Namespace) -> int:
    from commune_reports.exports import ExportError, export

    _, engine = _warehouse()
    out = Path(args.out)
    try:
        written = export(
            engine, args.period, out, args.format, args.what, args.unit, args.as_ == "now"
        )
    except (ExportError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    print(f"{written} → {out}")
    return EXIT_OK


def _who(args: argparse.Namespace) -> str:
    import getpass

    return args.by or os.environ.get("COMMUNE_REPORTS_APPROVER") or getpass.getuser()


def _cmd_approve(args: argparse.Namespace) -> int:
    from commune_reports.approvals import ApprovalError, decide, render_state, state
    from commune_reports.periods import parse_period

    settings, engine = _warehouse()
    try:
        period = parse_period(args.period)
        done = decide(
            settings,
            period,
            _who(args),
            "cli",
            dt.datetime.now(dt.UTC),
            approve=not args.not_approved,
            note=args.note,
        )
    except (ApprovalError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    if args.format == "json":
        print(json.dumps(done, ensure_ascii=False, indent=2))
    else:
        print(render_state(state(engine, period)), end="")
        if done["corrections_applied"]:
            print(
                f"{len(done['corrections_applied'])} bản sửa đã áp dụng / corrections applied: "
                + ", ".join(sid[:12] for sid in done["corrections_applied"])
            )
    return EXIT_OK


def _cmd_corrections(args: argparse.Namespace) -> int:
    from commune_reports.approvals import ApprovalError, as_dict, decline, render_state, state
    from commune_reports.periods import parse_period

    settings, engine = _warehouse()
    try:
        period = parse_period(args.period)
        if args.decline:
            done = decline(settings, args.decline, _who(args), args.note)
            print(
                f"đã từ chối bản sửa {done['submission_id'][:12]} / declined correction "
                f"{done['submission_id'][:12]} ({done['decided_by']})"
            )
    except (ApprovalError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    states = state(engine, period)
    if args.format == "json":
        print(json.dumps(as_dict(states), ensure_ascii=False, indent=2))
    else:
        print(render_state(states), end="")
    return EXIT_OK


def _cmd_held(args: argparse.Namespace) -> int:
    """The files a blocking check holds, with why; ``--release`` loads one as sent."""
    from commune_reports.holds import HoldError, held, release

    settings, engine = _warehouse()
    if args.release:
        try:
            done = release(settings, args.release, _who(args), args.note)
        except HoldError as exc:
            print(exc, file=sys.stderr)
            return EXIT_USAGE
        print(
            f"đã cho phép nạp tệp {done['submission_id'][:12]} / released "
            f"{done['submission_id'][:12]} ({done['released_by']})"
        )
    with engine.connect() as conn:
        files = held(conn, args.period)
    if args.format == "json":
        print(json.dumps(files, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not files:
        print("không có tệp nào bị giữ / no file is held")
    for f in files:
        print(f"{f['submission_id'][:12]} {f['unit']} {f['period']} {f['file']}")
        for x in f["findings"]:
            print(f"   - {x['vi']}")
            print(f"     {x['en']}")
    return EXIT_OK


def _today() -> dt.date:
    from zoneinfo import ZoneInfo

    from commune_reports.periods import TIMEZONE

    return dt.datetime.now(ZoneInfo(TIMEZONE)).date()


def _moment(text: str) -> dt.datetime:
    """An ISO date and time; without an offset it is Asia/Ho_Chi_Minh time."""
    from zoneinfo import ZoneInfo

    from commune_reports.periods import TIMEZONE

    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"expected a date and time such as 2023-12-10T09:00, not {text!r}"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(TIMEZONE))


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, not {text!r}") from exc


def _issue_date(text: str) -> Any:
    """The issue date of a document as far as it is known: YYYY, YYYY-MM or YYYY-MM-DD."""
    from commune_reports.publish.document import IssueDate

    try:
        return IssueDate.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


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
    try:
        report = completeness_report(
            engine, period, end_of_day(args.as_of or _today()), unit=args.unit
        )
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
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
    from commune_reports.notices import send_file_notices

    engine = get_engine(load_settings().warehouse_url)
    now = dt.datetime.now(dt.UTC)
    try:
        sent = send_due(
            engine, parse_period_range(args.period), args.as_of or _today(), channels, now
        )
        sent += send_file_notices(engine, channels, now)
        from commune_reports.intake.replies import send_configured

        sent += send_configured(engine, channels, now)
    except DeliveryError as exc:
        print(mask(str(exc)), file=sys.stderr)
        return EXIT_ERROR
    print(json.dumps(sent, ensure_ascii=False, indent=2))
    return EXIT_OK


def _cmd_create_reader(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from commune_reports.access import AccessError, create_reader
    from commune_reports.warehouse import get_engine

    password = None
    if args.password_env:
        password = os.environ.get(args.password_env)
        if not password:
            print(f"{args.password_env} is not set or empty", file=sys.stderr)
            return EXIT_USAGE
    url = load_settings().warehouse_url
    try:
        database = create_reader(get_engine(url), args.name, password)
    except AccessError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    reader_url = make_url(url).set(username=args.name, password=None, database=database)
    print(
        f"{args.name}: chỉ đọc kho dữ liệu {database} / read-only on the warehouse {database}\n"
        f"  {reader_url.render_as_string(hide_password=True)}"
    )
    return EXIT_OK


def _schema_state(status: Any) -> str:
    """Where a warehouse's schema stands, in words."""
    if status.revision is not None:
        return status.revision
    if status.baseline is not None:
        return f"{status.baseline} (schema_migrations, before Alembic)"
    return "none (a new warehouse)"


def _cmd_warehouse_upgrade(args: argparse.Namespace) -> int:
    from commune_reports import migrations
    from commune_reports.warehouse import ensure_schema, get_engine

    url = load_settings().warehouse_url
    engine = get_engine(url)
    try:
        with engine.connect() as conn:
            before = migrations.status(conn)
        ensure_schema(engine)  # the revisions, the catalog and the marts they change
        with engine.connect() as conn:
            after = migrations.revision_of(conn)
    except migrations.SchemaVersionError as exc:
        print(exc, file=sys.stderr)
        return EXIT_ERROR
    ran = before.pending if before.revision != after else []
    done = f"was {_schema_state(before)}" if ran else "nothing to do"
    print(
        f"kho dữ liệu {mask(url)}: lược đồ ở phiên bản {after} / the warehouse {mask(url)}: "
        f"schema at {after} (head), {done}"
    )
    for script in ran:
        print(f"  {script.revision} {script.doc}")
    return EXIT_OK


def _cmd_warehouse_current(args: argparse.Namespace) -> int:
    from commune_reports import migrations
    from commune_reports.warehouse import get_engine

    url = load_settings().warehouse_url
    try:
        with get_engine(url).connect() as conn:
            status = migrations.status(conn)
    except migrations.SchemaVersionError as exc:
        print(exc, file=sys.stderr)
        return EXIT_ERROR
    print(f"{mask(url)}: schema {_schema_state(status)}, head {status.head}")
    if not status.pending:
        print("  up to date")
    for script in status.pending:
        print(f"  pending {script.revision} {script.doc}")
    if status.pending:
        print("  (commune-reports warehouse upgrade applies them, as does any command that writes)")
    return EXIT_OK


def _cmd_warehouse_history(args: argparse.Namespace) -> int:
    from commune_reports import migrations

    for script in migrations.chain():
        print(f"{script.revision} {script.doc} (sql/schema/{script.module.SQL.name})")
    return EXIT_OK


def _cmd_catalog_import(args: argparse.Namespace) -> int:
    from commune_reports.catalog import CATALOG_DIR
    from commune_reports.catalog_import import CatalogImportError, write_catalog

    out = Path(args.out)
    if out.resolve() == CATALOG_DIR.resolve():
        print(
            "không ghi đè danh mục đóng gói, hãy chọn --out khác / the packaged catalog is not "
            "overwritten: choose another --out",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        count = write_catalog(out, args.province, args.district or ())
    except CatalogImportError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    print(
        f"{count} đơn vị đã ghi vào {out}/units.csv / {count} units written to {out}/units.csv\n"
        f"  COMMUNE_REPORTS_CATALOG_DIR={out.resolve()}"
    )
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="commune-reports",
        description="Commune and district report forms -> validated warehouse -> district figures.",
        epilog="exit codes: "
        + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()),
    )
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks and the libraries' log lines"
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
    p.add_argument(
        "--received-at",
        type=_moment,
        help="receipt time of historical files (ISO, Asia/Ho_Chi_Minh unless an offset is "
        "given), recorded as stated; default: now, when the files are first seen",
    )
    p.set_defaults(func=_cmd_ingest)
    p = sub.add_parser("run", help="collect the inbox folders of periods (as the DAGs do)")
    p.add_argument("--periods", required=True, help="2023Q4, 2021Q1..2023Q4 or 2021..2023")
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser(
        "discover",
        help="record the new files of the periods' inbox folders as received now, nothing more "
        "(run it often in a submission window: the receipt time is when a file is first seen)",
    )
    p.add_argument("--periods", required=True, help="2023Q4, 2021Q1..2023Q4 or 2021..2023")
    p.set_defaults(func=_cmd_discover)
    p = sub.add_parser(
        "report", help="print the figures of a unit (district, province) for a period"
    )
    p.add_argument("--period", required=True, help="2023Q4, 2023 or 2021..2023")
    p.add_argument(
        "--unit",
        help="unit code, e.g. 872 or 87 (default: the smallest unit above every unit that "
        "reported)",
    )
    p.add_argument(
        "--as",
        dest="as_",
        choices=["reported", "now"],
        default="reported",
        help="reported: by the units as they were; now: mapped onto today's units",
    )
    p.add_argument(
        "--format",
        choices=["text", "json", "docx"],
        default="text",
        help="docx: the report as a draft Word document to edit, sign and issue (with --out)",
    )
    p.add_argument("--out", help="docx: the file to write")
    p.add_argument(
        "--issued",
        type=_issue_date,
        help="docx: the issue date as far as known, YYYY, YYYY-MM or YYYY-MM-DD (default: this "
        "year; the day and month are left blank)",
    )
    p.add_argument(
        "--title", help="docx: the report's title under BÁO CÁO (default from the period)"
    )
    p.set_defaults(func=_cmd_report)
    p = sub.add_parser(
        "trace",
        help="list every file, sheet, cell and value behind one figure of a report",
    )
    p.add_argument("--unit", required=True, help="unit code, e.g. 872")
    p.add_argument("--period", required=True, help="2023Q4, 2022 or 2021..2023")
    p.add_argument("--metric", required=True, help="a metric or rate code, e.g. online_filing_rate")
    p.add_argument("--level", choices=["all", "district", "commune"], default="all")
    p.add_argument("--as", dest="as_", choices=["reported", "now"], default="reported")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=_cmd_trace)
    p = sub.add_parser(
        "export", help="write figures or facts as CSV or XLSX, or facts for DHIS2 (JSON, ADX)"
    )
    p.add_argument("--period", required=True, help="2023Q4, 2023 or 2021..2023")
    p.add_argument("--unit", help="unit code (default: as report)")
    p.add_argument("--as", dest="as_", choices=["reported", "now"], default="reported")
    p.add_argument("--what", choices=["figures", "facts"], default="figures")
    p.add_argument(
        "--format",
        choices=["csv", "xlsx", "dhis2", "adx"],
        default="csv",
        help="dhis2 (dataValueSets JSON) and adx always export the facts",
    )
    p.add_argument("--out", required=True, help="the file to write")
    p.set_defaults(func=_cmd_export)
    p = sub.add_parser("completeness", help="who has reported for a period, and the rates")
    p.add_argument("--period", required=True, help="2023Q4 or 2023")
    p.add_argument("--as-of", type=_date, help="count deliveries up to this day (default today)")
    p.add_argument("--unit", help="only the units under this one, e.g. 873 (a district) or 82")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=_cmd_completeness)
    p = sub.add_parser("alerts", help="send the reminders, roll-ups and escalations now due")
    p.add_argument("--period", required=True, help="2023Q4, 2023 or a range")
    p.add_argument("--as-of", type=_date, help="the day to act as (default today)")
    p.set_defaults(func=_cmd_alerts)
    p = sub.add_parser(
        "approve",
        help="approve a period's report (applies its pending corrections and locks it: a later "
        "delivery waits as a pending correction until approved)",
    )
    p.add_argument("--period", required=True, help="2023Q4 or 2023")
    p.add_argument("--by", help="who approves (default $COMMUNE_REPORTS_APPROVER, else the user)")
    p.add_argument("--note", help="a note kept with the decision")
    p.add_argument(
        "--not-approved",
        action="store_true",
        help="record that the report is not approved (nothing is applied)",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=_cmd_approve)
    p = sub.add_parser(
        "corrections",
        help="a period's approval and its pending corrections, with what each would change",
    )
    p.add_argument("--period", required=True, help="2023Q4 or 2023")
    p.add_argument("--decline", metavar="ID", help="decline this pending correction (id prefix)")
    p.add_argument("--by", help="who declines (default $COMMUNE_REPORTS_APPROVER, else the user)")
    p.add_argument("--note", help="why, kept with the decision")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=_cmd_corrections)
    p = sub.add_parser(
        "held",
        help="files held by a blocking check (their forms do not reconcile), and why; "
        "--release loads one as sent",
    )
    p.add_argument("--period", help="only this period's files (2023 or 2023Q4)")
    p.add_argument("--release", metavar="ID", help="load this held file as sent (id prefix)")
    p.add_argument("--by", help="who releases (default $COMMUNE_REPORTS_APPROVER, else the user)")
    p.add_argument("--note", help="why, kept in the file's history")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=_cmd_held)
    p = sub.add_parser("catalog", help="build the unit catalog from the national lists")
    actions = p.add_subparsers(dest="action", required=True)
    p = actions.add_parser(
        "import",
        help="write a catalog folder whose units.csv comes from the pinned vietnamadminunits "
        "package: the old provinces, districts and communes with their 2025 successors, and "
        "the new provinces and communes; agencies and the other files are copied from the "
        "current catalog",
    )
    p.add_argument(
        "--province",
        action="append",
        required=True,
        help="old GSO province code, e.g. 87 (repeat it; 'all' for the whole country)",
    )
    p.add_argument("--district", action="append", help="only this district, e.g. 872 (repeat it)")
    p.add_argument("--out", required=True, help="the catalog folder to write")
    p.set_defaults(func=_cmd_catalog_import)
    p = sub.add_parser("warehouse", help="administer the warehouse: its schema, analysts' logins")
    actions = p.add_subparsers(dest="action", required=True)
    p = actions.add_parser(
        "create-reader",
        help="create or reset a read-only login for an analyst: it can read every table and "
        "view, and cannot insert, update, delete or create",
    )
    p.add_argument("name", help="the login role, e.g. analyst_thapmuoi")
    p.add_argument(
        "--password-env",
        metavar="VAR",
        help="take its password from this environment variable (never from the command line)",
    )
    p.set_defaults(func=_cmd_create_reader)
    p = actions.add_parser(
        "upgrade",
        help="bring the schema to the last revision now (each revision runs one file of "
        "sql/schema; a warehouse from before Alembic is first stamped from schema_migrations), "
        "then the catalog and the marts, in one transaction; any command that writes does it too",
    )
    p.set_defaults(func=_cmd_warehouse_upgrade)
    p = actions.add_parser(
        "current", help="the schema revision the warehouse is at and those still to apply"
    )
    p.set_defaults(func=_cmd_warehouse_current)
    p = actions.add_parser("history", help="every schema revision, oldest first, with its file")
    p.set_defaults(func=_cmd_warehouse_history)
    return parser


def _log_file() -> Path:
    return (
        Path(os.environ.get("COMMUNE_REPORTS_HOME", "data")).resolve()
        / "logs"
        / "commune-reports.log"
    )


def _configure_logging(debug: bool) -> None:
    """Warnings of this project on the screen; everything else (Great Expectations, Airflow's
    libraries) only with ``--debug``; progress lines when a person watches a terminal."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(lambda r: debug or r.name.startswith("commune_reports"))
    handler.addFilter(MaskingFilter())
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, handlers=[handler])
    if not debug:
        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        if sys.stderr.isatty():
            logging.getLogger("commune_reports.progress").setLevel(logging.INFO)


def _keep_traceback(exc: BaseException) -> Path | None:
    """Append the traceback to the log file; None if even that cannot be written (a full
    disk, say)."""
    path = _log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            out.write(f"--- {stamp} commune-reports {' '.join(sys.argv[1:])}\n")
            out.write(mask("".join(traceback.format_exception(exc))))
        return path
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.debug)
    try:
        code = args.func(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # the reader went away (`... | head`): stop quietly, with nothing more to write
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (Exception, KeyboardInterrupt) as exc:
        failure = explain(exc, load_settings().warehouse_url, args.command not in READ_ONLY)
        if args.debug:
            traceback.print_exception(exc, file=sys.stderr)
        kept = _keep_traceback(exc)
        print(failure.message, file=sys.stderr)
        if kept is not None and not args.debug:
            print(f"(traceback: {kept})", file=sys.stderr)
        return failure.code


if __name__ == "__main__":
    sys.exit(main())
