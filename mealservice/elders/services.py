"""The elder registry: ID numbers checked, encrypted and masked; consent recorded."""

import dataclasses
import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mealservice.core.auth import LINKED_ELDER_ROLES, district_scope
from mealservice.core.db import add_once, db
from mealservice.core.errors import ApiError, Conflict, NotFound, ValidationFailed
from mealservice.core.idnumber import (
    InvalidIdNumber,
    birth_date_of,
    mask_id_number,
    normalise_id_number,
)
from mealservice.elders.models import Card, Elder, ElderStatus, account_elders
from mealservice.elders.protection import encrypt_id_number, id_number_lookup_hash
from mealservice.elders.signals import elder_status_changed, elder_status_previewing
from mealservice.places.models import Community, District

log = logging.getLogger(__name__)


def checked_id_number(value: str) -> str:
    try:
        return normalise_id_number(value)
    except InvalidIdNumber as error:
        raise ValidationFailed({"id_number": [str(error)]}) from None


def create_elder(actor, data: dict) -> Elder:
    (outcome,) = register_elders(actor, [data])
    if isinstance(outcome, ApiError):
        raise outcome
    return outcome


# Numbers looked up in one query at most; well under any database's limit on parameters.
LOOKUP_CHUNK = 500


def register_elders(actor, batch: list[dict]) -> list[Elder | ApiError]:
    """Register elders as `create_elder` registers one, each checked on its own: in each
    one's place the new elder (added and flushed) or the refusal create_elder raises for it.

    The numbers already registered and the districts' communities are looked up once for
    the batch and the new rows flushed together, so a spreadsheet's thousands of rows cost
    a few queries rather than several each. A number registered by someone else meanwhile
    (the unique index refuses the flush) is found by adding the rows one at a time."""
    known = _Known(actor, batch)
    outcomes: list[Elder | ApiError] = []
    for data in batch:
        try:
            outcomes.append(_new_elder(data, known))
        except ApiError as error:
            outcomes.append(error)
    _add_all(outcomes)
    for elder in outcomes:
        if isinstance(elder, Elder):
            # The mask alone: next to the district (the number's region) it would say more.
            log.info("registered elder %s (%s)", elder.id, elder.id_number_masked)
    return outcomes


class _Known:
    """What registering a batch looks up, read once: the numbers already registered (by
    their look-up hash), the districts in the actor's reach and the communities the batch
    names, by district and code."""

    def __init__(self, actor, batch: list[dict]):
        self.actor = actor
        # Held here: the session's identity map keeps no object alive by itself.
        self.districts: dict[str, District | ApiError] = {}
        self.registered: dict[str, int | None] = {}
        hashes = []
        for data in batch:
            try:
                hashes.append(id_number_lookup_hash(checked_id_number(data["id_number"])))
            except ApiError:
                continue  # refused on its own by _new_elder
        for chunk in _chunks(hashes):
            rows = db.session.execute(
                select(Elder.id_number_hash, Elder.id).where(Elder.id_number_hash.in_(chunk))
            )
            self.registered.update(rows.tuples().all())
        self.communities: dict[tuple[str, str], Community] = {}
        for chunk in _chunks(sorted({data["community"] for data in batch})):
            for community in db.session.scalars(select(Community).where(Community.code.in_(chunk))):
                self.communities[community.district_code, community.code] = community

    def district_in_reach(self, code: str) -> District:
        if code not in self.districts:
            try:
                self.districts[code] = _district_in_reach(self.actor, code)
            except ApiError as error:
                self.districts[code] = error
        district = self.districts[code]
        if isinstance(district, ApiError):
            raise district
        return district

    def community_of(self, district: District, code: str) -> Community:
        community = self.communities.get((district.code, code))
        if community is None:
            raise _no_such_community()
        return community


def _chunks(values: list) -> list[list]:
    return [values[start : start + LOOKUP_CHUNK] for start in range(0, len(values), LOOKUP_CHUNK)]


def _new_elder(data: dict, known: _Known) -> Elder:
    number = checked_id_number(data["id_number"])
    district = known.district_in_reach(data["hukou_district"])
    community = known.community_of(district, data["community"])
    lookup = id_number_lookup_hash(number)
    if lookup in known.registered:
        existing = known.registered[lookup] or "in the same batch"
        log.info("refused a second registration of elder %s (%s)", existing, mask_id_number(number))
        raise _duplicate(mask_id_number(number))
    known.registered[lookup] = None
    location = data.get("location") or {}
    elder = Elder(
        name=data["name"],
        id_number_encrypted=encrypt_id_number(number),
        id_number_hash=lookup,
        id_number_masked=mask_id_number(number),
        birth_date=birth_date_of(number),
        phone=data["phone"],
        phone_last4=_last4(data["phone"]),
        address=data["address"],
        community_id=community.id,
        hukou_district=district.code,
        lat=location.get("lat"),
        lng=location.get("lng"),
        categories=sorted(data.get("categories", [])),
        ability_level=data["ability_level"],
        diet_notes=data.get("diet_notes"),
        allergies=list(data.get("allergies", [])),
        diet_needs=sorted(data.get("diet_needs", [])),
        **_emergency_contact_columns(data.get("emergency_contact")),
        status=ElderStatus.ACTIVE,
        consent_given_at=data["consent"]["given_at"],
        consent_recorded_by=data["consent"]["recorded_by"],
    )
    return elder


def _emergency_contact_columns(contact: dict | None) -> dict:
    """The contact as the elder's columns; None clears them all (the CHECK keeps it whole)."""
    contact = contact or {}
    consent = contact.get("consent") or {}
    return {
        "emergency_contact_name": contact.get("name"),
        "emergency_contact_relation": contact.get("relation"),
        "emergency_contact_phone": contact.get("phone"),
        "emergency_contact_consent_at": consent.get("given_at"),
        "emergency_contact_recorded_by": consent.get("recorded_by"),
    }


def _add_all(outcomes: list[Elder | ApiError]) -> None:
    """Add and flush the new elders among `outcomes` together; if the unique index refuses
    the batch, one at a time, each refused one replaced by its duplicate_elder refusal."""
    elders = [elder for elder in outcomes if isinstance(elder, Elder)]
    if not elders:
        return
    try:
        with db.session.begin_nested():
            db.session.add_all(elders)
        return
    except IntegrityError:
        pass
    for index, elder in enumerate(outcomes):
        if isinstance(elder, Elder) and not add_once(elder):
            log.info("refused a registration made meanwhile (%s)", elder.id_number_masked)
            outcomes[index] = _duplicate(elder.id_number_masked)


def _duplicate(masked: str) -> Conflict:
    return Conflict("duplicate_elder", f"An elder with the ID number {masked} is registered.")


def _last4(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())[-4:]


def _district_in_reach(actor, code: str) -> District:
    district = db.session.get(District, code)
    if district is None or district_scope(actor) not in (None, code):
        raise ValidationFailed({"hukou_district": ["No such district in your scope."]})
    return district


def _community_of(district: District, code: str) -> Community:
    community = db.session.scalar(
        select(Community).where(Community.code == code, Community.district_code == district.code)
    )
    if community is None:
        raise _no_such_community()
    return community


def _no_such_community() -> ValidationFailed:
    return ValidationFailed({"community": ["No such community in the elder's district."]})


def elders_query(
    actor, *, community: str | None = None, q: str | None = None, phone_last4: str | None = None
):
    """The elders an actor may see: their district's, or for family and elders their own;
    found by community, part of the name, the phone's last four digits."""
    query = select(Elder).order_by(Elder.id)
    if actor.role in LINKED_ELDER_ROLES:
        query = query.join(account_elders, account_elders.c.elder_id == Elder.id).where(
            account_elders.c.user_id == actor.id
        )
    elif (scope := district_scope(actor)) is not None:
        query = query.where(Elder.hukou_district == scope)
    if community:
        query = query.join(Elder.community).where(Community.code == community)
    if q:
        query = query.where(Elder.name.contains(q))
    if phone_last4:
        query = query.where(Elder.phone_last4 == phone_last4)
    return query


def get_elder(actor, elder_id: int) -> Elder:
    elder = db.session.scalar(elders_query(actor).where(Elder.id == elder_id))
    if elder is None:
        raise NotFound("elder")
    return elder


def update_elder(elder: Elder, changes: dict) -> Elder:
    status = changes.get("status", elder.status)
    if "community" in changes:
        district = db.session.get(District, elder.hukou_district)
        elder.community_id = _community_of(district, changes.pop("community")).id
    if "location" in changes:
        location = changes.pop("location") or {}
        elder.lat, elder.lng = location.get("lat"), location.get("lng")
    if "phone" in changes:
        elder.phone_last4 = _last4(changes["phone"])
    if "categories" in changes:
        changes["categories"] = sorted(changes["categories"])
    if "diet_needs" in changes:
        changes["diet_needs"] = sorted(changes["diet_needs"])
    if "emergency_contact" in changes:
        changes |= _emergency_contact_columns(changes.pop("emergency_contact"))
    if status == ElderStatus.ACTIVE:
        changes["status_since"] = None
    elif changes.get("status_since", elder.status_since) is None:
        raise ValidationFailed({"status_since": [f"Say from which date the elder is {status}."]})
    dates = {elder.status_since, changes.get("status_since", elder.status_since)} - {None}
    status_changed = status != elder.status or len(dates) > 1
    for field, value in changes.items():
        setattr(elder, field, value)
    db.session.flush()
    if status_changed and dates:
        elder_status_changed.send(elder, since=min(dates))
    return elder


# Before a status change: what it would close, shown on the page that asks to confirm it.


@dataclass(frozen=True)
class ClosedOrder:
    id: int
    date: date
    slot: str
    channel: str
    place: str
    refund_fen: int  # what was paid ahead from the balance, refunded to it


@dataclass(frozen=True)
class StoppedStandingOrder:
    id: int
    place: str
    slot: str
    channel: str
    weekdays: str  # Monday first: "1111100" is every weekday


@dataclass
class StatusPreview:
    """What setting `elder`'s status to `status` from `since` would close: the orders
    cancelled (and refunded), the standing orders stopped, the cards that stop working.
    The orders and standing orders are filled in by the packages that hold them (the
    elder_status_previewing signal), from the queries their cascade acts on."""

    elder: Elder
    status: str
    since: date | None
    orders: list[ClosedOrder] = dataclasses.field(default_factory=list)
    standing_orders: list[StoppedStandingOrder] = dataclasses.field(default_factory=list)
    cards: list[Card] = dataclasses.field(default_factory=list)

    @property
    def refund_fen(self) -> int:
        return sum(order.refund_fen for order in self.orders)

    @property
    def closes_anything(self) -> bool:
        return bool(self.orders or self.standing_orders or self.cards)


def preview_status_change(elder: Elder, status: str, since: date | None) -> StatusPreview:
    """What `update_elder(elder, {"status": status, "status_since": since})` would close,
    read without writing anything. Making the elder active again closes nothing."""
    preview = StatusPreview(elder, status, since)
    unchanged = status == elder.status and since == elder.status_since
    if status == ElderStatus.ACTIVE or since is None or unchanged:
        return preview
    elder_status_previewing.send(elder, preview=preview)
    preview.cards = working_cards(elder, elder.community.district.local_today())
    return preview


def working_cards(elder: Elder, today: date) -> list[Card]:
    """The elder's card that works today, if any: the newest generation, not revoked, not
    expired (cards.judge's rules for a card shown today; older generations never work)."""
    newest = db.session.scalar(
        select(Card).where(Card.elder_id == elder.id).order_by(Card.generation.desc()).limit(1)
    )
    works = newest is not None and newest.revoked_at is None and newest.expires_on >= today
    return [newest] if works else []


def link_elders(user, elder_ids: list[int]) -> None:
    if not elder_ids:
        return
    db.session.execute(
        account_elders.insert(), [{"user_id": user.id, "elder_id": i} for i in elder_ids]
    )


def linked_elder_ids(user) -> list[int]:
    return list(
        db.session.scalars(
            select(account_elders.c.elder_id)
            .where(account_elders.c.user_id == user.id)
            .order_by(account_elders.c.elder_id)
        )
    )


def elders_in_reach(actor, elder_ids: list[int]) -> set[int]:
    """Which of these elders the actor may link accounts to."""
    if not elder_ids:
        return set()
    query = select(Elder.id).where(Elder.id.in_(elder_ids))
    if (scope := district_scope(actor)) is not None:
        query = query.where(Elder.hukou_district == scope)
    return set(db.session.scalars(query))


def is_active_on(elder: Elder, day: date) -> bool:
    return elder.status == ElderStatus.ACTIVE or (
        elder.status_since is not None and day < elder.status_since
    )
