"""The bar charts stay legible with many places: no two labels overlap, however long the
names and however many, each label keeps its full text, and every reference line is
explained in the legend in the caller's words."""

import math
import re
import xml.etree.ElementTree as ElementTree
from itertools import combinations
from pathlib import Path

import pytest

from mealservice.core import charts

SVG_NS = "{http://www.w3.org/2000/svg}"
# The long names of a city's places, each starting the same way.
LONG_NAMES = [
    f"洛阳市西工区第{number}社区老年助餐服务中心（{number}号院）" for number in range(1, 31)
]
THRESHOLD_WORDS = "红色虚线：座位利用率 30 %；低于此线的助餐点列为利用率偏低"


def chart_of(labels, **options) -> ElementTree.Element:
    svg = charts.bar_chart(
        "各助餐点座位利用率",
        labels,
        {"座位利用率(%)": [float(number * 3 % 100) for number in range(len(labels))]},
        **options,
    )
    return ElementTree.fromstring(svg)


def label_boxes(svg: ElementTree.Element) -> list[tuple[str, list[tuple[float, float]]]]:
    """Each label's drawn text and the corners of the box it covers, worked out from what
    the SVG says: its anchor point, anchoring, font size and turn. Each character is
    taken one em wide and the line 1.3 em high, as wide as any Chinese text is drawn."""
    boxes = []
    for text in svg.iter(f"{SVG_NS}text"):
        if text.get("class") != "x-label":
            continue
        x, y, size = float(text.get("x")), float(text.get("y")), float(text.get("font-size"))
        drawn = drawn_text(text)
        width = len(drawn) * size
        left = {"end": x - width, "middle": x - width / 2, "start": x}[text.get("text-anchor")]
        corners = [
            (left, y - size),
            (left + width, y - size),
            (left + width, y + 0.3 * size),
            (left, y + 0.3 * size),
        ]
        degrees = 0.0
        if turn := re.fullmatch(r"rotate\((\S+) (\S+) (\S+)\)", text.get("transform", "")):
            degrees, cx, cy = map(float, turn.groups())
            assert (cx, cy) == (x, y), "a label turns about its anchor"
        boxes.append((drawn, [turned(point, (x, y), degrees) for point in corners]))
    return boxes


def drawn_text(label: ElementTree.Element) -> str:
    """A label's text as drawn, without its <title>."""
    return (label.find(f"{SVG_NS}title").tail or "").strip()


def x_labels(svg: ElementTree.Element) -> list[ElementTree.Element]:
    return [text for text in svg.iter(f"{SVG_NS}text") if text.get("class") == "x-label"]


def turned(point, centre, degrees):
    angle = math.radians(degrees)
    dx, dy = point[0] - centre[0], point[1] - centre[1]
    return (
        centre[0] + dx * math.cos(angle) - dy * math.sin(angle),
        centre[1] + dx * math.sin(angle) + dy * math.cos(angle),
    )


def overlap(first, second) -> bool:
    """Whether two convex boxes overlap: no edge of either separates them."""
    for box in (first, second):
        for (x1, y1), (x2, y2) in zip(box, box[1:] + box[:1], strict=True):
            normal = (y1 - y2, x2 - x1)
            project = [[normal[0] * x + normal[1] * y for x, y in b] for b in (first, second)]
            if max(project[0]) <= min(project[1]) or max(project[1]) <= min(project[0]):
                return False
    return True


def test_the_overlap_check_sees_boxes_that_touch_and_boxes_apart():
    square = [(0, 0), (10, 0), (10, 10), (0, 10)]
    assert overlap(square, [(5, 5), (15, 5), (15, 15), (5, 15)])
    assert not overlap(square, [(11, 0), (21, 0), (21, 10), (11, 10)])
    # Two long boxes turned alike, side by side: apart by more than their height or not.
    strip = [(-100, 0), (0, 0), (0, 10), (-100, 10)]
    for step, apart in ((15, True), (12, False)):
        first = [turned(point, (0, 0), -45) for point in strip]
        second = [turned((x + step, y), (step, 0), -45) for x, y in strip]
        assert overlap(first, second) is not apart, step


@pytest.mark.parametrize("count", [2, 12, 30, 92])
def test_no_two_labels_overlap_with_many_long_chinese_names(count):
    names = (LONG_NAMES * 4)[:count]
    names = [f"{name}{number}" for number, name in enumerate(names)]
    svg = chart_of(names)
    boxes = label_boxes(svg)
    assert boxes, "the labels are drawn"
    for (text, box), (other, other_box) in combinations(boxes, 2):
        assert not overlap(box, other_box), f"{text} overlaps {other}"
    # Every label stays inside the picture.
    width, height = float(svg.get("width")), float(svg.get("height"))
    for text, box in boxes:
        assert all(0 <= x <= width and 0 <= y <= height for x, y in box), text


def test_thirty_long_names_are_abbreviated_turned_and_keep_their_full_name():
    svg = chart_of(LONG_NAMES)
    labels = x_labels(svg)
    assert len(labels) == 30
    for label, name in zip(labels, LONG_NAMES, strict=True):
        assert label.find(f"{SVG_NS}title").text == name
        drawn = drawn_text(label)
        assert drawn.endswith("…") and len(drawn) < len(name)
        # The start all the names share is dropped, so what tells them apart is shown.
        assert not drawn.startswith("洛阳市西工区")
        assert label.get("transform", "").startswith("rotate(-45 ")
    assert len({drawn_text(label) for label in labels}) == 30
    assert float(svg.get("width")) > 800, "the chart widens for thirty turned labels"


def test_a_few_short_names_stand_side_by_side_unabbreviated():
    svg = chart_of(["北食堂", "南食堂", "小餐桌"])
    labels = x_labels(svg)
    assert [drawn_text(label) for label in labels] == ["北食堂", "南食堂", "小餐桌"]
    assert all(label.get("transform") is None for label in labels)
    assert float(svg.get("width")) == 800


def test_each_reference_line_is_explained_in_the_legend_in_the_callers_words():
    svg = chart_of(
        LONG_NAMES,
        reference_lines=[charts.ReferenceLine(30, THRESHOLD_WORDS, label="30%")],
        value_range=(0, 100),
    )
    legend = svg.find(f"{SVG_NS}g[@class='legend']")
    texts = {text.get("class"): text.text for text in legend.iter(f"{SVG_NS}text")}
    assert texts == {"legend-series": "座位利用率(%)", "legend-reference": THRESHOLD_WORDS}
    # Its swatch is drawn as the line is: red and dashed.
    (swatch,) = legend.iter(f"{SVG_NS}path")
    (line,) = [p for p in svg.iter(f"{SVG_NS}path") if p.get("class") == "reference-line"]
    for attribute in ("stroke", "stroke-dasharray"):
        assert swatch.get(attribute) == line.get(attribute)
    assert line.get("stroke") == charts.ALERT_COLOUR
    # The value is written on the axis at the line's height.
    (value,) = [t for t in svg.iter(f"{SVG_NS}text") if t.get("class") == "reference-value"]
    assert value.text == "30%"
    assert abs(float(value.get("y")) - float(line.get("d").split()[1].split("H")[0])) < 10


def test_a_chart_without_data_says_so():
    svg = charts.bar_chart("座位利用率", [], {"座位利用率(%)": []}, no_data_text="没有助餐点。")
    assert "没有助餐点。" in svg
    assert 'class="x-label"' not in svg


def test_the_charts_know_no_business():
    source = Path(charts.__file__).read_text(encoding="utf-8")
    assert not re.search(r"[\u4e00-\u9fff]", source)
    for word in ("seat", "meal", "canteen", "subsidy", "elder", "claim"):
        assert word not in source.lower(), word
