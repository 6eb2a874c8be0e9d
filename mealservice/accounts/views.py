from datetime import timedelta

from flask import current_app
from flask.views import MethodView

from mealservice.accounts import services
from mealservice.accounts.passwords import PasswordRefused
from mealservice.accounts.schemas import (
    PasswordChangeIn,
    PasswordResetIn,
    RevokedOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserList,
    UserOut,
    UserQuery,
)
from mealservice.accounts.throttling import (
    count_wrong_current_password,
    limit_logins,
    limit_password_changes,
)
from mealservice.core.api import Blueprint
from mealservice.core.auth import bearer_token, current_user, require_login
from mealservice.core.schemas import page_of_query

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Tokens and users")


@blp.route("/auth/token")
class Token(MethodView):
    @blp.arguments(TokenIn)
    @blp.response(200, TokenOut)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @limit_logins
    def post(self, credentials):
        """A token for a username and password. A deactivated account answers 401
        `account_deactivated`, but only to the right password."""
        user = services.authenticate(credentials["username"], credentials["password"])
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
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @limit_password_changes()
    def post(self, data):
        """Change one's own password; every other token and browser session ends. Wrong
        current passwords are limited per account, as failed logins are (429)."""
        user = require_login()
        try:
            revoked = services.change_password(
                user, data["current_password"], data["new_password"], keep_token=bearer_token()
            )
        except PasswordRefused as refused:
            count_wrong_current_password(refused)
            raise
        if not bearer_token():
            services.sign_in(user)
        return {"revoked_tokens": revoked}


@blp.route("/users")
class Users(MethodView):
    @blp.requires("users.read")
    @blp.arguments(UserQuery, location="query")
    @blp.response(200, UserList)
    def get(self, query):
        paging = {key: query.pop(key) for key in ("page", "per_page")}
        return page_of_query(services.find_users(current_user(), **query), **paging)

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


@blp.route("/users/<id:user_id>/deactivate")
class UserDeactivation(MethodView):
    @blp.requires("users.revoke", 409, scope=services.get_user_in_scope)
    @blp.response(200, UserOut)
    def post(self, user_id):
        """Deactivate an account: it cannot log in, and its tokens and browser sessions end
        now. Already deactivated → 409 `already_deactivated`; one's own → 409 `own_account`."""
        return services.deactivate(current_user(), services.get_user(current_user(), user_id))


@blp.route("/users/<id:user_id>/reactivate")
class UserReactivation(MethodView):
    @blp.requires("users.revoke", 409, scope=services.get_user_in_scope)
    @blp.response(200, UserOut)
    def post(self, user_id):
        """Let a deactivated account log in again (its old tokens stay ended). Already
        active → 409 `already_active`."""
        return services.reactivate(current_user(), services.get_user(current_user(), user_id))


@blp.route("/users/<id:user_id>/password")
class UserPasswordReset(MethodView):
    @blp.requires("users.revoke", 409, scope=services.get_user_in_scope)
    @blp.arguments(PasswordResetIn)
    @blp.response(200, RevokedOut)
    def post(self, data, user_id):
        """Reset another account's password to one the caller gives them; every token and
        browser session of that account ends. One's own → 409 `own_account`."""
        user = services.get_user(current_user(), user_id)
        return {"revoked_tokens": services.reset_password(current_user(), user, data["password"])}
