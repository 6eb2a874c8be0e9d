"""The mistakes a month of real counters makes, planted so the claims and the early
warnings have something true to show: an offline tablet's second lunch, a card lost
before it was reported, an elder who died before the family told the community, a
regular diner who stopped coming, and an offline tablet's scans of cards it could not
read, refused when they were sent: one still open for the manager, one dismissed."""

from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

from sqlalchemy import func, select

from mealservice.accounts.models import User
from mealservice.balances.services import top_up
from mealservice.core.db import db
from mealservice.counter.models import RefusedScan
from mealservice.counter.services import dismiss_refused_scan, report_refused_scan
from mealservice.demo.data import ZONE
from mealservice.demo.menus import seed_menus
from mealservice.demo.serving import serve, usual_place
from mealservice.elders.cards import issue_card, payload_of, revoke_card
from mealservice.elders.models import Card, Elder, ElderStatus
from mealservice.elders.services import update_elder
from mealservice.meals.models import Meal
from mealservice.meals.services import scan
from mealservice.places.models import Canteen


def _first_lunch(day: date, elder_ids: list[int]) -> Meal:
    return db.session.scalar(
        select(Meal)
        .where(Meal.date == day, Meal.slot == "lunch", Meal.elder_id.in_(elder_ids))
        .order_by(Meal.served_at)
        .limit(1)
    )


def plant_offline_double(canteens: list[Canteen], day: date) -> None:
    """A tablet that lost its network queued a second lunch for an elder who had eaten at
    another place 25 minutes before: recorded as a conflict, unsubsidized, flagged."""
    meal = _first_lunch(day, [e.id for e in db.session.scalars(select(Elder))])
    other = next(c for c in canteens if c.id != meal.canteen_id)
    card = db.session.scalar(select(Card).where(Card.elder_id == meal.elder_id))
    scanned_at = meal.served_at + timedelta(minutes=25)
    counter = SimpleNamespace(username="seed-demo", role="cashier")
    scan(
        counter,
        other,
        {"qr_payload": payload_of(card), "slot": "lunch", "scanned_at": scanned_at},
        now=scanned_at + timedelta(hours=2),
    )


def plant_late_lost_card(elder_ids: list[int], lost_on: date) -> None:
    """A card lost on `lost_on`, reported a week later and replaced: the lunches someone
    had on it in between are flagged."""
    meal = _first_lunch(lost_on + timedelta(days=1), elder_ids[40:])
    card = db.session.get(Card, meal.card_id)
    revoke_card(card, "遗失（家属一周后报失）")
    card.revoked_at = datetime.combine(lost_on, time(9), ZONE)
    issue_card("seed-demo", card.elder)


def plant_late_death(elder_ids: list[int], died_on: date) -> None:
    """An elder who died on `died_on`; the family told the community after the month
    ended, so the lunches recorded on the card afterwards are flagged. ¥120 topped up
    the week before is left on the balance, owed to the family (待退余额)."""
    later = (
        select(Meal.elder_id)
        .where(Meal.date > died_on, Meal.elder_id.in_(elder_ids[200:]))
        .group_by(Meal.elder_id)
        .order_by(func.count().desc(), Meal.elder_id)
        .limit(1)
    )
    elder = db.session.get(Elder, db.session.scalar(later))
    place = db.session.scalar(
        select(Canteen).join(Meal, Meal.canteen_id == Canteen.id).where(Meal.elder_id == elder.id)
    )
    counter = SimpleNamespace(username="seed-demo", role="cashier")
    topped_up_at = datetime.combine(died_on - timedelta(days=7), time(9, 30), ZONE)
    top_up(counter, place, elder, 12000, "cash", now=topped_up_at)
    update_elder(elder, {"status": ElderStatus.DECEASED, "status_since": died_on})


def plant_absent_regular(canteens: list[Canteen], elder_ids: list[int], today: date) -> None:
    """An elder who ate lunch most weekdays of the last two weeks and has not come for
    three days: the scheduler's early warning raises an alert for the community."""
    seen_lately = set(
        db.session.scalars(select(Meal.elder_id).where(Meal.date >= today - timedelta(days=3)))
    )
    elder = db.session.scalar(
        select(Elder)
        .where(
            Elder.id.in_(elder_ids[60:]),
            Elder.id.not_in(seen_lately),
            Elder.status == ElderStatus.ACTIVE,
        )
        .order_by(Elder.id)
        .limit(1)
    )
    place = usual_place(elder, canteens)
    days = [today - timedelta(days=n) for n in (14, 13, 12, 11, 7, 6, 5)]
    seed_menus([place], days)
    card = db.session.scalar(
        select(Card).where(Card.elder_id == elder.id, Card.revoked_at.is_(None))
    )
    for day in days:
        serve(place, card, "lunch", datetime.combine(day, time(11, 20), ZONE))


def plant_refused_scans(canteen: Canteen, elder_ids: list[int], now: datetime) -> None:
    """The counter's tablet lost its network this morning and queued two scans whose QR
    codes it could only half read (a torn card, a cashier's test card); sent later, both
    were refused as no card. The manager dismissed the test card; the torn card waits on
    the manager's day, to be looked up and retried, or dismissed."""
    if db.session.scalar(select(RefusedScan.id).where(RefusedScan.canteen_id == canteen.id)):
        return
    cashier = db.session.scalar(select(User).where(User.username == "cashier"))
    manager = db.session.scalar(select(User).where(User.username == "manager"))
    torn, test = db.session.scalars(
        select(Card).where(Card.elder_id.in_(elder_ids[:2])).order_by(Card.elder_id)
    ).all()[:2]
    refused = []
    for n, (card, minutes_ago) in enumerate(((torn, 50), (test, 120)), start=1):
        scanned_at = now - timedelta(minutes=minutes_ago)
        report = {
            "key": f"demo-queued-{n}",
            "label": f"卡 {card.id[:6]}",
            # Torn: the end of the code, its signature, is missing.
            "scan": {"qr_payload": payload_of(card)[:-12], "scanned_at": scanned_at.isoformat()},
            "scanned_at": scanned_at,
            "error": {
                "code": "card_invalid",
                "message": "Not a valid elder card: the code is damaged.",
            },
        }
        refused.append(report_refused_scan(cashier, canteen, report)[0])
    dismiss_refused_scan(manager, refused[1], "收银员试扫的测试卡，没有出餐")
