from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, db, sql_in
from mealservice.core.idnumber import age_on
from mealservice.places.models import Community


class Category(StrEnum):
    """特殊困难老年人 and the other groups tiers may name (API.md)."""

    EXTREME_POVERTY = "extreme_poverty"  # 分散供养特困
    MINIMUM_ALLOWANCE = "minimum_allowance"  # 低保
    LOW_INCOME = "low_income"
    DISABLED = "disabled"  # 失能
    LIVING_ALONE = "living_alone"  # 独居
    EMPTY_NEST = "empty_nest"  # 空巢
    LEFT_BEHIND = "left_behind"  # 留守
    HANDICAPPED = "handicapped"  # 残疾
    FAMILY_PLANNING_SPECIAL = "family_planning_special"  # 计划生育特殊家庭


class AbilityLevel(StrEnum):
    """能力评估."""

    INTACT = "intact"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class DietNeed(StrEnum):
    """What the kitchen cooks differently, named as the menus' dish tags name it
    (menus.services.KITCHEN_TAGS), so an elder's needs can be matched against a dish."""

    SOFT = "soft"  # 软食
    LOW_SALT = "low_salt"  # 低盐
    LOW_SUGAR = "low_sugar"  # 低糖


class ElderStatus(StrEnum):
    ACTIVE = "active"
    DECEASED = "deceased"
    MOVED = "moved"


class Hukou(StrEnum):
    """The hukou district as everyone but an admin sees it: a district code is the ID
    number's first six characters, so only where it stands from the viewer's district."""

    LOCAL = "local"  # 本区: this district's policy pays for the elder's meals
    ELSEWHERE = "elsewhere"  # 外区


# Family accounts look after several elders; an elder's own account is linked to one.
account_elders = Table(
    "account_elders",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("elder_id", ForeignKey("elders.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Elder(db.Model):
    __tablename__ = "elders"
    __table_args__ = (
        CheckConstraint(sql_in("ability_level", AbilityLevel), name="ability_level"),
        CheckConstraint(sql_in("status", ElderStatus), name="status"),
        CheckConstraint(
            "status = 'active' OR status_since IS NOT NULL", name="inactive_since_a_date"
        ),
        # An emergency contact is whole or absent, and kept only with its consent recorded.
        CheckConstraint(
            "(emergency_contact_name IS NULL) = (emergency_contact_phone IS NULL)"
            " AND (emergency_contact_name IS NULL) = (emergency_contact_relation IS NULL)"
            " AND (emergency_contact_name IS NULL) = (emergency_contact_consent_at IS NULL)"
            " AND (emergency_contact_name IS NULL) = (emergency_contact_recorded_by IS NULL)",
            name="emergency_contact_whole",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    # The number itself only ever encrypted; the keyed hash finds duplicates and matches.
    id_number_encrypted: Mapped[str] = mapped_column(Text)
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    birth_date: Mapped[date]
    phone: Mapped[str] = mapped_column(String(20))
    # The counter look-up asks for the last four digits of the phone.
    phone_last4: Mapped[str] = mapped_column(String(4), index=True)
    address: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    # The registering district, whose policy pays (户籍 or residence decides it).
    hukou_district: Mapped[str] = mapped_column(ForeignKey("districts.code"), index=True)
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    categories: Mapped[list] = mapped_column(JSON, default=list)
    ability_level: Mapped[str] = mapped_column(String(16))
    diet_notes: Mapped[str | None] = mapped_column(String(300))
    # Structured beside the free-text note: what the elder must not eat (as the family or
    # a doctor names it: 花生, 海鲜) and DietNeed values, both matched against dish tags.
    allergies: Mapped[list] = mapped_column(JSON, default=list)
    diet_needs: Mapped[list] = mapped_column(JSON, default=list)
    # Whom to call when the elder does not answer (a welfare alert's follow-up): given with
    # consent, like the elder's own data, and recorded as such.
    emergency_contact_name: Mapped[str | None] = mapped_column(String(50))
    emergency_contact_relation: Mapped[str | None] = mapped_column(String(20))
    emergency_contact_phone: Mapped[str | None] = mapped_column(String(20))
    emergency_contact_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emergency_contact_recorded_by: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=ElderStatus.ACTIVE)
    status_since: Mapped[date | None]
    # Sensitive personal information is kept only with recorded consent (PIPL).
    consent_given_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consent_recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    community: Mapped[Community] = relationship()

    @property
    def location(self) -> dict | None:
        return None if self.lat is None else {"lat": self.lat, "lng": self.lng}

    @property
    def emergency_contact(self) -> dict | None:
        if self.emergency_contact_name is None:
            return None
        return {
            "name": self.emergency_contact_name,
            "relation": self.emergency_contact_relation,
            "phone": self.emergency_contact_phone,
            "consent": {
                "given_at": self.emergency_contact_consent_at,
                "recorded_by": self.emergency_contact_recorded_by,
            },
        }

    @property
    def age(self) -> int:
        """Age in whole years today in the elder's district: the only form in which anyone
        is told when the elder was born (birth_date stays for pricing, never shown). One
        day for every answer, so ages read side by side never pin the birthday down."""
        return age_on(self.birth_date, self.community.district.local_today())

    def hukou_seen_from(self, district_code: str | None) -> Hukou:
        """Local when the elder's hukou district is `district_code` (the viewer's: an
        official's district, a canteen's); without one, the district the elder lives in."""
        here = district_code or self.community.district_code
        return Hukou.LOCAL if self.hukou_district == here else Hukou.ELSEWHERE


class Card(db.Model):
    """A printed QR card. The newest generation of an elder's cards is the one that works;
    older ones are superseded, and any may be revoked (lost, stolen)."""

    __tablename__ = "cards"
    __table_args__ = (UniqueConstraint("elder_id", "generation", name="uq_cards_elder_generation"),)

    # 8 random bytes in hex: the only link from a card to its elder, and no personal data.
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elders.id"), index=True)
    generation: Mapped[int]
    key_id: Mapped[int]
    expires_on: Mapped[date]
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(String(200))

    elder: Mapped[Elder] = relationship()


class Access(StrEnum):
    COUNTER_LOOKUP = "counter_lookup"  # name and phone digits searched at a counter
    CARDLESS_SCAN = "cardless_scan"  # a meal served by elder id, without the card
    # An elder's sensitive fields (ID, diet and health notes, phone) read by staff from
    # outside the elder's own district.
    RECORD_READ = "record_read"


class AccessLogEntry(db.Model):
    __tablename__ = "access_log"
    __table_args__ = (
        CheckConstraint(sql_in("action", Access), name="action"),
        Index("ix_access_log_elder_at", "elder_id", "at"),
        Index("ix_access_log_username_at", "username", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), index=True)
    canteen_id: Mapped[int | None] = mapped_column(ForeignKey("canteens.id"))
    # None for a look-up that found nobody: the search itself is still recorded.
    elder_id: Mapped[int | None] = mapped_column(ForeignKey("elders.id"))
    action: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(100))


class AlertKind(StrEnum):
    NO_ANSWER = "no_answer"  # a delivery found nobody at the door
    ABSENT = "absent"  # a regular diner has not eaten for days
    NO_DELIVERY = "no_delivery"  # a delivery the platform lost: the meal never arrived


class WelfareAlert(db.Model):
    """An elder the service is worried about, raised for their community and shown to the
    canteen's manager and the district's officials until someone records a follow-up."""

    __tablename__ = "welfare_alerts"
    __table_args__ = (
        CheckConstraint(sql_in("kind", AlertKind), name="kind"),
        CheckConstraint(
            "(followed_up_at IS NULL) = (follow_up IS NULL)", name="follow_up_has_note"
        ),
        # One alert per failed delivery, however often the platform reports it.
        UniqueConstraint("order_id", "kind", name="uq_welfare_alerts_order_kind"),
        Index("ix_welfare_alerts_district_open", "district_code", "followed_up_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    elder_id: Mapped[int] = mapped_column(ForeignKey("elders.id"), index=True)
    community_code: Mapped[str] = mapped_column(String(32))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    canteen_id: Mapped[int | None] = mapped_column(ForeignKey("canteens.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    detail: Mapped[str] = mapped_column(String(200))
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    followed_up_by: Mapped[str | None] = mapped_column(String(64))
    follow_up: Mapped[str | None] = mapped_column(String(300))
