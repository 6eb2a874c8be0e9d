"""The stylesheet's tables and tick boxes in Chromium, on a phone (390 px) and a desk
(1280 px): a fact list keeps its headings a third wide, a table of many columns lays out
by its content (scrolling sideways inside its box on a phone), a tick box is big enough
to tap."""

import pytest

from tests.browser.conftest import site_context

pytestmark = [pytest.mark.browser, pytest.mark.live]

ADDRESS = "北山街道宝石山下一弄社区12幢3单元502室（请敲门，老人听力不好）"

SAMPLE = f"""
<table class="facts" id="fact-list">
  <tr><th scope="row">地址</th><td>{ADDRESS}</td></tr>
  <tr><th scope="row">电话</th><td>13800001234</td></tr>
</table>
<table class="facts" id="many-columns">
  <thead><tr>{"".join(f"<th scope='col'>{h}</th>" for h in ("订单", "餐次", "老人", "地址", "状态", "操作"))}</tr></thead>
  <tbody>{"".join(f"<tr><td>{n}</td><td>午餐</td><td>王秀英</td><td>{ADDRESS}</td><td>已派送</td><td><button>重新派送</button></td></tr>" for n in range(20))}</tbody>
</table>
<label><input type="checkbox" id="tick"> 同意</label>
<label><input type="radio" id="choice"> 送餐</label>
"""

MEASURE = """(sample) => {
    document.querySelector('main').innerHTML = sample;
    const box = (selector) => document.querySelector(selector).getBoundingClientRect();
    const address = document.querySelector('#many-columns tbody tr td:nth-child(4)');
    return {
        factTable: box('#fact-list').width,
        factHeading: box('#fact-list th').width,
        address: address.getBoundingClientRect().width,
        manyHeight: box('#many-columns').height,
        pageWidth: document.documentElement.scrollWidth,
        tick: [box('#tick').width, box('#tick').height],
        choice: [box('#choice').width, box('#choice').height],
    };
}"""


@pytest.mark.parametrize(("width", "share"), [(390, 0.45), (1280, 0.35)])
def test_fact_lists_keep_their_look_and_wide_tables_lay_out_by_content(
    browser, live_server, width, share
):
    context = site_context(browser, live_server, viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        assert page.goto("/login").status == 200  # the stylesheet, under the page's policy
        found = page.evaluate(MEASURE, SAMPLE)
    finally:
        context.close()
    assert found["factHeading"] == pytest.approx(found["factTable"] * share, abs=2)
    # The address no longer runs a character wide, nor the page thousands of pixels tall.
    assert found["address"] >= 120, found
    assert found["manyHeight"] < 20 * 200, found  # 9,115 px before
    # Nothing pushes the page itself sideways: a wide table scrolls in its own box.
    assert found["pageWidth"] <= width, found
    for size in (found["tick"], found["choice"]):
        assert min(size) >= 24, found
