"""The monthly report's PDF: the sections of app/rendering/report_tables.py, laid out with
reportlab Platypus in the bundled IPAexGothic (embedded), Japanese by default.

The charts are the same reportlab drawings the page shows as SVG. Every text is escaped
for reportlab's mini-HTML (an organization's name may hold <, & and the like).
"""

import io
from xml.sax.saxutils import escape

from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table

from app.domain.timeutil import to_jst
from app.rendering.claim_pdf import FONT, GRID, register_font
from app.rendering.report_tables import sections

MARGIN = 15 * mm
WIDTH = A4[0] - 2 * MARGIN


def _styles():
    base = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=12, wordWrap="CJK")
    return {"body": base,
            "title": ParagraphStyle("title", base, fontSize=16, leading=22, spaceAfter=4),
            "h": ParagraphStyle("h", base, fontSize=12, leading=16, spaceBefore=10,
                                spaceAfter=4),
            "caption": ParagraphStyle("caption", base, fontSize=9, leading=12, spaceBefore=4,
                                      spaceAfter=2),
            "note": ParagraphStyle("note", base, fontSize=7.5, leading=10, spaceBefore=2),
            "cell": ParagraphStyle("cell", base, fontSize=8, leading=10),
            "head": ParagraphStyle("head", base, fontSize=7.5, leading=9.5),
            "num": ParagraphStyle("num", base, fontSize=8, leading=10, alignment=TA_RIGHT)}


def _text(value):
    """Any text escaped for reportlab's mini-HTML."""
    return escape(str(value if value is not None else ""))


def render_pdf(report, locale="ja"):
    """The PDF bytes of a built MonthlyReport (its frozen figures), in `locale`."""
    register_font()
    styles = _styles()
    with force_locale(locale):
        story = _story(report, styles)
        title = _("Monthly report %(month)s", month=report.month)
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN, title=title,
                            author="Kaketsuke", invariant=1)
    pdf.build(story)
    return buffer.getvalue()


def _story(report, s):
    data = report.data
    organization = data["organization"]
    built = to_jst(report.built_at).strftime("%Y-%m-%d %H:%M JST")
    story = [Paragraph(_text(_("Monthly report %(month)s", month=report.month)), s["title"]),
             Paragraph(_text(f"{organization['name']}（{organization['code']}）"), s["body"]),
             Paragraph(_text(_("Period: %(first)s to %(last)s (Japan time). Built %(built)s.",
                               first=data["period"]["first_day"],
                               last=data["period"]["last_day"], built=built)), s["body"])]
    for section in sections(data):
        story.append(Paragraph(_text(section.title), s["h"]))
        if section.chart is not None:
            story.append(section.chart)
        for table in section.tables:
            story.extend(_table(table, s))
        if section.note:
            story.append(Paragraph(_text(section.note), s["note"]))
    return story


def _table(table, s):
    """A grid table (header row repeated on a new page); figures right-aligned."""
    cells = [[Paragraph(_text(v), s["head"]) for v in table.columns]] + [
        [Paragraph(_text(v), s["num"] if i in table.numeric else s["cell"])
         for i, v in enumerate(row)] for row in table.rows]
    first = WIDTH * (0.2 if len(table.columns) > 4 else 0.5)
    rest = (WIDTH - first) / max(len(table.columns) - 1, 1)
    grid = Table(cells, colWidths=[first] + [rest] * (len(table.columns) - 1), repeatRows=1)
    grid.setStyle(GRID)
    parts = [grid, Spacer(1, 2 * mm)]
    if table.caption:
        parts.insert(0, Paragraph(_text(table.caption), s["caption"]))
    return [KeepTogether(parts)]
