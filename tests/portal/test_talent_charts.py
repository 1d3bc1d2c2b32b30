"""Server-side SVG charts: accessible, escaped, and scaled to the data."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from ledger.portal.charts import Bar, column_chart, row_chart

SVG = "{http://www.w3.org/2000/svg}"


def _bars(svg: str) -> list[ElementTree.Element]:
    return ElementTree.fromstring(svg).findall(f".//{SVG}rect")


def test_column_chart_is_an_image_named_and_described_with_every_value():
    svg = column_chart(
        title="Earnings by month, EUR",
        bars=[Bar("2026-04", 1000, "€10.00"), Bar("2026-05", 4000, "€40.00")],
    )
    root = ElementTree.fromstring(svg)
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}title").text == "Earnings by month, EUR"
    desc = root.find(f"{SVG}desc")
    assert desc.get("id") == desc_id
    assert "2026-04 €10.00" in desc.text and "2026-05 €40.00" in desc.text
    # Every bar has its own tooltip title and visible text labels (value and category).
    groups = root.findall(f"{SVG}g")
    assert [g.find(f"{SVG}title").text for g in groups] == [
        "2026-04: €10.00",
        "2026-05: €40.00",
    ]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"€10.00", "€40.00", "2026-04", "2026-05"} <= set(texts)


def test_bar_heights_are_proportional_and_negative_values_draw_nothing():
    heights = [
        float(rect.get("height"))
        for rect in _bars(
            column_chart(
                title="t", bars=[Bar("a", 1000, "x"), Bar("b", 4000, "y"), Bar("c", -50, "z")]
            )
        )
    ]
    assert heights[1] == 4 * heights[0]
    assert heights[2] == 0


def test_row_chart_widths_are_proportional_and_labels_escaped():
    svg = row_chart(
        title="By brand", bars=[Bar("<Bolt & Co>", 300, "€3.00"), Bar("Atelier", 600, "€6.00")]
    )
    widths = [float(rect.get("width")) for rect in _bars(svg)]
    assert widths[1] == 2 * widths[0]
    assert "<Bolt" not in svg and "&lt;Bolt &amp; Co&gt;" in svg
    ElementTree.fromstring(svg)  # still well-formed XML


def test_ids_differ_between_charts_on_one_page():
    ids = [
        re.search(r'aria-labelledby="([^ "]+)', column_chart(title="t", bars=[Bar("a", 1, "1")]))[1]
        for _ in range(2)
    ]
    assert ids[0] != ids[1]


def test_an_empty_chart_says_so():
    svg = column_chart(title="Earnings", bars=[])
    assert "Nothing yet" in svg
    assert ElementTree.fromstring(svg).get("role") == "img"


def test_crowded_columns_show_one_reference_value_instead_of_colliding_labels():
    bars = [Bar(f"M{n}", n * 100, f"€{n}.00", note="2026" if n == 1 else "") for n in range(1, 13)]
    svg = column_chart(title="Twelve months", bars=bars)
    root = ElementTree.fromstring(svg)
    values = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "value"]
    assert values == ["€12.00"]  # the highest, on its reference line
    assert root.find(f"{SVG}line[@class='grid']") is not None
    # Every value is still named: in each bar's title and in the description.
    titles = [g.find(f"{SVG}title").text for g in root.findall(f"{SVG}g")]
    assert titles[0] == "M1 2026: €1.00" and titles[-1] == "M12: €12.00"
    assert "M5 €5.00" in root.find(f"{SVG}desc").text
