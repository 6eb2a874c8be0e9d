from datetime import timedelta

from flask import current_app
from flask.views import MethodView

from mealservice.accounts import services
from mealservice.accounts.schemas import (
    PasswordChangeIn,
    RevokedOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserList,
    UserOut,
)
from mealservice.accounts.throttling import limit_logins
from mealservice.core.api import Blueprint
from mealservice.core.auth import bearer_token, current_user, require_login
from mealservice.core.errors import Unauthorized
from mealservice.core.schemas import PageQuery, page_of_query

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Tokens and users")


@blp.route("/auth/token")
class Token(MethodView):
    @blp.arguments(TokenIn)
    @blp.response(200, TokenOut)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @limit_logins
    def post(self, credentials):
        user = services.authenticate(credentials["username"], credentials["password"])
        if user is None:
            raise Unauthorized("Wrong username or password.")
        ttl = timedelta(hours=current_app.config["TOKEN_TTL_HOURS"])
        token, expires_at = services.issue_token(user, ttl)
        return {"token": token, "role": user.role, "expires_at": expires_at}

    @blp.response(204)
    @blp.alt_response(401, response="UNAUTHORIZED")
    def delete(self):
        """Log out: the bearer token used (or, from a page, the browser session) ends now."""
        require_login()
        token = bearer_token()
        if token:
            services.revoke_token(token)
        else:
            services.sign_out()


@blp.route("/auth/password")
class Password(MethodView):
    @blp.arguments(PasswordChangeIn)
    @blp.response(200, RevokedOut)
    @blp.alt_response(401, response="UNAUTHORIZED")
    def post(self, data):
        """Change one's own password; every other token and browser session ends."""
        user = require_login()
        revoked = services.change_password(
            user, data["current_password"], data["new_password"], keep_token=bearer_token()
        )
        if not bearer_token():
            services.sign_in(user)
        return {"revoked_tokens": revoked}


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


@blp.route("/users/<id:user_id>/revoke-access")
class UserAccess(MethodView):
    @blp.requires("users.revoke", scope=services.get_user_in_scope)
    @blp.response(200, RevokedOut)
    def post(self, user_id):
        """End all of an account's tokens and browser sessions (a lost phone, a leaver)."""
        # Only accounts the caller may create are found, as for reading them.
        user = services.get_user(current_user(), user_id)
        return {"revoked_tokens": services.revoke_access(user)}
