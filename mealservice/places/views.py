from flask import jsonify
from flask.views import MethodView

from mealservice.core.api import Blueprint
from mealservice.core.auth import current_user, sees_public_view
from mealservice.core.schemas import PageQuery, page_of_list, page_of_query
from mealservice.places import services
from mealservice.places.schemas import (
    CanteenIn,
    CanteenList,
    CanteenOut,
    CanteenPatch,
    CanteenQuery,
    CommunityIn,
    CommunityList,
    CommunityOut,
    DistrictIn,
    DistrictList,
    DistrictOut,
    DistrictPatch,
    StandardsSchema,
    canteen_out,
    canteen_public_out,
)

blp = Blueprint(
    "places", __name__, url_prefix="/api/v1", description="Districts, communities, canteens"
)


@blp.route("/districts")
class Districts(MethodView):
    @blp.requires("districts.read")
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, DistrictList)
    def get(self, paging):
        return page_of_query(services.districts_query(current_user()), **paging)

    @blp.requires("districts.write", 409)
    @blp.arguments(DistrictIn)
    @blp.response(201, DistrictOut)
    def post(self, data):
        return services.create_district(data)


@blp.route("/districts/<code:code>")
class DistrictItem(MethodView):
    @blp.requires("districts.read", scope=services.get_district)
    @blp.response(200, DistrictOut)
    def get(self, code):
        return services.get_district(current_user(), code)

    @blp.requires("districts.write", scope=services.get_district)
    @blp.arguments(DistrictPatch)
    @blp.response(200, DistrictOut)
    def patch(self, changes, code):
        return services.update_district(services.get_district(current_user(), code), changes)


@blp.route("/districts/<code:code>/standards")
class DistrictStandards(MethodView):
    @blp.requires("standards.write", scope=services.get_district)
    @blp.arguments(StandardsSchema)
    @blp.response(200, DistrictOut)
    def put(self, changes, code):
        return services.update_standards(services.get_district(current_user(), code), changes)


@blp.route("/districts/<code:code>/communities")
class Communities(MethodView):
    @blp.requires("communities.read", scope=services.get_district)
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, CommunityList)
    def get(self, paging, code):
        district = services.get_district(current_user(), code)
        return page_of_query(services.communities_query(district), **paging)

    @blp.requires("communities.write", 409, scope=services.get_district)
    @blp.arguments(CommunityIn)
    @blp.response(201, CommunityOut)
    def post(self, data, code):
        return services.create_community(services.get_district(current_user(), code), data)


@blp.route("/districts/<code:code>/communities/<code:community_code>")
class CommunityItem(MethodView):
    @blp.requires("communities.read", scope=services.get_community)
    @blp.response(200, CommunityOut)
    def get(self, code, community_code):
        return services.get_community(current_user(), code, community_code)


def dump_canteen(user, canteen, distance=None) -> dict:
    """A canteen as this caller may see it: family and elders get the public projection."""
    schema = canteen_public_out if sees_public_view(user) else canteen_out
    body = schema.dump(canteen)
    if distance is not None:
        body["distance_m"] = distance
    return body


@blp.route("/canteens")
class Canteens(MethodView):
    @blp.requires("canteens.read")
    @blp.arguments(CanteenQuery, location="query")
    @blp.response(200, CanteenList)
    def get(self, query):
        user = current_user()
        paging = {"page": query.pop("page"), "per_page": query.pop("per_page")}
        found = services.find_canteens(user, **query)
        return jsonify(page_of_list([dump_canteen(user, c, d) for c, d in found], **paging))

    @blp.requires("canteens.create")
    @blp.arguments(CanteenIn)
    @blp.response(201, CanteenOut)
    def post(self, data):
        return services.create_canteen(current_user(), data)


@blp.route("/canteens/<id:canteen_id>")
class CanteenItem(MethodView):
    @blp.requires("canteens.read", scope=services.get_canteen)
    @blp.response(200, CanteenOut)
    def get(self, canteen_id):
        user = current_user()
        return jsonify(dump_canteen(user, services.get_canteen(user, canteen_id)))

    @blp.requires("canteens.edit", scope=services.get_canteen)
    @blp.arguments(CanteenPatch)
    @blp.response(200, CanteenOut)
    def patch(self, changes, canteen_id):
        user = current_user()
        return services.update_canteen(user, services.get_canteen(user, canteen_id), changes)
