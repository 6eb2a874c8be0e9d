from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from marshmallow import ValidationError
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional

from mealservice.core.auth import may, require_permission, sees_public_view
from mealservice.core.errors import ApiError
from mealservice.core.refusals import explain
from mealservice.places import registry, services
from mealservice.places.schemas import CanteenQuery

bp = Blueprint("places_pages", __name__)


class CanteenDetailsForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    address = StringField(_l("Address"), validators=[DataRequired(), Length(max=200)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    opening_hours = StringField(_l("Opening hours"), validators=[Optional(), Length(max=100)])


@bp.get("/canteens")
def canteen_list():
    user = require_permission("canteens.read")
    # The filter form sends empty fields for "any"; they filter nothing.
    args = {key: value for key, value in request.args.items() if value}
    try:
        query, errors = CanteenQuery().load(args), {}
    except ValidationError as error:
        query, errors = {}, error.messages
    query.pop("page", None)
    query.pop("per_page", None)
    return render_template(
        "places/canteen_list.html",
        found=services.find_canteens(user, **query),
        errors=errors,
        args=request.args,
        communities=services.communities_to_filter_by(user),
    )


@bp.route("/canteens/<id:canteen_id>", methods=["GET", "POST"])
def canteen_detail(canteen_id: int):
    user = require_permission("canteens.read")
    canteen = services.get_canteen(user, canteen_id)
    can_edit = may(user, "canteens.edit")
    form = CanteenDetailsForm(obj=canteen) if can_edit else None
    if request.method == "POST":
        require_permission("canteens.edit")
        if form.validate_on_submit():
            changes = {
                field: form[field].data or None
                for field in ("name", "address", "phone", "opening_hours")
            }
            try:
                services.update_canteen(user, canteen, changes)
            except ApiError as error:
                flash(explain(error), "error")
            else:
                flash(_("Saved."), "success")
                return redirect(url_for("places_pages.canteen_detail", canteen_id=canteen.id))
    return render_template(
        "places/canteen_detail.html",
        canteen=canteen,
        form=form,
        show_money=not sees_public_view(user),
        standing=registry.standing_of(canteen, canteen.district.local_today()),
        # Whether claims are refused is the staff's business, not the public's.
        show_unfiled=not sees_public_view(user),
    )
