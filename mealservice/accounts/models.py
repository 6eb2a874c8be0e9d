from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mealservice.core.auth import CANTEEN_ROLES, DISTRICT_ROLES, Role
from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, db, sql_in


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(sql_in("role", Role), name="role"),
        # Canteen staff belong to a canteen, district staff to a district, admins to neither.
        CheckConstraint(
            f"({sql_in('role', sorted(CANTEEN_ROLES))}"
            " AND canteen_id IS NOT NULL AND district_code IS NOT NULL)"
            f" OR ({sql_in('role', sorted(DISTRICT_ROLES))}"
            " AND canteen_id IS NULL AND district_code IS NOT NULL)"
            " OR (role = 'admin' AND canteen_id IS NULL AND district_code IS NULL)"
            " OR (role IN ('family', 'elder') AND canteen_id IS NULL)",
            name="placement",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), index=True)
    # Set for officials and inspectors, and for canteen staff (their canteen's district).
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"), index=True)
    canteen_id: Mapped[int | None] = mapped_column(ForeignKey("canteens.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Browser sessions carry the epoch they began in; moving it ends them all.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user")


class ApiToken(db.Model):
    """A bearer token, kept only as its SHA-256 so a database leak hands out no logins."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")
