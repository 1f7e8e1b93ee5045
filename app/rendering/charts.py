"""Charts drawn once with reportlab's graphics and output twice: as inline SVG for the
pages and as vector drawings inside the PDFs, so a report's page and its PDF show the same
figures. Labels arrive translated; text uses the bundled IPAexGothic (Japanese labels).

The pages' Content-Security-Policy allows no inline styles, so the SVG carries its colours
and fonts as presentation attributes instead of reportlab's style="..." attributes.
"""

import math
import re

from reportlab.graphics import renderSVG
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors

from app.rendering.claim_pdf import FONT, register_font

BAR_COLOUR = colors.HexColor("#1f5fa8")
ROW_HEIGHT = 18
LEFT = 150  # room for the category labels
TITLE_SPACE = 22
STYLE_ATTRIBUTE = re.compile(r' style="([^"]*)"')


def bar_chart(title, labels, values, width=480):
    """A horizontal bar chart of `values` by `labels` (zero rows included), with a title.

    Each bar carries its value as text, so the numbers are in the SVG and the PDF's text.
    """
    register_font()
    rows = max(len(labels), 1)
    height = rows * ROW_HEIGHT + TITLE_SPACE + 24
    drawing = Drawing(width, height)
    drawing.add(String(0, height - 14, title, fontName=FONT, fontSize=11))
    chart = HorizontalBarChart()
    chart.x, chart.y = LEFT, 20
    chart.width, chart.height = width - LEFT - 40, rows * ROW_HEIGHT
    # Top to bottom in the given order: reportlab draws the first category at the bottom.
    chart.data = [list(reversed(values)) or [0]]
    chart.categoryAxis.categoryNames = list(reversed(labels)) or [""]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 8
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max([*values, 1]) * 1.15
    chart.valueAxis.valueStep = _step(max([*values, 1]))
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#dddddd")
    chart.bars[0].fillColor = BAR_COLOUR
    chart.barLabelFormat = "%d"
    chart.barLabels.fontName = FONT
    chart.barLabels.fontSize = 8
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    drawing.add(chart)
    return drawing


def _step(largest):
    """A round tick step (1, 2, 5, 10, 20, 50, …) giving about five ticks: counts and yen
    are whole numbers, so the axis never shows 0.5."""
    rough = max(largest / 5, 1)
    power = 10 ** math.floor(math.log10(rough))
    return next(n * power for n in (1, 2, 5, 10) if n * power >= rough)


def _presentation_attributes(match):
    """style="fill: red; stroke-width: 1;" as fill="red" stroke-width="1"."""
    pairs = (part.split(":", 1) for part in match.group(1).split(";") if ":" in part)
    return "".join(f' {name.strip()}="{value.strip()}"' for name, value in pairs)


def to_svg(drawing, description=""):
    """The drawing as an inline <svg> element (no XML prolog), with an accessible name.

    No clipPath and no ids, so several charts can share a page; text is escaped by the
    SVG writer.
    """
    svg = renderSVG.drawToString(drawing, useClip=True)
    svg = svg[svg.index("<svg"):]
    svg = STYLE_ATTRIBUTE.sub(_presentation_attributes, svg).replace(' id="group"', "", 1)
    label = re.sub(r'[<>&"]', "", description)
    svg = svg.replace("<title>...</title>", f"<title>{label}</title>", 1)
    svg = svg.replace("<desc>...</desc>", "", 1)
    return svg.replace("<svg", f'<svg role="img" aria-label="{label}"', 1)
