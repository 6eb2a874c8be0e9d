from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from mealservice.accounts import services
from mealservice.accounts.passwords import MIN_LENGTH, PasswordRefused, explain
from mealservice.accounts.throttling import limit_logins
from mealservice.core.auth import require_login
from mealservice.core.pages import local_path

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
        user = services.authenticate(form.username.data, form.password.data)
        if user is not None:
            services.sign_in(user)
            return redirect(local_path(request.args.get("next")) or url_for("core.home"))
        error = _("Wrong username or password.")
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


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    """Change one's own password; the other devices signed in with it are signed out."""
    user = require_login()
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(user, form.current_password.data, form.new_password.data)
        except PasswordRefused as refused:
            # Refused before anything was written; the 422 rolls the request back.
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
