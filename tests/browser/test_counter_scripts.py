"""The counter page's offline rules in Chromium, as plain functions: the meal a moment falls
to (static/js/cashier/slots.js, held to the service's rule over every minute of a day),
the double-scan check and the refused-scan list (static/js/cashier/queue.js)."""

import pytest

from mealservice.places.models import DEFAULT_SLOT_WINDOWS, nearest_slot, slot_at
from tests.browser.conftest import site_context

pytestmark = [pytest.mark.browser, pytest.mark.live]

ODD_HOURS = {"breakfast": ["06:00", "07:00"], "dinner": ["17:00", "20:00"]}


@pytest.fixture
def page(browser, live_server):
    context = site_context(browser, live_server)
    page = context.new_page()
    # A page the service served, under its content security policy, imports the modules
    # as the counter page does.
    assert page.goto("/login").status == 200
    yield page
    context.close()


def every_minute() -> list[str]:
    return [f"{hour:02d}:{minute:02d}" for hour in range(24) for minute in range(60)]


@pytest.mark.parametrize("windows", [DEFAULT_SLOT_WINDOWS, ODD_HOURS])
def test_the_page_puts_every_minute_in_the_meal_the_service_would(page, windows):
    minutes = every_minute()
    found = page.evaluate(
        """async ([windows, minutes]) => {
            const { slotAt, nearestSlot } = await import("/static/js/cashier/slots.js");
            return minutes.map((m) => [slotAt(windows, m), nearestSlot(windows, m)]);
        }""",
        [windows, minutes],
    )
    assert found == [[slot_at(windows, m), nearest_slot(windows, m)] for m in minutes]


def test_the_district_clock_reads_the_districts_hour_not_the_devices(page):
    assert page.evaluate(
        """async () => {
            const { localHHMM } = await import("/static/js/cashier/slots.js");
            const at = new Date("2026-11-25T04:05:00Z");
            return [localHHMM("Asia/Shanghai", at), localHHMM("Europe/London", at)];
        }"""
    ) == ["12:05", "04:05"]


def test_a_second_meal_is_found_by_elder_or_by_card_in_the_slot_and_day_alone(page):
    found = page.evaluate(
        """async () => {
            const { earlierMeal } = await import("/static/js/cashier/queue.js");
            const served = [
                { elder_id: 1, slot: "lunch", served_at: "2026-11-25T04:31:00Z" },
                { elder_id: 2, card_id: "c2", slot: "lunch", served_at: "2026-11-25T04:10:00Z" },
            ];
            const queued = [
                { elderId: null, cardId: "c3", body: { slot: "lunch", scanned_at: "2026-11-25T04:40:00Z" } },
                { elderId: 4, cardId: "c4", body: { slot: "lunch", scanned_at: "2026-11-24T04:40:00Z" } },
            ];
            const dayOf = (iso) => iso.slice(0, 10);
            const ask = (elderId, cardId, slot) => earlierMeal({
                elderId, cardId, slot, day: "2026-11-25", served, queued, dayOf });
            return {
                byElder: ask(1, "c1", "lunch"),
                byCardAlone: ask(null, "c2", "lunch"),
                queued: ask(null, "c3", "lunch"),
                otherSlot: ask(1, "c1", "dinner"),
                yesterday: ask(4, "c4", "lunch"),
                nobody: ask(9, "c9", "lunch"),
            };
        }"""
    )
    assert found == {
        "byElder": "2026-11-25T04:31:00Z",
        "byCardAlone": "2026-11-25T04:10:00Z",
        "queued": "2026-11-25T04:40:00Z",
        "otherSlot": None,
        "yesterday": None,
        "nobody": None,
    }


def test_the_refused_list_follows_the_service_for_what_was_reported(page):
    """Reported rows resolved elsewhere leave; rows reported from another tablet arrive;
    a row not yet reported, or reported after the list was asked for, stays whatever the
    answer says."""
    kept = page.evaluate(
        """async () => {
            const { refusedScans } = await import("/static/js/cashier/queue.js");
            localStorage.clear();
            const list = refusedScans(1, () => {});
            list.add({ key: "here-unreported", label: "A" });
            list.add({ key: "here-reported", label: "B", serverId: 5, reportedAt: 100 });
            list.add({ key: "resolved-elsewhere", label: "C", serverId: 6, reportedAt: 100 });
            list.add({ key: "reported-since", label: "E", serverId: 8, reportedAt: 300 });
            list.add({ key: "here-reported", label: "B again", serverId: 5 });
            list.merge([
                { id: 5, key: "here-reported", label: "B", scanned_at: "x", error_code: "card_invalid", error_message: "" },
                { id: 7, key: "other-tablet", label: "D", scanned_at: "y", error_code: "month_closed", error_message: "m" },
            ], 200);
            const again = refusedScans(1, () => {});
            return again.list().map((item) => [item.key, item.label, item.serverId || null]);
        }"""
    )
    assert kept == [
        ["here-unreported", "A", None],
        ["here-reported", "B", 5],
        ["reported-since", "E", 8],
        ["other-tablet", "D", 7],
    ]


def test_the_days_meals_keep_the_card_they_were_scanned_from_and_forget_an_undone_one(page):
    kept = page.evaluate(
        """async () => {
            const { servedLog } = await import("/static/js/cashier/queue.js");
            localStorage.clear();
            const log = servedLog(1);
            log.add("2026-11-25", { id: 1, elder_id: 7, card_id: "c7", slot: "lunch" });
            // The day's list names no card: the scan's card stays.
            log.add("2026-11-25", { id: 1, elder_id: 7, card_id: null, slot: "lunch" });
            log.add("2026-11-25", { id: 2, elder_id: 8, card_id: null, slot: "lunch" });
            log.forget("2026-11-25", 2);
            return {
                today: log.read("2026-11-25").map((m) => [m.id, m.card_id]),
                tomorrow: log.read("2026-11-26"),
            };
        }"""
    )
    assert kept == {"today": [[1, "c7"]], "tomorrow": []}
