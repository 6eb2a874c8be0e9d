"""The district's register of its meal places: filing (备案) with civil affairs, the grade
(等级评定, one to five stars, which sets the operating subsidy), the blacklist (失信黑名单)
that stops a place's subsidy claims while it is in force, and the months closed by a claim.

The grade has no CHECK in the database (adding one would rebuild `canteens` on SQLite), so
these functions are where its range is kept. They flush and never commit."""

from datetime import date

from sqlalchemy import String, insert, literal, select, update

from mealservice.core.auth import ensure_canteen_in_scope
from mealservice.core.clock import utcnow
from mealservice.core.db import UTCDateTime, among, db
from mealservice.core.errors import Conflict, NotFound, ValidationFailed
from mealservice.core.periods import month_of
from mealservice.core.schemas import MAX_ID
from mealservice.core.stamps import StampedCache
from mealservice.places.models import BlacklistEntry, Canteen, FilingStatus, MonthClosure
from mealservice.places.signals import canteen_blacklisted

GRADES = range(1, 6)
FILING_NUMBER_MAX = 40  # Canteen.filing_number
REASON_MAX = 500  # BlacklistEntry.reason


def _actor_name(actor) -> str:
    return actor.username if actor is not None else "system"


# Filing


def set_filing(
    actor,
    canteen: Canteen,
    status: str,
    filing_number: str | None = None,
    filed_on: date | None = None,
) -> Canteen:
    """Record the place's filing. `filed` needs the number and the date; `not_filed` clears
    them; `withdrawn` keeps those of the filing withdrawn unless new ones are given."""
    if status not in tuple(FilingStatus):
        raise ValidationFailed(
            {"status": [f"Choose one of: {', '.join(s.value for s in FilingStatus)}."]}
        )
    filing_number = (filing_number or "").strip() or None
    errors: dict[str, list[str]] = {}
    if filing_number is not None and len(filing_number) > FILING_NUMBER_MAX:
        errors["filing_number"] = [f"At most {FILING_NUMBER_MAX} characters."]
    if status == FilingStatus.FILED:
        if filing_number is None:
            errors["filing_number"] = ["A filed place needs its filing number."]
        if filed_on is None:
            errors["filed_on"] = ["A filed place needs the date it was filed."]
    if errors:
        raise ValidationFailed(errors)
    canteen.filing_status = FilingStatus(status).value
    if status == FilingStatus.NOT_FILED:
        canteen.filing_number, canteen.filed_on = None, None
    elif status == FilingStatus.FILED or filing_number is not None or filed_on is not None:
        canteen.filing_number = filing_number or canteen.filing_number
        canteen.filed_on = filed_on or canteen.filed_on
    db.session.flush()
    return canteen


# Grading


def set_grade(
    actor,
    canteen: Canteen,
    grade: int,
    graded_on: date,
    operating_subsidy_fen: int | None = None,
) -> Canteen:
    """Grade the place (1 to 5) as of `graded_on`; with `operating_subsidy_fen`, the monthly
    operating subsidy that grade earns it."""
    errors: dict[str, list[str]] = {}
    if isinstance(grade, bool) or not isinstance(grade, int) or grade not in GRADES:
        errors["grade"] = ["The grade is a whole number from 1 to 5."]
    if not isinstance(graded_on, date):
        errors["graded_on"] = ["Give the date of the grading."]
    if operating_subsidy_fen is not None and (
        isinstance(operating_subsidy_fen, bool)
        or not isinstance(operating_subsidy_fen, int)
        or not 0 <= operating_subsidy_fen <= MAX_ID
    ):
        errors["operating_subsidy_fen"] = ["A whole number of fen, 0 or more."]
    if errors:
        raise ValidationFailed(errors)
    canteen.grade = grade
    canteen.graded_on = graded_on
    if operating_subsidy_fen is not None:
        canteen.monthly_operating_subsidy_fen = operating_subsidy_fen
    db.session.flush()
    return canteen


# The blacklist


def add_to_blacklist(
    actor, canteen: Canteen, reason: str, starts_on: date, ends_on: date | None = None
) -> BlacklistEntry:
    """Put the place on the blacklist from `starts_on` to `ends_on` (open-ended if None)."""
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = ["Say why the place is blacklisted."]
    elif len(reason) > REASON_MAX:
        errors["reason"] = [f"At most {REASON_MAX} characters."]
    if not isinstance(starts_on, date):
        errors["starts_on"] = ["Give the first day on the blacklist."]
    elif ends_on is not None and ends_on < starts_on:
        errors["ends_on"] = ["The last day cannot come before the first."]
    if errors:
        raise ValidationFailed(errors)
    entry = BlacklistEntry(
        canteen_id=canteen.id,
        reason=reason,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=_actor_name(actor),
    )
    db.session.add(entry)
    db.session.flush()
    canteen_blacklisted.send(canteen, entry=entry)
    return entry


def lift(actor, entry: BlacklistEntry) -> BlacklistEntry:
    """Take the entry off the blacklist from now on; it stays on record. Twice: 409
    `already_lifted` (also when two people lift it at the same moment)."""
    lifted = db.session.execute(
        update(BlacklistEntry)
        .where(BlacklistEntry.id == entry.id, BlacklistEntry.lifted_at.is_(None))
        .values(lifted_at=utcnow(), lifted_by=_actor_name(actor))
        .execution_options(synchronize_session=False)
    )
    if lifted.rowcount == 0:
        db.session.refresh(entry)
        raise Conflict(
            "already_lifted",
            "This blacklist entry is already lifted.",
            {"lifted_at": entry.lifted_at.isoformat() if entry.lifted_at else None},
        )
    db.session.refresh(entry)
    return entry


def in_force(entry: BlacklistEntry, day: date) -> bool:
    return (
        entry.lifted_at is None
        and entry.starts_on <= day
        and (entry.ends_on is None or day <= entry.ends_on)
    )


def blacklisted_on(canteen_id: int, day: date) -> BlacklistEntry | None:
    """The entry keeping the place on the blacklist on `day`, or None."""
    return blacklisted_during(canteen_id, day, day)


# Every meal recorded asks whether its place is blacklisted that day and whether its month
# is closed; both change a few times a year (core.stamps).
_BLACKLIST = StampedCache("blacklist")
_CLOSED_MONTHS = StampedCache("month_closures")


def is_blacklisted(canteen_id: int, day: date) -> bool:
    """Whether the place is on the blacklist on `day` (as `blacklisted_on` finds it)."""
    return any(
        starts_on <= day and (ends_on is None or day <= ends_on)
        for starts_on, ends_on in _BLACKLIST.get(canteen_id, lambda: _periods_of(canteen_id))
    )


def _periods_of(canteen_id: int) -> tuple[tuple[date, date | None], ...]:
    """The first and last days of the place's entries not lifted."""
    return tuple(
        db.session.execute(
            select(BlacklistEntry.starts_on, BlacklistEntry.ends_on).where(
                BlacklistEntry.canteen_id == canteen_id, BlacklistEntry.lifted_at.is_(None)
            )
        ).tuples()
    )


def standing_of(canteen: Canteen, day: date) -> dict:
    """What people must be told before anyone orders, pays or claims at the place on `day`:
    on the blacklist (meals at full price), not filed (claims refused)."""
    return {
        "blacklisted": is_blacklisted(canteen.id, day),
        "unfiled": canteen.filing_status != FilingStatus.FILED,
    }


def places_not_in_good_standing(district_code: str, day: date) -> list[dict]:
    """The district's places an official must know about on `day`: on the blacklist (no
    subsidy; claims of later months refused) or not filed (claims refused until filed),
    each with its `standing_of` facts."""
    blacklisted = set(
        db.session.scalars(
            select(BlacklistEntry.canteen_id)
            .join(Canteen, Canteen.id == BlacklistEntry.canteen_id)
            .where(Canteen.district_code == district_code, *_blacklisted_between(day, day))
        )
    )
    canteens = db.session.scalars(
        select(Canteen)
        .where(
            Canteen.district_code == district_code,
            Canteen.id.in_(blacklisted) | (Canteen.filing_status != FilingStatus.FILED),
        )
        .order_by(Canteen.name)
    )
    return [
        {
            "canteen": canteen,
            "blacklisted": canteen.id in blacklisted,
            "unfiled": canteen.filing_status != FilingStatus.FILED,
        }
        for canteen in canteens
    ]


def blacklisted_during(canteen_id: int, first: date, last: date) -> BlacklistEntry | None:
    """The first entry keeping the place on the blacklist on any day from `first` to
    `last`, or None."""
    return blacklistings_during([canteen_id], first, last).get(canteen_id)


def blacklistings_during(
    canteen_ids: list[int], first: date, last: date
) -> dict[int, BlacklistEntry]:
    """For each of the places on the blacklist on some day from `first` to `last`, the
    first entry keeping it there: one query however many places are asked about."""
    entries = db.session.scalars(
        select(BlacklistEntry)
        .where(among(BlacklistEntry.canteen_id, canteen_ids), *_blacklisted_between(first, last))
        .order_by(BlacklistEntry.starts_on, BlacklistEntry.id)
    )
    first_entries: dict[int, BlacklistEntry] = {}
    for entry in entries:
        first_entries.setdefault(entry.canteen_id, entry)
    return first_entries


def _blacklisted_between(first: date, last: date) -> tuple:
    """An entry, not lifted, that keeps its place on the blacklist on some day from
    `first` to `last`."""
    return (
        BlacklistEntry.lifted_at.is_(None),
        BlacklistEntry.starts_on <= last,
        BlacklistEntry.ends_on.is_(None) | (BlacklistEntry.ends_on >= first),
    )


def blacklist_of(canteen_id: int) -> list[BlacklistEntry]:
    """Every entry of the place, the latest first, lifted ones included."""
    return db.session.scalars(
        select(BlacklistEntry)
        .where(BlacklistEntry.canteen_id == canteen_id)
        .order_by(BlacklistEntry.starts_on.desc(), BlacklistEntry.id.desc())
    ).all()


def get_blacklist_entry(user, entry_id: int) -> BlacklistEntry:
    """An entry of a place in the user's scope, else 404."""
    entry = db.session.get(BlacklistEntry, entry_id)
    if entry is None:
        raise NotFound("blacklist entry")
    ensure_canteen_in_scope(user, db.session.get(Canteen, entry.canteen_id), "blacklist entry")
    return entry


def entry_body(entry: BlacklistEntry, today: date) -> dict:
    return {
        "id": entry.id,
        "canteen_id": entry.canteen_id,
        "reason": entry.reason,
        "starts_on": entry.starts_on,
        "ends_on": entry.ends_on,
        "created_by": entry.created_by,
        "created_at": entry.created_at,
        "lifted_at": entry.lifted_at,
        "lifted_by": entry.lifted_by,
        "in_force": in_force(entry, today),
    }


# Closed months


def close_month(canteen_id: int, month: str) -> None:
    """Close the canteen's month to meals: its claim has been made (again, for a
    revision, which changes nothing here)."""
    close_months([canteen_id], month)


def close_months(canteen_ids: list[int], month: str) -> None:
    """Close the month at each of the canteens not closed yet, in one statement: its
    trigger renews the closed months' data stamp once, however many canteens it closes
    (an executemany would renew it once a canteen)."""
    closed = select(MonthClosure.canteen_id).where(
        MonthClosure.month == month, MonthClosure.canteen_id == Canteen.id
    )
    db.session.execute(
        insert(MonthClosure.__table__).from_select(
            ["canteen_id", "month", "closed_at"],
            select(Canteen.id, literal(month, String), literal(utcnow(), UTCDateTime)).where(
                among(Canteen.id, canteen_ids), ~closed.exists()
            ),
        )
    )


def month_closed(canteen_id: int, day: date) -> bool:
    return month_of(day) in _CLOSED_MONTHS.get(canteen_id, lambda: _closed_months_of(canteen_id))


def _closed_months_of(canteen_id: int) -> frozenset[str]:
    return frozenset(
        db.session.scalars(select(MonthClosure.month).where(MonthClosure.canteen_id == canteen_id))
    )


def ensure_month_open(canteen_id: int, day: date) -> None:
    """Refuse a scan, void, order or delivery dated in a month whose claim has been made."""
    if month_closed(canteen_id, day):
        raise month_closed_refusal(day)


def month_closed_refusal(day: date) -> Conflict:
    month = month_of(day)
    return Conflict(
        "month_closed", f"{month} is closed: its subsidy claim has been made.", {"month": month}
    )
