"""Satisfaction: what elders and their families said of each meal place in a month.

A rating belongs to the month it was given in, in the district's zone. The comments come
worst first (lowest score, then newest), with the elder's name masked."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from mealservice.core.auth import canteen_scope
from mealservice.core.db import db
from mealservice.core.periods import month_bounds
from mealservice.core.privacy import mask_name
from mealservice.elders.models import Elder
from mealservice.meals.models import Meal, Rating
from mealservice.places.models import Canteen, District

SCORES = (1, 2, 3, 4, 5)
# Enough to read on a page; the count of all of them is given beside.
COMMENTS_PER_CANTEEN = 100


def month_span(district: District, month: str) -> tuple[datetime, datetime]:
    """The month's first moment and the next month's, in the district's zone."""
    first, last = month_bounds(month)
    zone = ZoneInfo(district.effective_timezone)
    return (
        datetime.combine(first, time(0), zone),
        datetime.combine(last + timedelta(days=1), time(0), zone),
    )


def average_of(distribution: dict[int, int]) -> float | None:
    """The mean score to one decimal, halves rounded up (4.25 → 4.3); None unrated."""
    count = sum(distribution.values())
    if not count:
        return None
    total = sum(score * n for score, n in distribution.items())
    return (20 * total + count) // (2 * count) / 10


def district_satisfaction(user, district: District, month: str) -> dict:
    """One item per meal place of the district the user sees (a manager: their own)."""
    query = select(Canteen).where(Canteen.district_code == district.code)
    if (own := canteen_scope(user)) is not None:
        query = query.where(Canteen.id == own)
    canteens = db.session.scalars(query.order_by(Canteen.name, Canteen.id)).all()
    ids = [canteen.id for canteen in canteens]
    start, end = month_span(district, month)
    in_month = (Rating.canteen_id.in_(ids), Rating.rated_at >= start, Rating.rated_at < end)

    distributions = {canteen_id: dict.fromkeys(SCORES, 0) for canteen_id in ids}
    for canteen_id, score, n in db.session.execute(
        select(Rating.canteen_id, Rating.score, func.count())
        .where(*in_month)
        .group_by(Rating.canteen_id, Rating.score)
    ):
        distributions[canteen_id][score] = n

    commented = (*in_month, Rating.comment.is_not(None), Rating.comment != "")
    comment_counts = dict(
        db.session.execute(
            select(Rating.canteen_id, func.count()).where(*commented).group_by(Rating.canteen_id)
        ).all()
    )
    position = (
        func.row_number()
        .over(
            partition_by=Rating.canteen_id,
            order_by=(Rating.score, Rating.rated_at.desc(), Rating.id.desc()),
        )
        .label("position")
    )
    ranked = (
        select(
            Rating.id,
            Rating.canteen_id,
            Rating.score,
            Rating.comment,
            Rating.rated_at,
            Rating.elder_id,
            Elder.name.label("elder_name"),
            Meal.date.label("meal_date"),
            position,
        )
        .join(Elder, Elder.id == Rating.elder_id)
        .join(Meal, Meal.id == Rating.meal_id)
        .where(*commented)
        .subquery()
    )
    comments = {canteen_id: [] for canteen_id in ids}
    for row in db.session.execute(
        select(ranked)
        .where(ranked.c.position <= COMMENTS_PER_CANTEEN)
        .order_by(ranked.c.canteen_id, ranked.c.position)
    ):
        comments[row.canteen_id].append(
            {
                "rating_id": row.id,
                "elder_id": row.elder_id,
                "elder_name": mask_name(row.elder_name),
                "date": row.meal_date,
                "rated_at": row.rated_at,
                "score": row.score,
                "comment": row.comment,
            }
        )

    return {
        "district_code": district.code,
        "month": month,
        "items": [
            {
                "canteen_id": canteen.id,
                "canteen_name": canteen.name,
                "ratings": sum(distributions[canteen.id].values()),
                "average": average_of(distributions[canteen.id]),
                "distribution": {str(score): distributions[canteen.id][score] for score in SCORES},
                "comment_count": comment_counts.get(canteen.id, 0),
                "comments": comments[canteen.id],
            }
            for canteen in canteens
        ],
    }
