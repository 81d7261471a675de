"""The pre-check refuses what no report form can be, from the bytes alone."""

from __future__ import annotations

import io
import zipfile

import pytest

from commune_reports.readers import Limits, Rejected, decode_text, inspect
from tests.corpus.make_corpus import to_cp1258


def _zip(parts: dict[str, bytes], first: tuple[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        if first:
            book.writestr(zipfile.ZipInfo(first[0]), first[1], zipfile.ZIP_STORED)
        for name, data in parts.items():
            book.writestr(name, data)
    return buffer.getvalue()


def _rule(data: bytes, suffix: str = ".xlsx", limits: Limits | None = None) -> str:
    with pytest.raises(Rejected) as caught:
        inspect(data, suffix, limits or Limits())
    return caught.value.problem.rule


def test_encrypted_opendocument() -> None:
    data = _zip(
        {"META-INF/manifest.xml": b"<manifest><manifest:encryption-data/></manifest>"},
        first=("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
    )
    assert _rule(data, ".ods") == "password_protected"


def test_doctype_hidden_behind_a_long_comment() -> None:
    prolog = b'<?xml version="1.0"?><!--' + b" <a> " * 5000 + b"-->"
    xml = prolog + b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><sst>&e;</sst>'
    data = _zip({"xl/workbook.xml": b"<workbook/>", "xl/sharedStrings.xml": xml})
    assert _rule(data) == "xml_doctype"


def test_ratio_and_size_limits() -> None:
    data = _zip({"xl/workbook.xml": b"<workbook/>", "xl/big.xml": b"<a>" + b" " * (3 << 20)})
    assert _rule(data, limits=Limits(max_ratio=50)) == "zip_bomb"
    assert _rule(data, limits=Limits(max_unpacked_mb=1)) == "zip_bomb"
    assert _rule(b"x" * 2048, ".csv", Limits(max_file_mb=0.001)) == "file_too_large"


def test_csv_encodings() -> None:
    text = "Kỳ báo cáo: Quý IV/2023;Mã đơn vị: 30052\n"
    assert decode_text(text.encode("utf-8")) == (text, "utf-8")
    assert decode_text(b"\xef\xbb\xbf" + text.encode("utf-8"))[1] == "utf-8-sig"
    assert decode_text(b"\xff\xfe" + text.encode("utf-16-le"))[1] == "utf-16"
    assert decode_text(to_cp1258(text)) == (text, "cp1258")  # tones as combining marks
