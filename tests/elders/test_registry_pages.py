"""The office pages of the elder registry and its cards: search, register, edit, record a
death or a move after seeing what it closes, issue, reissue, revoke and print cards."""

import re
from datetime import date, timedelta

import pypdfium2 as pdfium
import pytest
from sqlalchemy import select

from mealservice.core.clock import utcnow
from mealservice.core.idnumber import make_id_number
from mealservice.elders.models import Card, Elder
from mealservice.meals.models import Order
from tests import factories
from tests.pages import browser_as, html_of, post_form


@pytest.fixture
def official(app, district):
    return browser_as(app, "official", district=district)


@pytest.fixture
def manager(app, canteen):
    return browser_as(app, "manager", canteen=canteen)


def cards_in(pdf: bytes) -> int:
    """How many cards a sheet holds: each card's heading, read off the rendered pages."""
    document = pdfium.PdfDocument(pdf)
    try:
        return sum(page.get_textpage().get_text_range().count("老年助餐卡") for page in document)
    finally:
        document.close()


# Search


def test_the_registry_finds_elders_by_name_phone_digits_and_community(
    app, db, district, canteen, official
):
    other = factories.create_community(district)
    found = factories.create_elder(district, canteen.community, name="李桂兰", phone="13800001234")
    factories.create_elder(district, other, name="李建国", phone="13800005678")

    by_name = html_of(official.get("/elders", query_string={"q": "桂兰"}))
    assert "李桂兰" in by_name and "李建国" not in by_name
    by_phone = html_of(official.get("/elders", query_string={"phone_last4": "1234"}))
    assert f'data-testid="elder-{found.id}"' in by_phone and "李建国" not in by_phone
    by_place = html_of(official.get("/elders", query_string={"community": other.code}))
    assert "李建国" in by_place and "李桂兰" not in by_place
    # The ID number is masked to its last four characters, the birth date never shown.
    assert found.id_number_masked in by_name


def test_the_registry_pages_its_results(app, db, district, canteen, official):
    for n in range(21):
        factories.create_elder(district, canteen.community, name=f"翻页老人{n}")
    first = html_of(official.get("/elders", query_string={"q": "翻页"}))
    assert (
        len(re.findall(r'data-testid="elder-\d+"', first)) == 20
        and 'data-testid="next-page"' in first
    )
    second = html_of(official.get("/elders", query_string={"q": "翻页", "page": 2}))
    assert len(re.findall(r'data-testid="elder-\d+"', second)) == 1


def test_a_wrong_phone_digits_filter_is_said(official):
    page = html_of(official.get("/elders", query_string={"phone_last4": "12a"}))
    assert "Give the phone&#39;s last four digits." in page


def test_family_and_cashiers_have_no_registry(app, db, district, canteen, elder):
    assert browser_as(app, "family", elders=[elder]).get("/elders").status_code == 403
    assert browser_as(app, "cashier", canteen=canteen).get("/elders").status_code == 403


# Register and edit


NUMBER = make_id_number("330106", date(1948, 3, 1), 901)
WRONG_CHECK = NUMBER[:17] + ("0" if NUMBER[17] != "0" else "1")


def registration(community, **fields) -> dict:
    return {
        "name": "赵淑珍",
        "id_number": NUMBER,
        "phone": "13900001111",
        "address": "文三路5号",
        "community": community.code,
        "hukou_district": community.district_code,
        "categories": ["living_alone", "empty_nest"],
        "ability_level": "mild",
        "allergies": "花生、海鲜",
        "diet_needs": ["soft", "low_salt"],
        "diet_notes": "假牙",
        "ec_name": "赵明",
        "ec_relation": "儿子",
        "ec_phone": "13700002222",
        "ec_consent": "y",
        "consent_by": "社区工作人员王芳",
        "consent_on": "2026-11-20",
        "consent": "y",
        **fields,
    }


def test_an_official_registers_an_elder_with_consent_diet_and_contact(
    app, db, district, canteen, official
):
    response = post_form(official, "/elders/new", registration(canteen.community), "/elders/new")

    assert response.status_code == 302
    elder = db.session.scalar(select(Elder).where(Elder.name == "赵淑珍"))
    assert elder.consent_recorded_by == "社区工作人员王芳"
    assert elder.allergies == ["花生", "海鲜"] and elder.diet_needs == ["low_salt", "soft"]
    assert elder.emergency_contact["name"] == "赵明"
    assert elder.emergency_contact["consent"]["recorded_by"] == official.user.username
    page = html_of(official.get(response.location))
    assert "花生" in page and "13700002222" in page and "文三路5号" in page


def test_a_registration_is_refused_at_the_field_named_and_nothing_is_saved(db, canteen, official):
    bad = registration(canteen.community, id_number=WRONG_CHECK, consent="")
    response = post_form(official, "/elders/new", bad, "/elders/new")

    assert response.status_code == 422
    page = html_of(response)
    assert 'data-testid="error-id_number"' in page and 'data-testid="error-consent"' in page
    assert db.session.scalar(select(Elder).where(Elder.name == "赵淑珍")) is None


def test_a_contact_without_its_consent_is_refused(db, canteen, official):
    response = post_form(
        official, "/elders/new", registration(canteen.community, ec_consent=""), "/elders/new"
    )
    assert response.status_code == 422
    assert 'data-testid="error-ec_consent"' in html_of(response)


def test_a_second_registration_of_a_number_is_refused(db, canteen, official):
    post_form(official, "/elders/new", registration(canteen.community), "/elders/new")
    again = post_form(official, "/elders/new", registration(canteen.community), "/elders/new")
    assert again.status_code == 422
    assert 'data-testid="form-error"' in html_of(again)


def test_an_official_edits_the_diet_and_removes_the_contact(db, district, canteen, official):
    elder = factories.create_elder(
        district,
        canteen.community,
        emergency_contact={
            "name": "钱红",
            "relation": "女儿",
            "phone": "13600003333",
            "consent": {"given_at": utcnow(), "recorded_by": "社区"},
        },
    )
    path = f"/elders/{elder.id}/edit"
    form = {
        "name": elder.name,
        "phone": "13900009999",
        "address": elder.address,
        "community": canteen.community.code,
        "categories": ["living_alone"],
        "ability_level": "moderate",
        "allergies": "牛奶",
        "diet_needs": ["low_sugar"],
        "diet_notes": "",
        "ec_name": "",
        "ec_relation": "",
        "ec_phone": "",
    }
    response = post_form(official, path, form, path)

    assert response.status_code == 302
    db.session.refresh(elder)
    assert (elder.phone_last4, elder.ability_level) == ("9999", "moderate")
    assert (elder.allergies, elder.diet_needs) == (["牛奶"], ["low_sugar"])
    assert elder.emergency_contact is None and elder.diet_notes is None


def test_a_manager_reads_the_record_with_the_contact_but_may_not_edit(
    app, db, district, canteen, manager
):
    elder = factories.create_elder(
        district,
        canteen.community,
        emergency_contact={
            "name": "孙强",
            "relation": "侄子",
            "phone": "13500004444",
            "consent": {"given_at": utcnow(), "recorded_by": "社区"},
        },
    )
    page = html_of(manager.get(f"/elders/{elder.id}"))
    assert "孙强" in page and 'data-testid="edit-link"' not in page
    # Staff of a canteen do not read the elder's own phone and address.
    assert elder.address not in page
    assert manager.get(f"/elders/{elder.id}/edit").status_code == 403


def test_the_record_shows_the_communitys_places_and_their_opening_hours(
    db, district, canteen, elder, official
):
    canteen.opening_hours = "周一至周六 10:30-13:00"
    db.session.commit()
    page = html_of(official.get(f"/elders/{elder.id}"))
    assert "周一至周六 10:30-13:00" in page


# Death or move


def test_the_status_page_shows_what_a_death_closes_and_the_confirm_does_it(
    db, district, canteen, elder, official
):
    factories.create_policy(district)
    order = factories.create_order(canteen, elder, channel="dine_in")
    factories.create_card(elder)
    path = f"/elders/{elder.id}/status"

    preview = html_of(
        official.get(path, query_string={"status": "deceased", "status_since": order.date})
    )
    assert 'data-testid="preview-orders"' in preview and 'data-testid="preview-cards"' in preview
    assert db.session.get(Order, order.id).status == "confirmed"  # only shown

    data = {"status": "deceased", "status_since": order.date.isoformat()}
    done = post_form(official, path, data, path)

    assert done.status_code == 302
    db.session.refresh(elder)
    assert (elder.status, elder.status_since) == ("deceased", order.date)
    assert db.session.get(Order, order.id).status == "cancelled"
    assert "Orders cancelled: 1" in html_of(official.get(done.location))


def test_a_death_without_a_date_is_refused(db, elder, official):
    path = f"/elders/{elder.id}/status"
    response = official.get(path, query_string={"status": "moved", "status_since": ""})
    assert response.status_code == 422
    assert 'data-testid="error-status_since"' in html_of(response)


# Cards


def test_a_manager_issues_reissues_and_revokes_a_card(db, elder, manager):
    path = f"/elders/{elder.id}"
    post_form(manager, f"{path}/cards", {}, path)
    post_form(manager, f"{path}/cards", {}, path)
    first, second = db.session.scalars(
        select(Card).where(Card.elder_id == elder.id).order_by(Card.generation)
    ).all()
    page = html_of(manager.get(path))
    assert 'data-testid="card-state-1"' in page and 'data-testid="revoke-1"' not in page
    assert 'data-testid="revoke-2"' in page

    post_form(manager, f"/cards/{second.id}/revoke", {"reason": "遗失"}, path)

    db.session.refresh(second)
    assert second.revoke_reason == "遗失"
    assert first.revoked_at is None  # superseded already: revoking never revives it


def test_a_revoke_without_a_reason_is_refused(db, elder, manager):
    card = factories.create_card(elder)
    path = f"/elders/{elder.id}"
    response = post_form(manager, f"/cards/{card.id}/revoke", {"reason": " "}, path)
    db.session.refresh(card)
    assert card.revoked_at is None
    assert "Say why the card is revoked" in html_of(manager.get(response.location))


def test_a_communitys_sheet_is_a_pdf_of_its_current_cards(db, district, canteen, manager):
    elders = [factories.create_elder(district, canteen.community) for _ in range(3)]
    for elder in elders:
        factories.create_card(elder)
    factories.create_card(elders[0])  # reissued: the sheet holds the newest only
    factories.create_elder(district, canteen.community)  # no card: not on the sheet

    response = manager.get(f"/communities/{canteen.community.code}/cards.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert cards_in(response.data) == 3


def test_a_chosen_lists_sheet_holds_the_ticked_elders_cards(db, district, canteen, manager):
    elders = [factories.create_elder(district, canteen.community) for _ in range(3)]
    for elder in elders:
        factories.create_card(elder)
    chosen = {"elder_id": [str(elders[0].id), str(elders[2].id)]}

    response = post_form(manager, "/cards/print", chosen, "/elders")

    assert response.mimetype == "application/pdf"
    assert cards_in(response.data) == 2


def test_a_community_without_cards_says_so_instead_of_an_empty_sheet(db, canteen, manager):
    response = manager.get(f"/communities/{canteen.community.code}/cards.pdf")
    assert response.status_code == 302
    assert "issue cards first" in html_of(manager.get(response.location))


def test_another_districts_community_is_not_found(app, db, manager):
    elsewhere = factories.create_district()
    community = factories.create_community(elsewhere)
    assert manager.get(f"/communities/{community.code}/cards.pdf").status_code == 404


def test_card_dates_are_the_districts(db, elder, manager):
    card = factories.create_card(elder)
    page = html_of(manager.get(f"/elders/{elder.id}"))
    assert card.expires_on.isoformat() in page
    assert card.expires_on > elder.community.district.local_today() + timedelta(days=365)
