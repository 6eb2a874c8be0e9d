from datetime import UTC, date, datetime

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select, update

from mealservice.core.errors import ApiError
from mealservice.elders import cards
from mealservice.elders.card_codec import InvalidCard, decode_card
from mealservice.elders.cards import is_superseded, revoke_card, signing_key, verifying_keys
from mealservice.elders.models import Card
from tests import factories
from tests.core.test_errors import assert_error


def issue(client, elder):
    return client.post(f"/api/v1/elders/{elder.id}/cards")


def test_a_manager_issues_a_card_whose_payload_verifies_without_the_database(login_as, elder, app):
    response = issue(login_as("manager"), elder)
    assert response.status_code == 201, response.get_json()
    card = response.get_json()
    assert card["version"] == 1
    assert card["qr_png_url"] == f"/api/v1/cards/{card['card_id']}/qr.png"
    claims = decode_card(card["qr_payload"], verifying_keys())
    assert claims.card_id.hex() == card["card_id"]
    assert claims.generation == 1
    assert claims.expires_on.isoformat() == card["expires_on"]
    assert claims.expires_on.year >= date.today().year + 4
    # Nothing of the elder is in the code.
    for personal in (elder.name, elder.phone, elder.id_number_masked[-4:]):
        assert personal not in card["qr_payload"]


def test_a_new_card_supersedes_the_old_one(login_as, elder, db):
    official = login_as("official")
    first = issue(official, elder).get_json()
    second = issue(official, elder).get_json()
    assert second["version"] == 2 and second["card_id"] != first["card_id"]
    assert is_superseded(db.session.get(Card, first["card_id"]))
    assert not is_superseded(db.session.get(Card, second["card_id"]))


def test_a_card_is_revoked_once_with_its_reason(login_as, elder):
    manager = login_as("manager")
    card_id = issue(manager, elder).get_json()["card_id"]
    revoked = manager.post(f"/api/v1/cards/{card_id}/revoke", json={"reason": "遗失"})
    assert revoked.status_code == 200
    assert revoked.get_json()["revoke_reason"] == "遗失" and revoked.get_json()["revoked_at"]
    error = assert_error(
        manager.post(f"/api/v1/cards/{card_id}/revoke", json={"reason": "again"}),
        409,
        "card_revoked",
    )
    assert error["detail"]["reason"] == "遗失"


def test_revoking_needs_a_reason(login_as, elder):
    manager = login_as("manager")
    card_id = issue(manager, elder).get_json()["card_id"]
    error = assert_error(
        manager.post(f"/api/v1/cards/{card_id}/revoke", json={}), 422, "validation_error"
    )
    assert error["fields"] == {"reason": ["Missing data for required field."]}


def test_no_card_for_an_elder_who_has_died(login_as, elder):
    official = login_as("official")
    official.patch(
        f"/api/v1/elders/{elder.id}", json={"status": "deceased", "status_since": "2026-01-05"}
    )
    assert_error(issue(official, elder), 409, "elder_inactive")


def test_the_qr_image_is_a_png_the_family_may_fetch(login_as, elder, district):
    from tests import factories

    card_id = issue(login_as("official"), elder).get_json()["card_id"]
    image = login_as("family").get(f"/api/v1/cards/{card_id}/qr.png")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.data.startswith(b"\x89PNG\r\n\x1a\n") and len(image.data) > 500
    assert image.headers["Cache-Control"] == "private, no-store"
    stranger_family = login_as("family", elders=[factories.create_elder(district)])
    assert_error(stranger_family.get(f"/api/v1/cards/{card_id}/qr.png"), 404, "not_found")


@pytest.mark.parametrize("role", ["cashier", "family", "elder"])
def test_only_staff_issue_and_revoke_cards(login_as, elder, role):
    assert_error(issue(login_as(role), elder), 403, "forbidden")


def test_unknown_or_malformed_card_ids_are_not_found(login_as):
    admin = login_as("admin")
    assert_error(admin.get("/api/v1/cards/0123456789abcdef/qr.png"), 404, "not_found")
    assert_error(admin.get("/api/v1/cards/not-a-card/qr.png"), 404, "not_found")


def test_cards_of_a_retired_key_verify_until_the_key_is_removed(login_as, elder, app, monkeypatch):
    old_payload = issue(login_as("official"), elder).get_json()["qr_payload"]
    old_public = signing_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    monkeypatch.setitem(app.config, "CARD_SIGNING_KEY", "a-new-signing-secret-for-key-two")
    monkeypatch.setitem(app.config, "CARD_KEY_ID", 2)
    monkeypatch.setitem(app.config, "CARD_RETIRED_KEYS", f"1:{old_public}")
    assert decode_card(old_payload, verifying_keys()).key_id == 1
    new_payload = issue(login_as("official"), elder).get_json()["qr_payload"]
    assert decode_card(new_payload, verifying_keys()).key_id == 2
    monkeypatch.setitem(app.config, "CARD_RETIRED_KEYS", "")
    with pytest.raises(InvalidCard, match="retired"):
        decode_card(old_payload, verifying_keys())


def revoked_meanwhile(db, model, row_id, **values):
    """Another request's revoke, committed while this one held the row as unrevoked: the
    row changes in the database, the object this session loaded does not."""
    db.session.execute(
        update(model)
        .where(model.id == row_id)
        .values(revoked_at=datetime(2026, 11, 25, 1, 0, tzinfo=UTC), **values)
        .execution_options(synchronize_session=False)
    )


def test_of_two_revokes_at_once_the_first_reason_stands_and_the_second_is_refused(db, elder):
    card = factories.create_card(elder)
    assert card.revoked_at is None
    revoked_meanwhile(db, Card, card.id, revoke_reason="遗失")
    with pytest.raises(ApiError) as refused:
        revoke_card(card, "损坏")
    assert (refused.value.status, refused.value.code) == (409, "card_revoked")
    assert refused.value.detail["reason"] == "遗失"
    db.session.expire_all()
    assert db.session.get(Card, card.id).revoke_reason == "遗失"


def test_two_issues_that_read_the_same_generation_make_one_card_and_a_409(
    login_as, elder, db, monkeypatch
):
    manager = login_as("manager")
    assert issue(manager, elder).status_code == 201
    # The second read the generation before the first's card was there.
    monkeypatch.setattr(cards, "latest_generation", lambda elder_id: None)
    error = assert_error(issue(manager, elder), 409, "card_issued_meanwhile")
    assert error["detail"] == {"elder_id": elder.id}
    assert db.session.scalar(select(func.count()).select_from(Card)) == 1
