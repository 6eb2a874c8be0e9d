"""A stateful model test of public money: random interleavings of every money path — scans
online and offline (and sent again), voids, top-ups, orders paid from the balance or on
delivery, cancellations, dispatch, platform reports delivered, failed, duplicated and
lost, an elder's death, a blacklisting and a month's claim — and after every step the
rules that must hold whatever path wrote the facts.

Each example gets a canteen and elders of its own in the suite's database; the district
and its policy are shared. Bounded for the suite (a fixed seed, a few dozen examples);
`make model-check` runs it longer (MODEL_CHECK_EXAMPLES)."""

import os
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from mealservice.balances.models import BalanceMovement
from mealservice.balances.services import balance_of, top_up
from mealservice.claims import services as claims
from mealservice.claims.models import Claim
from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.core.errors import ApiError
from mealservice.delivery import services as delivery
from mealservice.delivery.platforms.base import Report
from mealservice.elders.cards import payload_of
from mealservice.elders.services import update_elder
from mealservice.meals.models import LIVE_ORDER_STATUSES, Meal, Order, OrderStatus
from mealservice.meals.orders import cancel_order, place_order
from mealservice.meals.services import scan, void_meal
from mealservice.menus.models import Menu
from mealservice.places.models import MonthClosure
from mealservice.places.registry import add_to_blacklist
from tests import factories
from tests.claims.helpers import CLAIMING_OCTOBER
from tests.delivery import install_fake_platform

pytestmark = CLAIMING_OCTOBER

EXAMPLES = int(os.environ.get("MODEL_CHECK_EXAMPLES", "12"))
STEPS = int(os.environ.get("MODEL_CHECK_STEPS", "25"))

CASHIER = SimpleNamespace(username="model-cashier", role="cashier", canteen_id=None)
MANAGER = SimpleNamespace(username="model-manager", role="manager", canteen_id=None)
OCTOBER_LUNCH = datetime(2026, 10, 15, 3, 30, tzinfo=UTC)  # 11:30 in Shanghai


class MoneyMachine(RuleBasedStateMachine):
    """The service's money paths driven in random order; the model is what the test
    itself did (who died when, what was blacklisted from when, which month was claimed)."""

    district = None
    platform = None

    @initialize()
    def a_canteen_of_its_own(self):
        self.canteen = factories.create_canteen(self.district)
        MANAGER.canteen_id = CASHIER.canteen_id = self.canteen.id
        self.today = self.district.local_today()
        self.tomorrow = self.today + timedelta(days=1)
        for day in (self.today, self.tomorrow, date(2026, 10, 15)):
            factories.create_menu(self.canteen, day, "lunch", seats=3, delivery_capacity=3)
        self.elders = [
            factories.create_elder(self.district, self.canteen.community, **kind)
            for kind in ({}, {"categories": ["minimum_allowance"]}, {})
        ]
        self.cards = [factories.create_card(elder) for elder in self.elders]
        self.offline_sent: list[dict] = []
        self.died: dict[int, tuple[date, datetime]] = {}
        self.blacklisted_from: date | None = None
        self.blacklisted_at: datetime | None = None

    # The counter

    @rule(who=st.integers(0, 2))
    def scan_online(self, who):
        self._try(scan, CASHIER, self.canteen, {"qr_payload": payload_of(self.cards[who])})

    @rule(who=st.integers(0, 2), minutes_ago=st.integers(1, 90))
    def scan_offline(self, who, minutes_ago):
        data = {
            "qr_payload": payload_of(self.cards[who]),
            "scanned_at": utcnow() - timedelta(minutes=minutes_ago),
            "slot": "lunch",
        }
        if self._try(scan, CASHIER, self.canteen, data) is not None:
            self.offline_sent.append(data)

    @precondition(lambda self: self.offline_sent)
    @rule(pick=st.integers(0, 50))
    def send_an_offline_scan_again(self, pick):
        data = self.offline_sent[pick % len(self.offline_sent)]
        before = self._meals()
        self._try(scan, CASHIER, self.canteen, data)
        assert self._meals() == before, "a scan sent again made another meal"

    @rule(who=st.integers(0, 2))
    def scan_in_october(self, who):
        data = {"qr_payload": payload_of(self.cards[who])}
        self._try(scan, CASHIER, self.canteen, data, now=OCTOBER_LUNCH)

    @rule(pick=st.integers(0, 50))
    def void_a_meal(self, pick):
        meals = db.session.scalars(
            select(Meal).where(Meal.canteen_id == self.canteen.id, Meal.voided_at.is_(None))
        ).all()
        if meals:
            self._try(void_meal, MANAGER, meals[pick % len(meals)], "recorded by mistake")

    @rule(who=st.integers(0, 2), yuan=st.sampled_from([10, 20, 50]))
    def top_up(self, who, yuan):
        self._try(top_up, CASHIER, self.canteen, self.elders[who], yuan * 100, "cash")

    # Ordering ahead

    @rule(
        who=st.integers(0, 2),
        channel=st.sampled_from(["delivery", "dine_in"]),
        prepaid=st.booleans(),
    )
    def order_tomorrow(self, who, channel, prepaid):
        menu = db.session.scalar(
            select(Menu).where(Menu.canteen_id == self.canteen.id, Menu.date == self.tomorrow)
        )
        data = {
            "elder_id": self.elders[who].id,
            "menu_id": menu.id,
            "option_id": menu.options[0].id,
            "channel": channel,
        }
        if prepaid:
            data["payment"] = {"method": "balance"}
        self._try(place_order, None, data)

    @rule(pick=st.integers(0, 50))
    def cancel_an_order(self, pick):
        found = self._orders(OrderStatus.CONFIRMED)
        if found:
            self._try(cancel_order, None, found[pick % len(found)])

    @rule()
    def send_the_deliveries_out(self):
        self._try(delivery.make_runs, MANAGER, self.canteen, self.tomorrow, "lunch", "fake")
        self._try(delivery.dispatch_pending)

    @rule(
        pick=st.integers(0, 50),
        status=st.sampled_from(["accepted", "delivered", "failed"]),
        twice=st.booleans(),
    )
    def a_platform_reports(self, pick, status, twice):
        found = self._orders(OrderStatus.DISPATCHED)
        if not found:
            return
        order = found[pick % len(found)]
        report = Report(
            event_id=f"model-{order.id}-{status}",
            order_id=order.id,
            status=status,
            at=utcnow(),
            reason="no_answer" if status == "failed" else None,
        )
        for _ in range(2 if twice else 1):
            self._try(delivery.apply_report, "fake", report)

    @rule(pick=st.integers(0, 50))
    def the_platform_loses_one(self, pick):
        found = self._orders(OrderStatus.DISPATCHED)
        if found:
            self.platform.statuses[found[pick % len(found)].id] = None
            self._try(delivery.reconcile_deliveries, utcnow() + timedelta(hours=3))

    # The registry and the claim

    @rule(who=st.integers(0, 2), from_tomorrow=st.booleans())
    def an_elder_dies(self, who, from_tomorrow):
        elder = self.elders[who]
        if elder.id in self.died:
            return
        since = self.tomorrow if from_tomorrow else self.today
        self._try(update_elder, elder, {"status": "deceased", "status_since": since})
        self.died[elder.id] = (since, utcnow())

    @precondition(lambda self: self.blacklisted_from is None)
    @rule(from_tomorrow=st.booleans())
    def the_canteen_is_blacklisted(self, from_tomorrow):
        starts_on = self.tomorrow if from_tomorrow else self.today
        self._try(add_to_blacklist, None, self.canteen, "虚报就餐人次", starts_on)
        self.blacklisted_from, self.blacklisted_at = starts_on, utcnow()

    @rule()
    def octobers_claim_is_made(self):
        self._try(claims.make_claim, MANAGER, self.canteen, "2026-10")

    # What must hold after every step

    @invariant()
    def subsidized_meals_keep_to_the_slot_limit(self):
        crowded = db.session.execute(
            select(Meal.elder_id, Meal.date, func.count())
            .where(
                Meal.canteen_id == self.canteen.id,
                Meal.voided_at.is_(None),
                Meal.subsidy_fen > 0,
            )
            .group_by(Meal.elder_id, Meal.date, Meal.slot)
            .having(func.count() > 1)
        ).all()
        assert crowded == []

    @invariant()
    def seats_used_are_the_live_bookings_and_meals_holding_one(self):
        for menu in db.session.scalars(select(Menu).where(Menu.canteen_id == self.canteen.id)):
            db.session.refresh(menu)
            held = db.session.scalar(
                select(func.count()).where(Order.menu_id == menu.id, Order.holds_seat)
            ) + db.session.scalar(
                select(func.count()).where(Meal.menu_id == menu.id, Meal.holds_seat)
            )
            assert menu.seats_used == held, f"menu {menu.id}: {menu.seats_used} != {held}"

    @invariant()
    def every_balance_is_its_movements_and_never_below_zero(self):
        for elder in self.elders:
            moved = db.session.scalar(
                select(func.coalesce(func.sum(BalanceMovement.amount_fen), 0)).where(
                    BalanceMovement.elder_id == elder.id
                )
            )
            assert balance_of(elder.id) == moved >= 0

    @invariant()
    def no_meal_enters_a_claimed_month(self):
        closure = db.session.get(MonthClosure, (self.canteen.id, "2026-10"))
        if closure is not None:
            late = db.session.scalar(
                select(func.count()).where(
                    Meal.canteen_id == self.canteen.id,
                    Meal.date.between(date(2026, 10, 1), date(2026, 10, 31)),
                    Meal.recorded_at > closure.closed_at,
                )
            )
            assert late == 0

    @invariant()
    def nobody_is_subsidized_after_their_death(self):
        for elder_id, (since, noted) in self.died.items():
            paid = db.session.scalar(
                select(func.count()).where(
                    Meal.elder_id == elder_id,
                    Meal.date >= since,
                    Meal.recorded_at >= noted,
                    Meal.conflict.is_(None),
                    (Meal.subsidy_fen + Meal.delivery_subsidy_fen) > 0,
                )
            )
            assert paid == 0

    @invariant()
    def nothing_is_subsidized_at_a_blacklisted_place(self):
        # Meals recorded before the blacklisting stand (a meal is never repriced); the
        # month's claim is refused for them instead.
        if self.blacklisted_from is not None:
            paid = db.session.scalar(
                select(func.count()).where(
                    Meal.canteen_id == self.canteen.id,
                    Meal.date >= self.blacklisted_from,
                    Meal.recorded_at >= self.blacklisted_at,
                    (Meal.subsidy_fen + Meal.delivery_subsidy_fen) > 0,
                )
            )
            assert paid == 0

    @invariant()
    def an_order_holds_its_slot_only_while_live(self):
        live = [str(status) for status in LIVE_ORDER_STATUSES]
        stray = db.session.scalar(
            select(func.count()).where(
                Order.canteen_id == self.canteen.id,
                Order.status.not_in(live),
                Order.holds_slot | Order.holds_seat | Order.holds_subsidy,
            )
        )
        assert stray == 0

    @invariant()
    def a_claim_is_the_sum_of_its_lines(self):
        claim = db.session.scalar(select(Claim).where(Claim.canteen_id == self.canteen.id))
        if claim is not None:
            lines, _more = claims.lines(claim, per_page=1000)
            body = claims.claim_body(claim)["totals"]
            assert body["meal_subsidy_fen"] == sum(line["subsidy_fen"] for line in lines)
            assert body["meals"] == len(lines)

    # Helpers

    def _try(self, action, *args, **kwargs):
        """Run one path; a refusal is an answer, and leaves nothing half-written."""
        try:
            with db.session.begin_nested():
                done = action(*args, **kwargs)
        except ApiError:
            return None
        db.session.commit()
        return done if done is not None else True

    def _meals(self) -> int:
        return db.session.scalar(select(func.count()).where(Meal.canteen_id == self.canteen.id))

    def _orders(self, status) -> list[Order]:
        return db.session.scalars(
            select(Order)
            .where(Order.canteen_id == self.canteen.id, Order.status == status)
            .order_by(Order.id)
        ).all()


def test_public_money_holds_on_every_path(app, db, district, monkeypatch):
    factories.create_policy(district)
    MoneyMachine.district = district
    MoneyMachine.platform = install_fake_platform(app, monkeypatch)
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
