from datetime import timedelta

from flask import current_app
from flask.views import MethodView

from mealservice.accounts import services
from mealservice.accounts.schemas import TokenIn, TokenOut, UserIn, UserList, UserOut
from mealservice.core.api import Blueprint
from mealservice.core.auth import current_user
from mealservice.core.errors import Unauthorized
from mealservice.core.schemas import PageQuery, page_of_query

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Tokens and users")


@blp.route("/auth/token")
class Token(MethodView):
    @blp.arguments(TokenIn)
    @blp.response(200, TokenOut)
    @blp.alt_response(401, response="UNAUTHORIZED")
    def post(self, credentials):
        user = services.authenticate(credentials["username"], credentials["password"])
        if user is None:
            raise Unauthorized("Wrong username or password.")
        ttl = timedelta(hours=current_app.config["TOKEN_TTL_HOURS"])
        token, expires_at = services.issue_token(user, ttl)
        return {"token": token, "role": user.role, "expires_at": expires_at}


@blp.route("/users")
class Users(MethodView):
    @blp.requires("users.read")
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, UserList)
    def get(self, paging):
        return page_of_query(services.users_query(current_user()), **paging)

    @blp.requires("users.create", 409)
    @blp.arguments(UserIn)
    @blp.response(201, UserOut)
    def post(self, data):
        return services.create_user(current_user(), **data)


@blp.route("/users/<id:user_id>")
class UserItem(MethodView):
    @blp.requires("users.read", scope=services.get_user_in_scope)
    @blp.response(200, UserOut)
    def get(self, user_id):
        return services.get_user(current_user(), user_id)
