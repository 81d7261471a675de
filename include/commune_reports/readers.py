"""Open a delivered file safely and return its visible sheets as rows of cells.

Every format gives the same thing: ``.xlsx``/``.xlsm``, ``.xls`` and ``.ods`` through
python-calamine, ``.csv`` (UTF-8, UTF-8 with BOM, UTF-16 or Windows-1258) through the csv
module. Before any parser sees the bytes, :func:`inspect` checks what the file really is (by
its content, not its name) and refuses what no report form can be: too large, a zip bomb (too
much unpacked data or too high a ratio), XML with a DOCTYPE (entity bombs, external entities),
a used range far beyond a form, a password, a truncated archive, or another kind of file.

Nothing here touches the warehouse; it runs inside the limited parse workers.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import unicodedata
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import IO, Any

from commune_reports import legacy
from commune_reports.problems import Problem

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one file may cost. Defaults fit report forms (a few KB) with a wide margin; each can
    be set through ``COMMUNE_REPORTS_PARSE_<NAME>`` (e.g. ``..._MAX_FILE_MB=50``)."""

    max_file_mb: float = 20.0
    max_unpacked_mb: float = 100.0
    max_ratio: float = 200.0  # unpacked / packed size of one zip part above 1 MiB
    max_parts: int = 2000
    max_rows: int = 20_000
    max_cols: int = 500
    memory_mb: int = 1024  # address space of a parse worker (RLIMIT_AS)
    seconds: float = 30.0  # wall time of one file before its worker is replaced
    cpu_seconds: int = 20  # CPU time of one file (RLIMIT_CPU, reset per file)

    @classmethod
    def from_env(cls) -> Limits:
        values: dict[str, Any] = {}
        for name, default in cls().__dict__.items():
            raw = os.environ.get(f"COMMUNE_REPORTS_PARSE_{name.upper()}")
            if raw:
                values[name] = type(default)(raw)
        return cls(**values)


class Rejected(Exception):
    """The file cannot be read as a form; ``problem`` says why and how to fix it."""

    def __init__(self, problem: Problem):
        super().__init__(problem.message_en)
        self.problem = problem


def reject(rule: str, vi: str, en: str, **where: Any) -> Rejected:
    return Rejected(Problem(stage="parse", rule=rule, message_vi=vi, message_en=en, **where))


@dataclass
class SheetData:
    name: str
    rows: list[list[Any]]
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    formulas_without_value: set[tuple[int, int]] = field(default_factory=set)  # 0-based
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # "#DIV/0!" cells


@dataclass
class Book:
    kind: str  # xlsx | xls | ods | csv
    sheets: list[SheetData]  # visible sheets, workbook order
    hidden: list[str] = field(default_factory=list)
    encoding: str | None = None  # text encoding of a CSV file


# --------------------------------------------------------------------------- what is it?

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SIGNATURES = (
    (b"%PDF", "PDF"),
    (b"\x89PNG", "ảnh PNG / PNG image"),
    (b"\xff\xd8\xff", "ảnh JPEG / JPEG image"),
    (b"GIF8", "ảnh GIF / GIF image"),
    (b"MZ", "chương trình Windows / Windows program"),
    (b"\x7fELF", "chương trình / executable"),
    (b"\x1f\x8b", "gzip"),
    (b"Rar!", "RAR"),
    (b"7z\xbc\xaf", "7-Zip"),
    (b"{\\rtf", "RTF"),
)
_FIX_SAVE = (
    "mở tệp bằng Excel hoặc LibreOffice và lưu lại dạng .xlsx (Excel Workbook)",
    "open it in Excel or LibreOffice and save it as .xlsx (Excel Workbook)",
)


def _not_a_sheet(what: str, suffix: str) -> Rejected:
    return reject(
        "not_a_spreadsheet",
        f"tệp có đuôi '{suffix}' nhưng nội dung là {what}, không phải bảng tính: gửi đúng tệp "
        f"biểu mẫu, hoặc {_FIX_SAVE[0]}",
        f"the file is named '{suffix}' but holds {what}, not a spreadsheet: send the form "
        f"itself, or {_FIX_SAVE[1]}",
        found=what,
    )


def _too_large(what_vi: str, what_en: str, found: str) -> Rejected:
    return reject(
        "file_too_large",
        f"tệp quá lớn so với một biểu mẫu ({what_vi}): chỉ gửi trang biểu mẫu, xóa dữ liệu thừa",
        f"the file is far larger than a report form ({what_en}): send only the form sheet, "
        "delete everything else",
        found=found,
    )


def inspect(data: bytes, suffix: str, limits: Limits) -> str:
    """The kind of file (xlsx, xls, ods, csv) or Rejected. Reads nothing but ``data``."""
    return _inspect(data, suffix, limits, {})


def _inspect(data: bytes, suffix: str, limits: Limits, sheets: dict[str, bytes]) -> str:
    if len(data) > limits.max_file_mb * MIB:
        raise _too_large(
            f"{len(data) / MIB:.0f} MB, tối đa {limits.max_file_mb:g} MB",
            f"{len(data) / MIB:.0f} MB, at most {limits.max_file_mb:g} MB",
            f"{len(data)} bytes",
        )
    if not data:
        raise reject(
            "empty_file",
            "tệp rỗng (0 byte): gửi lại tệp biểu mẫu",
            "the file is empty (0 bytes): send the form again",
        )
    if data.startswith(b"PK"):
        return _inspect_zip(data, suffix, limits, sheets)
    if data.startswith(_OLE):
        return _inspect_ole(data, suffix)
    for magic, what in _SIGNATURES:
        if data.startswith(magic):
            raise _not_a_sheet(what, suffix)
    head = data[:4096].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<table")):
        raise _not_a_sheet("HTML/XML", suffix)
    if suffix == ".csv":
        return "csv"
    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _not_a_sheet("dữ liệu nhị phân không rõ / unknown binary data", suffix)
    raise _not_a_sheet("văn bản / text", suffix)


_UNSAFE_PART = re.compile(r"(^/|^\\|(^|[/\\])\.\.([/\\]|$)|^[A-Za-z]:|[\x00-\x1f\x7f])")
_XML_PART = re.compile(r"\.(xml|rels|vml)$", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_ROOT = re.compile(rb"<[A-Za-z_]")
_KEPT_PARTS = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")
MAX_PROLOG = MIB
PROLOG_PEEK = 8192


def _member(data: bytes, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The first ``limit`` unpacked bytes of a zip member, straight from the archive's bytes
    (zipfile's own reader costs more than the small parts of a form are worth)."""
    offset = info.header_offset
    if data[offset : offset + 4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header for {info.filename}")
    name_len = int.from_bytes(data[offset + 26 : offset + 28], "little")
    extra_len = int.from_bytes(data[offset + 28 : offset + 30], "little")
    start = offset + 30 + name_len + extra_len
    raw = data[start : start + info.compress_size]
    if len(raw) < info.compress_size:
        raise EOFError(f"{info.filename} is cut short")
    if info.compress_type == zipfile.ZIP_STORED:
        return raw[:limit]
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise zipfile.BadZipFile(f"{info.filename}: unsupported compression {info.compress_type}")
    return zlib.decompressobj(-15).decompress(raw, limit)


def _prolog_verdict(buf: bytes) -> bool | None:
    """True: a DOCTYPE/ENTITY before the root element; False: the root element comes first;
    None: ``buf`` ends before either (inside the prolog or an open comment)."""
    stripped = _COMMENT.sub(b"", buf)
    open_comment = stripped.find(b"<!--")
    if open_comment >= 0:
        stripped = stripped[:open_comment]
    root = _ROOT.search(stripped)
    if _DOCTYPE.search(stripped[: root.start()] if root else stripped):
        return True
    return False if root is not None else None


def _doctype_in_prolog(source: bytes | IO[bytes]) -> bool:
    """Does the XML declare a DOCTYPE or ENTITY before its root element? A prolog longer than
    1 MiB counts as hostile too. ``source``: the bytes, or a stream read 4 KiB at a time."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    buf = b""
    while True:
        chunk = source.read(4096)
        buf += chunk
        verdict = _prolog_verdict(buf)
        if verdict is not None:
            return verdict
        if not chunk:
            return False
        if len(buf) > MAX_PROLOG:
            return True


_CELL_REF = re.compile(rb"<c\s[^>]*?\br=\"([A-Z]{1,4})([0-9]{1,8})\"")
_ROW_REF = re.compile(rb"<row\s[^>]*?\br=\"([0-9]{1,8})\"")
_REPEAT = re.compile(rb"number-(rows|columns)-repeated=\"([0-9]+)\"")


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _inspect_zip(data: bytes, suffix: str, limits: Limits, sheets: dict[str, bytes]) -> str:
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        infos = book.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise reject(
            "truncated",
            f"tệp bị hỏng hoặc chưa chép xong (thiếu phần cuối của tệp nén: {exc}): gửi lại tệp",
            f"the file is damaged or was not copied completely (the end of the zip is missing: "
            f"{exc}): send it again",
            found=f"{len(data)} bytes",
        ) from None
    if len(infos) > limits.max_parts:
        raise _too_large(
            f"{len(infos)} phần trong tệp nén", f"{len(infos)} parts in the zip", str(len(infos))
        )
    names = {info.filename for info in infos}
    counts = Counter(info.filename.lower() for info in infos)  # part names ignore case
    twice = sorted(info.filename for info in infos if counts[info.filename.lower()] > 1)
    if twice:
        raise _ambiguous(
            f"phần {twice[0]} có hai lần trong tệp nén (hai bản khác nhau của cùng một phần)",
            f"part {twice[0]} is in the zip twice (two versions of the same part)",
            twice[0],
        )
    for info in infos:
        if _UNSAFE_PART.search(info.filename):
            raise reject(
                "unsafe_zip_entry",
                f"tệp nén chứa đường dẫn không an toàn '{info.filename!r}': không phải tệp do "
                "Excel tạo; lưu lại biểu mẫu bằng Excel",
                f"the zip holds an unsafe path {info.filename!r}: not a file saved by Excel; "
                "save the form again from Excel",
                found=repr(info.filename),
            )
        if info.flag_bits & 0x1:
            raise _password()
    total = sum(info.file_size for info in infos)
    if total > limits.max_unpacked_mb * MIB:
        raise _bomb(f"{total / MIB:.0f} MB", f"{total} bytes unpacked")
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MIB and ratio > limits.max_ratio:
            raise _bomb(f"{info.filename}: {ratio:.0f}:1", f"{info.filename} ratio {ratio:.0f}")
    if "mimetype" in names:
        kind = book.read("mimetype").strip()
        if kind != b"application/vnd.oasis.opendocument.spreadsheet":
            raise _not_a_sheet(f"OpenDocument ({kind.decode('ascii', 'replace')})", suffix)
        kind_name = "ods"
        manifest = "META-INF/manifest.xml"
        if manifest in names and b"encryption-data" in book.read(manifest)[: 4 * MIB]:
            raise _password()  # an OpenDocument file saved with a password
    elif "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        kind_name = "xlsx"
    elif "word/document.xml" in names:
        raise _not_a_sheet("văn bản Word / a Word document", suffix)
    elif "ppt/presentation.xml" in names:
        raise _not_a_sheet("PowerPoint", suffix)
    else:
        raise _not_a_sheet("tệp nén zip / a zip archive", suffix)
    for info in infos:
        if not (_XML_PART.search(info.filename) or info.filename.endswith("content.xml")):
            continue
        whole = info.filename.startswith("xl/worksheets/") or info.filename in _KEPT_PARTS
        try:
            if whole:
                part = _member(data, info, info.file_size)
                hostile = _doctype_in_prolog(part)
            else:  # a DOCTYPE can only stand before the root element: read no further
                head = _member(data, info, PROLOG_PEEK)
                verdict = _prolog_verdict(head)
                if verdict is None and len(head) >= PROLOG_PEEK:
                    with book.open(info) as stream:  # a long prolog: read on, in steps
                        verdict = _doctype_in_prolog(stream)
                hostile = bool(verdict)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
            raise reject(
                "truncated",
                f"tệp bị hỏng ({info.filename}: {exc}): gửi lại tệp",
                f"the file is damaged ({info.filename}: {exc}): send it again",
            ) from None
        if hostile:
            raise reject(
                "xml_doctype",
                f"phần {info.filename} của tệp có khai báo DOCTYPE/ENTITY (có thể là tệp độc hại: "
                "bom thực thể XML hoặc thực thể ngoài): tệp do Excel tạo không có; lưu lại biểu "
                "mẫu bằng Excel",
                f"part {info.filename} declares a DOCTYPE/ENTITY (possibly hostile: an XML entity "
                "bomb or an external entity): Excel never writes one; save the form again from "
                "Excel",
                found=info.filename,
            )
        if info.filename.startswith("xl/worksheets/"):
            _check_extent(info.filename, part, limits)
            sheets[info.filename] = part
        elif info.filename in _KEPT_PARTS:
            sheets[info.filename] = part
        elif kind_name == "ods" and info.filename == "content.xml":
            _check_ods_repeats(book.read(info), limits)
    if kind_name == "xlsx" and "xl/workbook.xml" in names:
        _check_xlsx_structure(names, sheets)
    return kind_name


def _ambiguous(vi: str, en: str, found: str) -> Rejected:
    return reject(
        "ambiguous_workbook",
        f"tệp không rõ ràng: {vi}; Excel coi tệp như vậy là hỏng. Mở tệp bằng Excel, kiểm tra "
        "số liệu rồi lưu lại thành tệp mới",
        f"the workbook is ambiguous: {en}; Excel calls such a file corrupt. Open it in Excel, "
        "check the figures and save it as a new file",
        found=found,
    )


def _check_xlsx_structure(names: set[str], parts: dict[str, bytes]) -> None:
    """The workbook must say, once and for each sheet, which part holds it, and that part
    must be there: Excel refuses a file where that is not so, and a reader would have to
    guess which copy to read."""
    if "[Content_Types].xml" not in names:
        raise reject(
            "corrupt_workbook",
            f"tệp thiếu phần [Content_Types].xml nên không phải sổ làm việc Excel hợp lệ: "
            f"{_FIX_SAVE[0]}",
            f"the file lacks its [Content_Types].xml part, so it is no valid Excel workbook: "
            f"{_FIX_SAVE[1]}",
            found="[Content_Types].xml",
        )
    rels = parts.get("xl/_rels/workbook.xml.rels", b"")
    targets = dict(_REL.findall(rels)) | {i: t for t, i in _REL_REVERSED.findall(rels)}
    seen_names: set[str] = set()
    seen_parts: dict[str, str] = {}
    lower = {n.lower(): n for n in names}
    for raw_name, rid in _SHEET_ENTRY.findall(parts.get("xl/workbook.xml", b"")):
        sheet = unescape(raw_name.decode())
        target = targets.get(rid, b"").decode()
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if sheet.casefold() in seen_names:
            raise _ambiguous(
                f"hai trang tính cùng tên '{sheet}'", f"two sheets are named '{sheet}'", sheet
            )
        seen_names.add(sheet.casefold())
        if part.lower() in seen_parts:
            raise _ambiguous(
                f"trang '{sheet}' và trang '{seen_parts[part.lower()]}' cùng trỏ tới phần {part}",
                f"sheets '{sheet}' and '{seen_parts[part.lower()]}' both point to part {part}",
                part,
            )
        seen_parts[part.lower()] = sheet
        if not target or part.lower() not in lower:
            raise reject(
                "corrupt_workbook",
                f"trang '{sheet}' trỏ tới phần {part or '(không có)'} nhưng tệp không có phần "
                f"đó: {_FIX_SAVE[0]}",
                f"sheet '{sheet}' points to part {part or '(none)'}, which the file lacks: "
                f"{_FIX_SAVE[1]}",
                found=part or rid.decode(),
            )


def _check_extent(name: str, part: bytes, limits: Limits) -> None:
    rows = {int(m) for m in _ROW_REF.findall(part)}
    letters: set[bytes] = set()
    for col, row in _CELL_REF.findall(part):
        letters.add(col)
        rows.add(int(row))
    last_row = max(rows, default=0)
    last_col = max((_column_number(c) for c in letters), default=0)
    if last_row > limits.max_rows or last_col > limits.max_cols:
        raise _extent(name, last_row, last_col, limits)


def _check_ods_repeats(part: bytes, limits: Limits) -> None:
    # repeated empty rows and columns are how LibreOffice pads a sheet; a repeated cell with
    # content is unpacked by the reader, so a large repeat of anything non-empty is refused
    for match in re.finditer(
        rb"<table:table-(row|cell)\b([^>]*number-(?:rows|columns)-repeated=\"([0-9]+)\"[^>]*)"
        rb"(/>|>(.{0,200}?)</table:table-\1>)",
        part,
        re.DOTALL,
    ):
        count = int(match[3])
        body = match[5] or b""
        empty = not body.strip() or (match[1] == b"row" and b"<text:" not in body)
        limit = limits.max_rows if match[1] == b"row" else limits.max_cols
        if count > limit and not empty and b"office:value" in match[0] + body:
            raise _extent("content.xml", count, count, limits)


def _extent(name: str, rows: int, cols: int, limits: Limits) -> Rejected:
    return reject(
        "sheet_too_large",
        f"vùng dữ liệu của trang tính ({name}) kéo tới dòng {rows}, cột {cols}: một biểu mẫu "
        f"không quá {limits.max_rows} dòng và {limits.max_cols} cột; xóa các ô thừa ở cuối "
        "trang rồi lưu lại",
        f"the used range of the sheet ({name}) reaches row {rows}, column {cols}: a form has "
        f"at most {limits.max_rows} rows and {limits.max_cols} columns; delete the stray cells "
        "at the end of the sheet and save again",
        found=f"{rows} rows x {cols} columns",
    )


def _bomb(vi: str, found: str) -> Rejected:
    return reject(
        "zip_bomb",
        f"tệp nén giải nén ra quá lớn ({vi}): không phải một biểu mẫu; gửi lại đúng tệp biểu mẫu",
        f"the archive unpacks to far too much data ({found}): not a report form; send the "
        "form itself",
        found=found,
    )


def _password() -> Rejected:
    return reject(
        "password_protected",
        "tệp được đặt mật khẩu: mở tệp, bỏ mật khẩu (Tệp > Thông tin > Bảo vệ sổ làm việc > Mã "
        "hóa bằng mật khẩu, xóa mật khẩu), lưu và gửi lại",
        "the file is password-protected: open it, remove the password (File > Info > Protect "
        "Workbook > Encrypt with Password, clear it), save and send again",
    )


def _inspect_ole(data: bytes, suffix: str) -> str:
    if (
        "EncryptionInfo".encode("utf-16-le") in data
        or "EncryptedPackage".encode("utf-16-le") in data
    ):
        raise _password()
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return "xls"
    if "WordDocument".encode("utf-16-le") in data:
        raise _not_a_sheet("văn bản Word / a Word document", suffix)
    raise _not_a_sheet(
        "tệp Office không phải bảng tính / an Office file that is not a workbook", suffix
    )


# --------------------------------------------------------------------------- reading


def read_book(path: str | Path, limits: Limits | None = None) -> Book:
    """Read ``path`` (checked first by :func:`inspect`); raise Rejected with the reason."""
    limits = limits or Limits()
    path = Path(path)
    size = path.stat().st_size
    if size > limits.max_file_mb * MIB:  # never read a huge file into memory to check it
        raise _too_large(
            f"{size / MIB:.0f} MB, tối đa {limits.max_file_mb:g} MB",
            f"{size / MIB:.0f} MB, at most {limits.max_file_mb:g} MB",
            f"{size} bytes",
        )
    data = path.read_bytes()
    parts: dict[str, bytes] = {}
    kind = _inspect(data, path.suffix.lower(), limits, parts)
    if kind == "csv":
        return _read_csv(data)
    return _read_workbook(data, kind, limits, parts)


def _read_workbook(data: bytes, kind: str, limits: Limits, parts: dict[str, bytes]) -> Book:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises several types for unreadable files
        raise _unreadable(exc) from None
    sheets, hidden = [], []
    formulas, errors = _xlsx_formula_cells(parts) if kind == "xlsx" else ({}, {})
    for meta in book.sheets_metadata:
        if not str(meta.visible).endswith(".Visible"):
            hidden.append(meta.name)
            continue
        if not str(meta.typ).endswith("WorkSheet"):
            continue
        try:
            sheet = book.get_sheet_by_name(meta.name)
        except Exception as exc:
            raise _unreadable(exc) from None
        if sheet.height > limits.max_rows or sheet.width > limits.max_cols:
            raise _extent(meta.name, sheet.height, sheet.width, limits)
        rows = sheet.to_python(skip_empty_area=False)
        sheets.append(
            SheetData(
                meta.name,
                rows,
                list(sheet.merged_cell_ranges or []),
                formulas.get(meta.name, set()),
                errors.get(meta.name, {}),
            )
        )
    return Book(kind, sheets, hidden)


def _unreadable(exc: Exception) -> Rejected:
    text = f"{type(exc).__name__}: {exc}"
    if "password" in text.lower() or "encrypt" in text.lower():
        return _password()
    return reject(
        "unreadable",
        f"không đọc được tệp bảng tính ({text}): {_FIX_SAVE[0]}",
        f"the spreadsheet cannot be read ({text}): {_FIX_SAVE[1]}",
    )


_SHEET_ENTRY = re.compile(rb"<sheet\b[^>]*?\bname=\"([^\"]*)\"[^>]*?\br:id=\"([^\"]*)\"")
_REL = re.compile(rb"<Relationship\b[^>]*?\bId=\"([^\"]*)\"[^>]*?\bTarget=\"([^\"]*)\"")
_REL_REVERSED = re.compile(rb"<Relationship\b[^>]*?\bTarget=\"([^\"]*)\"[^>]*?\bId=\"([^\"]*)\"")
_FORMULA_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.DOTALL)
_FORMULA_TAG = re.compile(rb"<f[\s>/]")
_REF_ATTR = re.compile(rb"\br=\"([A-Z]{1,4})([0-9]{1,8})\"")


def _xlsx_formula_cells(
    parts: dict[str, bytes],
) -> tuple[dict[str, set[tuple[int, int]]], dict[str, dict[tuple[int, int], str]]]:
    """By sheet name: cells holding a formula but no saved result (written by a program that
    did not compute it; a reader sees them empty), and cells whose saved result is an error
    such as #DIV/0! (the reader also gives those as empty). ``parts``: the XML parts."""
    no_value: dict[str, set[tuple[int, int]]] = {}
    errors: dict[str, dict[tuple[int, int], str]] = {}
    marked = {
        n: x
        for n, x in parts.items()
        if n.startswith("xl/worksheets/") and (_FORMULA_TAG.search(x) or b't="e"' in x)
    }
    if not marked or "xl/workbook.xml" not in parts:
        return no_value, errors
    rels = parts.get("xl/_rels/workbook.xml.rels", b"")
    targets = dict(_REL.findall(rels)) | {i: t for t, i in _REL_REVERSED.findall(rels)}
    for name, rid in _SHEET_ENTRY.findall(parts["xl/workbook.xml"]):
        target = targets.get(rid, b"").decode()
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        xml = marked.get(part)
        if xml is None:
            continue
        sheet = unescape(name.decode())
        for match in _FORMULA_CELL.finditer(xml):
            attrs, body = match[1], match[2] or b""
            ref = _REF_ATTR.search(attrs)
            if ref is None:
                continue
            where = (int(ref[2]) - 1, _column_number(ref[1]) - 1)
            if b't="e"' in attrs:
                value = re.search(rb"<v>([^<]*)</v>", body)
                errors.setdefault(sheet, {})[where] = value[1].decode() if value else "#ERROR"
            elif _FORMULA_TAG.search(body) and not re.search(rb"<v>[^<]", body):
                no_value.setdefault(sheet, set()).add(where)
    return no_value, errors


def _read_csv(data: bytes) -> Book:
    text, encoding = decode_text(data)
    head = text[:16384].splitlines()[:40]
    widths = {d: max((len(r) for r in csv.reader(head, delimiter=d)), default=0) for d in ",;\t"}
    delimiter = max(",;\t", key=lambda d: widths[d])  # the one that splits the header row
    rows = [
        [cell if cell.strip() else None for cell in row]
        for row in csv.reader(io.StringIO(text), delimiter=delimiter)
    ]
    return Book("csv", [SheetData("csv", rows)], encoding=encoding)


def decode_text(data: bytes) -> tuple[str, str]:
    """Text of a CSV file and its encoding: a BOM decides; else UTF-8 if it decodes; else
    Windows-1258 (Vietnamese Windows), or bytes typed in a legacy font (TCVN3/VNI), whichever
    reads as Vietnamese. Anything else is rejected with the encodings to use."""
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return unicodedata.normalize("NFC", data.decode(name)), name
            except UnicodeDecodeError:
                break
    else:
        try:
            return unicodedata.normalize("NFC", data.decode("utf-8")), "utf-8"
        except UnicodeDecodeError:
            pass
        latin = data.decode("latin-1")
        if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", latin):
            raise reject(
                "unknown_encoding",
                "tệp .csv chứa dữ liệu nhị phân, không phải văn bản: lưu lại biểu mẫu dạng "
                "'CSV UTF-8 (Comma delimited)' hoặc .xlsx",
                "the .csv file holds binary data, not text: save the form again as 'CSV UTF-8 "
                "(Comma delimited)' or .xlsx",
            )
        suspects = [t for t in re.split(r"[,;\t\r\n\"]+", latin) if legacy.is_suspect(t)]
        try:
            windows = unicodedata.normalize("NFC", data.decode("cp1258"))
        except UnicodeDecodeError:
            windows = None
        if windows is not None and _reads_as_vietnamese(windows):
            return windows, "cp1258"
        if suspects:
            return latin, "latin-1"  # the parser converts or rejects the legacy-font cells
    raise reject(
        "unknown_encoding",
        "không nhận ra bảng mã của tệp CSV: lưu lại dạng 'CSV UTF-8 (Comma delimited)'",
        "the CSV file's character encoding is not recognised: save it again as 'CSV UTF-8 "
        "(Comma delimited)'",
    )


def _reads_as_vietnamese(text: str) -> bool:
    words = [w for w in re.findall(r"[^\W\d_]+", text) if not w.isascii()]
    if not words:
        return True
    good = sum(legacy.is_vietnamese_word(w) for w in words)
    return good >= 0.9 * len(words)
