from flask import jsonify
from flask.views import MethodView

from mealservice.core.api import Blueprint
from mealservice.core.auth import CANTEEN_ROLES, current_user
from mealservice.core.schemas import page_of_query
from mealservice.elders import services
from mealservice.elders.schemas import (
    ElderIn,
    ElderList,
    ElderOut,
    ElderPatch,
    ElderQuery,
    elder_out,
    elder_staff_out,
)

blp = Blueprint("elders", __name__, url_prefix="/api/v1", description="The elder registry")


def dump_elders(user, elders) -> list[dict]:
    schema = elder_staff_out if user.role in CANTEEN_ROLES else elder_out
    return schema.dump(elders, many=True)


@blp.route("/elders")
class Elders(MethodView):
    @blp.requires("elders.read")
    @blp.arguments(ElderQuery, location="query")
    @blp.response(200, ElderList)
    def get(self, query):
        user = current_user()
        page = page_of_query(
            services.elders_query(user, community=query.get("community"), q=query.get("q")),
            query["page"],
            query["per_page"],
        )
        return jsonify({"items": dump_elders(user, page["items"]), "next": page["next"]})

    @blp.requires("elders.write", 409)
    @blp.arguments(ElderIn)
    @blp.response(201, ElderOut)
    def post(self, data):
        return services.create_elder(current_user(), data)


@blp.route("/elders/<id:elder_id>")
class ElderItem(MethodView):
    @blp.requires("elders.read", scope=services.get_elder)
    @blp.response(200, ElderOut)
    def get(self, elder_id):
        user = current_user()
        return jsonify(dump_elders(user, [services.get_elder(user, elder_id)])[0])

    @blp.requires("elders.write", scope=services.get_elder)
    @blp.arguments(ElderPatch)
    @blp.response(200, ElderOut)
    def patch(self, changes, elder_id):
        return services.update_elder(services.get_elder(current_user(), elder_id), changes)
