"""Counter terminals: a tablet at a canteen's counter, with an account of its own."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mealservice.accounts.models import User
from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, db
from mealservice.places.models import Canteen


class Terminal(db.Model):
    """A counter terminal acts through a cashier account of its own that nobody knows the
    password of. Revoking the terminal switches that account off, which ends its token and
    its browser session and touches no person's password."""

    __tablename__ = "terminals"
    __table_args__ = (UniqueConstraint("canteen_id", "name", name="name_per_canteen"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteens.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    registered_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))

    canteen: Mapped[Canteen] = relationship()
    user: Mapped[User] = relationship()
