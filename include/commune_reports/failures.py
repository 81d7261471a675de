"""What a person at a terminal is told when a command fails: one line (what failed, what to
do) in Vietnamese and English, and an exit code; the traceback goes to the log file, or to the
screen with ``--debug``. Secrets in URLs never reach either.
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass

from commune_reports.redact import mask

__all__ = ["Failure", "explain", "mask"]

EXIT_OK = 0
EXIT_ERROR = 1  # an unexpected error: the traceback is in the log
EXIT_USAGE = 2  # a wrong argument or a path that does not exist
EXIT_REJECTED = 3  # files were rejected (each error is listed)
EXIT_UNPROCESSED = (
    4  # files were not processed (still arriving, another run has them) or none found
)
EXIT_WAREHOUSE = 5  # the warehouse cannot be reached or refused to write
EXIT_FILES = 6  # the disk is full, or a file or folder cannot be read or written
EXIT_DISAGREES = 7  # a traced figure is not what its cells add up to
EXIT_INTERRUPTED = 130  # Ctrl-C

EXIT_CODES = {
    EXIT_OK: "done",
    EXIT_ERROR: "unexpected error (the traceback is in the log, or shown with --debug)",
    EXIT_USAGE: "wrong arguments, or a path that does not exist",
    EXIT_REJECTED: "some files were rejected; every error is listed",
    EXIT_UNPROCESSED: "some files were not processed yet, or none were found",
    EXIT_WAREHOUSE: "the warehouse cannot be reached or refused to write",
    EXIT_FILES: "the disk is full, or a file or folder cannot be read or written",
    EXIT_DISAGREES: "a traced figure is not what its cells add up to",
    EXIT_INTERRUPTED: "interrupted",
}

_DISK_FULL = re.compile(r"disk is full|no space left on device|could not extend file", re.I)
_RESUME = (
    "việc đã làm được giữ lại, lần chạy sau làm tiếp phần còn lại",
    "work already done is kept, and the next run resumes the rest",
)


@dataclass(frozen=True)
class Failure:
    code: int
    message: str  # one line, Vietnamese / English


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return mask(text[0] if text else type(exc).__name__)[:300]


def explain(
    exc: BaseException, warehouse_url: str | None = None, resumable: bool = True
) -> Failure:
    """The one line and exit code for ``exc``; ``resumable`` is False for a command that only
    reads (nothing to resume: the line does not promise it)."""
    failure = _explain(exc, warehouse_url)
    if resumable:
        return failure
    message = failure.message
    for joint in ("; ", ", "):
        for part in _RESUME:
            message = message.replace(joint + part, "")
    return Failure(failure.code, message)


def _explain(exc: BaseException, warehouse_url: str | None) -> Failure:
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    from commune_reports.periods import PeriodError
    from commune_reports.warehouse import WarehouseUrlError

    where = mask(warehouse_url or "")
    if isinstance(exc, PeriodError | WarehouseUrlError):
        return Failure(EXIT_USAGE, mask(str(exc)))
    if isinstance(exc, DBAPIError) and _DISK_FULL.search(str(exc.orig or exc)):
        return Failure(
            EXIT_FILES,
            f"đĩa của kho dữ liệu {where} đầy: giải phóng dung lượng rồi chạy lại; không tệp nào "
            f"đã nhận bị mất, {_RESUME[0]} / the disk is full (the warehouse {where}): free some "
            f"space and run again; nothing received is lost, {_RESUME[1]}",
        )
    if isinstance(exc, KeyboardInterrupt):
        return Failure(
            EXIT_INTERRUPTED, f"đã dừng theo yêu cầu; {_RESUME[0]} / interrupted; {_RESUME[1]}"
        )
    if isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return Failure(
            EXIT_WAREHOUSE,
            f"không dùng được kho dữ liệu {where} ({_first_line(exc)}): kiểm tra máy chủ cơ sở dữ "
            f"liệu và địa chỉ COMMUNE_REPORTS_WAREHOUSE_URL rồi chạy lại; {_RESUME[0]} / the "
            f"warehouse {where} cannot be used ({_first_line(exc)}): check that its database "
            f"server runs and COMMUNE_REPORTS_WAREHOUSE_URL, then run again; {_RESUME[1]}",
        )
    if isinstance(exc, DBAPIError):
        return Failure(
            EXIT_WAREHOUSE,
            f"kho dữ liệu {where} từ chối ghi ({_first_line(exc)}); {_RESUME[0]} / the warehouse "
            f"{where} refused to write ({_first_line(exc)}); {_RESUME[1]}",
        )
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        path = exc.filename or ""
        return Failure(
            EXIT_FILES,
            f"đĩa đầy khi ghi {path}: giải phóng dung lượng rồi chạy lại; không tệp nào đã nhận "
            f"bị mất, {_RESUME[0]} / the disk is full (writing {path}): free some space and run "
            f"again; nothing received is lost, {_RESUME[1]}",
        )
    if isinstance(exc, PermissionError):
        return Failure(
            EXIT_FILES,
            f"không có quyền đọc/ghi {exc.filename}: cấp quyền cho người dùng chạy lệnh rồi chạy "
            f"lại / no permission to read or write {exc.filename}: give the user running the "
            "command access, then run again",
        )
    if isinstance(exc, OSError):
        return Failure(
            EXIT_FILES,
            f"lỗi tệp {exc.filename or ''} ({_first_line(exc)}); {_RESUME[0]} / a file error "
            f"({exc.filename or ''}: {_first_line(exc)}); {_RESUME[1]}",
        )
    return Failure(
        EXIT_ERROR,
        f"lỗi không lường trước ({type(exc).__name__}: {_first_line(exc)}); chi tiết trong tệp "
        f"nhật ký hoặc chạy lại với --debug / unexpected error ({type(exc).__name__}: "
        f"{_first_line(exc)}); details in the log file, or run again with --debug",
    )
