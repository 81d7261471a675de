"""The report as a draft Word document (.docx) that an official edits, signs and issues.

It is laid out as Nghị định 30/2020/NĐ-CP (Phụ lục I) lays out an administrative report:
A4, margins 20 mm top and bottom, 30 mm left, 15 mm right, Times New Roman 14 pt (13 pt in
the header block); the header block (the issuing body and "Số:      /BC-UBND" on the left,
the national title, motto and the place and date on the right), "BÁO CÁO" and its title,
the figures, the closing block ("Nơi nhận:" on the left, "TM. ỦY BAN NHÂN DÂN / CHỦ TỊCH"
on the right, left for the signature) and page numbers from page 2, centred at the top.

It adds nothing to the figures: the sections are :func:`commune_reports.report.report_sections`
(those of the text report), the caveats and checks :func:`~commune_reports.report.report_notes`,
the sentences :func:`commune_reports.footnotes.summary_sentences` and
:func:`~commune_reports.footnotes.footnotes`. The fixed words are in
``templates/document`` (``words.toml`` and Jinja templates).

The footnotes are real Word footnotes (python-docx has no API for them: the footnotes part is
written here as XML), each referenced from the heading of the section whose figure it
details; Word numbers them in the order they appear, so the seed's ¹ ³ ⁴ ⁵ read 1 to 4, and
a footnote the official adds (the seed's ², the plans) is numbered with them.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import tomllib
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
from docx.opc.packuri import PackURI
from docx.opc.part import XmlPart
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Emu, Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from commune_reports import form_layout
from commune_reports.catalog import Catalog, Unit, load_catalog
from commune_reports.footnotes import footnotes, summary_sentences
from commune_reports.report import Figures, report_notes, report_sections

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "document"

FONT = "Times New Roman"
BODY_PT = 14  # the text, the title, the signature block
HEADER_PT = 13  # the header block
NOTE_PT = 12  # the footnotes, "Nơi nhận:"
RECIPIENTS_PT = 11  # the recipients
PAGE = {"width": Mm(210), "height": Mm(297)}  # A4
MARGINS = {"top": Mm(20), "bottom": Mm(20), "left": Mm(30), "right": Mm(15)}
TEXT_WIDTH = Mm(210 - 30 - 15)
NATION_PT = 12
FIRST_LINE = Cm(1.27)
# which section of the report each footnote details, by the metric the section is about
FOOTNOTE_SECTIONS = {
    "¹": "dissemination_sessions",
    "³": "mass_mobilization_score",
    "⁴": "online_filing_rate",
    "⁵": "mass_mobilization_score",
}
# the children of w:settings that come after w:footnotePr (ECMA-376, CT_Settings)
_AFTER_FOOTNOTE_PR = (
    "w:endnotePr",
    "w:compat",
    "w:docVars",
    "w:rsids",
    "m:mathPr",
    "w:attachedSchema",
    "w:themeFontLang",
    "w:clrSchemeMapping",
    "w:doNotIncludeSubdocsInStats",
    "w:doNotAutoCompressPictures",
    "w:forceUpgrade",
    "w:captions",
    "w:readModeInkLockDown",
    "w:smartTagType",
    "sl:schemaLibrary",
    "w:shapeDefaults",
    "w:doNotEmbedSmartTags",
    "w:decimalSymbol",
    "w:listSeparator",
)
# the children of w:tblPr that come after w:tblBorders (ECMA-376, CT_TblPr)
_AFTER_TBL_BORDERS = (
    "w:shd",
    "w:tblLayout",
    "w:tblCellMar",
    "w:tblLook",
    "w:tblCaption",
    "w:tblDescription",
    "w:tblPrChange",
)
# the children of w:pPr that come after w:pBdr (ECMA-376, CT_PPr)
_AFTER_PBDR = (
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)


class DocumentError(ValueError):
    """The figures cannot make a document (no unit: nothing was reported)."""


@dataclass(frozen=True)
class IssueDate:
    """The date of issue as far as it is known: the year alone leaves "ngày    tháng    năm
    2024" for the official to fill in; a month gives "ngày    tháng 02 năm 2024" (the seed);
    nothing leaves every field blank."""

    year: int | None = None
    month: int | None = None
    day: int | None = None

    @classmethod
    def parse(cls, text: str) -> IssueDate:
        """ "2024", "2024-02" or "2024-02-05"."""
        match = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", text.strip())
        try:
            if not match:
                raise ValueError(text)
            year, month, day = (int(g) if g else None for g in match.groups())
            dt.date(year or 1, month or 1, day or 1)  # a real day of a real month
        except ValueError:
            raise ValueError(
                f"ngày ban hành không hợp lệ: {text!r} (YYYY, YYYY-MM hoặc YYYY-MM-DD) / "
                f"issue date {text!r} is not YYYY, YYYY-MM or YYYY-MM-DD"
            ) from None
        return cls(year, month, day)

    @classmethod
    def of(cls, value: IssueDate | dt.date | int | None) -> IssueDate:
        if value is None:
            return cls()
        if isinstance(value, IssueDate):
            return value
        if isinstance(value, dt.date):
            return cls(value.year, value.month, value.day)
        return cls(int(value))


@cache
def words() -> dict[str, Any]:
    """The fixed words of the document (``templates/document/words.toml``)."""
    with (TEMPLATES / "words.toml").open("rb") as handle:
        return tomllib.load(handle)


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=False,  # text for a document, not HTML
        keep_trailing_newline=False,
    )


def render(name: str, *, keep_spaces: bool = False, **fields: Any) -> str:
    """Template ``templates/document/<name>.txt.j2`` on one line (its blanks kept as they are
    with ``keep_spaces``)."""
    text = _environment().get_template(f"{name}.txt.j2").render(**fields)
    return text.strip("\n") if keep_spaces else " ".join(text.split())


def _type_word(unit: Unit) -> str:
    """The unit type that begins the unit's name ("Huyện"), or ""."""
    return next((w for w in form_layout.UNIT_TYPE_PREFIXES if unit.name.startswith(f"{w} ")), "")


def place_name(unit: Unit) -> str:
    """The place in the date line (Nghị định 30/2020, Phụ lục I): the unit's name without its
    type ("Tháp Mười", "Đồng Tháp"), but whole where the rest is a number ("Phường 1") or
    would read as a person's name ("Thành phố Hồ Chí Minh")."""
    word = _type_word(unit)
    rest = unit.name[len(word) :].strip()
    if not word or rest.isdigit() or rest == "Hồ Chí Minh":
        return unit.name
    return rest


def running_name(unit: Unit) -> str:
    """The unit as running text names it: "huyện Tháp Mười"."""
    word = _type_word(unit)
    return f"{word.lower()}{unit.name[len(word) :]}" if word else unit.name


def period_words(figures: Figures) -> str:
    """The report's periods in running text: "năm 2021 – 2023", "quý IV/2023"."""
    first, last = figures.periods[0], figures.periods[-1]
    return render(
        "period",
        quarterly=bool(first.quarter),
        first=_lower_first(first.label_vi),
        last=_lower_first(last.label_vi),
        first_year=first.year,
        last_year=last.year,
    )


def default_title(figures: Figures) -> str:
    """The report's title under "BÁO CÁO", from its unit and periods."""
    unit = _unit(figures)
    return render(
        "subtitle", unit=running_name(unit), period=period_words(figures), as_now=figures.as_now
    )


def place_and_date(unit: Unit, issued: IssueDate | dt.date | int | None = None) -> str:
    """ "Tháp Mười, ngày    tháng    năm 2024": the fields not given left blank."""
    when = IssueDate.of(issued)
    day = f"{when.day:02d}" if when.day and when.day < 10 else when.day
    month = f"{when.month:02d}" if when.month and when.month < 3 else when.month
    return render(
        "place_date", keep_spaces=True, place=place_name(unit), day=day, month=month, year=when.year
    )


def build_document(
    figures: Figures,
    catalog: Catalog | None = None,
    *,
    issued: IssueDate | dt.date | int | None = None,
    title: str | None = None,
    created: dt.datetime | None = None,
) -> DocxDocument:
    """The draft report of ``figures`` as a python-docx document (see the module)."""
    catalog = catalog or load_catalog()
    unit = _unit(figures)
    text = words()
    title = title or default_title(figures)
    document = Document()
    _drop_thumbnail(document)
    _page(document)
    _styles(document)
    notes = _Footnotes(document)

    _header_block(document, unit, issued)
    _centred(document.add_paragraph(), text["title"]["kind"], bold=True, space_before=Pt(12))
    _centred(document.add_paragraph(), title, bold=True)
    _rule(document.add_paragraph(), Cm(4), TEXT_WIDTH)
    running = running_name(unit)
    period = period_words(figures)
    document.add_paragraph(render("lead", unit=running, period=period))

    for heading, lines in report_notes(figures, catalog):
        _line(document.add_paragraph(), heading, bold=True, italic=True)
        for line in lines:
            _line(document.add_paragraph(), f"- {line}", italic=True)

    by_metric: dict[str, list[str]] = {}
    sections = report_sections(figures, catalog)
    known = {s.metric for s in sections}
    for mark, body in footnotes(figures, catalog):
        # a footnote about no section of this report goes with the first one
        metric = FOOTNOTE_SECTIONS.get(mark, "")
        by_metric.setdefault(metric if metric in known else sections[0].metric, []).append(body)

    _line(document.add_paragraph(), text["body"]["figures"], bold=True)
    for number, section in enumerate(sections, start=1):
        paragraph = document.add_paragraph()
        heading = f"{number}. {section.heading}"
        ending = ":" if heading.endswith(":") else ""
        paragraph.add_run(heading[: len(heading) - len(ending)]).bold = True
        for i, body in enumerate(by_metric.pop(section.metric, [])):
            if i:
                notes.separator(paragraph)
            notes.add(paragraph, body)
        if ending:
            paragraph.add_run(ending).bold = True
        for line in section.lines:
            document.add_paragraph(f"- {line}")

    sentences = summary_sentences(figures, catalog)
    if sentences:
        _line(document.add_paragraph(), text["body"]["summary"], bold=True)
        for sentence in sentences:
            document.add_paragraph(f"- {sentence}")
    document.add_paragraph(render("closing", unit=running, period=period))
    _closing_block(document)
    _properties(document, figures, unit, title, created)
    return document


def write_document(
    figures: Figures,
    catalog: Catalog | None,
    path: Path | str,
    *,
    issued: IssueDate | dt.date | int | None = None,
    title: str | None = None,
    created: dt.datetime | None = None,
) -> Path:
    """Write the draft report of ``figures`` to ``path`` (.docx), beside and then renamed, so
    nobody opens half a file. ``issued``: the issue date as far as it is known (a date, a
    year, an :class:`IssueDate`; blank fields otherwise); ``title``: the report's title under
    "BÁO CÁO" (default :func:`default_title`); ``created``: the document's creation time in
    its properties (default now)."""
    document = build_document(figures, catalog, issued=issued, title=title, created=created)
    buffer = io.BytesIO()
    document.save(buffer)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    try:
        tmp.write_bytes(buffer.getvalue())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _unit(figures: Figures) -> Unit:
    if figures.unit is None:
        raise DocumentError(
            "chưa có đơn vị nào báo cáo: không lập được văn bản / nothing was reported: "
            "no unit to write the document for"
        )
    return figures.unit


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


class _Footnotes:
    """The footnotes part (``word/footnotes.xml``), made when the first footnote is added: the
    two separators Word expects, then one ``w:footnote`` for each note, referenced from the
    text by a ``w:footnoteReference`` that Word numbers."""

    def __init__(self, document: DocxDocument) -> None:
        self.document = document
        self.part: XmlPart | None = None
        self.next_id = 1

    def _notes(self) -> XmlPart:
        if self.part is None:
            separators = "".join(
                f'<w:footnote w:type="{kind}" w:id="{i}"><w:p><w:pPr>'
                '<w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
                f"<w:r><w:{kind}/></w:r></w:p></w:footnote>"
                for i, kind in ((-1, "separator"), (0, "continuationSeparator"))
            )
            element = parse_xml(f"<w:footnotes {nsdecls('w', 'r')}>{separators}</w:footnotes>")
            main = self.document.part
            self.part = XmlPart(
                PackURI("/word/footnotes.xml"), CONTENT_TYPE.WML_FOOTNOTES, element, main.package
            )
            main.relate_to(self.part, RELATIONSHIP_TYPE.FOOTNOTES)
            settings = self.document.settings.element
            settings.insert_element_before(
                parse_xml(
                    f'<w:footnotePr {nsdecls("w")}><w:footnote w:id="-1"/>'
                    '<w:footnote w:id="0"/></w:footnotePr>'
                ),
                *_AFTER_FOOTNOTE_PR,
            )
        return self.part

    def add(self, paragraph: Paragraph, body: str) -> None:
        """A footnote with ``body``, its mark at the end of ``paragraph`` as it is now."""
        part, number = self._notes(), self.next_id
        self.next_id += 1
        part.element.append(
            parse_xml(
                f'<w:footnote {nsdecls("w")} w:id="{number}"><w:p>'
                '<w:pPr><w:pStyle w:val="FootnoteText"/></w:pPr>'
                '<w:r><w:rPr><w:rStyle w:val="FootnoteReference"/></w:rPr><w:footnoteRef/></w:r>'
                f'<w:r><w:t xml:space="preserve"> {escape(body)}</w:t></w:r></w:p></w:footnote>'
            )
        )
        paragraph._p.append(
            parse_xml(
                f'<w:r {nsdecls("w")}><w:rPr><w:rStyle w:val="FootnoteReference"/></w:rPr>'
                f'<w:footnoteReference w:id="{number}"/></w:r>'
            )
        )

    def separator(self, paragraph: Paragraph) -> None:
        """A superscript comma between two marks ("3,4", not "34")."""
        paragraph._p.append(
            parse_xml(
                f'<w:r {nsdecls("w")}><w:rPr><w:rStyle w:val="FootnoteReference"/></w:rPr>'
                "<w:t>,</w:t></w:r>"
            )
        )


def _drop_thumbnail(document: DocxDocument) -> None:
    """python-docx's template carries a thumbnail of another document: not this one's."""
    rels = document.part.package.rels
    for rid in [r for r, rel in rels.items() if rel.reltype == RELATIONSHIP_TYPE.THUMBNAIL]:
        del rels[rid]


def _page(document: DocxDocument) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = PAGE["width"], PAGE["height"]
    section.top_margin, section.bottom_margin = MARGINS["top"], MARGINS["bottom"]
    section.left_margin, section.right_margin = MARGINS["left"], MARGINS["right"]
    section.header_distance = section.footer_distance = Mm(10)
    # page numbers: centred at the top, from the second page
    section.different_first_page_header_footer = True
    number = section.header.paragraphs[0]
    _centred(number, "", size=BODY_PT)
    number._p.append(
        parse_xml(
            f'<w:fldSimple {nsdecls("w")} w:instr=" PAGE "><w:r><w:t>2</w:t></w:r></w:fldSimple>'
        )
    )


def _fonts(rpr: Any) -> None:
    """Times New Roman for every script (Vietnamese is Latin, but Word picks the east Asian
    and complex-script fonts for some characters) and Vietnamese as the language."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for name in list(fonts.attrib):
        del fonts.attrib[name]
    for attr in ("ascii", "hAnsi", "eastAsia", "cs"):
        fonts.set(qn(f"w:{attr}"), FONT)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "vi-VN")


def _styles(document: DocxDocument) -> None:
    styles = document.styles
    defaults = styles.element.find(qn("w:docDefaults"))
    _fonts(defaults.find(qn("w:rPrDefault")).find(qn("w:rPr")))
    normal = styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    _fonts(normal.element.get_or_add_rPr())
    body = normal.paragraph_format
    body.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    body.first_line_indent = FIRST_LINE
    body.space_before, body.space_after = Pt(0), Pt(6)
    body.line_spacing = 1.15
    styles.element.append(
        parse_xml(
            f'<w:style {nsdecls("w")} w:type="paragraph" w:styleId="FootnoteText">'
            '<w:name w:val="footnote text"/><w:basedOn w:val="Normal"/>'
            '<w:uiPriority w:val="99"/><w:unhideWhenUsed/><w:pPr>'
            '<w:spacing w:after="0" w:line="240" w:lineRule="auto"/><w:ind w:firstLine="0"/>'
            f'</w:pPr><w:rPr><w:sz w:val="{NOTE_PT * 2}"/><w:szCs w:val="{NOTE_PT * 2}"/></w:rPr>'
            "</w:style>"
        )
    )
    styles.element.append(
        parse_xml(
            f'<w:style {nsdecls("w")} w:type="character" w:styleId="FootnoteReference">'
            '<w:name w:val="footnote reference"/><w:uiPriority w:val="99"/><w:unhideWhenUsed/>'
            '<w:rPr><w:vertAlign w:val="superscript"/></w:rPr></w:style>'
        )
    )
    theme = document.settings.element.find(qn("w:themeFontLang"))
    if theme is not None:
        theme.set(qn("w:val"), "vi-VN")


def _line(
    paragraph: Paragraph,
    text: str,
    *,
    bold: bool = False,
    italic: bool = False,
    size: int | None = None,
) -> Paragraph:
    run = paragraph.add_run(text)
    run.bold, run.italic = bold or None, italic or None
    if size is not None:
        run.font.size = Pt(size)
    return paragraph


def _centred(
    paragraph: Paragraph,
    text: str,
    *,
    bold: bool = False,
    italic: bool = False,
    size: int | None = None,
    space_before: Pt | None = None,
) -> Paragraph:
    fmt = paragraph.paragraph_format
    fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fmt.first_line_indent = Cm(0)
    fmt.space_after = Pt(0)
    if space_before is not None:
        fmt.space_before = space_before
    if text:
        _line(paragraph, text, bold=bold, italic=italic, size=size)
    return paragraph


def _rule(paragraph: Paragraph, length: Any, width: Any) -> None:
    """A short centred line under what comes before (a border on an empty, narrow paragraph)."""
    fmt = paragraph.paragraph_format
    fmt.first_line_indent = Cm(0)
    fmt.left_indent = fmt.right_indent = Emu(int((width - length) / 2))
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing = Pt(4)
    ppr = paragraph._p.get_or_add_pPr()
    ppr.insert_element_before(
        parse_xml(
            f'<w:pBdr {nsdecls("w")}><w:top w:val="single" w:sz="6" w:space="1" '
            'w:color="auto"/></w:pBdr>'
        ),
        *_AFTER_PBDR,
    )


def _table(document: DocxDocument, widths: list[Any], rows: int) -> Any:
    """A borderless table of fixed column widths across the text."""
    table = document.add_table(rows=rows, cols=len(widths))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    borders = "".join(
        f'<w:{side} w:val="nil"/>'
        for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    table._tbl.tblPr.insert_element_before(
        parse_xml(f"<w:tblBorders {nsdecls('w')}>{borders}</w:tblBorders>"),
        *_AFTER_TBL_BORDERS,
    )
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
        for cell in column.cells:
            cell.width = width
    for row in table.rows:
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    return table


def _cell_lines(cell: _Cell, lines: list[tuple[str, dict[str, Any]]]) -> None:
    for i, (text, style) in enumerate(lines):
        paragraph = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
        _centred(paragraph, text, **style)


def _header_block(document: DocxDocument, unit: Unit, issued: Any) -> None:
    text = words()["header"]
    # the national title on one line (12 pt, Nghị định 30/2020 Phụ lục I: cỡ chữ 12-13)
    left_width, right_width = Cm(6), TEXT_WIDTH - Cm(6)
    table = _table(document, [left_width, right_width], rows=2)
    (body, nation), (number, when) = (row.cells for row in table.rows)
    size = {"size": HEADER_PT}
    _cell_lines(
        body,
        [(text["authority"], {"bold": True, **size}), (unit.name.upper(), {"bold": True, **size})],
    )
    _rule(body.add_paragraph(), Cm(2), left_width)
    _cell_lines(
        nation,
        [
            (text["nation"], {"bold": True, "size": NATION_PT}),
            (text["motto"], {"bold": True, "size": 14}),
        ],
    )
    _rule(nation.add_paragraph(), Cm(6), right_width)
    _cell_lines(number, [(text["number"], size)])
    _cell_lines(when, [(place_and_date(unit, issued), {"italic": True, "size": 14})])
    for cell in (number, when):
        cell.paragraphs[0].paragraph_format.space_before = Pt(6)


def _closing_block(document: DocxDocument) -> None:
    text = words()["closing"]
    table = _table(document, [Cm(8), TEXT_WIDTH - Cm(8)], rows=1)
    recipients, signature = table.rows[0].cells
    first = recipients.paragraphs[0]
    _line(first, text["recipients_heading"], bold=True, italic=True, size=NOTE_PT)
    for line in text["recipients"]:
        _line(recipients.add_paragraph(), line, size=RECIPIENTS_PT)
    for paragraph in recipients.paragraphs:
        fmt = paragraph.paragraph_format
        fmt.alignment, fmt.first_line_indent = WD_ALIGN_PARAGRAPH.LEFT, Cm(0)
        fmt.space_after, fmt.line_spacing = Pt(0), 1.0
    first.paragraph_format.space_before = Pt(12)
    _cell_lines(
        signature,
        [(text["on_behalf"], {"bold": True}), (text["signer"], {"bold": True})]
        + [("", {})] * 4,  # room for the signature and seal; the signer's name below
    )
    signature.paragraphs[0].paragraph_format.space_before = Pt(12)


def _properties(
    document: DocxDocument, figures: Figures, unit: Unit, title: str, created: Any
) -> None:
    text = words()
    props = document.core_properties
    moment = created or dt.datetime.now(dt.UTC)
    body = f"Ủy ban nhân dân {running_name(unit)}"
    props.title = title
    props.subject = f"{text['title']['kind'].capitalize()} {_lower_first(title)} ({figures.label})"
    props.author = body
    props.last_modified_by = body
    props.category = text["properties"]["category"]
    props.comments = text["properties"]["comments"]
    props.keywords = f"dân vận chính quyền; {unit.code}; {figures.label}"
    props.language = "vi-VN"
    props.created = props.modified = moment
    props.revision = 1
