from datetime import date
from zoneinfo import ZoneInfo

from flask import current_app, jsonify
from flask.views import MethodView

from mealservice.core.api import Blueprint
from mealservice.core.auth import current_user, sees_public_view
from mealservice.core.clock import utcnow
from mealservice.core.errors import NotFound
from mealservice.core.schemas import page_of_list, page_of_query
from mealservice.menus import services
from mealservice.menus.models import MenuStatus
from mealservice.menus.schemas import (
    CanteenMenuQuery,
    CopyWeekIn,
    CopyWeekOut,
    MenuIn,
    MenuList,
    MenuOut,
    MenuPatchIn,
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


@blp.route("/menus/<id:menu_id>")
class MenuItem(MethodView):
    @blp.requires("menus.read", scope=services.get_menu)
    @blp.response(200, MenuOut)
    def get(self, menu_id):
        user = current_user()
        menu = services.get_menu(user, menu_id)
        if sees_public_view(user) and menu.status != MenuStatus.PUBLISHED:
            raise NotFound("menu")
        return menu

    @blp.requires("menus.write", 409, scope=services.get_menu)
    @blp.arguments(MenuPatchIn)
    @blp.response(200, MenuOut)
    def patch(self, data, menu_id):
        """Change a menu in ways that keep its orders valid: seats never below those
        booked or used, no option removed that was ordered or served, delivery capacity
        never below what was ordered, nothing of a past date."""
        return services.update_menu(services.get_menu(current_user(), menu_id), data)


@blp.route("/menus/<id:menu_id>/publish")
class PublishMenu(MethodView):
    @blp.requires("menus.write", 409, scope=services.get_menu)
    @blp.response(200, MenuOut)
    def post(self, menu_id):
        return services.publish_menu(services.get_menu(current_user(), menu_id))


@blp.route("/canteens/<id:canteen_id>/menus/copy-week")
class CopyWeek(MethodView):
    @blp.requires("menus.write", 409, scope=get_canteen)
    @blp.arguments(CopyWeekIn)
    @blp.response(201, CopyWeekOut)
    def post(self, data, canteen_id):
        """Make the missing menus of `to_week` from those of `from_week`, as drafts; an
        existing menu is never overwritten and past days are left alone."""
        canteen = get_canteen(current_user(), canteen_id)
        created, skipped = services.copy_week(canteen, data["from_week"], data["to_week"])
        return {"items": created, "skipped": skipped}
