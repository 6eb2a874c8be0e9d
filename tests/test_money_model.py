"""A stateful model test of public money: random interleavings of every money path — scans
online and offline (and sent again), voids, top-ups, orders paid from the balance or on
delivery, cancellations, dispatch to a platform or to a volunteer, platform reports
delivered, failed, duplicated and lost, drops confirmed at the door or settled by hand,
an elder's death or move and the family's payout, a blacklisting, a holiday declared, a
new policy version, a month's claim and an official's review — and after every step the
rules that must hold whatever path wrote the facts.

Each example gets a district (with its policy), a canteen and elders of its own in the
suite's database; holidays are the country's, so an example takes back those it
declared. Bounded for the suite (a fixed seed, a few dozen examples); `make model-check`
runs it longer (MODEL_CHECK_EXAMPLES)."""

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
from mealservice.balances.services import balance_of, pay_out, top_up
from mealservice.claims import services as claims
from mealservice.claims.models import Claim
from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.core.errors import ApiError
from mealservice.delivery import services as delivery
from mealservice.delivery.models import DeliveryRun
from mealservice.delivery.platforms.base import Report
from mealservice.elders.cards import payload_of
from mealservice.elders.services import update_elder
from mealservice.meals.models import LIVE_ORDER_STATUSES, Meal, Order, OrderStatus
from mealservice.meals.orders import cancel_order, place_order
from mealservice.meals.services import scan, void_meal
from mealservice.menus.models import Menu
from mealservice.places.models import MonthClosure
from mealservice.places.registry import add_to_blacklist
from mealservice.policy.services import create_policy, remove_holiday, set_holiday
from tests import factories
from tests.claims.helpers import CLAIMING_OCTOBER
from tests.delivery import install_fake_platform

pytestmark = CLAIMING_OCTOBER

EXAMPLES = int(os.environ.get("MODEL_CHECK_EXAMPLES", "20"))
STEPS = int(os.environ.get("MODEL_CHECK_STEPS", "50"))

CASHIER = SimpleNamespace(username="model-cashier", role="cashier", canteen_id=None)
MANAGER = SimpleNamespace(username="model-manager", role="manager", canteen_id=None)
OFFICIAL = SimpleNamespace(username="model-official", role="official", district_code=None)
OCTOBER_LUNCH = datetime(2026, 10, 15, 3, 30, tzinfo=UTC)  # 11:30 in Shanghai


class MoneyMachine(RuleBasedStateMachine):
    """The service's money paths driven in random order; the model is what the test
    itself did (who died when, what was blacklisted from when, which month was claimed)."""

    platform = None

    @initialize()
    def a_district_of_its_own(self):
        self.district = factories.create_district()
        factories.create_policy(self.district)
        self.canteen = factories.create_canteen(self.district)
        MANAGER.canteen_id = CASHIER.canteen_id = self.canteen.id
        OFFICIAL.district_code = self.district.code
        self.volunteer = factories.create_user("volunteer", canteen=self.canteen)
        self.today = self.district.local_today()
        self.tomorrow = self.today + timedelta(days=1)
        for day in (self.today, self.tomorrow, date(2026, 10, 15)):
            factories.create_menu(self.canteen, day, "lunch", seats=3, delivery_capacity=3)
        self.elders = [
            factories.create_elder(self.district, self.canteen.community, **kind)
            for kind in (
                {},
                {"categories": ["minimum_allowance"]},
                {},
                {"categories": ["minimum_allowance"]},
            )
        ]
        self.cards = [factories.create_card(elder) for elder in self.elders]
        self.offline_sent: list[dict] = []
        self.died: dict[int, tuple[date, datetime]] = {}
        self.deceased: set[int] = set()
        self.blacklisted_from: date | None = None
        self.blacklisted_at: datetime | None = None
        self.holidays: dict[date, datetime] = {}
        self.new_version: tuple[int, date, datetime] | None = None

    def teardown(self):
        for day in self.holidays:
            remove_holiday(day)
        db.session.commit()

    # The counter

    @rule(who=st.integers(0, 3))
    def scan_online(self, who):
        # The slot named: the suite's clock stands before the lunch window opens.
        data = {"qr_payload": payload_of(self.cards[who]), "slot": "lunch"}
        self._try(scan, CASHIER, self.canteen, data)

    @rule(who=st.integers(0, 3), minutes_ago=st.integers(1, 90))
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

    @rule(who=st.integers(0, 3))
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

    @rule(who=st.integers(0, 3), yuan=st.sampled_from([10, 20, 50]))
    def top_up(self, who, yuan):
        self._try(top_up, CASHIER, self.canteen, self.elders[who], yuan * 100, "cash")

    # Ordering ahead

    @rule(
        who=st.integers(0, 3),
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

    @precondition(lambda self: self._waiting_for_a_run())
    @rule()
    def send_the_deliveries_out(self):
        factories.close_ordering(self.canteen, self.tomorrow)  # runs wait for the cutoff
        self._try(delivery.make_runs, MANAGER, self.canteen, self.tomorrow, "lunch", "fake")
        self._try(delivery.dispatch_pending)

    @precondition(lambda self: self._orders(OrderStatus.DISPATCHED))
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

    @precondition(lambda self: self._orders(OrderStatus.DISPATCHED))
    @rule(pick=st.integers(0, 50))
    def the_platform_loses_one(self, pick):
        found = self._orders(OrderStatus.DISPATCHED)
        if found:
            self.platform.statuses[found[pick % len(found)].id] = None
            self._try(delivery.reconcile_deliveries, utcnow() + timedelta(hours=3))

    @precondition(lambda self: self._waiting_for_a_run())
    @rule()
    def send_the_deliveries_with_a_volunteer(self):
        factories.close_ordering(self.canteen, self.tomorrow)
        self._try(
            delivery.make_runs,
            MANAGER,
            self.canteen,
            self.tomorrow,
            "lunch",
            "volunteer",
            self.volunteer.id,
        )

    @precondition(lambda self: self._volunteer_drops())
    @rule(pick=st.integers(0, 50), how=st.sampled_from(["door", "delivered", "not delivered"]))
    def a_volunteer_drop_is_settled(self, pick, how):
        found = self._volunteer_drops()
        order = found[pick % len(found)]
        if how == "door":
            self._try(delivery.confirm_drop, self.volunteer, order, order.delivery_code)
        else:
            self._try(delivery.settle_drop_by_hand, MANAGER, order, how == "delivered")

    # The registry, the policy and the claim

    @rule(who=st.integers(0, 3), from_tomorrow=st.booleans(), status=st.sampled_from(
        ["deceased", "moved"]))  # fmt: skip
    def an_elder_dies_or_moves(self, who, from_tomorrow, status):
        elder = self.elders[who]
        if elder.id in self.died:
            return
        since = self.tomorrow if from_tomorrow else self.today
        if self._try(update_elder, elder, {"status": status, "status_since": since}):
            self.died[elder.id] = (since, utcnow())
            if status == "deceased":
                self.deceased.add(elder.id)

    @precondition(lambda self: self.deceased)
    @rule(pick=st.integers(0, 3))
    def the_family_is_paid_out(self, pick):
        elder_id = sorted(self.deceased)[pick % len(self.deceased)]
        elder = next(elder for elder in self.elders if elder.id == elder_id)
        self._try(pay_out, CASHIER, self.canteen, elder, "cash")

    @rule(tomorrow=st.booleans())
    def a_holiday_is_declared(self, tomorrow):
        day = self.tomorrow if tomorrow else self.today
        if day not in self.holidays and self._try(set_holiday, day, "调休"):
            self.holidays[day] = utcnow()

    @precondition(lambda self: self.new_version is None)
    @rule(amount=st.sampled_from([300, 2000]))
    def a_new_policy_version_starts_tomorrow(self, amount):
        tiers = [{"name": "困难老人", "categories": ["minimum_allowance"], "channel": "any",
                  "amount_fen": amount}]  # fmt: skip
        data = {"effective_from": self.tomorrow, "no_subsidy_on_holidays": True,
                "max_meals_per_slot": 1, "refuse_beyond_limit": True,
                "delivery_subsidy_fen": 300, "tiers": tiers}  # fmt: skip
        created = self._try(create_policy, "model", self.district, data)
        if created:
            self.new_version = (created.id, self.tomorrow, utcnow())

    @precondition(lambda self: self.blacklisted_from is None)
    @rule(from_tomorrow=st.booleans())
    def the_canteen_is_blacklisted(self, from_tomorrow):
        starts_on = self.tomorrow if from_tomorrow else self.today
        self._try(add_to_blacklist, None, self.canteen, "虚报就餐人次", starts_on)
        self.blacklisted_from, self.blacklisted_at = starts_on, utcnow()

    @precondition(lambda self: self._claim() is None)
    @rule()
    def octobers_claim_is_made(self):
        self._try(claims.make_claim, MANAGER, self.canteen, "2026-10")

    @precondition(lambda self: self._claim() is not None)
    @rule(decision=st.sampled_from(["approve", "reject"]), reject_one=st.booleans())
    def an_official_reviews_the_claim(self, decision, reject_one):
        claim = self._claim()
        rejected = []
        if decision == "approve" and reject_one:
            lines, _more = claims.lines(claim, per_page=1)
            rejected = [line["meal_id"] for line in lines]
        self._try(claims.review, OFFICIAL, claim, decision, "model review", rejected)

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
    def only_a_deceased_elders_balance_is_paid_out(self):
        paid_out = set(
            db.session.scalars(
                select(BalanceMovement.elder_id).where(
                    BalanceMovement.canteen_id == self.canteen.id,
                    BalanceMovement.kind == "payout",
                )
            )
        )
        assert paid_out <= self.deceased

    @invariant()
    def no_scan_is_subsidized_on_a_declared_holiday(self):
        for day, declared in self.holidays.items():
            paid = db.session.scalar(
                select(func.count()).where(
                    Meal.canteen_id == self.canteen.id,
                    Meal.date == day,
                    Meal.order_id.is_(None),
                    Meal.recorded_at >= declared,
                    Meal.subsidy_fen > 0,
                )
            )
            assert paid == 0

    @invariant()
    def meals_priced_after_a_new_version_follow_it(self):
        if self.new_version is not None:
            version, starts, created = self.new_version
            stale = db.session.scalar(
                select(func.count()).where(
                    Meal.canteen_id == self.canteen.id,
                    Meal.date >= starts,
                    Meal.order_id.is_(None),
                    Meal.recorded_at >= created,
                    Meal.tier.is_not(None),
                    Meal.policy_version != version,
                )
            )
            assert stale == 0

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

    def _claim(self) -> Claim | None:
        return db.session.scalar(select(Claim).where(Claim.canteen_id == self.canteen.id))

    def _volunteer_drops(self) -> list[Order]:
        return [
            order
            for order in self._orders(OrderStatus.DISPATCHED)
            if db.session.get(DeliveryRun, order.run_id).platform == "volunteer"
        ]

    def _waiting_for_a_run(self) -> bool:
        return any(
            order.channel == "delivery" and order.run_id is None
            for order in self._orders(OrderStatus.CONFIRMED)
        )

    def _meals(self) -> int:
        return db.session.scalar(select(func.count()).where(Meal.canteen_id == self.canteen.id))

    def _orders(self, status) -> list[Order]:
        return db.session.scalars(
            select(Order)
            .where(Order.canteen_id == self.canteen.id, Order.status == status)
            .order_by(Order.id)
        ).all()


def test_public_money_holds_on_every_path(app, db, monkeypatch):
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
