"""The office pages of the elder registry: find, register, edit, record a death or a move
(after showing what it will close), import a spreadsheet; and the elders' cards: issue,
revoke, print a community's or a chosen list's sheet."""

import re
from datetime import date, datetime, time
from io import BytesIO
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from mealservice.core import refusals
from mealservice.core.auth import LINKED_ELDER_ROLES, district_scope, may, require_permission
from mealservice.core.clock import utcnow
from mealservice.core.db import db
from mealservice.core.errors import (
    ApiError,
    Forbidden,
    NotFound,
    ValidationFailed,
    flatten_messages,
)
from mealservice.core.forms import number_of, page_arg
from mealservice.core.i18n import TAG_WORDS, select_locale, yuan
from mealservice.core.limits import body_limit
from mealservice.core.pages import local_path
from mealservice.core.schemas import page_of_query
from mealservice.elders import cards, importing, printing, services
from mealservice.elders.access import record_reads
from mealservice.elders.importing import N_
from mealservice.elders.models import Card, DietNeed, Elder
from mealservice.elders.schemas import ElderIn, ElderPatch, dump_elders, elder_schema_for
from mealservice.places.models import Canteen, Community, District
from mealservice.places.services import districts_query

bp = Blueprint("elders_pages", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The reasons the registration checks give most often, marked so the catalog translates
# them on this page; a reason not listed here is shown as the API words it.
KNOWN_REASONS = (
    N_("Missing data for required field."),
    N_("Not a valid number."),
    N_("Use 7–20 digits, spaces or dashes."),
    N_("An ID number has 18 characters."),
    N_("An ID number is 17 digits and a digit or X."),
    N_("Characters 7-14 are not a real birth date."),
    N_("Characters 7-14 are not a possible birth date."),
    N_("The check character does not match; is a digit mistyped?"),
    N_("No such district in your scope."),
    N_("No such community in the elder's district."),
    N_("List each category once."),
    N_("Longer than maximum length 50."),
    N_("Longer than maximum length 200."),
    N_("Longer than maximum length 300."),
    N_("Must be greater than or equal to -90 and less than or equal to 90."),
    N_("Must be greater than or equal to -180 and less than or equal to 180."),
    N_("Text may not contain NUL characters."),
)


class ImportForm(FlaskForm):
    file = FileField(
        _l("Spreadsheet (.xlsx)"),
        validators=[FileRequired(_l("Choose the .xlsx file to import."))],
    )
    consent = BooleanField(
        _l("Written consent was collected from every elder in this file."),
        validators=[DataRequired(_l("Confirm that written consent was collected first."))],
    )


@bp.route("/elders/import", methods=["GET", "POST"])
@body_limit("IMPORT_MAX_REQUEST_BYTES")
def import_elders():
    user = require_permission("elders.write")
    form = ImportForm()
    outcome = None
    if form.validate_on_submit():
        try:
            outcome = importing.import_workbook(
                user, form.file.data.stream, recorded_by=user.username
            )
        except importing.UnreadableWorkbook as error:
            form.file.errors.append(translated(error.reason))
            # 422: the request's transaction is rolled back, so a file stopped midway
            # (out of time) leaves nothing imported.
            return _page(form, None), 422
        outcome = shown(outcome)
        # Consent is confirmed for one file: the next upload asks again.
        form = ImportForm(formdata=None)
    return _page(form, outcome)


def _page(form: ImportForm, outcome: dict | None) -> str:
    limits = importing.Limits.configured()
    return render_template(
        "elders/import.html",
        form=form,
        outcome=outcome,
        max_rows=limits.rows,
        max_mb=importing.megabytes(limits.file_bytes),
    )


@bp.get("/elders/import/template.xlsx")
def import_template():
    user = require_permission("elders.write")
    return send_file(
        BytesIO(importing.template_workbook(user)),
        mimetype=XLSX,
        as_attachment=True,
        download_name="老人导入模板.xlsx",
    )


def translated(reason: importing.Reason) -> str:
    return _(reason.text, **reason.params)


def shown(outcome: dict) -> dict:
    """The import's outcome for the page: columns named as in the sheet, reasons translated."""
    chinese = select_locale() == "zh"

    def column(name: str) -> str:
        if name == importing.WHOLE_ROW:
            return _("Row")
        return importing.HEADER_OF[name] if chinese else name

    rows = [
        {
            **row,
            "reasons": [
                (column(name), [translated(reason) for reason in reasons])
                for name, reasons in row.get("errors", {}).items()
            ],
        }
        for row in outcome["rows"]
    ]
    return {**outcome, "rows": rows}


# The registry: find, register, edit, record a death or a move, and the elder's cards.

PER_PAGE = 20
CHOSEN_AT_MOST = 200  # elders on one chosen sheet: a page's list, printed in this process
IN_PROCESS_AT_MOST = 64  # a community sheet this long is drawn without starting workers

CATEGORY_WORDS = {
    "extreme_poverty": _l("Extreme poverty (dispersed support)"),
    "minimum_allowance": _l("Minimum living allowance"),
    "low_income": _l("Low income"),
    "disabled": _l("Disabled (loss of ability)"),
    "living_alone": _l("Living alone"),
    "empty_nest": _l("Empty nest"),
    "left_behind": _l("Left behind"),
    "handicapped": _l("Handicapped"),
    "family_planning_special": _l("Special family-planning family"),
}
ABILITY_WORDS = {
    "intact": _l("Able"),
    "mild": _l("Mildly impaired"),
    "moderate": _l("Moderately impaired"),
    "severe": _l("Severely impaired"),
}
STATUS_WORDS = {
    "active": _l("Active"),
    "deceased": _l("Deceased"),
    "moved": _l("Moved away"),
}
# The names of the registration's fields, for a refusal that names one.
FIELD_NAMES = {
    "name": _l("Name"),
    "id_number": _l("ID number"),
    "phone": _l("Phone"),
    "address": _l("Address"),
    "community": _l("Community"),
    "hukou_district": _l("Hukou district"),
    "categories": _l("Categories"),
    "ability_level": _l("Ability level"),
    "diet_notes": _l("Diet and care notes"),
    "allergies": _l("Allergies"),
    "diet_needs": _l("Diet needs"),
    "ec_name": _l("Emergency contact"),
    "ec_relation": _l("Relation"),
    "ec_phone": _l("Contact's phone"),
    "ec_consent": _l("Consent for the contact"),
    "consent_by": _l("Consent recorded by"),
    "consent_on": _l("Consent given on"),
    "status": _l("Status"),
    "status_since": _l("From"),
}
# The API's field paths as this page's form fields.
FORM_FIELD_OF = {
    "emergency_contact.name": "ec_name",
    "emergency_contact.relation": "ec_relation",
    "emergency_contact.phone": "ec_phone",
    "consent.recorded_by": "consent_by",
    "consent.given_at": "consent_on",
}
REGISTRY_REASONS = (
    N_("List each item once."),
    N_("Longer than maximum length 20."),
    N_("Length must be between 1 and 20."),
    N_("Consent cannot be given in the future."),
    N_("Give the phone's last four digits."),
)


def _office_user(action: str = "elders.read", **scoped):
    """The registry is the office's: family and elders read their own elders elsewhere."""
    user = require_permission(action, **scoped)
    if user.role in LINKED_ELDER_ROLES:
        raise Forbidden("The elder registry is for the district's and canteens' staff.")
    return user


def _communities(user) -> list[Community]:
    query = select(Community).order_by(Community.district_code, Community.code)
    if (scope := district_scope(user)) is not None:
        query = query.where(Community.district_code == scope)
    return list(db.session.scalars(query))


def _words(reasons) -> list[str]:
    return [_(reason) for reason in reasons]


def _show_refusal(form, error: ApiError) -> None:
    """The refusal at the fields it names (translated where the catalog knows the
    reason), or above the form; refusals.explain rolls back what the request wrote."""
    sentence = refusals.explain(error, field_names={k: str(v) for k, v in FIELD_NAMES.items()})
    placed = False
    for name, reasons in (error.fields or {}).items():
        field = FORM_FIELD_OF.get(name, name.split(".")[0])
        if field in form:
            form[field].errors = list(form[field].errors or []) + _words(reasons)
            placed = True
    if not placed:
        form.form_errors.append(sentence)


@bp.get("/elders")
def registry():
    """Find elders by name, the phone's last four digits and community, a page at a time."""
    user = _office_user()
    args = request.args
    errors = []
    q = (args.get("q") or "").strip()[:50] or None
    phone_last4 = (args.get("phone_last4") or "").strip() or None
    if phone_last4 is not None and not re.fullmatch(r"[0-9]{4}", phone_last4):
        errors.append(_("Give the phone's last four digits."))
        phone_last4 = None
    communities = _communities(user)
    community = args.get("community") or None
    if community not in {c.code for c in communities}:
        community = None
    page = page_of_query(
        services.elders_query(user, community=community, q=q, phone_last4=phone_last4),
        page_arg(),
        PER_PAGE,
    )
    record_reads(user, page["items"], "elder registry (page)")
    return render_template(
        "elders/registry.html",
        elders=dump_elders(user, page["items"]),
        next_page=page["next"],
        page=page_arg(),
        filters={"q": q or "", "phone_last4": phone_last4 or "", "community": community or ""},
        communities=communities,
        errors=errors,
        status_words=STATUS_WORDS,
    )


def _choices(words: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in words.items()]


class ElderForm(FlaskForm):
    """What the office types in; checked by the API's own schema (ElderIn, ElderPatch)."""

    name = StringField(_l("Name"))
    id_number = StringField(_l("ID number"))
    phone = StringField(_l("Phone"))
    address = StringField(_l("Address"))
    community = SelectField(_l("Community"), validate_choice=False)
    hukou_district = SelectField(_l("Hukou district"), validate_choice=False)
    categories = SelectMultipleField(
        _l("Categories"),
        choices=_choices(CATEGORY_WORDS),
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validate_choice=False,
    )
    ability_level = SelectField(
        _l("Ability level"), choices=_choices(ABILITY_WORDS), validate_choice=False
    )
    diet_notes = TextAreaField(_l("Diet and care notes"))
    allergies = StringField(_l("Allergies (foods, separated by commas)"))
    diet_needs = SelectMultipleField(
        _l("Diet needs"),
        choices=_choices({need.value: TAG_WORDS[need.value] for need in DietNeed}),
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validate_choice=False,
    )
    ec_name = StringField(_l("Emergency contact"))
    ec_relation = StringField(_l("Relation"))
    ec_phone = StringField(_l("Contact's phone"))
    ec_consent = BooleanField(_l("The contact's details were given with consent."))
    consent_by = StringField(_l("Consent recorded by"))
    consent_on = DateField(_l("Consent given on"), validators=[Optional()])
    consent = BooleanField(_l("The elder (or their guardian) gave written consent."))


def _elder_form(user, elder: Elder | None = None) -> ElderForm:
    form = ElderForm(formdata=request.form if request.method == "POST" else None)
    communities = _communities(user)
    form.community.choices = [SelectChoice(c.code, f"{c.name} ({c.code})") for c in communities]
    form.hukou_district.choices = [
        SelectChoice(d.code, f"{d.name} ({d.code})")
        for d in db.session.scalars(districts_query(user))
    ]
    if request.method == "GET":
        if elder is None:
            form.consent_by.data = user.username
            form.consent_on.data = _local_today(user)
        else:
            shown = elder_schema_for(user).dump(elder)
            for name in ("name", "phone", "address", "community", "ability_level", "diet_notes"):
                form[name].data = shown.get(name)
            form.categories.data = elder.categories
            form.diet_needs.data = elder.diet_needs
            form.allergies.data = "、".join(elder.allergies)
            form.ec_name.data = elder.emergency_contact_name
            form.ec_relation.data = elder.emergency_contact_relation
            form.ec_phone.data = elder.emergency_contact_phone
    return form


def _local_today(user) -> date:
    district = db.session.get(District, user.district_code) if user.district_code else None
    return district.local_today() if district else utcnow().date()


def _consent_moment(user, day: date | None) -> datetime | None:
    """Consent given on a day: now if today, else that day's noon in the district."""
    if day is None:
        return None
    if day >= _local_today(user):
        return utcnow()
    zone = current_app.config["TIMEZONE"]
    if user.district_code:
        zone = db.session.get(District, user.district_code).effective_timezone
    return datetime.combine(day, time(12), ZoneInfo(zone))


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _contact_body(user, form: ElderForm, elder: Elder | None) -> dict | None:
    """The emergency contact as the API takes it; None when the fields are left empty.
    Unchanged, it is left out, so its recorded consent stands."""
    typed = (_text(form.ec_name.data), _text(form.ec_relation.data), _text(form.ec_phone.data))
    if elder is not None and typed == (
        elder.emergency_contact_name,
        elder.emergency_contact_relation,
        elder.emergency_contact_phone,
    ):
        return {}
    if typed == (None, None, None):
        return {"emergency_contact": None}
    if not form.ec_consent.data:
        form.ec_consent.errors = [_("Confirm that the contact's details were given with consent.")]
    contact = {"name": typed[0], "relation": typed[1], "phone": typed[2]}
    contact = {key: value for key, value in contact.items() if value is not None}
    contact["consent"] = {"given_at": utcnow().isoformat(), "recorded_by": user.username}
    return {"emergency_contact": contact}


def _elder_body(user, form: ElderForm, elder: Elder | None) -> dict:
    body = {
        "name": _text(form.name.data),
        "phone": _text(form.phone.data),
        "address": _text(form.address.data),
        "community": form.community.data or None,
        "categories": list(form.categories.data or []),
        "ability_level": form.ability_level.data or None,
        "diet_notes": _text(form.diet_notes.data),
        "allergies": [a for a in re.split(r"[,，、;；\s]+", form.allergies.data or "") if a],
        "diet_needs": list(form.diet_needs.data or []),
        **_contact_body(user, form, elder),
    }
    if elder is None:
        if not form.consent.data:
            form.consent.errors = [_("Confirm that written consent was collected first.")]
        moment = _consent_moment(user, form.consent_on.data)
        body |= {
            "id_number": _text(form.id_number.data),
            "hukou_district": form.hukou_district.data or None,
            "consent": {
                "given_at": moment.isoformat() if moment else None,
                "recorded_by": _text(form.consent_by.data),
            },
        }
    # Left empty is missing (the schema then names a required field), not null.
    return {key: value for key, value in body.items() if value is not None or key in NULLABLE}


NULLABLE = ("diet_notes", "emergency_contact")


def _loaded(schema, body: dict, form) -> dict | None:
    """The body as the API's schema loads it; None (the reasons at the form's fields)
    when it refuses."""
    try:
        return schema.load(body)
    except ma.ValidationError as error:
        _show_refusal(form, ValidationFailed(flatten_messages(error.messages)))
        return None


@bp.route("/elders/new", methods=["GET", "POST"])
def register():
    """Register an elder, with the consent given for it: who recorded it and when."""
    user = _office_user("elders.write")
    form = _elder_form(user)
    if request.method == "POST" and form.validate_on_submit():
        data = _loaded(ElderIn(), _elder_body(user, form, None), form)
        if data is not None:
            # The number's own check, said with the form's other problems.
            try:
                services.checked_id_number(data["id_number"])
            except ApiError as error:
                _show_refusal(form, error)
        if data is not None and not form.errors:
            try:
                elder = services.create_elder(user, data)
            except ApiError as error:
                _show_refusal(form, error)
            else:
                flash(_("%(name)s is registered.", name=elder.name), "success")
                return redirect(url_for(".elder_page", elder_id=elder.id))
    status = 422 if request.method == "POST" else 200
    return render_template("elders/edit.html", form=form, elder=None), status


@bp.route("/elders/<id:elder_id>/edit", methods=["GET", "POST"])
def edit(elder_id: int):
    user = _office_user("elders.write", scope=services.get_elder, elder_id=elder_id)
    elder = services.get_elder(user, elder_id)
    form = _elder_form(user, elder)
    if request.method == "POST" and form.validate_on_submit():
        data = _loaded(ElderPatch(), _elder_body(user, form, elder), form)
        if data is not None and not form.errors:
            try:
                services.update_elder(elder, data)
            except ApiError as error:
                _show_refusal(form, error)
            else:
                flash(_("The record of %(name)s is saved.", name=elder.name), "success")
                return redirect(url_for(".elder_page", elder_id=elder.id))
    status = 422 if request.method == "POST" else 200
    return render_template("elders/edit.html", form=form, elder=elder), status


def _card_state(card: Card, newest: int, today: date) -> str:
    if card.revoked_at is not None:
        return "revoked"
    if card.generation < newest:
        return "superseded"
    if card.expires_on < today:
        return "expired"
    return "works"


@bp.get("/elders/<id:elder_id>")
def elder_page(elder_id: int):
    """An elder's record as the reader's role may see it, their cards and nearby places."""
    user = _office_user(scope=services.get_elder, elder_id=elder_id)
    elder = services.get_elder(user, elder_id)
    record_reads(user, [elder], "elder record (page)")
    elder_cards = []
    if may(user, "cards.write"):
        found = list(
            db.session.scalars(
                select(Card).where(Card.elder_id == elder.id).order_by(Card.generation.desc())
            )
        )
        today = elder.community.district.local_today()
        newest = found[0].generation if found else 0
        elder_cards = [(card, _card_state(card, newest, today)) for card in found]
    places = db.session.scalars(
        select(Canteen).where(Canteen.community_id == elder.community_id).order_by(Canteen.name)
    ).all()
    return render_template(
        "elders/elder.html",
        elder=elder,
        shown=elder_schema_for(user).dump(elder),
        cards=elder_cards,
        places=places,
        words={
            "category": CATEGORY_WORDS,
            "ability": ABILITY_WORDS,
            "status": STATUS_WORDS,
            "diet": TAG_WORDS,
        },
        is_active=services.is_active_on(elder, elder.community.district.local_today()),
    )


# A death or a move: the page shows what it will close, then records it.


class StatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=_choices(STATUS_WORDS), validate_choice=False)
    status_since = DateField(_l("From"), validators=[Optional()])


def _status_change(form: StatusForm) -> dict | None:
    body = {"status": form.status.data}
    if form.status_since.data is not None:
        body["status_since"] = form.status_since.data.isoformat()
    return _loaded(ElderPatch(), body, form)


@bp.route("/elders/<id:elder_id>/status", methods=["GET", "POST"])
def change_status(elder_id: int):
    """GET with a status and a date: what the change would close, and the button that
    makes it. POST: make it (the same service as PATCH /api/v1/elders/{id})."""
    user = _office_user("elders.write", scope=services.get_elder, elder_id=elder_id)
    elder = services.get_elder(user, elder_id)
    posted = request.method == "POST"
    form = StatusForm(request.form if posted else request.args, meta={"csrf": posted})
    preview = None
    asked = posted or "status" in request.args
    if asked and (form.validate() if posted else True):
        change = _status_change(form)
        if change is not None and change["status"] != "active" and "status_since" not in change:
            form.status_since.errors = [_("Say from which date.")]
            change = None
        if change is not None and posted:
            preview = services.preview_status_change(
                elder, change["status"], change.get("status_since")
            )
            try:
                services.update_elder(elder, change)
            except ApiError as error:
                _show_refusal(form, error)
            else:
                flash(_status_done(elder, preview), "success")
                return redirect(url_for(".elder_page", elder_id=elder.id))
        elif change is not None:
            preview = services.preview_status_change(
                elder, change["status"], change.get("status_since")
            )
    elif not asked:
        form.status.data = elder.status
        form.status_since.data = elder.status_since
    status = 422 if form.errors else 200
    return render_template(
        "elders/status.html",
        elder=elder,
        form=form,
        preview=preview,
        status_words=STATUS_WORDS,
    ), status


def _status_done(elder: Elder, preview) -> str:
    if preview.status == "active":
        return _("%(name)s is active again.", name=elder.name)
    return _(
        "Recorded: %(name)s is %(status)s from %(day)s. Orders cancelled: %(orders)s"
        " (refunded %(refund)s); standing orders stopped: %(standing)s; cards stopped: %(cards)s.",
        name=elder.name,
        status=STATUS_WORDS[preview.status],
        day=preview.since.isoformat(),
        orders=len(preview.orders),
        refund=yuan(preview.refund_fen),
        standing=len(preview.standing_orders),
        cards=len(preview.cards),
    )


# Cards: issue (a new one supersedes the last), revoke, print sheets.


@bp.post("/elders/<id:elder_id>/cards")
def issue_card(elder_id: int):
    user = _office_user("cards.write", scope=services.get_elder, elder_id=elder_id)
    elder = services.get_elder(user, elder_id)
    try:
        card = cards.issue_card(user.username, elder)
    except ApiError as error:
        flash(refusals.explain(error), "error")
    else:
        flash(
            _(
                "Card no. %(generation)s is issued; earlier cards no longer work.",
                generation=card.generation,
            ),
            "success",
        )
    return redirect(url_for(".elder_page", elder_id=elder.id))


@bp.post("/cards/<card:card_id>/revoke")
def revoke_card(card_id: str):
    user = _office_user("cards.write", scope=cards.get_card, card_id=card_id)
    card = cards.get_card(user, card_id)
    elder_id = card.elder_id
    reason = (request.form.get("reason") or "").strip()
    if not reason or len(reason) > 200:
        flash(_("Say why the card is revoked (up to 200 characters)."), "error")
        return redirect(url_for(".elder_page", elder_id=elder_id))
    try:
        cards.revoke_card(card, reason)
    except ApiError as error:
        flash(refusals.explain(error), "error")
    else:
        flash(_("Card no. %(generation)s is revoked.", generation=card.generation), "success")
    return redirect(url_for(".elder_page", elder_id=elder_id))


def _pdf(drawn_cards, name: str, workers: int | None = 0):
    buffer = BytesIO()
    printing.write_cards_pdf(drawn_cards, buffer, workers=workers)
    buffer.seek(0)
    response = send_file(buffer, mimetype="application/pdf", as_attachment=True, download_name=name)
    # Cards carry names and working payloads: never kept by shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/communities/<community_code>/cards.pdf")
def community_cards(community_code: str):
    """The sheet of a community's current cards, as `flask cards print` writes it."""
    user = _office_user("cards.write")
    community = printing.find_community(community_code)
    if community is None or district_scope(user) not in (None, community.district_code):
        raise NotFound("community")
    total = printing.count_printable_cards(community)
    if total == 0:
        flash(
            _(
                "%(community)s has no elder with a current card: issue cards first.",
                community=community.name,
            ),
            "error",
        )
        return redirect(url_for(".registry", community=community.code))
    workers = 0 if total <= IN_PROCESS_AT_MOST else None
    return _pdf(printing.printable_cards(community), f"cards-{community.code}.pdf", workers)


@bp.post("/cards/print")
def chosen_cards():
    """The sheet of the elders ticked on the registry's list."""
    user = _office_user("cards.write")
    ids = [n for n in (number_of(v) for v in request.form.getlist("elder_id")) if n]
    back = local_path(request.form.get("back")) or url_for(".registry")
    if not ids or len(ids) > CHOSEN_AT_MOST:
        flash(_("Tick between 1 and %(n)s elders to print.", n=CHOSEN_AT_MOST), "error")
        return redirect(back)
    visible = list(
        db.session.scalars(
            services.elders_query(user).where(Elder.id.in_(ids)).with_only_columns(Elder.id)
        )
    )
    # The elders' own district's day; an admin's list may span districts a few hours apart.
    chosen = printing.chosen_printable_cards(visible, _local_today(user))
    if not chosen:
        flash(_("None of the ticked elders has a current card: issue cards first."), "error")
        return redirect(back)
    return _pdf(chosen, "cards.pdf")
