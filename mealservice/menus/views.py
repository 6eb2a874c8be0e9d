from datetime import date
from zoneinfo import ZoneInfo

from flask import current_app, jsonify
from flask.views import MethodView

from mealservice.core.api import Blueprint
from mealservice.core.auth import current_user, sees_public_view
from mealservice.core.db import utcnow
from mealservice.core.schemas import page_of_list, page_of_query
from mealservice.menus import services
from mealservice.menus.schemas import (
    CanteenMenuQuery,
    MenuIn,
    MenuList,
    MenuOut,
    OpenMenuQuery,
    menu_out,
)
from mealservice.places.services import get_canteen

blp = Blueprint("menus", __name__, url_prefix="/api/v1", description="Daily menus and seats")


@blp.route("/canteens/<id:canteen_id>/menus")
class CanteenMenus(MethodView):
    @blp.requires("menus.read", scope=get_canteen)
    @blp.arguments(CanteenMenuQuery, location="query")
    @blp.response(200, MenuList)
    def get(self, query, canteen_id):
        user = current_user()
        canteen = get_canteen(user, canteen_id)
        # Drafts are the kitchen's business until published.
        menus = services.canteen_menus_query(
            canteen, query.get("date"), drafts=not sees_public_view(user)
        )
        return page_of_query(menus, query["page"], query["per_page"])

    @blp.requires("menus.write", 409, scope=get_canteen)
    @blp.arguments(MenuIn)
    @blp.response(201, MenuOut)
    def post(self, data, canteen_id):
        return services.create_menu(get_canteen(current_user(), canteen_id), data)


def today_here() -> date:
    return utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()


@blp.route("/menus")
class OpenMenus(MethodView):
    @blp.requires("menus.read")
    @blp.arguments(OpenMenuQuery, location="query")
    @blp.response(200, MenuList)
    def get(self, query):
        found = services.open_menus(query.get("date") or today_here(), query.get("near"))
        radius = query.get("radius_m")
        items = []
        for menu, distance in found:
            if radius and distance > radius:
                continue
            body = menu_out.dump(menu)
            if distance is not None:
                body["distance_m"] = distance
            items.append(body)
        return jsonify(page_of_list(items, query["page"], query["per_page"]))
