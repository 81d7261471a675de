"""The report as a draft .docx, on both engines: with the sample's 2021-2023 loaded, huyện
Tháp Mười's document has the header block of an administrative report (the issuing body, "Số:
/BC-UBND", the national title, the place and date), "BÁO CÁO" and its title, the sections of
the text report, the seed's summary sentences word for word and footnotes 1, 3, 4 and 5 as
real Word footnotes, word for word (tests/fixtures/seed_footnotes.txt); Times New Roman 13-14
pt on A4 with the margins of Nghị định 30/2020/NĐ-CP; the closing block; the properties; and
it is a valid package without macros (LibreOffice opens it, where it is installed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import pytest
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from lxml import etree

from commune_reports.catalog import load_catalog
from commune_reports.cli import main
from commune_reports.periods import parse_period_range
from commune_reports.pipeline import run_periods
from commune_reports.publish.document import (
    IssueDate,
    place_and_date,
    place_name,
    write_document,
)
from commune_reports.report import load_figures, report_sections
from commune_reports.settings import load_settings
from commune_reports.warehouse import get_engine
from tests.conftest import REPO, SAMPLE_INBOX
from tests.integration import test_seed_sentences as seed

FIXTURES = REPO / "tests" / "fixtures"
FOOTNOTE_4 = (FIXTURES / "seed_footnote_4.txt").read_text("utf-8").strip()
# the seed's footnotes without their marks: Word numbers its footnotes itself
BODIES = [line.split(" ", 1)[1] for line in seed.FOOTNOTES]
SUMMARY = [seed.CONFERENCE, seed.RECEPTION, seed.ONE_STOP, seed.ON_TIME]
TITLE = "Số liệu công tác dân vận chính quyền huyện Tháp Mười năm 2021 – 2023"
CREATED = dt.datetime(2024, 2, 1, 8, 0, tzinfo=dt.UTC)
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
LIBREOFFICE = shutil.which("libreoffice") or shutil.which("soffice")
ARTIFACTS = Path(os.environ.get("COMMUNE_REPORTS_TEST_ARTIFACTS", REPO / "test-artifacts"))


def _load_sample(home: Path) -> None:
    shutil.copytree(SAMPLE_INBOX, home / "inbox", dirs_exist_ok=True)
    periods = parse_period_range("2021Q1..2023Q4") + parse_period_range("2021..2023")
    run_periods(load_settings(), periods)


def _footnotes(document: docx.document.Document) -> dict[str, str]:
    """id -> text of each footnote of the document (the separators left out)."""
    part = document.part.part_related_by(RELATIONSHIP_TYPE.FOOTNOTES)
    root = etree.fromstring(part.blob)
    return {
        note.get(f"{W}id"): "".join(t.text or "" for t in note.iter(f"{W}t")).strip()
        for note in root.iter(f"{W}footnote")
        if note.get(f"{W}type") is None
    }


def _references(paragraph: docx.text.paragraph.Paragraph) -> list[str]:
    return [r.get(qn("w:id")) for r in paragraph._p.iter(qn("w:footnoteReference"))]


def test_the_document(home: Path, warehouse: str, tmp_path: Path) -> None:
    _load_sample(home)
    figures = load_figures(get_engine(warehouse), "2021..2023", unit="872")
    out = tmp_path / "out"
    out.mkdir()
    path = write_document(
        figures, None, out / "bao_cao.docx", issued=IssueDate(2024, 2), created=CREATED
    )
    assert path == out / "bao_cao.docx"
    assert [p.name for p in out.iterdir()] == ["bao_cao.docx"]  # nothing left beside

    document = docx.Document(str(path))
    header, closing = document.tables[0], document.tables[-1]
    assert [[c.text.strip() for c in row.cells] for row in header.rows] == [
        [
            "ỦY BAN NHÂN DÂN\nHUYỆN THÁP MƯỜI",
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc",
        ],
        ["Số:      /BC-UBND", "Tháp Mười, ngày    tháng 02 năm 2024"],
    ]
    borders = header._tbl.tblPr.find(qn("w:tblBorders"))
    assert {b.get(qn("w:val")) for b in borders} == {"nil"}  # borderless

    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[:2] == ["BÁO CÁO", TITLE]
    text = "\n".join(paragraphs)
    for sentence in SUMMARY:
        assert f"- {sentence[0].upper()}{sentence[1:]}." in paragraphs, sentence
    # every section of the text report, every one of its lines
    for number, section in enumerate(report_sections(figures, load_catalog()), start=1):
        assert any(p.startswith(f"{number}. {section.heading.rstrip(':')}") for p in paragraphs)
        assert all(f"- {line}" in paragraphs for line in section.lines)
    assert "Kiểm tra số liệu / Checks:" in paragraphs  # the 2023 swing of the commune dossiers
    assert "−41,26%" in text
    assert "Ủy ban nhân dân huyện Tháp Mười./." in text

    # footnotes 1, 3, 4 and 5, word for word, as Word footnotes referenced from the text
    notes = _footnotes(document)
    assert sorted(notes.values()) == sorted(BODIES)
    assert FOOTNOTE_4 in notes.values()
    assert not any(body in text for body in BODIES)  # in the footnotes, not in the text
    referenced = [i for p in document.paragraphs for i in _references(p)]
    assert sorted(referenced) == sorted(notes)
    by_heading = {p.text[:12]: [notes[i] for i in _references(p)] for p in document.paragraphs}
    assert by_heading["1. Số cuộc t"] == [BODIES[0]]  # ¹: the sessions
    assert by_heading["5. Hồ sơ tiế"] == [FOOTNOTE_4]  # ⁴: the online dossiers
    assert by_heading["6. Kết quả đ"] == [BODIES[1], BODIES[3]]  # ³ and ⁵: the evaluation

    # Nghị định 30/2020: A4, margins, Times New Roman 13-14 pt (notes and recipients smaller)
    section = document.sections[0]
    sizes = {"page_width": 210, "page_height": 297, "top_margin": 20, "bottom_margin": 20}
    for name, mm in {**sizes, "left_margin": 30, "right_margin": 15}.items():
        assert abs(getattr(section, name) - Mm(mm)) < Mm(0.1), name  # in whole twips
    normal = document.styles["Normal"]
    assert (normal.font.name, normal.font.size) == ("Times New Roman", Pt(14))
    fonts = normal.element.rPr.find(qn("w:rFonts"))
    assert {fonts.get(qn(f"w:{a}")) for a in ("ascii", "hAnsi", "eastAsia", "cs")} == {
        "Times New Roman"
    }
    assert document.styles["footnote text"].font.size == Pt(12)
    runs = [r for p in document.paragraphs for r in p.runs]
    runs += [r for t in document.tables for c in t._cells for p in c.paragraphs for r in p.runs]
    assert all(r.font.name in (None, "Times New Roman") for r in runs)
    body_sizes = {r.font.size for p in document.paragraphs for r in p.runs}
    assert body_sizes <= {None, Pt(13), Pt(14)}
    # the national title at 12 pt so that it holds on one line (Nghị định 30: 12-13)
    assert {r.font.size for c in header._cells for p in c.paragraphs for r in p.runs} <= {
        Pt(12),
        Pt(13),
        Pt(14),
    }

    assert [c.text.split("\n")[0] for c in closing.rows[0].cells] == [
        "Nơi nhận:",
        "TM. ỦY BAN NHÂN DÂN",
    ]
    assert closing.rows[0].cells[1].text.split("\n")[1] == "CHỦ TỊCH"

    props = document.core_properties
    assert props.title == TITLE
    assert "2021..2023" in props.subject and "huyện Tháp Mười" in props.subject
    assert props.created == CREATED
    assert props.author == "Ủy ban nhân dân huyện Tháp Mười"

    # a valid package, no macros, every XML part well-formed
    assert zipfile.is_zipfile(path)
    with zipfile.ZipFile(path) as package:
        assert package.testzip() is None
        names = package.namelist()
        types = package.read("[Content_Types].xml").decode("utf-8")
        for name in names:
            if name.endswith((".xml", ".rels")):
                etree.fromstring(package.read(name))
    assert {"[Content_Types].xml", "word/document.xml", "word/footnotes.xml"} <= set(names)
    assert not any("vba" in n.lower() for n in names)
    assert "macroEnabled" not in types and "wordprocessingml.footnotes+xml" in types

    # the command line writes the same document
    args = ["report", "--period", "2021..2023", "--unit", "872", "--format", "docx"]
    assert main([*args, "--out", str(out / "cli.docx"), "--issued", "2024-02-05"]) == 0
    again = docx.Document(str(out / "cli.docx"))
    assert again.tables[0].rows[1].cells[1].text == "Tháp Mười, ngày 05 tháng 02 năm 2024"
    assert [p.text for p in again.paragraphs] == paragraphs
    assert main(args) == 2  # docx without --out


def test_place_and_date() -> None:
    catalog = load_catalog()
    district = catalog.unit_on("872", dt.date(2023, 12, 31))
    province = catalog.unit_on("87", dt.date(2023, 12, 31))
    assert district is not None and province is not None
    assert place_and_date(district, 2024) == "Tháp Mười, ngày    tháng    năm 2024"
    assert place_and_date(district, dt.date(2024, 2, 5)) == "Tháp Mười, ngày 05 tháng 02 năm 2024"
    assert place_and_date(province, IssueDate.parse("2024-11-20")) == (
        "Đồng Tháp, ngày 20 tháng 11 năm 2024"
    )
    assert place_and_date(district, IssueDate.parse("2024-03")).endswith("tháng 3 năm 2024")
    assert place_and_date(district) == "Tháp Mười, ngày    tháng    năm     "
    ward = dataclasses.replace(district, name="Phường 1", unit_type="phuong")
    city = dataclasses.replace(province, name="Thành phố Hồ Chí Minh", unit_type="thanh_pho")
    assert (place_name(ward), place_name(city)) == ("Phường 1", "Thành phố Hồ Chí Minh")
    for wrong in ("24", "2024-13", "2024-02-30", "Feb 2024"):
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            IssueDate.parse(wrong)


def test_libreoffice_opens_it(home: Path, tmp_path: Path) -> None:
    """A real office program (LibreOffice, installed by `make test`) opens the document and
    prints it; its first page is kept as a picture under test-artifacts/."""
    assert LIBREOFFICE, "`make test` installs Debian's libreoffice-writer-nogui"
    _load_sample(home)
    figures = load_figures(get_engine(load_settings().warehouse_url), "2021..2023", unit="872")
    path = write_document(figures, None, tmp_path / "bao_cao.docx", issued=2024)
    profile = tmp_path / "lo-profile"  # its own profile: never a running user's instance
    result = subprocess.run(
        [
            LIBREOFFICE,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    pdf = tmp_path / "bao_cao.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "BÁO CÁO" in text
    assert "2.384" in " ".join(text.split())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(ARTIFACTS / "document-page-1"),
        ],
        check=True,
    )
    assert (ARTIFACTS / "document-page-1.png").stat().st_size > 10_000
