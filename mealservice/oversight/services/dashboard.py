"""The district dashboard: coverage of the district by meal places, the month's meals,
subsidy and seat use per meal place, and what waits for an official (anomalies on claims
not yet decided, welfare alerts nobody followed up).

Meals, seats, anomalies and alerts are SQL aggregates; only the walking-distance checks
(elders and communities against the district's meal places) are Python, each point
tested only against the places inside its bounding box."""

from bisect import bisect_left, bisect_right
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import case, func, select

from mealservice.claims.models import Claim, ClaimAnomaly, ClaimStatus
from mealservice.core.db import db
from mealservice.core.periods import month_bounds, month_of
from mealservice.elders.models import Elder, ElderStatus, WelfareAlert
from mealservice.meals.models import Meal
from mealservice.menus.models import Menu, MenuStatus
from mealservice.places.geo import bounding_box, distance_m
from mealservice.places.models import Canteen, Community, District

# The national targets for communities with a meal place (民政部 2022 and 2025 goals).
TARGETS = {"coverage_2022": 0.25, "coverage_2025": 0.9}


def current_month(district: District) -> str:
    return month_of(district.local_today())


def district_dashboard(
    district: District, month: str, *, canteen_id: int | None = None, today: date | None = None
) -> dict:
    """The dashboard of `district` for `month` ("YYYY-MM").

    With `canteen_id` (a manager's own canteen) the month's figures, anomalies and alerts
    are that canteen's alone; coverage stays district-wide, since it is about the
    district's places and elders, not one canteen's work.

    Seats count the published menus dated up to the district's local today: in the month
    under way, menus published for the days ahead have had no chance to be used yet."""
    first, last = month_bounds(month)
    through = min(last, today or district.local_today())
    places = _PlaceIndex(
        db.session.execute(
            select(Canteen.lat, Canteen.lng).where(Canteen.district_code == district.code)
        ).all()
    )
    canteens = db.session.execute(
        select(Canteen.id, Canteen.name)
        .where(Canteen.district_code == district.code, *_own(Canteen.id, canteen_id))
        .order_by(Canteen.id)
    ).all()
    in_scope = select(Canteen.id).where(
        Canteen.district_code == district.code, *_own(Canteen.id, canteen_id)
    )
    per_canteen = _per_canteen(canteens, in_scope, first, last, through)
    seats = sum(row["seats"] for row in per_canteen)
    served = sum(row["served"] for row in per_canteen if row["seats"])
    anomalies = _anomalies(district.code, canteen_id)
    return {
        "district_code": district.code,
        "district_name": district.name,
        "month": month,
        "through": through if through >= first else None,
        "canteen_id": canteen_id,
        **_coverage(district, places),
        "targets": TARGETS,
        "canteens": len(canteens),
        "meals": sum(row["meals"] for row in per_canteen),
        "subsidy_fen": sum(row["subsidy_fen"] for row in per_canteen),
        "seats": seats,
        "served": served,
        "utilisation": _fraction(served, seats),
        "anomalies": sum(anomalies.values()),
        "anomalies_by_code": anomalies,
        "alerts": _open_alerts(district.code, canteen_id),
        "meals_per_day": _meals_per_day(in_scope, first, last, through),
        "subsidy_by_canteen": [
            {key: row[key] for key in ("canteen_id", "name", "subsidy_fen", "meals")}
            for row in per_canteen
        ],
        "utilisation_by_canteen": [
            {
                key: row[key]
                for key in ("canteen_id", "name", "menus", "seats", "served", "utilisation")
            }
            | {"failing": row["failing"]}
            for row in per_canteen
        ],
        "failing_canteens": [row["canteen_id"] for row in per_canteen if row["failing"]],
        "failing_threshold": failing_threshold(),
    }


def failing_threshold() -> float:
    return current_app.config["FAILING_UTILISATION"]


def _own(column, canteen_id: int | None) -> tuple:
    return () if canteen_id is None else (column == canteen_id,)


def _fraction(part: int, whole: int) -> float:
    """part / whole as a fraction from 0 to 1 (4 places), 0 when there is no whole."""
    return round(min(part / whole, 1.0), 4) if whole else 0.0


# Coverage


class _PlaceIndex:
    """The meal places' locations sorted by latitude: a point's bounding box becomes a
    slice by bisection, and only the places in the box get an exact distance."""

    def __init__(self, points):
        self.points = sorted((lat, lng) for lat, lng in points)
        self.lats = [lat for lat, _ in self.points]

    def any_within(self, lat: float, lng: float, radius_m: int) -> bool:
        south, north, west, east = bounding_box(lat, lng, radius_m)
        box = self.points[bisect_left(self.lats, south) : bisect_right(self.lats, north)]
        return any(
            west <= place_lng <= east and distance_m(lat, lng, place_lat, place_lng) <= radius_m
            for place_lat, place_lng in box
        )


def _coverage(district: District, places: _PlaceIndex) -> dict:
    """Communities with a meal place registered in them (the coverage rate of the
    targets), the communities with none within the district's walking circle, and the
    active elders who have one.

    A community without a location cannot be measured by distance: it counts as covered
    only if a meal place is registered in it."""
    district_code = district.code
    radius = district.walking_radius_m
    hosting = (
        select(Canteen.community_id)
        .where(Canteen.district_code == district_code)
        .distinct()
        .scalar_subquery()
    )
    communities = db.session.execute(
        select(
            Community.code,
            Community.name,
            Community.street,
            Community.lat,
            Community.lng,
            Community.id.in_(hosting).label("has_place"),
        )
        .where(Community.district_code == district_code)
        .order_by(Community.street, Community.code)
    ).all()
    with_place = sum(1 for community in communities if community.has_place)
    uncovered = [
        {"code": c.code, "name": c.name, "street": c.street}
        for c in communities
        if not (
            places.any_within(c.lat, c.lng, radius)
            if c.lat is not None and c.lng is not None
            else c.has_place
        )
    ]
    elders = db.session.execute(
        select(Elder.lat, Elder.lng).where(
            Elder.hukou_district == district_code,
            Elder.status == ElderStatus.ACTIVE,
            Elder.lat.is_not(None),
            Elder.lng.is_not(None),
        )
    ).all()
    near = sum(1 for lat, lng in elders if places.any_within(lat, lng, radius))
    return {
        "walking_radius_m": radius,
        "communities": len(communities),
        "communities_with_meal_place": with_place,
        "coverage_rate": _fraction(with_place, len(communities)),
        "uncovered_communities": uncovered,
        "elders_within_1km": {
            "count": near,
            "located": len(elders),
            "share": _fraction(near, len(elders)),
        },
    }


# The month's meals, subsidy and seats


def _per_canteen(canteens, in_scope, first: date, last: date, through: date) -> list[dict]:
    """Per canteen: meals not voided dated in the month and their subsidy (meal and
    delivery), dine-in meals served and the seats of the published menus up to
    `through`, and whether its seat use is failing. One GROUP BY each for meals and menus."""
    meals = {
        row.canteen_id: row
        for row in db.session.execute(
            select(
                Meal.canteen_id,
                func.count().label("meals"),
                func.coalesce(func.sum(Meal.subsidy_fen + Meal.delivery_subsidy_fen), 0).label(
                    "subsidy_fen"
                ),
                func.coalesce(func.sum(case((Meal.channel == "dine_in", 1), else_=0)), 0).label(
                    "served"
                ),
            )
            .where(
                Meal.canteen_id.in_(in_scope),
                Meal.date.between(first, last),
                Meal.voided_at.is_(None),
            )
            .group_by(Meal.canteen_id)
        )
    }
    menus = {
        row.canteen_id: row
        for row in db.session.execute(
            select(
                Menu.canteen_id,
                func.count().label("menus"),
                func.coalesce(func.sum(Menu.seats), 0).label("seats"),
            )
            .where(
                Menu.canteen_id.in_(in_scope),
                Menu.status == MenuStatus.PUBLISHED,
                Menu.date.between(first, through),
            )
            .group_by(Menu.canteen_id)
        )
    }
    threshold = failing_threshold()
    rows = []
    for canteen in canteens:
        meal, menu = meals.get(canteen.id), menus.get(canteen.id)
        seats = menu.seats if menu else 0
        served = meal.served if meal else 0
        utilisation = _fraction(served, seats)
        rows.append(
            {
                "canteen_id": canteen.id,
                "name": canteen.name,
                "meals": meal.meals if meal else 0,
                "subsidy_fen": meal.subsidy_fen if meal else 0,
                "menus": menu.menus if menu else 0,
                "seats": seats,
                "served": served,
                "utilisation": utilisation,
                # Judged only where seats were offered: a delivery-only place, or a month
                # with no menus yet, has no seat use to fail.
                "failing": seats > 0 and utilisation < threshold,
            }
        )
    return rows


def _meals_per_day(in_scope, first: date, last: date, through: date) -> list[dict]:
    """Every date of the month up to `through` (the month's end for a past month), with
    its meals not voided; days without meals are 0."""
    counts = dict(
        db.session.execute(
            select(Meal.date, func.count())
            .where(
                Meal.canteen_id.in_(in_scope),
                Meal.date.between(first, last),
                Meal.voided_at.is_(None),
            )
            .group_by(Meal.date)
        ).all()
    )
    end = max(through, max(counts, default=through))
    return [
        {"date": first + timedelta(days=n), "meals": counts.get(first + timedelta(days=n), 0)}
        for n in range((end - first).days + 1)
    ]


# What waits for an official


def _anomalies(district_code: str, canteen_id: int | None) -> dict[str, int]:
    """Anomalies on the district's claims still awaiting a decision, whatever their
    month, per anomaly code."""
    return dict(
        db.session.execute(
            select(ClaimAnomaly.code, func.count())
            .join(Claim, Claim.id == ClaimAnomaly.claim_id)
            .where(
                Claim.district_code == district_code,
                Claim.status == ClaimStatus.SUBMITTED,
                *_own(Claim.canteen_id, canteen_id),
            )
            .group_by(ClaimAnomaly.code)
            .order_by(ClaimAnomaly.code)
        ).all()
    )


def _open_alerts(district_code: str, canteen_id: int | None) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(WelfareAlert)
        .where(
            WelfareAlert.district_code == district_code,
            WelfareAlert.followed_up_at.is_(None),
            *_own(WelfareAlert.canteen_id, canteen_id),
        )
    )
