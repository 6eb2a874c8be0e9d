import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from mealservice.accounts import services
from mealservice.accounts.passwords import MIN_LENGTH, PasswordRefused, explain
from mealservice.accounts.schemas import USERNAME
from mealservice.accounts.throttling import (
    count_wrong_current_password,
    limit_logins,
    limit_password_changes,
)
from mealservice.core import refusals
from mealservice.core.auth import (
    Role,
    canteen_scope,
    district_scope,
    may,
    may_create_role,
    require_login,
    require_permission,
    visible_roles,
)
from mealservice.core.db import db
from mealservice.core.errors import ApiError
from mealservice.core.i18n import label
from mealservice.core.pages import local_path
from mealservice.places.models import Canteen
from mealservice.places.services import districts_query, find_canteens

bp = Blueprint("accounts_pages", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


@bp.route("/login", methods=["GET", "POST"])
@limit_logins
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.username.data, form.password.data)
        except services.AccountDeactivated:
            error = _("This account is deactivated. Ask whoever manages your account.")
        except services.WrongCredentials:
            error = _("Wrong username or password.")
        else:
            services.sign_in(user)
            return redirect(local_path(request.args.get("next")) or url_for("core.home"))
    status = 401 if error else 200
    return render_template("accounts/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    services.sign_out()
    return redirect(url_for("accounts_pages.login"))


FILL_IN = _l("Fill this in.")


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(FILL_IN), Length(max=256)]
    )
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(FILL_IN), Length(max=256)]
    )
    repeated = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(FILL_IN),
            EqualTo("new_password", message=_l("The two new passwords differ.")),
        ],
    )


def _password_locked(_exc):
    form = PasswordForm()
    error = _(
        "Too many wrong current passwords: changing the password of this account is locked"
        " for a while. Try again in a quarter of an hour."
    )
    html = render_template("accounts/password.html", form=form, min_length=MIN_LENGTH, error=error)
    return html, 429


@bp.route("/account/password", methods=["GET", "POST"])
@limit_password_changes(on_locked=_password_locked)
def change_password():
    """Change one's own password; the other devices signed in with it are signed out.
    Wrong current passwords are limited per account, as failed logins are."""
    user = require_login()
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(user, form.current_password.data, form.new_password.data)
        except PasswordRefused as refused:
            # Refused before anything was written; the 422 rolls the request back.
            count_wrong_current_password(refused)
            for field, codes in refused.codes_by_field.items():
                form[field].errors = explain(codes)
        else:
            services.sign_in(user)
            flash(
                _("Your password is changed. Other devices signed in as you are signed out."),
                "success",
            )
            return redirect(url_for("core.home"))
    status = 422 if form.errors else 200
    return render_template("accounts/password.html", form=form, min_length=MIN_LENGTH), status


# The users page: the accounts an admin, an official or a manager looks after.

SHOWN_AT_MOST = 100

STATUS_FILTERS = {"active": True, "deactivated": False}

# What a refused field means, in the reader's language (the services say it in English).
FIELD_WORDS = {
    "username": _l("Use 3–64 letters, digits, or _ . @ -."),
    "role": _l("You may not create accounts of this role."),
    "district": _l(
        "Choose a district in your reach: officials and inspectors belong to one, admins to none."
    ),
    "canteen_id": _l(
        "Choose a meal place in your reach: managers, cashiers and volunteers belong to one,"
        " other accounts to none."
    ),
    "elder_ids": _l(
        "Give the numbers of elders in your reach: exactly one for an elder's own account,"
        " none for staff."
    ),
}


class NewUserForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(FILL_IN),
            Regexp(USERNAME.regex, message=FIELD_WORDS["username"]),
        ],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(FILL_IN), Length(max=256)])
    role = SelectField(_l("Role"), validators=[DataRequired(FILL_IN)])
    district = SelectField(_l("District"), validate_choice=False)
    canteen_id = SelectField(_l("Meal place"), validate_choice=False)
    elder_ids = StringField(
        _l("Elder numbers (family and elder accounts), separated by commas"),
        validators=[
            Length(max=200),
            Regexp(
                r"^[\s,，]*(?:[0-9]{1,9}(?:[\s,，]+|$))*$",
                message=_l("Give elder numbers as digits separated by commas."),
            ),
        ],
    )


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(FILL_IN), Length(max=256)]
    )
    repeated = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(FILL_IN),
            EqualTo("new_password", message=_l("The two new passwords differ.")),
        ],
    )


def _new_user_form(actor) -> NewUserForm:
    """The creation form with the roles, districts and meal places the actor may choose."""
    form = NewUserForm()
    form.role.choices = [("", "—")] + [
        (role.value, label(role)) for role in Role if may_create_role(actor, role)
    ]
    form.district.choices = [("", "—")] + [
        (d.code, f"{d.name} ({d.code})") for d in db.session.scalars(districts_query(actor))
    ]
    form.canteen_id.choices = [("", "—")] + [
        (str(c.id), c.name) for c, _distance in find_canteens(actor)
    ]
    return form


def _placed_by_actor(actor) -> dict:
    """Which placement fields the actor chooses: a manager's accounts go to their own
    canteen, an official's to their own district."""
    return {
        "district": district_scope(actor) is None,
        "canteen_id": canteen_scope(actor) is None,
    }


def _users_page(actor, form, *, status=200):
    args = request.args
    role = args.get("role") if args.get("role") in {r.value for r in Role} else None
    active = STATUS_FILTERS.get(args.get("status", ""))
    q = (args.get("q") or "").strip()[:64] or None
    found = list(
        db.session.scalars(
            services.find_users(actor, q=q, role=role, active=active).limit(SHOWN_AT_MOST + 1)
        )
    )
    canteens = {
        c.id: c
        for c in db.session.scalars(
            select(Canteen).where(Canteen.id.in_({u.canteen_id for u in found if u.canteen_id}))
        )
    }
    visible = visible_roles(actor)
    html = render_template(
        "accounts/users.html",
        users=found[:SHOWN_AT_MOST],
        more=len(found) > SHOWN_AT_MOST,
        canteens=canteens,
        roles=[r for r in Role if visible is None or r in visible],
        filters={"q": q or "", "role": role or "", "status": args.get("status", "")},
        form=form,
        placed=_placed_by_actor(actor),
        may_create=may(actor, "users.create"),
        min_length=MIN_LENGTH,
    )
    return html, status


@bp.get("/users")
def users():
    """The accounts the caller looks after, found by username, role and status, and the
    form that makes a new one."""
    actor = require_permission("users.read")
    return _users_page(actor, _new_user_form(actor))


@bp.post("/users")
def create_user():
    actor = require_permission("users.create")
    form = _new_user_form(actor)
    if not form.validate_on_submit():
        return _users_page(actor, form, status=422)
    placed = _placed_by_actor(actor)
    try:
        user = services.create_user(
            actor,
            username=form.username.data,
            password=form.password.data,
            role=form.role.data,
            district=(form.district.data or None) if placed["district"] else None,
            canteen_id=_number(form.canteen_id.data) if placed["canteen_id"] else None,
            elder_ids=[int(n) for n in re.findall(r"[0-9]+", form.elder_ids.data or "")],
        )
    except ApiError as error:
        return _users_page(actor, _with_refusal(form, error, "password"), status=error.status)
    flash(_("The account %(name)s is made.", name=user.username), "success")
    return redirect(url_for(".user_page", user_id=user.id))


def _number(value: str | None) -> int | None:
    """A chosen meal place's id; nothing chosen (or not a number, which no choice is) is none."""
    return int(value) if value and re.fullmatch(r"[0-9]{1,9}", value) else None


def _with_refusal(form, error: ApiError, password_field: str):
    """The form with the service's refusal shown at the field it names."""
    sentence = refusals.explain(error)  # rolls back whatever the request wrote
    if isinstance(error, PasswordRefused):
        for codes in error.codes_by_field.values():
            form[password_field].errors = explain(codes)
    elif error.code == "username_taken":
        form.username.errors = [sentence]
    elif error.status == 403 and "role" in form:
        form.role.errors = [str(FIELD_WORDS["role"])]
    elif error.fields and all(name in FIELD_WORDS and name in form for name in error.fields):
        for name in error.fields:
            form[name].errors = [str(FIELD_WORDS[name])]
    else:
        form.form_errors.append(sentence)
    return form


def _managed_user(user_id: int, action: str = "users.revoke"):
    actor = require_permission(action, scope=services.get_user_in_scope, user_id=user_id)
    return actor, services.get_user(actor, user_id)


def _user_page(actor, user, *, form=None, error=None, status=200):
    canteen = db.session.get(Canteen, user.canteen_id) if user.canteen_id else None
    html = render_template(
        "accounts/user.html",
        user=user,
        canteen=canteen,
        own=user.id == actor.id,
        form=form or ResetPasswordForm(formdata=None),
        error=error,
        min_length=MIN_LENGTH,
    )
    return html, status


@bp.get("/users/<id:user_id>")
def user_page(user_id: int):
    actor, user = _managed_user(user_id, "users.read")
    return _user_page(actor, user)


@bp.post("/users/<id:user_id>/password")
def reset_password(user_id: int):
    """Set a new password the caller gives the person; their devices are signed out."""
    actor, user = _managed_user(user_id)
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        return _user_page(actor, user, form=form, status=422)
    try:
        services.reset_password(actor, user, form.new_password.data)
    except ApiError as error:
        form = _with_refusal(form, error, "new_password")
        return _user_page(actor, user, form=form, status=error.status)
    flash(
        _(
            "The password of %(name)s is reset. Tell them the new one; they are signed out"
            " everywhere.",
            name=user.username,
        ),
        "success",
    )
    return redirect(url_for(".user_page", user_id=user.id))


# Deactivating and reactivating: a page that asks first, then the form that does it.

ACTIONS = {
    "deactivate": (services.deactivate, _l("The account %(name)s is deactivated.")),
    "reactivate": (services.reactivate, _l("The account %(name)s is active again.")),
}


@bp.route("/users/<id:user_id>/<any(deactivate, reactivate):action>", methods=["GET", "POST"])
def change_status(user_id: int, action: str):
    actor, user = _managed_user(user_id)
    if request.method == "GET":
        return render_template("accounts/confirm_status.html", user=user, action=action)
    # The form carries only its CSRF token, checked for every page's POST before this.
    change, done = ACTIONS[action]
    try:
        change(actor, user)
    except ApiError as error:
        return _user_page(actor, user, error=refusals.explain(error), status=error.status)
    flash(str(done) % {"name": user.username}, "success")
    return redirect(url_for(".user_page", user_id=user.id))
