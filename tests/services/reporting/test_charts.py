"""The chart helper: one reportlab drawing, shown as CSP-safe inline SVG and drawn in PDFs."""

import re

from app.rendering.charts import bar_chart, to_svg


def test_the_svg_has_no_inline_styles_no_ids_and_escaped_text(ctx):
    svg = to_svg(bar_chart("件数 <b>&", ["<script>x</script>", "マルウェア感染"], [3, 12]),
                 'Alerts "by" <severity>')
    assert svg.startswith('<svg role="img" aria-label="Alerts by severity"')
    assert "style=" not in svg and " id=" not in svg and "clipPath" not in svg
    assert "<script>" not in svg and "&lt;script&gt;x&lt;/script&gt;" in svg
    assert "件数 &lt;b&gt;&amp;" in svg and "マルウェア感染" in svg
    assert 'fill="rgb(12%,37%,65%)"' in svg  # the bar colour survives as an attribute
    assert ">12<" in svg and ">3<" in svg  # each bar carries its value as text


def test_two_charts_on_one_page_share_no_ids(ctx):
    page = to_svg(bar_chart("a", ["x"], [1])) + to_svg(bar_chart("b", ["y"], [2]))
    assert re.findall(r'\bid="', page) == []


def test_count_axes_tick_at_whole_numbers(ctx):
    svg = to_svg(bar_chart("t", ["a", "b"], [2, 1]))
    ticks = re.findall(r">(\d+(?:\.\d+)?)</text>", svg)
    assert ticks and all("." not in t for t in ticks)


def test_an_empty_chart_still_draws(ctx):
    assert "<svg" in to_svg(bar_chart("nothing", [], []))
