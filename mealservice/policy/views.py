from flask.views import MethodView

from mealservice.core.api import Blueprint
from mealservice.core.auth import current_user
from mealservice.core.schemas import PageQuery, page_of_query
from mealservice.places.services import get_district
from mealservice.policy import services
from mealservice.policy.schemas import (
    HolidayIn,
    HolidayList,
    HolidayOut,
    HolidayQuery,
    PolicyIn,
    PolicyList,
    PolicyOut,
)

blp = Blueprint(
    "policy", __name__, url_prefix="/api/v1", description="Subsidy policies and holidays"
)


@blp.route("/districts/<code:code>/subsidy-policies")
class Policies(MethodView):
    @blp.requires("policies.read", scope=get_district)
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, PolicyList)
    def get(self, paging, code):
        district = get_district(current_user(), code)
        return page_of_query(services.policies_query(district), **paging)

    @blp.requires("policies.write", scope=get_district)
    @blp.arguments(PolicyIn)
    @blp.response(201, PolicyOut)
    def post(self, data, code):
        user = current_user()
        return services.create_policy(user.username, get_district(user, code), data)


@blp.route("/holidays")
class Holidays(MethodView):
    @blp.requires("holidays.read")
    @blp.arguments(HolidayQuery, location="query")
    @blp.response(200, HolidayList)
    def get(self, query):
        return page_of_query(
            services.holidays_query(query.get("year")), query["page"], query["per_page"]
        )


@blp.route("/holidays/<date:day>")
class HolidayItem(MethodView):
    @blp.requires("holidays.write")
    @blp.arguments(HolidayIn)
    @blp.response(200, HolidayOut)
    def put(self, data, day):
        return services.set_holiday(day, data["name"])

    @blp.requires("holidays.write", 404)
    @blp.response(200, HolidayOut)
    def delete(self, day):
        return services.remove_holiday(day)
