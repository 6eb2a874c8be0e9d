"""Delivery: runs made from a slot's confirmed delivery orders, the outbox that hands them
to the platforms, the one state machine every status report goes through, volunteers'
drops at the door, and the welfare alerts a door nobody answers raises."""

import logging
import secrets
from collections import defaultdict
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from mealservice.accounts.models import User
from mealservice.balances import services as balances
from mealservice.core.auth import (
    ADMIN,
    LINKED_ELDER_ROLES,
    MANAGER,
    VOLUNTEER,
    canteen_scope,
    district_scope,
    ensure_canteen_in_scope,
)
from mealservice.core.clock import utcnow
from mealservice.core.db import add_once, db
from mealservice.core.errors import (
    ApiError,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from mealservice.delivery import platforms, throttling
from mealservice.delivery.models import (
    VOLUNTEER_PLATFORM,
    DeliveryEvent,
    DeliveryJob,
    DeliveryRun,
    JobKind,
    JobStatus,
    RunStatus,
)
from mealservice.delivery.platforms.base import (
    BadReport,
    DeliveryRequest,
    PlatformRefused,
    PlatformUnavailable,
    Report,
    configured_platforms,
)
from mealservice.elders.models import AlertKind, Elder, WelfareAlert
from mealservice.meals import limits
from mealservice.meals import services as meal_services
from mealservice.meals.models import (
    CLEARED,
    Holds,
    Meal,
    MealSource,
    Order,
    OrderStatus,
    PaymentMethod,
)
from mealservice.meals.orders import end_order, get_order
from mealservice.menus.models import Menu
from mealservice.places import registry
from mealservice.places.models import Canteen, Community
from mealservice.policy import pricing
from mealservice.policy.services import pricing_policies

log = logging.getLogger(__name__)

REPORT_STATUSES = ("accepted", "picked_up", "delivered", "failed")
# How far a delivery has got: a report is applied only when it moves the order forward.
RANK = {None: 0, "accepted": 1, "picked_up": 2, "delivered": 3, "failed": 3}
# The outbox's patience: 5 s doubling up to 10 minutes a try, 12 tries (about an hour).
FIRST_RETRY_S = 5
MAX_RETRY_S = 600
MAX_ATTEMPTS = 12
# How far ahead of the service's clock a report may be dated.
REPORT_CLOCK_SKEW = timedelta(minutes=5)
DISPATCH_BATCH = 200


# Runs


def make_runs(
    actor,
    canteen: Canteen,
    day: date,
    slot: str,
    platform: str,
    volunteer_id: int | None = None,
    *,
    now: datetime | None = None,
) -> list[DeliveryRun]:
    """Put the slot's confirmed delivery orders not yet in a run into runs of at most
    DELIVERY_RUN_SIZE, split by the elders' communities when one run is not enough. The
    outbox rows are written in the same transaction; the scheduler sends them."""
    now = now or utcnow()
    _check_platform(platform)
    if platform == VOLUNTEER_PLATFORM and volunteer_id is None:
        # A volunteer run nobody carries is seen by no one, and its orders are stranded.
        raise ValidationFailed({"volunteer_id": ["Name the volunteer who carries this run."]})
    volunteer = _check_volunteer(canteen, platform, volunteer_id)
    _check_ordering_closed(canteen, day, slot, now)
    pending = list(
        db.session.execute(
            select(Order, Community.code)
            .join(Elder, Elder.id == Order.elder_id)
            .join(Community, Community.id == Elder.community_id)
            .where(
                Order.canteen_id == canteen.id,
                Order.date == day,
                Order.slot == slot,
                Order.channel == "delivery",
                Order.status == OrderStatus.CONFIRMED,
                Order.run_id.is_(None),
            )
            .order_by(Community.code, Order.id)
        )
    )
    if not pending:
        raise Conflict(
            "no_orders",
            "No confirmed delivery orders are waiting for this meal.",
            {"date": day.isoformat(), "slot": slot},
        )
    size = current_app.config["DELIVERY_RUN_SIZE"]
    if len(pending) <= size:
        batches = [(None, [order for order, _ in pending])]
    else:
        by_area: dict[str, list[Order]] = defaultdict(list)
        for order, area in pending:
            by_area[area].append(order)
        batches = [
            (area, orders[start : start + size])
            for area, orders in by_area.items()
            for start in range(0, len(orders), size)
        ]
    runs = []
    for area, orders in batches:
        run = DeliveryRun(
            canteen_id=canteen.id,
            date=day,
            slot=slot,
            platform=platform,
            area=area,
            status=RunStatus.OPEN,
            volunteer_id=volunteer.id if volunteer is not None else None,
            created_by=actor.username,
            created_at=now,
        )
        db.session.add(run)
        db.session.flush()
        for order in orders:
            _send_out(order, run, now)
        runs.append(run)
    log.info(
        "%s made %s %s run(s) of %s orders at canteen %s",
        actor.username,
        len(runs),
        platform,
        len(pending),
        canteen.id,
    )
    return runs


def _check_platform(platform: str) -> None:
    if platform not in configured_platforms():
        known = ", ".join(sorted(configured_platforms()))
        raise ValidationFailed({"platform": [f"Unknown platform; configured: {known}."]})


def _check_ordering_closed(canteen: Canteen, day: date, slot: str, now: datetime) -> None:
    """Until the cutoff, families may still order and cancel: a run made earlier would take
    away the cancelling the order page promised."""
    menu = db.session.scalar(
        select(Menu).where(Menu.canteen_id == canteen.id, Menu.date == day, Menu.slot == slot)
    )
    if menu is not None and menu.ordering_open(now):
        raise Conflict(
            "ordering_open",
            "Ordering for this meal is still open; make runs after its cutoff.",
            {"order_cutoff": menu.order_cutoff.isoformat()},
        )


def _check_volunteer(canteen: Canteen, platform: str, volunteer_id: int | None) -> User | None:
    if volunteer_id is None:
        return None
    if platform != VOLUNTEER_PLATFORM:
        raise ValidationFailed({"volunteer_id": ["Only a volunteer run is given to a volunteer."]})
    volunteer = db.session.get(User, volunteer_id)
    if (
        volunteer is None
        or volunteer.role != VOLUNTEER
        or volunteer.canteen_id != canteen.id
        or not volunteer.active
    ):
        raise ValidationFailed({"volunteer_id": ["No such active volunteer at this canteen."]})
    return volunteer


def _send_out(order: Order, run: DeliveryRun, now: datetime) -> None:
    """Dispatch one order in `run`: the conditional UPDATE makes two managers making runs
    at once put it in one run only (the other's transaction is refused and rolled back)."""
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.CONFIRMED, Order.run_id.is_(None))
        .values(
            status=OrderStatus.DISPATCHED,
            run_id=run.id,
            delivery_stage=None,
            status_changed_at=now,
            delivery_code=order.delivery_code or _new_code(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(order)
    if not moved:
        raise Conflict(
            "already_dispatched", "Another run took some of these orders meanwhile; try again."
        )
    if run.platform != VOLUNTEER_PLATFORM:
        _queue_job(order, run, now)


def _new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _queue_job(order: Order, run: DeliveryRun, now: datetime) -> DeliveryJob:
    """The create job of the order: one row per order (unique with its kind), reused when a
    failed order goes out again."""
    job = db.session.scalar(
        select(DeliveryJob).where(
            DeliveryJob.order_id == order.id, DeliveryJob.kind == JobKind.CREATE
        )
    )
    if job is None:
        job = DeliveryJob(order_id=order.id, kind=JobKind.CREATE)
        db.session.add(job)
    job.run_id = run.id
    job.platform = run.platform
    job.status = JobStatus.PENDING
    job.attempts = 0
    job.next_attempt_at = now
    job.last_error = None
    job.platform_ref = None
    job.sent_at = None
    db.session.flush()
    return job


def get_run(actor, run_id: int) -> DeliveryRun:
    """A run in the caller's scope; a volunteer sees only the runs given to them."""
    run = db.session.get(DeliveryRun, run_id)
    if run is None:
        raise NotFound("delivery run")
    ensure_canteen_in_scope(actor, run.canteen, "delivery run")
    if actor.role == VOLUNTEER and run.volunteer_id != actor.id:
        raise NotFound("delivery run")
    return run


def give_run_to(actor, run: DeliveryRun, volunteer_id: int) -> DeliveryRun:
    """Hand an open volunteer run to another active volunteer of its canteen (its
    volunteer was deactivated, or cannot go): the stops not yet settled go with it."""
    if run.platform != VOLUNTEER_PLATFORM:
        raise Conflict("not_a_volunteer_run", "This run is carried by a platform, not volunteers.")
    if run.status != RunStatus.OPEN:
        raise Conflict("run_done", "Every stop of this run is already settled.")
    volunteer = _check_volunteer(run.canteen, run.platform, volunteer_id)
    log.info("%s gave run %s to volunteer %s", actor.username, run.id, volunteer.id)
    run.volunteer_id = volunteer.id
    return run


def runs_left_by_deactivated_volunteers(canteen: Canteen) -> list[tuple[DeliveryRun, str]]:
    """The canteen's open runs whose volunteer's account is deactivated, with the name:
    the manager gives them to someone else or settles their stops by hand."""
    return list(
        db.session.execute(
            select(DeliveryRun, User.username)
            .join(User, User.id == DeliveryRun.volunteer_id)
            .where(
                DeliveryRun.canteen_id == canteen.id,
                DeliveryRun.status == RunStatus.OPEN,
                User.active.is_(False),
            )
            .order_by(DeliveryRun.date, DeliveryRun.slot, DeliveryRun.id)
        ).tuples()
    )


def run_orders(run: DeliveryRun) -> list[Order]:
    return list(db.session.scalars(select(Order).where(Order.run_id == run.id).order_by(Order.id)))


def canteen_delivery_orders(
    canteen: Canteen, day: date, slot: str | None = None, actor=None
) -> list[Order]:
    """The day's delivery orders and how far each got, for the manager's live page. A
    volunteer sees only the stops of the runs given to them."""
    query = (
        select(Order, DeliveryRun.platform)
        .outerjoin(DeliveryRun, DeliveryRun.id == Order.run_id)
        .where(Order.canteen_id == canteen.id, Order.date == day, Order.channel == "delivery")
        .order_by(Order.slot, Order.run_id, Order.id)
    )
    if slot is not None:
        query = query.where(Order.slot == slot)
    if actor is not None and actor.role == VOLUNTEER:
        query = query.where(DeliveryRun.volunteer_id == actor.id)
    orders = []
    for order, platform in db.session.execute(query):
        # Read by the live page's answer only.
        order.platform = platform
        orders.append(order)
    return orders


def redispatch(
    actor, order: Order, platform: str | None = None, *, now: datetime | None = None
) -> DeliveryRun:
    """Send a failed order out again in a run of its own. It takes its place in the slot
    limit (and its subsidized place, and its balance payment) again: the elder may have
    eaten elsewhere since it failed."""
    now = now or utcnow()
    if order.status != OrderStatus.FAILED:
        raise Conflict(
            "order_not_failed", f"Only a failed order goes out again; this one is {order.status}."
        )
    old_run = db.session.get(DeliveryRun, order.run_id) if order.run_id else None
    platform = platform or (old_run.platform if old_run else None)
    if platform is None:
        raise ValidationFailed({"platform": ["Name the platform."]})
    _check_platform(platform)
    elder = db.session.get(Elder, order.elder_id)
    in_force = pricing.policy_in_force(
        pricing_policies(elder.hukou_district), elder.hukou_district, order.date
    )
    allowed = pricing.limits_of(in_force)
    per_slot, daily_limit = allowed.per_slot, allowed.subsidized_per_day
    if limits.take_slot(order.elder_id, order.date, order.slot, per_slot) is None:
        raise Conflict(
            "already_served",
            "The elder has had this meal meanwhile.",
            {"date": order.date.isoformat(), "slot": order.slot},
        )
    holds_subsidy = False
    if order.subsidy_fen and daily_limit is not None:
        if limits.take_subsidized(order.elder_id, order.date, daily_limit) is None:
            raise Conflict(
                "already_served",
                "The elder has had the day's subsidized meals meanwhile.",
                {"date": order.date.isoformat()},
            )
        holds_subsidy = True
    if order.paid_fen:
        balance_after = balances.take_for_meal(order.elder_id, order.paid_fen)
        if balance_after is None:
            raise balances.insufficient_balance(order.elder_id, order.paid_fen)
        balances.record_payment(actor.username, order, order.paid_fen, balance_after)
    run = DeliveryRun(
        canteen_id=order.canteen_id,
        date=order.date,
        slot=order.slot,
        platform=platform,
        area=None,
        status=RunStatus.OPEN,
        volunteer_id=None,
        created_by=actor.username,
        created_at=now,
    )
    db.session.add(run)
    db.session.flush()
    order.status = OrderStatus.DISPATCHED
    order.status_changed_at = now
    order.run_id = run.id
    order.delivery_stage = None
    order.failure_reason = None
    order.holds_slot = True
    order.holds_subsidy = holds_subsidy
    if platform == VOLUNTEER_PLATFORM:
        # No outbox for volunteers; a job left from the earlier platform must not go out.
        db.session.execute(
            update(DeliveryJob)
            .where(DeliveryJob.order_id == order.id, DeliveryJob.status == JobStatus.PENDING)
            .values(status=JobStatus.GAVE_UP, last_error="redispatched to volunteers")
            .execution_options(synchronize_session=False)
        )
    else:
        _queue_job(order, run, now)
    db.session.flush()
    log.info("%s redispatched order %s in run %s", actor.username, order.id, run.id)
    return run


# The outbox


def dispatch_pending(now: datetime | None = None) -> int:
    """The scheduler's job: send the outbox rows that are due. Each job's outcome is kept
    in its own savepoint, and the scheduler commits once per call; should it crash before
    that commit, the jobs are still pending and go out again on the next call, which is
    harmless: the platform books one courier per order id (its idempotency key). A job
    stays pending until its own row says sent. Returns how many were sent."""
    now = now or utcnow()
    due = list(
        db.session.scalars(
            select(DeliveryJob)
            .where(
                DeliveryJob.kind == JobKind.CREATE,
                DeliveryJob.status == JobStatus.PENDING,
                DeliveryJob.next_attempt_at <= now,
            )
            .order_by(DeliveryJob.next_attempt_at, DeliveryJob.id)
            .limit(DISPATCH_BATCH)
        )
    )
    sent = 0
    for job in due:
        with db.session.begin_nested():
            sent += _dispatch(job, now)
    return sent


def _dispatch(job: DeliveryJob, now: datetime) -> bool:
    order = db.session.get(Order, job.order_id)
    if order.status != OrderStatus.DISPATCHED or order.run_id != job.run_id:
        # Failed or gone out again meanwhile: this row no longer speaks for the order.
        job.status = JobStatus.GAVE_UP
        job.last_error = f"order is {order.status}"
        return False
    try:
        platform = platforms.platform_for(job.platform)
        reference = platform.create_delivery(delivery_request(order, job))
    except PlatformRefused as refusal:
        _give_up(job, order, "platform_refused", str(refusal), now)
        return False
    except (PlatformUnavailable, KeyError) as error:
        return _retry_later(job, order, error, now)
    except Exception as error:
        # An adapter's bug must not hold back the other jobs; it is retried like an outage.
        log.exception("delivery job %s: the adapter failed", job.id)
        return _retry_later(job, order, error, now)
    job.status = JobStatus.SENT
    job.platform_ref = (reference or "")[:64] or None
    job.sent_at = now
    job.last_error = None
    log.info("delivery job %s (order %s) sent to %s", job.id, order.id, job.platform)
    return True


def _retry_later(job: DeliveryJob, order: Order, error: Exception, now: datetime) -> bool:
    job.attempts += 1
    job.last_error = f"{type(error).__name__}: {error}"[:200]
    if job.attempts > MAX_ATTEMPTS:
        _give_up(job, order, "platform_unreachable", job.last_error, now)
        return False
    job.next_attempt_at = now + timedelta(seconds=min(FIRST_RETRY_S * 2**job.attempts, MAX_RETRY_S))
    log.warning("delivery job %s: attempt %s failed; retry later", job.id, job.attempts)
    return False


def _give_up(job: DeliveryJob, order: Order, reason: str, error: str, now: datetime) -> None:
    job.status = JobStatus.GAVE_UP
    job.last_error = error[:200]
    _fail(order, reason, now, by=job.platform)
    _close_run_if_done(order.run_id)
    log.warning("delivery job %s (order %s): gave up, %s", job.id, order.id, reason)


def delivery_request(order: Order, job: DeliveryJob) -> DeliveryRequest:
    """What the platform is told: names and addresses for the label, the phone masked,
    never the ID number."""
    canteen, elder = order.canteen, order.elder
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return DeliveryRequest(
        order_id=order.id,
        run_id=job.run_id,
        pickup_name=canteen.name,
        pickup_address=canteen.address,
        dropoff_address=order.address,
        recipient=elder.name,
        phone_masked=mask_phone(elder.phone),
        diet_notes=elder.diet_notes,
        slot=order.slot,
        date=order.date.isoformat(),
        callback_url=f"{base}/api/v1/delivery/webhooks/{job.platform}",
    )


def mask_phone(phone: str | None) -> str | None:
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    if len(digits) < 7:
        return None
    return f"{digits[:3]}****{digits[-4:]}"


# The state machine


def apply_report(
    platform: str, report: Report, now: datetime | None = None, *, by: str | None = None
) -> bool:
    """Every status report, from a webhook or a volunteer, goes through here: recorded
    once, applied only when it moves the order forward. True when it changed the order."""
    now = now or utcnow()
    if report.status not in REPORT_STATUSES:
        raise ValidationFailed({"status": [f"One of: {', '.join(REPORT_STATUSES)}."]})
    order = db.session.get(Order, report.order_id)
    if order is None:
        log.info("%s reported on unknown order %s; ignored", platform, report.order_id)
        return False
    _check_report_time(order, report.at, now)
    event = DeliveryEvent(
        platform=platform,
        event_id=report.event_id,
        order_id=order.id,
        status=report.status,
        at=report.at,
        reason=(report.reason or None) and report.reason[:64],
        proof=(report.proof or None) and report.proof[:200],
        received_at=now,
        applied=False,
    )
    if not add_once(event):
        # The same report again (platforms resend until they hear 200): nothing changes.
        return False
    run = db.session.get(DeliveryRun, order.run_id) if order.run_id else None
    if run is None or run.platform != platform or order.status != OrderStatus.DISPATCHED:
        return False
    if RANK[report.status] <= RANK[order.delivery_stage]:
        return False  # late: the order is already past it
    if report.status == "delivered" and registry.month_closed(order.canteen_id, order.date):
        if by is not None:
            raise registry.month_closed_refusal(order.date)  # a person is told
        # A platform's report into a claimed month stays a late report: the claim's meals
        # are what it lists.
        log.warning("%s reported order %s delivered in a claimed month; kept", platform, order.id)
        return False
    if report.status == "delivered":
        applied = _deliver(order, report, by or platform, now)
    elif report.status == "failed":
        applied = _fail(order, report.reason or "failed", now, by=by or platform)
        if applied and report.reason == AlertKind.NO_ANSWER:
            _raise_no_answer_alert(order, report.at)
    else:
        applied = bool(
            db.session.execute(
                update(Order)
                .where(
                    Order.id == order.id,
                    Order.status == OrderStatus.DISPATCHED,
                    _stage_before(report.status),
                )
                .values(delivery_stage=report.status)
                .execution_options(synchronize_session=False)
            ).rowcount
        )
        db.session.refresh(order)
    event.applied = applied
    if applied and report.status in ("delivered", "failed"):
        _close_run_if_done(run.id)
    db.session.flush()
    return applied


def _check_report_time(order: Order, at: datetime, now: datetime) -> None:
    """A report is dated on its meal's day (a day either side, for a round past midnight or
    a platform's clock in another zone) and not ahead of now by more than a clock's drift."""
    day = order.canteen.district.local(at).date()
    if at > now + REPORT_CLOCK_SKEW or abs((day - order.date).days) > 1:
        raise ValidationFailed(
            {
                "at": [
                    f"A report on the meal of {order.date:%Y-%m-%d} is dated that day or a day"
                    " either side, and not in the future."
                ]
            }
        )


def _stage_before(status: str):
    earlier = [stage for stage, rank in RANK.items() if stage and rank < RANK[status]]
    return Order.delivery_stage.is_(None) | Order.delivery_stage.in_(earlier)


def _deliver(order: Order, report: Report, by: str, now: datetime) -> bool:
    """The order becomes a meal with its stored prices; its places in the limits pass to
    the meal. The conditional UPDATE makes two reports at once make one meal."""
    holds = Holds.of(order)
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.DISPATCHED)
        .values(
            status=OrderStatus.DELIVERED,
            status_changed_at=now,
            delivered_at=report.at,
            proof=(report.proof or None) and report.proof[:200],
            **CLEARED,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(order)
    if not moved:
        return False
    meal = Meal.from_order(
        order,
        holds,
        channel="delivery",
        source=MealSource.ORDER,
        served_at=report.at,
        recorded_at=now,
        recorded_by=by[:64],
        payment_method=PaymentMethod.BALANCE if order.paid_fen else None,
    )
    meal_services.record_meal(meal)
    log.info("order %s delivered; meal %s", order.id, meal.id)
    return True


def _fail(order: Order, reason: str, now: datetime, *, by: str) -> bool:
    """The meal never happened: the order's places in the limits and its balance payment go
    back; it is never claimed. The courier went, so the delivery capacity stays used."""
    failed = end_order(
        order,
        OrderStatus.FAILED,
        now,
        by=by,
        live=OrderStatus.DISPATCHED,
        courier_went=True,
        failure_reason=reason[:64],
    )
    if failed:
        log.info("order %s failed: %s", order.id, reason)
    return failed


def _close_run_if_done(run_id: int | None) -> None:
    if run_id is None:
        return
    open_orders = db.session.scalar(
        select(Order.id)
        .where(
            Order.run_id == run_id,
            Order.status.not_in((OrderStatus.DELIVERED, OrderStatus.FAILED)),
        )
        .limit(1)
    )
    if open_orders is None:
        db.session.execute(
            update(DeliveryRun)
            .where(DeliveryRun.id == run_id)
            .values(status=RunStatus.DONE)
            .execution_options(synchronize_session=False)
        )
        run = db.session.get(DeliveryRun, run_id)
        if run is not None:
            db.session.refresh(run)


def _raise_no_answer_alert(order: Order, at: datetime) -> WelfareAlert | None:
    return _raise_alert(
        order,
        AlertKind.NO_ANSWER,
        at,
        f"Nobody answered the door for order {order.id} ({order.date:%Y-%m-%d} {order.slot}).",
    )


def _raise_alert(order: Order, kind: AlertKind, at: datetime, detail: str) -> WelfareAlert | None:
    """One alert of a kind per order, however often it happens. The detail names the order
    and the meal, never the elder's personal data."""
    exists = db.session.scalar(
        select(WelfareAlert.id).where(WelfareAlert.order_id == order.id, WelfareAlert.kind == kind)
    )
    if exists is not None:
        return None
    community = order.elder.community
    alert = WelfareAlert(
        kind=kind,
        elder_id=order.elder_id,
        community_code=community.code,
        district_code=community.district_code,
        canteen_id=order.canteen_id,
        order_id=order.id,
        raised_at=at,
        detail=detail,
    )
    if not add_once(alert):
        return None
    log.warning(
        "welfare alert %s raised for elder %s (order %s)", alert.id, order.elder_id, order.id
    )
    return alert


# Deliveries nobody reports on


def reconcile_deliveries(now: datetime | None = None) -> int:
    """The scheduler's job: ask the platform about every delivery with no report for
    DELIVERY_LOST_AFTER_MINUTES. What it reports is applied as a report would be; one it no
    longer knows ends as failed (`platform_lost`): its holds and money go back, the manager
    sees it on the deliveries page, the family on the order page, and a welfare alert is
    raised, since the elder had no meal. A platform that cannot be reached is asked again
    at the next run. Volunteer runs have nobody to ask: their manager settles them by hand.
    The number of orders settled."""
    now = now or utcnow()
    quiet_since = now - timedelta(minutes=current_app.config["DELIVERY_LOST_AFTER_MINUTES"])
    last_report = (
        select(func.max(DeliveryEvent.received_at))
        .where(DeliveryEvent.order_id == Order.id)
        .scalar_subquery()
    )
    quiet = db.session.scalars(
        select(Order)
        .join(DeliveryRun, DeliveryRun.id == Order.run_id)
        .where(
            Order.status == OrderStatus.DISPATCHED,
            DeliveryRun.platform != VOLUNTEER_PLATFORM,
            Order.status_changed_at <= quiet_since,
            func.coalesce(last_report, Order.status_changed_at) <= quiet_since,
        )
        .order_by(Order.id)
    ).all()
    settled = 0
    for order in quiet:
        run = db.session.get(DeliveryRun, order.run_id)
        reference = db.session.scalar(
            select(DeliveryJob.platform_ref)
            .where(DeliveryJob.order_id == order.id, DeliveryJob.platform_ref.is_not(None))
            .order_by(DeliveryJob.id.desc())
            .limit(1)
        )
        try:
            status = platforms.platform_for(run.platform).status(order.id, reference)
        except (PlatformUnavailable, PlatformRefused) as trouble:
            log.warning("could not ask %s about order %s: %s", run.platform, order.id, trouble)
            continue
        if status in ("delivered", "failed"):
            report = Report(
                event_id=f"reconciled-{order.id}-{status}",
                order_id=order.id,
                status=status,
                at=now,
                reason=None if status == "delivered" else "platform_failed",
            )
            try:
                with db.session.begin_nested():
                    settled += bool(apply_report(run.platform, report, now, by="reconciliation"))
            except ApiError as refusal:  # the month was claimed, the meal's day long past
                log.warning("order %s not settled from %s: %s", order.id, run.platform, refusal)
        elif status is None and _fail(order, "platform_lost", now, by="reconciliation"):
            _raise_alert(
                order,
                AlertKind.NO_DELIVERY,
                now,
                f"The platform lost order {order.id} ({order.date:%Y-%m-%d} {order.slot}):"
                " the meal never arrived.",
            )
            _close_run_if_done(run.id)
            settled += 1
    return settled


# Webhooks


def receive_webhook(platform: str, headers, raw_body: bytes, now: datetime | None = None) -> bool:
    """A platform's status report: 404 for a platform we do not know, 401 when it is not
    the platform's (signature, timestamp), 422 when genuine but malformed."""
    now = now or utcnow()
    if platform not in configured_platforms():
        raise NotFound("platform")
    try:
        adapter = platforms.platform_for(platform)
    except KeyError:
        raise NotFound("platform") from None
    try:
        report = adapter.parse_report(headers, raw_body, now)
    except BadReport as bad:
        raise Unauthorized(str(bad) or "The report is not the platform's.") from None
    except (ValueError, KeyError, TypeError) as bad:
        # Genuine but malformed; the adapters' InvalidReport names the field.
        field = getattr(bad, "field", "body")
        raise ValidationFailed(
            {field: [getattr(bad, "message", str(bad)) or "Malformed."]}
        ) from None
    return apply_report(platform, report, now)


# Volunteers at the door


def drop_scope(actor, order_id: int) -> Order:
    """An order a caller may confirm at the door: a volunteer, only the stops of the runs
    given to them; staff, their canteen's (or district's) orders."""
    if actor.role in LINKED_ELDER_ROLES:
        raise NotFound("order")
    order = get_order(actor, order_id)
    if actor.role == VOLUNTEER:
        run = db.session.get(DeliveryRun, order.run_id) if order.run_id else None
        if run is None or run.volunteer_id != actor.id:
            raise NotFound("order")
    return order


def confirm_drop(actor, order: Order, code: str, *, now: datetime | None = None) -> Order:
    """The volunteer handed the meal over: the code the elder gives at the door proves it.
    Wrong codes are counted per order and per account; past the limit, 429 (throttling.py)."""
    now = now or utcnow()
    run = _volunteer_run(order)
    throttling.refuse_while_locked(actor, order)
    if not order.delivery_code or not secrets.compare_digest(
        order.delivery_code, (code or "").strip()
    ):
        throttling.count_wrong_code(actor, order)
        raise Conflict("wrong_code", "That is not the code of this order.")
    _report_drop(actor, order, run, "delivered", now, proof=PROOF_DOOR_CODE)
    return order


def report_no_answer(actor, order: Order, *, now: datetime | None = None) -> Order:
    now = now or utcnow()
    run = _volunteer_run(order)
    _report_drop(actor, order, run, "failed", now, reason=AlertKind.NO_ANSWER.value)
    return order


def settle_drop_by_hand(
    actor, order: Order, delivered: bool, *, now: datetime | None = None
) -> Order:
    """A manager settles a volunteer's drop that was never confirmed at the door (the
    volunteer phoned in, or the meal never went): through the same path as the door, so
    the meal, its holds and its money follow as they would have."""
    if actor.role not in (ADMIN, MANAGER):
        raise Forbidden("Only a manager settles a drop by hand.")
    now = now or utcnow()
    run = _volunteer_run(order)
    if delivered:
        _report_drop(actor, order, run, "delivered", now, proof=PROOF_BY_HAND)
    else:
        _report_drop(actor, order, run, "failed", now, reason="not_delivered")
    return order


def _volunteer_run(order: Order) -> DeliveryRun:
    run = db.session.get(DeliveryRun, order.run_id) if order.run_id else None
    if run is None or run.platform != VOLUNTEER_PLATFORM:
        raise Conflict("not_a_volunteer_run", "This order is not carried by volunteers.")
    if order.status != OrderStatus.DISPATCHED:
        raise Conflict("order_closed", f"The order is {order.status}.", {"status": order.status})
    return run


# How a volunteer run's drop was proven, stored as "<how>:<username>" in the order's proof
# (a platform's proofs read "photo:<ref>"): the code the elder gave at the door, or a
# manager settling it by hand.
PROOF_DOOR_CODE = "door-code"
PROOF_BY_HAND = "by-hand"


def _report_drop(actor, order, run, status, now, reason=None, proof=None) -> None:
    report = Report(
        # The run's id too: a failed order sent out again may fail again.
        event_id=f"volunteer-{order.id}-{run.id}-{status}",
        order_id=order.id,
        status=status,
        at=now,
        reason=reason,
        proof=f"{proof}:{actor.username}"[:200] if status == "delivered" else None,
    )
    if not apply_report(VOLUNTEER_PLATFORM, report, now, by=actor.username):
        db.session.refresh(order)
        raise Conflict("order_closed", f"The order is {order.status}.", {"status": order.status})
    db.session.refresh(order)


# Welfare alerts


def alerts_query(actor):
    query = select(WelfareAlert).order_by(WelfareAlert.raised_at.desc(), WelfareAlert.id.desc())
    if actor.role == ADMIN:
        return query
    if (own := canteen_scope(actor)) is not None:
        return query.where(WelfareAlert.canteen_id == own)
    if (district := district_scope(actor)) is not None:
        return query.where(WelfareAlert.district_code == district)
    return query.where(False)


def open_alerts(actor) -> list[WelfareAlert]:
    """The alerts nobody has followed up yet, in the caller's scope, newest first."""
    return list(
        db.session.scalars(alerts_query(actor).where(WelfareAlert.followed_up_at.is_(None)))
    )


def get_alert(actor, alert_id: int) -> WelfareAlert:
    alert = db.session.scalar(alerts_query(actor).where(WelfareAlert.id == alert_id))
    if alert is None:
        raise NotFound("alert")
    return alert


def follow_up_alert(
    actor, alert_id: int, note: str, *, now: datetime | None = None
) -> WelfareAlert:
    """Close an alert by recording who checked on the elder and what they found. The
    conditional UPDATE makes two people closing it at once record one follow-up."""
    now = now or utcnow()
    alert = get_alert(actor, alert_id)
    closed = db.session.execute(
        update(WelfareAlert)
        .where(WelfareAlert.id == alert.id, WelfareAlert.followed_up_at.is_(None))
        .values(followed_up_at=now, followed_up_by=actor.username, follow_up=note.strip()[:300])
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(alert)
    if not closed:
        raise Conflict(
            "already_followed_up",
            "Someone already followed this alert up.",
            {
                "followed_up_at": alert.followed_up_at.isoformat(),
                "followed_up_by": alert.followed_up_by,
            },
        )
    log.info("%s followed up alert %s", actor.username, alert.id)
    return alert
