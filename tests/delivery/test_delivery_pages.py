"""The delivery pages through the test client: the manager's runs, route sheets and labels,
the volunteer's drops with the door code, welfare alerts and their follow-up, and the
delivery stage on a relative's order page. Who gets which page, and what never shows."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from mealservice.core.db import db
from mealservice.delivery import services
from mealservice.delivery.models import DeliveryRun
from mealservice.elders.models import AccessLogEntry, AlertKind, WelfareAlert
from mealservice.meals.models import OrderStatus
from tests import factories
from tests.core.test_pages import log_in
from tests.pages import PASSWORD, browser_as, html_of, post_form

ID_NUMBER = re.compile(r"\d{17}[\dXx]")


@pytest.fixture
def manager(app, canteen):
    return browser_as(app, "manager", canteen=canteen)


@pytest.fixture
def volunteer(app, canteen):
    return browser_as(app, "volunteer", canteen=canteen)


@pytest.fixture
def order(canteen, elder):
    """A confirmed delivery order for tomorrow's lunch."""
    return factories.create_order(canteen, elder, "delivery", address="测试路2号3单元101室")


@pytest.fixture
def tomorrow(canteen):
    return canteen.district.local_today() + timedelta(days=1)


def deliveries_url(canteen, day, slot=None) -> str:
    return f"/canteens/{canteen.id}/deliveries?date={day.isoformat()}" + (
        f"&slot={slot}" if slot else ""
    )


def volunteer_run(canteen, order, volunteer, today=False) -> DeliveryRun:
    """The order sent out with the volunteer; `today` moves the run to today, as the
    volunteer's page lists only today's runs and the factory's orders are for tomorrow."""
    manager = factories.create_user("manager", canteen=canteen)
    factories.close_ordering(canteen, order.date, order.slot)
    (run,) = services.make_runs(
        manager, canteen, order.date, order.slot, "volunteer", volunteer_id=volunteer.user.id
    )
    if today:
        run.date = canteen.district.local_today()
    db.session.commit()
    return run


def read_log(user) -> list[AccessLogEntry]:
    return list(
        db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.username == user.username))
    )


def section(html: str, testid: str) -> str:
    """The part of a page inside the element with this data-testid, up to </main>."""
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</main>", start)]


# The manager's page


def test_a_manager_sees_the_days_delivery_orders_with_their_status_in_words(
    manager, canteen, order, tomorrow
):
    html = html_of(manager.get(deliveries_url(canteen, tomorrow)))
    assert f'data-testid="order-{order.id}"' in html
    assert order.elder.name in html and "测试路2号3单元101室" in html
    assert "Waiting to dispatch" in html
    assert 'data-refresh-url="/api/v1/canteens/' in html
    assert '<option value="volunteer"' in html and '<option value="simulator"' in html
    assert f'data-testid="redispatch-{order.id}"' not in html


def test_the_manager_page_is_chinese_by_default(app, canteen, order, tomorrow):
    user = factories.create_user("manager", canteen=canteen, password=PASSWORD)
    client = app.test_client()
    log_in(client, user.username, PASSWORD)
    response = client.get(deliveries_url(canteen, tomorrow))
    assert response.status_code == 200
    assert 'lang="zh-CN"' in html_of(response)


def test_the_volunteer_select_lists_the_canteens_volunteers_only(
    app, manager, volunteer, canteen, district, tomorrow
):
    elsewhere = factories.create_canteen(district)
    stranger = factories.create_user("volunteer", canteen=elsewhere)
    html = html_of(manager.get(deliveries_url(canteen, tomorrow)))
    assert volunteer.user.username in html
    assert stranger.username not in html


@pytest.mark.parametrize("role", ["cashier", "volunteer", "family", "official"])
def test_roles_that_do_not_make_runs_are_refused_the_manager_page(app, role, canteen, district):
    client = browser_as(app, role, canteen=canteen, district=district)
    assert client.get(f"/canteens/{canteen.id}/deliveries").status_code == 403


def test_a_manager_of_another_canteen_does_not_find_the_page(app, canteen, district):
    client = browser_as(app, "manager", canteen=factories.create_canteen(district))
    assert client.get(f"/canteens/{canteen.id}/deliveries").status_code == 404


def test_nobody_logged_in_is_sent_to_log_in(client, canteen):
    assert client.get(f"/canteens/{canteen.id}/deliveries").status_code in (302, 401)


def test_making_runs_for_a_volunteer_shows_the_run_with_its_sheet_and_labels(
    manager, volunteer, canteen, order, tomorrow
):
    page = deliveries_url(canteen, tomorrow, "lunch")
    factories.close_ordering(canteen, tomorrow)
    response = post_form(
        manager,
        f"/canteens/{canteen.id}/deliveries/runs",
        {
            "date": tomorrow.isoformat(),
            "slot": "lunch",
            "platform": "volunteer",
            "volunteer_id": volunteer.user.id,
        },
        page,
    )
    assert response.status_code == 302
    run = db.session.scalar(select(DeliveryRun).where(DeliveryRun.canteen_id == canteen.id))
    assert run.volunteer_id == volunteer.user.id and run.platform == "volunteer"
    html = html_of(manager.get(page))
    assert "1 runs made." in html
    assert f'data-testid="run-{run.id}"' in html
    assert f"/delivery-runs/{run.id}/sheet" in html and f"/delivery-runs/{run.id}/labels" in html
    assert "Dispatched" in section(html, f"run-{run.id}")
    # Re-dispatch waits hidden until the order fails (delivery.js shows it).
    (form,) = re.findall(rf"<form[^>]*/orders/{order.id}/redispatch[^>]*>", html)
    assert "hidden" in form
    assert volunteer.user.username in section(html, f"run-{run.id}")


def test_making_runs_before_the_ordering_cutoff_says_so_and_sends_nothing(
    manager, volunteer, canteen, order, tomorrow
):
    body = {"date": tomorrow.isoformat(), "slot": "lunch", "platform": "volunteer"}
    body["volunteer_id"] = volunteer.user.id
    response = post_form(
        manager, f"/canteens/{canteen.id}/deliveries/runs", body, deliveries_url(canteen, tomorrow)
    )
    assert response.status_code == 409
    assert "can still order and cancel this meal until its ordering cutoff" in html_of(response)
    assert db.session.get(type(order), order.id).status == OrderStatus.CONFIRMED


def test_a_volunteer_run_without_a_volunteer_is_refused_in_words(manager, canteen, order, tomorrow):
    factories.close_ordering(canteen, tomorrow)
    response = post_form(
        manager,
        f"/canteens/{canteen.id}/deliveries/runs",
        {"date": tomorrow.isoformat(), "slot": "lunch", "platform": "volunteer"},
        deliveries_url(canteen, tomorrow),
    )
    assert response.status_code == 422
    assert "Choose the volunteer who carries this run." in html_of(response)
    assert db.session.get(type(order), order.id).run_id is None


def test_making_runs_with_no_orders_says_so_on_the_page(manager, canteen, tomorrow):
    page = deliveries_url(canteen, tomorrow, "lunch")
    response = post_form(
        manager,
        f"/canteens/{canteen.id}/deliveries/runs",
        {"date": tomorrow.isoformat(), "slot": "lunch", "platform": "simulator"},
        page,
    )
    assert response.status_code == 409
    assert "no confirmed delivery orders left" in html_of(response)
    assert 'data-testid="deliveries-error"' in html_of(response)


def test_making_runs_with_an_unknown_platform_is_refused_on_the_page(
    manager, canteen, order, tomorrow
):
    response = post_form(
        manager,
        f"/canteens/{canteen.id}/deliveries/runs",
        {"date": tomorrow.isoformat(), "slot": "lunch", "platform": "pigeon"},
        deliveries_url(canteen, tomorrow),
    )
    assert response.status_code == 422
    assert 'data-testid="deliveries-error"' in html_of(response)
    assert db.session.get(type(order), order.id).status == OrderStatus.CONFIRMED


def test_a_failed_order_has_a_redispatch_button_that_sends_it_out_again(
    manager, volunteer, canteen, order, tomorrow
):
    run = volunteer_run(canteen, order, volunteer)
    services.report_no_answer(volunteer.user, order)
    db.session.commit()
    page = deliveries_url(canteen, tomorrow)
    html = html_of(manager.get(page))
    (form,) = re.findall(rf"<form[^>]*/orders/{order.id}/redispatch[^>]*>", html)
    assert "hidden" not in form
    assert "Delivery failed" in html and "Nobody answered the door" in html
    response = post_form(manager, f"/orders/{order.id}/redispatch", {}, page)
    assert response.status_code == 302
    db.session.refresh(order)
    assert order.status == OrderStatus.DISPATCHED and order.run_id != run.id
    assert f"Order {order.id} is on its way again." in html_of(manager.get(page))


def test_redispatching_an_order_that_did_not_fail_is_refused_with_a_message(
    manager, canteen, order, tomorrow
):
    page = deliveries_url(canteen, tomorrow)
    response = post_form(manager, f"/orders/{order.id}/redispatch", {}, page)
    assert response.status_code == 302
    assert "Only a failed delivery can be sent out again." in html_of(manager.get(page))


# Route sheet and labels


@pytest.mark.parametrize("paper", ["sheet", "labels"])
def test_the_papers_carry_what_the_courier_needs_and_never_the_id_number_or_code(
    manager, volunteer, canteen, order, elder, paper
):
    run = volunteer_run(canteen, order, volunteer)
    db.session.refresh(order)
    assert order.delivery_code
    response = manager.get(f"/delivery-runs/{run.id}/{paper}")
    assert response.status_code == 200
    html = html_of(response)
    body = section(html, "route-sheet" if paper == "sheet" else "labels")
    assert elder.name in body and "测试路2号3单元101室" in body
    assert order.option.name in body and elder.diet_notes in body
    assert order.delivery_code not in body
    assert not ID_NUMBER.search(html) and elder.id_number_masked not in html
    assert elder.phone not in html
    assert 'data-action="print"' in html and "js/delivery.js" in html


def test_a_label_boxes_the_allergies_and_heads_the_care_note_as_such(
    manager, volunteer, canteen, district
):
    elder = factories.create_elder(
        district,
        canteen.community,
        allergies=["花生", "海鲜"],
        diet_needs=["soft"],
        diet_notes="独居，耳背，请敲门大声些",
    )
    order = factories.create_order(canteen, elder, "delivery")
    run = volunteer_run(canteen, order, volunteer)
    path = f"/delivery-runs/{run.id}/labels"
    label = section(html_of(manager.get(path)), "label")

    warning = re.search(
        r'class="label-warning" data-testid="label-warning">(.*?)</div>', label, re.S
    )
    assert "⚠ Allergies: 花生, 海鲜" in warning.group(1)
    assert "Diet needs: Soft" in warning.group(1)
    # The care note is not a diet restriction: it has its own heading, outside the box.
    note = '<span class="label-heading">Care note</span>: 独居，耳背，请敲门大声些'
    assert note in label and note not in warning.group(1)
    assert "Diet notes" not in label
    manager.get("/lang/zh")
    label = section(html_of(manager.get(path)), "label")
    assert "照护备注" in label and "饮食禁忌" not in label and "⚠ 过敏食物: 花生, 海鲜" in label


def test_a_label_without_allergies_or_diet_needs_has_no_warning_box(
    manager, volunteer, canteen, district
):
    elder = factories.create_elder(district, canteen.community, diet_notes="独居")
    order = factories.create_order(canteen, elder, "delivery")
    run = volunteer_run(canteen, order, volunteer)
    label = section(html_of(manager.get(f"/delivery-runs/{run.id}/labels")), "label")
    assert "label-warning" not in label and "Care note" in label


def test_the_route_sheet_boxes_the_allergies_words_the_diet_needs_and_heads_the_care_note(
    manager, volunteer, canteen, district
):
    elder = factories.create_elder(
        district,
        canteen.community,
        allergies=["花生", "海鲜"],
        diet_needs=["soft", "low_salt"],
        diet_notes="独居，耳背，请敲门大声些",
    )
    order = factories.create_order(canteen, elder, "delivery")
    run = volunteer_run(canteen, order, volunteer)
    path = f"/delivery-runs/{run.id}/sheet"
    sheet = section(html_of(manager.get(path)), "route-sheet")

    assert '<th scope="col">Diet needs</th>' in sheet and '<th scope="col">Care note</th>' in sheet
    assert "Diet notes" not in sheet
    assert (
        '<p class="sheet-warning" data-testid="sheet-allergies">⚠ Allergies: 花生, 海鲜</p>'
        in sheet
    )
    assert '<p data-testid="sheet-diet-needs">Low salt, Soft</p>' in sheet
    assert '<td data-testid="sheet-care-note">独居，耳背，请敲门大声些</td>' in sheet
    manager.get("/lang/zh")
    sheet = section(html_of(manager.get(path)), "route-sheet")
    assert "照护备注" in sheet and "饮食禁忌" not in sheet and "⚠ 过敏食物: 花生, 海鲜" in sheet
    assert "少盐, 软烂" in sheet


def test_the_route_sheet_shows_the_phone_masked(manager, volunteer, canteen, order, elder):
    run = volunteer_run(canteen, order, volunteer)
    html = html_of(manager.get(f"/delivery-runs/{run.id}/sheet"))
    assert f"{elder.phone[:3]}****{elder.phone[-4:]}" in html


def test_the_route_sheet_lists_stops_by_community_then_address(
    manager, volunteer, canteen, district
):
    east = factories.create_community(district, name="东社区")
    west = factories.create_community(district, name="A西社区")
    first = factories.create_elder(district, east, address="东路9号")
    second = factories.create_elder(district, west, address="西路5号")
    third = factories.create_elder(district, west, address="西路1号")
    for elder in (first, second, third):
        order = factories.create_order(canteen, elder, "delivery")
    run = volunteer_run(canteen, order, volunteer)
    html = section(html_of(manager.get(f"/delivery-runs/{run.id}/sheet")), "route-sheet")
    positions = [html.index(address) for address in ("西路1号", "西路5号", "东路9号")]
    assert positions == sorted(positions)


def test_a_volunteer_reads_the_papers_of_their_own_run_only(app, volunteer, canteen, order):
    run = volunteer_run(canteen, order, volunteer)
    assert volunteer.get(f"/delivery-runs/{run.id}/sheet").status_code == 200
    other = browser_as(app, "volunteer", canteen=canteen)
    assert other.get(f"/delivery-runs/{run.id}/sheet").status_code == 404
    assert other.get(f"/delivery-runs/{run.id}/labels").status_code == 404


def test_papers_of_a_run_that_does_not_exist_are_not_found(manager):
    assert manager.get("/delivery-runs/999999/sheet").status_code == 404


def test_a_cashier_may_not_read_the_papers(app, manager, volunteer, canteen, order):
    run = volunteer_run(canteen, order, volunteer)
    cashier = browser_as(app, "cashier", canteen=canteen)
    assert cashier.get(f"/delivery-runs/{run.id}/labels").status_code == 403


# The volunteer's drops


def test_a_volunteer_sees_todays_runs_with_the_address_and_masked_phone(
    volunteer, canteen, order, elder
):
    volunteer_run(canteen, order, volunteer, today=True)
    html = html_of(volunteer.get("/my-drops"))
    drop = section(html, f"drop-{order.id}")
    assert "测试路2号3单元101室" in drop
    assert f'data-testid="code-{order.id}"' in drop
    assert f'data-testid="no-answer-{order.id}"' in drop


def test_a_volunteer_calls_the_elder_of_a_drop_still_to_make_and_the_showing_is_logged(
    volunteer, canteen, order, elder
):
    volunteer_run(canteen, order, volunteer, today=True)
    drop = section(html_of(volunteer.get("/my-drops")), f"drop-{order.id}")
    assert f'<a href="tel:{elder.phone}" data-testid="drop-phone-{order.id}">' in drop
    [entry] = read_log(volunteer.user)
    assert (entry.elder_id, entry.reason, entry.canteen_id) == (
        elder.id,
        "volunteer drop",
        canteen.id,
    )


def test_a_made_drop_shows_the_phone_masked_again_and_logs_nothing(
    volunteer, canteen, order, elder
):
    run = volunteer_run(canteen, order, volunteer, today=True)
    db.session.refresh(order)
    services.confirm_drop(volunteer.user, order, order.delivery_code)
    db.session.commit()
    assert run.status == "done"
    html = html_of(volunteer.get("/my-drops"))
    assert elder.phone not in html and f"{elder.phone[:3]}****{elder.phone[-4:]}" in html
    assert read_log(volunteer.user) == []


def test_a_volunteer_with_no_run_today_is_told_so(volunteer, canteen, order):
    volunteer_run(canteen, order, volunteer)  # tomorrow's
    assert 'data-testid="no-drops"' in html_of(volunteer.get("/my-drops"))


def test_the_right_code_confirms_the_drop(volunteer, canteen, order):
    run = volunteer_run(canteen, order, volunteer, today=True)
    db.session.refresh(order)
    response = post_form(
        volunteer,
        f"/delivery-runs/{run.id}/drops/{order.id}/delivered",
        {"code": order.delivery_code},
        "/my-drops",
    )
    assert response.status_code == 302
    db.session.refresh(order)
    assert order.status == OrderStatus.DELIVERED and order.delivered_at is not None
    html = html_of(volunteer.get("/my-drops"))
    assert f"Delivered to {order.elder.name}." in html
    assert f'data-testid="code-{order.id}"' not in html


def test_a_wrong_code_is_a_clear_message_on_the_page(volunteer, canteen, order):
    run = volunteer_run(canteen, order, volunteer, today=True)
    db.session.refresh(order)
    wrong = "000000" if order.delivery_code != "000000" else "111111"
    response = post_form(
        volunteer,
        f"/delivery-runs/{run.id}/drops/{order.id}/delivered",
        {"code": wrong},
        "/my-drops",
    )
    assert response.status_code == 409
    html = html_of(response)
    assert f'data-testid="drop-error-{order.id}"' in html
    assert "That code is not right." in html
    db.session.refresh(order)
    assert order.status == OrderStatus.DISPATCHED


def test_no_answer_fails_the_drop_and_raises_a_welfare_alert(volunteer, canteen, order):
    run = volunteer_run(canteen, order, volunteer, today=True)
    response = post_form(
        volunteer, f"/delivery-runs/{run.id}/drops/{order.id}/no-answer", {}, "/my-drops"
    )
    assert response.status_code == 302
    db.session.refresh(order)
    assert order.status == OrderStatus.FAILED and order.failure_reason == "no_answer"
    alert = db.session.scalar(select(WelfareAlert).where(WelfareAlert.order_id == order.id))
    assert alert is not None and alert.followed_up_at is None
    assert "The community has been alerted" in html_of(volunteer.get("/my-drops"))


def test_the_manager_settles_a_drop_by_hand_from_the_runs_drops(manager, volunteer, canteen, order):
    run = volunteer_run(canteen, order, volunteer, today=True)
    page = html_of(manager.get(f"/my-drops?run={run.id}"))
    assert f'data-testid="by-hand-{order.id}"' in page
    assert f'data-testid="by-hand-{order.id}"' not in html_of(volunteer.get("/my-drops"))
    response = post_form(
        manager,
        f"/delivery-runs/{run.id}/drops/{order.id}/by-hand",
        {"outcome": "not_delivered"},
        f"/my-drops?run={run.id}",
    )
    assert response.status_code == 302
    db.session.refresh(order)
    assert (order.status, order.failure_reason) == (OrderStatus.FAILED, "not_delivered")


def test_a_volunteer_may_not_confirm_a_drop_of_someone_elses_run(app, volunteer, canteen, order):
    run = volunteer_run(canteen, order, volunteer, today=True)
    other = browser_as(app, "volunteer", canteen=canteen)
    response = post_form(
        other, f"/delivery-runs/{run.id}/drops/{order.id}/no-answer", {}, "/my-drops"
    )
    assert response.status_code == 404
    db.session.refresh(order)
    assert order.status == OrderStatus.DISPATCHED


def test_a_manager_opens_a_runs_drops_and_confirms_one(manager, volunteer, canteen, order):
    run = volunteer_run(canteen, order, volunteer)
    db.session.refresh(order)
    html = html_of(manager.get(f"/my-drops?run={run.id}"))
    assert f'data-testid="drop-{order.id}"' in html
    response = post_form(
        manager,
        f"/delivery-runs/{run.id}/drops/{order.id}/delivered",
        {"code": order.delivery_code},
        f"/my-drops?run={run.id}",
    )
    assert response.status_code == 302 and f"run={run.id}" in response.headers["Location"]


@pytest.mark.parametrize("role", ["cashier", "official", "family"])
def test_roles_that_do_not_carry_meals_are_refused_the_drops_page(app, role, canteen, district):
    client = browser_as(app, role, canteen=canteen, district=district)
    assert client.get("/my-drops").status_code == 403


# Welfare alerts


@pytest.fixture
def alert(volunteer, canteen, order):
    volunteer_run(canteen, order, volunteer)
    services.report_no_answer(volunteer.user, order)
    db.session.commit()
    return db.session.scalar(select(WelfareAlert).where(WelfareAlert.order_id == order.id))


def test_a_manager_sees_their_canteens_open_alerts(manager, alert, elder, canteen):
    html = html_of(manager.get("/alerts"))
    card = section(html, f"alert-{alert.id}")
    assert elder.name in card and elder.community.name in card and canteen.name in card
    assert "Nobody answered the door" in card
    assert not ID_NUMBER.search(html)


def test_the_alert_page_tells_what_happened_in_chinese_throughout(app, alert, canteen, order):
    manager = browser_as(app, "manager", canteen=canteen)
    manager.get("/lang/zh")
    what = section(html_of(manager.get("/alerts")), f"alert-what-{alert.id}")
    what = what[: what.index("</td>")]
    assert f"订单 {order.id}：{order.date.isoformat()} 午餐" in what
    assert not re.search(r"[A-Za-z]{3,}", what.split(">", 1)[1]), what


def test_an_absence_alert_is_told_in_the_readers_language(manager, canteen, elder, now):
    factories.create_policy(canteen.district)
    factories.create_meal(canteen, elder)
    now.move_to("2026-11-30T10:00:00+08:00")
    alert = WelfareAlert(
        kind=AlertKind.ABSENT,
        elder_id=elder.id,
        community_code=elder.community.code,
        district_code=canteen.district_code,
        canteen_id=canteen.id,
        detail="4 天未就餐（常来就餐，最近一次 2020-01-01）",
    )
    db.session.add(alert)
    db.session.commit()
    what = section(html_of(manager.get("/alerts")), f"alert-what-{alert.id}")
    meal_day = canteen.district.local_today() - timedelta(days=5)
    assert f"No meal for 4 days; the last on {meal_day.isoformat()}" in what
    assert "天未就餐" not in what


def test_whoever_follows_an_alert_up_sees_how_to_reach_the_elder_and_it_is_logged(
    app, alert, elder, canteen, district
):
    consent_at = alert.raised_at
    elder.emergency_contact_name = "王小红"
    elder.emergency_contact_relation = "女儿"
    elder.emergency_contact_phone = "13912345678"
    elder.emergency_contact_consent_at = consent_at
    elder.emergency_contact_recorded_by = "test"
    db.session.commit()
    for client in (
        browser_as(app, "manager", canteen=canteen),
        browser_as(app, "official", district=district),
    ):
        card = section(html_of(client.get("/alerts")), f"alert-{alert.id}")
        assert f'<a href="tel:{elder.phone}"' in card
        assert elder.address in card
        assert '王小红 (女儿) · <a href="tel:13912345678">13912345678</a>' in card
        [entry] = read_log(client.user)
        assert (entry.elder_id, entry.reason) == (elder.id, "welfare alert follow-up")
        assert entry.district_code == district.code and entry.canteen_id == canteen.id


def test_an_official_sees_their_districts_alerts_and_not_anothers(app, alert, district):
    official = browser_as(app, "official", district=district)
    assert f'data-testid="alert-{alert.id}"' in html_of(official.get("/alerts"))
    elsewhere = browser_as(app, "official", district=factories.create_district())
    html = html_of(elsewhere.get("/alerts"))
    assert f'data-testid="alert-{alert.id}"' not in html and 'data-testid="no-alerts"' in html


def test_a_follow_up_without_a_note_is_refused_on_the_page(manager, alert):
    response = post_form(manager, f"/alerts/{alert.id}/follow-up", {"note": "  "}, "/alerts")
    assert response.status_code == 422
    assert f'data-testid="alert-error-{alert.id}"' in html_of(response)
    db.session.refresh(alert)
    assert alert.followed_up_at is None


def test_a_follow_up_with_a_note_closes_the_alert(manager, alert):
    response = post_form(
        manager,
        f"/alerts/{alert.id}/follow-up",
        {"note": "社区网格员上门，老人在家午睡，无恙"},
        "/alerts",
    )
    assert response.status_code == 302
    db.session.refresh(alert)
    assert alert.followed_up_at is not None and alert.follow_up.startswith("社区网格员")
    html = html_of(manager.get("/alerts"))
    assert f'data-testid="alert-{alert.id}"' not in html
    assert "The follow-up is recorded" in html


def test_following_up_another_canteens_alert_is_not_found(app, alert, district):
    other = browser_as(app, "manager", canteen=factories.create_canteen(district))
    response = post_form(other, f"/alerts/{alert.id}/follow-up", {"note": "看过了"}, "/alerts")
    assert response.status_code == 404


@pytest.mark.parametrize("role", ["cashier", "volunteer", "family"])
def test_roles_without_alerts_are_refused_the_alerts_page(app, role, canteen, district):
    client = browser_as(app, role, canteen=canteen, district=district)
    assert client.get("/alerts").status_code == 403


# Navigation and the relative's order page


def test_the_nav_links_each_role_to_its_delivery_pages(app, manager, volunteer, district):
    html = html_of(manager.get("/alerts"))
    assert 'data-testid="nav-deliveries"' in html and 'data-testid="nav-alerts"' in html
    html = html_of(volunteer.get("/my-drops"))
    assert 'data-testid="nav-my-drops"' in html and 'data-testid="nav-deliveries"' not in html
    official = browser_as(app, "official", district=district)
    html = html_of(official.get("/alerts"))
    assert 'data-testid="nav-alerts"' in html and 'data-testid="nav-deliveries"' not in html


def test_a_relative_sees_when_the_meal_was_delivered(app, volunteer, canteen, order, elder):
    volunteer_run(canteen, order, volunteer)
    relative = browser_as(app, "family", elders=[elder])
    assert "Dispatched" in html_of(relative.get(f"/orders/{order.id}"))
    db.session.refresh(order)
    services.confirm_drop(volunteer.user, order, order.delivery_code)
    db.session.commit()
    html = html_of(relative.get(f"/orders/{order.id}"))
    stage = section(html, "delivery-stage")
    assert "Delivered" in stage
    zone = canteen.district.effective_timezone
    from mealservice.core.i18n import local_time

    assert f"at {local_time(order.delivered_at, zone, '%H:%M')}" in stage
    assert order.delivery_code not in stage


def test_the_manager_and_the_family_see_a_drop_confirmed_with_the_code_at_the_door(
    app, manager, volunteer, canteen, order, elder, tomorrow
):
    volunteer_run(canteen, order, volunteer)
    db.session.refresh(order)
    services.confirm_drop(volunteer.user, order, order.delivery_code)
    db.session.commit()
    row = section(html_of(manager.get(deliveries_url(canteen, tomorrow))), f"proof-{order.id}")
    assert f"confirmed with the code at the door by {volunteer.user.username}" in row
    relative = browser_as(app, "family", elders=[elder])
    stage = section(html_of(relative.get(f"/orders/{order.id}")), "delivery-stage")
    assert "confirmed with the code at the door" in stage
    assert volunteer.user.username not in stage


def test_the_manager_and_the_family_see_a_drop_settled_by_hand(
    app, manager, volunteer, canteen, order, elder, tomorrow
):
    volunteer_run(canteen, order, volunteer)
    services.settle_drop_by_hand(manager.user, order, True)
    db.session.commit()
    row = section(html_of(manager.get(deliveries_url(canteen, tomorrow))), f"proof-{order.id}")
    assert f"confirmed by hand by the manager {manager.user.username}" in row
    relative = browser_as(app, "family", elders=[elder])
    relative.get("/lang/zh")
    stage = section(html_of(relative.get(f"/orders/{order.id}")), "delivery-stage")
    assert "由助餐点管理员手工确认" in stage


def test_a_relative_sees_why_a_delivery_failed(app, volunteer, canteen, order, elder):
    volunteer_run(canteen, order, volunteer)
    services.report_no_answer(volunteer.user, order)
    db.session.commit()
    relative = browser_as(app, "family", elders=[elder])
    stage = section(html_of(relative.get(f"/orders/{order.id}")), "delivery-stage")
    assert "Delivery failed" in stage and "Nobody answered the door" in stage


def test_a_confirmed_order_shows_no_delivery_stage_yet(app, order, elder):
    relative = browser_as(app, "family", elders=[elder])
    assert 'data-testid="delivery-stage"' not in html_of(relative.get(f"/orders/{order.id}"))
