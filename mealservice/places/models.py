from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, db, sql_in


class PlaceKind(StrEnum):
    CANTEEN = "canteen"  # 老年食堂
    MEAL_POINT = "meal_point"  # 老年助餐点
    DINING_TABLE = "dining_table"  # 老年餐桌
    RURAL_POINT = "rural_point"  # 幸福之家 / 农村助餐点


class OperatorType(StrEnum):
    PUBLIC_RUN = "public_run"  # 公建公营
    PUBLIC_PRIVATE = "public_private"  # 公建民营
    COMMISSIONED = "commissioned"  # 委托经营
    PRIVATE = "private"
    CHARITY = "charity"
    VILLAGE_COLLECTIVE = "village_collective"


class Function(StrEnum):
    COOKING = "cooking"
    DINE_IN = "dine_in"
    DELIVERY = "delivery"


class FilingStatus(StrEnum):
    """备案 with civil affairs."""

    NOT_FILED = "not_filed"
    FILED = "filed"
    WITHDRAWN = "withdrawn"


class Slot(StrEnum):
    BREAKFAST = "breakfast"
    LUNCH = "lunch"
    DINNER = "dinner"


DEFAULT_SLOT_WINDOWS = {
    Slot.BREAKFAST: ["06:00", "09:30"],
    Slot.LUNCH: ["10:30", "13:30"],
    Slot.DINNER: ["16:30", "19:30"],
}

# Minimum standards per kind of place (DOMAIN.md); districts may set their own.
DEFAULT_STANDARDS = {
    PlaceKind.CANTEEN: {"min_seats": 50, "min_dining_area_m2": 50},
    PlaceKind.MEAL_POINT: {"min_seats": 10, "min_dining_area_m2": 20},
    PlaceKind.DINING_TABLE: {"min_seats": 0, "min_dining_area_m2": 0},
    PlaceKind.RURAL_POINT: {"min_seats": 0, "min_dining_area_m2": 0},
}


KIND_NAMES = {
    PlaceKind.CANTEEN: "canteen",
    PlaceKind.MEAL_POINT: "meal point",
    PlaceKind.DINING_TABLE: "dining table",
    PlaceKind.RURAL_POINT: "rural point",
}

# The walking circle (15分钟助餐服务圈): a meal place within this walk of home. Most plans
# say 1 km (about 15 minutes at an elder's pace); Luoyang's asks 500 m (10 minutes).
DEFAULT_WALKING_RADIUS_M = 1000
# Shorter than a street block or longer than an hour's walk is no walking circle.
WALKING_RADIUS_RANGE_M = (100, 5000)

# The fields a standard judges; a change to any of them is checked again.
STANDARD_FIELDS = frozenset({"kind", "seats_per_meal", "dining_area_m2"})


def slot_window_errors(windows: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each window must start before it ends and not overlap the next slot's."""
    errors: dict[str, list[str]] = {}
    ordered = [(slot, windows[slot]) for slot in Slot if slot in windows]
    for slot, (start, end) in ordered:
        if start >= end:
            errors[slot] = ["The window must start before it ends."]
    for (slot, (_, end)), (next_slot, (start, _)) in zip(ordered, ordered[1:], strict=False):
        if start < end and next_slot not in errors:
            errors[next_slot] = [f"The window overlaps {slot}."]
    return errors


def slot_at(windows: dict[str, list[str]], local_hhmm: str) -> str | None:
    """The slot whose window holds a local time ("HH:MM", end inclusive), or None."""
    for slot in Slot:
        window = windows.get(slot)
        if window and window[0] <= local_hhmm <= window[1]:
            return slot.value
    return None


def nearest_slot(windows: dict[str, list[str]], local_hhmm: str) -> str | None:
    """The slot whose window lies nearest a local time: the one holding it, else the one
    with an edge fewest minutes away; None only when the district has no windows.

    Distances are counted within the local day, never across midnight: a meal belongs to
    the date it was eaten on, so a scan at 23:50 is that day's dinner, not the next
    day's breakfast. On a tie the earlier slot wins: between two windows a counter is
    far more often still serving the meal that ran late than starting the next early."""
    minute = _minutes(local_hhmm)
    nearest, best = None, None
    for slot in Slot:
        window = windows.get(slot)
        if not window:
            continue
        start, end = _minutes(window[0]), _minutes(window[1])
        distance = max(start - minute, 0, minute - end)
        if best is None or distance < best:  # strictly nearer: a tie keeps the earlier
            nearest, best = slot.value, distance
    return nearest


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def standard_violations(standards: dict, kind: str, seats: int, area: float) -> dict:
    """The fields of a place that fall below its district's standard for its kind."""
    standard = standards.get(kind) or DEFAULT_STANDARDS[PlaceKind(kind)]
    name = KIND_NAMES[PlaceKind(kind)]
    errors = {}
    if seats < standard["min_seats"]:
        errors["seats_per_meal"] = [
            f"A {name} must serve at least {standard['min_seats']} people per meal."
        ]
    if area < standard["min_dining_area_m2"]:
        errors["dining_area_m2"] = [
            f"A {name} needs a dining area of at least {standard['min_dining_area_m2']} m²."
        ]
    return errors


class District(db.Model):
    __tablename__ = "districts"
    __table_args__ = (
        CheckConstraint(
            "walking_radius_m BETWEEN {} AND {}".format(*WALKING_RADIUS_RANGE_M),
            name="walking_radius",
        ),
    )

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # None follows the service's TIMEZONE setting.
    timezone: Mapped[str | None] = mapped_column(String(64))
    slot_windows: Mapped[dict] = mapped_column(JSON)
    standards: Mapped[dict] = mapped_column(JSON)
    walking_radius_m: Mapped[int] = mapped_column(
        default=DEFAULT_WALKING_RADIUS_M, server_default=str(DEFAULT_WALKING_RADIUS_M)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    communities: Mapped[list["Community"]] = relationship(
        back_populates="district", order_by="Community.code"
    )

    @property
    def effective_timezone(self) -> str:
        return self.timezone or current_app.config["TIMEZONE"]

    def local(self, moment: datetime) -> datetime:
        """A moment as the district's clocks show it."""
        return moment.astimezone(ZoneInfo(self.effective_timezone))

    def local_today(self, now: datetime | None = None) -> date:
        return self.local(now or utcnow()).date()


class Community(db.Model):
    __tablename__ = "communities"
    # Lets a canteen's (community, district) pair be checked by a foreign key.
    __table_args__ = (UniqueConstraint("id", "district_code", name="uq_communities_id_district"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    street: Mapped[str] = mapped_column(String(100))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), index=True)
    lat: Mapped[float | None]
    lng: Mapped[float | None]

    district: Mapped[District] = relationship(back_populates="communities")


class Canteen(db.Model):
    __tablename__ = "canteens"
    __table_args__ = (
        CheckConstraint("seats_per_meal >= 0", name="seats_not_negative"),
        CheckConstraint("dining_area_m2 >= 0", name="area_not_negative"),
        CheckConstraint("monthly_operating_subsidy_fen >= 0", name="subsidy_not_negative"),
        CheckConstraint("lat BETWEEN -90 AND 90 AND lng BETWEEN -180 AND 180", name="location"),
        CheckConstraint(sql_in("kind", PlaceKind), name="kind"),
        CheckConstraint(sql_in("operator_type", OperatorType), name="operator_type"),
        # A canteen's community lies in the canteen's own district.
        ForeignKeyConstraint(
            ["community_id", "district_code"],
            ["communities.id", "communities.district_code"],
            name="fk_canteens_community_in_district",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), index=True)
    community_id: Mapped[int] = mapped_column(index=True)
    seats_per_meal: Mapped[int]
    dining_area_m2: Mapped[float]
    functions: Mapped[list] = mapped_column(JSON)
    operator_type: Mapped[str] = mapped_column(String(24))
    address: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    opening_hours: Mapped[str | None] = mapped_column(String(100))
    lat: Mapped[float]
    lng: Mapped[float]
    monthly_operating_subsidy_fen: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Oversight: filing (备案) with civil affairs, and the grade (等级评定, 1 to 5 stars).
    # Checked by places/registry.py, not by CHECKs: adding one would make SQLite
    # rebuild this table, which every other table refers to.
    filing_status: Mapped[str] = mapped_column(
        String(12), default=FilingStatus.NOT_FILED, server_default=FilingStatus.NOT_FILED
    )
    filing_number: Mapped[str | None] = mapped_column(String(40))
    filed_on: Mapped[date | None]
    grade: Mapped[int | None]
    graded_on: Mapped[date | None]

    # Nearly every use of a canteen needs its district's zone and meal windows.
    district: Mapped[District] = relationship(lazy="joined")
    community: Mapped[Community] = relationship(
        primaryjoin="Canteen.community_id == Community.id",
        foreign_keys="Canteen.community_id",
    )

    @property
    def location(self) -> dict:
        return {"lat": self.lat, "lng": self.lng}


class BlacklistEntry(db.Model):
    """A canteen on the blacklist (失信黑名单) from `starts_on` to `ends_on` (open-ended when
    None) or until lifted: its claims are refused meanwhile."""

    __tablename__ = "blacklist_entries"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates_in_order"),
        CheckConstraint("(lifted_at IS NULL) = (lifted_by IS NULL)", name="lifted_by_someone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteens.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(64))


class MonthClosure(db.Model):
    """A canteen's month whose subsidy claim has been made: its meals are what the claim
    lists, so none is recorded, changed or voided in it any more. A trigger on `meals`
    refuses what a forgetful path would write, on SQLite and PostgreSQL alike."""

    __tablename__ = "month_closures"

    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteens.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
