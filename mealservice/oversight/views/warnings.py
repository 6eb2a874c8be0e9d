"""Satisfaction per meal place and the review of the personal-data access log."""

from mealservice.core.auth import current_user
from mealservice.core.schemas import page_of_query
from mealservice.elders import access
from mealservice.oversight.schemas.warnings import (
    AccessLogList,
    AccessLogQuery,
    SatisfactionOut,
    SatisfactionQuery,
)
from mealservice.oversight.services.satisfaction import district_satisfaction
from mealservice.oversight.views import blp
from mealservice.places.services import get_district


@blp.get("/districts/<code:code>/satisfaction")
@blp.requires("ratings.read", 422, scope=get_district)
@blp.arguments(SatisfactionQuery, location="query")
@blp.response(200, SatisfactionOut)
def satisfaction(query, code):
    """The month's ratings per meal place of the district (a manager: their own): how
    many, the average to one decimal, how many of each score, and the comments worst
    first with the elder's name masked. A rating counts in the month it was given."""
    user = current_user()
    return district_satisfaction(user, get_district(user, code), query["month"])


@blp.get("/access-log")
@blp.requires("access_log.read", 422)
@blp.arguments(AccessLogQuery, location="query")
@blp.response(200, AccessLogList)
def access_log(query):
    """Who reached which elder's personal data, newest first: an official sees their
    district's entries, a manager their canteen's, an administrator all. Filter by
    `username` and `elder_id`."""
    user = current_user()
    page = page_of_query(
        access.access_log_query(
            user, username=query.get("username"), elder_id=query.get("elder_id")
        ),
        query["page"],
        query["per_page"],
    )
    return {"items": access.with_elder_names(page["items"]), "next": page["next"]}
