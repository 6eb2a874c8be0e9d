"""The counter's pages: the cashier page, counter terminals, the end-of-shift report,
and the printable card a manager hands over at the counter."""

import hashlib
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

from mealservice.accounts.services import sign_in
from mealservice.core.auth import ADMIN, may, require_permission
from mealservice.core.clock import utcnow
from mealservice.core.errors import ApiError, NotFound
from mealservice.core.forms import date_arg
from mealservice.core.i18n import SLOT_WORDS, TAG_WORDS, local_time
from mealservice.core.refusals import COUNTER, explain, words_for
from mealservice.counter import services
from mealservice.elders import cards
from mealservice.places import registry
from mealservice.places.models import Slot
from mealservice.places.services import find_canteens, get_canteen

bp = Blueprint("counter_pages", __name__)


class TerminalForm(FlaskForm):
    name = StringField(
        _l("Terminal name"),
        validators=[DataRequired(_l("Give the terminal a name.")), Length(max=40)],
    )


class TerminalLoginForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])


class TypedTerminalLoginForm(FlaskForm):
    token = StringField(_l("Terminal token"), validators=[DataRequired(), Length(max=200)])


@bp.get("/cashier")
def cashier():
    user = require_permission("meals.scan")
    if user.role == ADMIN:
        chosen = request.args.get("canteen", type=int)
        if chosen is None:
            canteens = [canteen for canteen, _distance in find_canteens(user)]
            return render_template("counter/pick_canteen.html", canteens=canteens)
    else:
        chosen = user.canteen_id
    canteen = get_canteen(user, chosen)
    return render_template(
        "counter/cashier.html",
        canteen=canteen,
        facts=cashier_facts(user, canteen),
        standing=registry.standing_of(canteen, canteen.district.local_today()),
        show_unfiled=False,
    )


def cashier_facts(user, canteen) -> dict:
    """What the cashier script needs to know, handed over as data (no inline script)."""
    api = "/api/v1"
    return {
        "canteen": {"id": canteen.id, "name": canteen.name},
        "timezone": canteen.district.effective_timezone,
        "today": canteen.district.local_today().isoformat(),
        "slot_windows": canteen.district.slot_windows,
        "slots": [slot.value for slot in Slot if slot.value in canteen.district.slot_windows],
        "user": {"username": user.username, "role": user.role},
        "may_void": may(user, "meals.void"),
        "may_reissue": may(user, "cards.write"),
        "urls": {
            "scans": f"{api}/canteens/{canteen.id}/scans",
            "meals": f"{api}/canteens/{canteen.id}/meals",
            "top_ups": f"{api}/canteens/{canteen.id}/top-ups",
            "lookup": f"{api}/canteens/{canteen.id}/elder-lookup",
            "card_list": f"{api}/canteens/{canteen.id}/card-list",
            "roster": f"{api}/canteens/{canteen.id}/offline-roster",
            "refused_scans": f"{api}/canteens/{canteen.id}/refused-scans",
            "retry_refused": f"{api}/refused-scans/{{id}}/retry",
            "dismiss_refused": f"{api}/refused-scans/{{id}}/dismiss",
            "void": f"{api}/meals/{{id}}/void",
            "issue_card": f"{api}/elders/{{id}}/cards",
            "print_card": "/cards/{id}/print",
            "jsqr": url_for("static", filename="vendor/jsQR.js"),
            "offline_worker": url_for("counter_pages.offline_worker"),
            "offline_scope": url_for("counter_pages.cashier"),
        },
        "texts": script_texts(),
    }


def script_texts() -> dict:
    """The words the script shows, translated here; `%(name)s` is filled in by the script."""
    return {
        "served": _("Served"),
        "refused": _("Refused"),
        "age": _("%(age)s years"),
        "price": _("Price"),
        "subsidy": _("Subsidy"),
        "to_collect": _("To collect"),
        "to_collect_e_payment": _("To collect by e-payment"),
        "from_balance_label": _("Taken from the meal card"),
        "from_balance": _("Taken from the meal card: %(amount)s, balance %(balance)s"),
        "diet_note": _("Diet note:"),
        "diet_clash": _("Does not suit this elder:"),
        "diet_allergy": _("%(dish)s contains %(allergy)s (allergy)"),
        "diet_need": _("%(option)s: not %(need)s (needed)"),
        "diet_needs": {need: str(words) for need, words in TAG_WORDS.items()},
        "sending": _("Checking…"),
        "refusals": words_for(COUNTER),
        "offline_recorded": _("Recorded offline: it will be sent when the network is back."),
        "offline_sent": _("The network is back: every scan recorded offline was sent."),
        "offline_sent_refused": _(
            "The network is back: the offline scans were sent, and %(n)s still need"
            " resolving: see “To resolve”."
        ),
        "offline_banner": _("Offline — %(n)s waiting to upload"),
        "refused_banner": _("%(n)s scans to resolve"),
        "amount_unknown": _("Amount not known offline: the service will say when back online."),
        "provisional_label": _("%(slot)s, to collect (provisional)"),
        "provisional": _("provisional"),
        "double_title": _("Already recorded?"),
        "double_warning": _("%(slot)s already recorded at %(time)s. Record it again?"),
        "double_cancel": _("Cancel: do not record"),
        "double_record": _("Record anyway"),
        "double_cancelled": _("Cancelled: nothing was recorded."),
        "slot_auto": _("By the clock: %(slot)s"),
        "slot_auto_outside": _("By the clock: outside every meal window"),
        "slot_pick": _("Pick the meal and scan again:"),
        "record_as": _("Record as %(slot)s"),
        "slots": {slot.value: str(SLOT_WORDS[slot.value]) for slot in Slot},
        "dismiss": _("Do not record…"),
        "dismiss_reason": _("Why it is not recorded"),
        "dismiss_confirm": _("Confirm"),
        "pending": _("pending"),
        "conflict": _("conflict"),
        "voided": _("voided"),
        "refused_later": _("refused"),
        "card": _("Card %(id)s"),
        "undo": _("Undo"),
        "void_reason": _("Reason for undoing"),
        "void_confirm": _("Undo this meal"),
        "cancel": _("Cancel"),
        "void_done": _("The meal was undone."),
        "no_scans": _("No scans yet today."),
        "no_conflicts": _("No conflicts today."),
        "payment": {
            "cash": _("Cash"),
            "balance": _("Meal card balance"),
            "e_payment": _("E-payment"),
        },
        "lookup_none": _("Nobody found. Check the name and the phone digits."),
        "serve_without_card": _("Serve without card"),
        "top_up_for": _("Top up for this elder"),
        "reissue": _("Issue a new card"),
        "print_card": _("Print the new card"),
        "card_issued": _("A new card was issued; the old one no longer works."),
        "top_up_done": _("Topped up %(amount)s for %(name)s. New balance: %(balance)s"),
        "top_up_target": _("Topping up for %(name)s"),
        "amount_invalid": _("Give the amount in yuan, e.g. 50 or 20.50."),
        "target_needed": _("Scan the card or pick an elder from the look-up first."),
        "camera_failed": _("The camera could not be opened."),
        "camera_hint": _("Hold the card's QR code in front of the camera."),
        "network_error": _("No network. Try again when it is back."),
    }


# What the cashier page loads, kept on the tablet by its service worker for an outage:
# these and every module of the page's script (static/js/cashier/).
OFFLINE_FILES = ("favicon.svg", "css/app.css", "css/cashier.css", "js/app.js", "vendor/jsQR.js")


@bp.get("/cashier-offline.js")
def offline_worker():
    """The cashier page's service worker, served from the root so that it may control
    /cashier; its version is a digest of the files it keeps, so any change reinstalls it."""
    static = Path(current_app.static_folder)
    modules = sorted(path.relative_to(static).as_posix() for path in static.glob("js/cashier/*.js"))
    present = [name for name in (*OFFLINE_FILES, *modules) if (static / name).is_file()]
    digest = hashlib.sha256()
    for name in present:
        digest.update(name.encode())
        digest.update((static / name).read_bytes())
    body = render_template(
        "counter/offline_worker.js",
        version=digest.hexdigest()[:16],
        files=[url_for("static", filename=name) for name in present],
        page_path=url_for("counter_pages.cashier"),
    )
    response = current_app.response_class(body, mimetype="text/javascript")
    # The browser checks for a new worker on every visit; it must not be served stale.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/cashier/terminal-login", methods=["GET", "POST"])
def terminal_login():
    """Turns this browser into a counter terminal: its session becomes the terminal's."""
    form = TypedTerminalLoginForm()
    error = None
    if request.method == "POST":
        if form.validate_on_submit():
            user = services.terminal_user_for_token(form.token.data.strip())
            if user is not None:
                sign_in(user, permanent=True)
                return redirect(url_for("counter_pages.cashier"))
        error = _("This terminal token is not valid: it is mistyped, expired or revoked.")
    status = 401 if error else 200
    return render_template("counter/terminal_login.html", form=form, error=error), status


@bp.route("/canteens/<id:canteen_id>/terminals", methods=["GET", "POST"])
def terminals(canteen_id: int):
    user = require_permission("terminals.manage", scope=get_canteen, canteen_id=canteen_id)
    canteen = get_canteen(user, canteen_id)
    form = TerminalForm()
    registered = token = None
    if form.validate_on_submit():
        try:
            registered, token = services.register_terminal(user, canteen, form.name.data.strip())
        except ApiError as error:
            form.name.errors.append(explain(error))
        else:
            form = TerminalForm(formdata=None)
    return render_template(
        "counter/terminals.html",
        canteen=canteen,
        terminals=services.canteen_terminals(canteen),
        form=form,
        registered=registered,
        token=token,
        login_form=TerminalLoginForm(formdata=None, token=token) if token else None,
    )


@bp.post("/canteens/<id:canteen_id>/terminals/<id:terminal_id>/revoke")
def revoke_terminal(canteen_id: int, terminal_id: int):
    user = require_permission("terminals.manage", scope=get_canteen, canteen_id=canteen_id)
    terminal = services.get_terminal(user, terminal_id)
    if terminal.canteen_id != canteen_id:
        raise NotFound("terminal")
    try:
        services.revoke_terminal(user, terminal)
    except ApiError as error:
        flash(explain(error), "error")
    else:
        flash(_("The terminal %(name)s was revoked.", name=terminal.name), "success")
    return redirect(url_for("counter_pages.terminals", canteen_id=canteen_id))


@bp.get("/canteens/<id:canteen_id>/shift-report")
def shift_report(canteen_id: int):
    user = require_permission("shift_reports.read", scope=get_canteen, canteen_id=canteen_id)
    canteen = get_canteen(user, canteen_id)
    errors = []
    day = date_arg(canteen.district.local_today(), errors)
    slot = request.args.get("slot") or None
    if slot is not None and slot not in {s.value for s in Slot}:
        errors.append(_("Pick breakfast, lunch, dinner or the whole day."))
        slot = None
    cashier = (request.args.get("cashier") or "").strip() or None
    try:
        report = services.shift_report(user, canteen, day, slot=slot, cashier=cashier)
    except ApiError as error:
        errors.append(explain(error))
        report = None
    return render_template(
        "counter/shift_report.html",
        canteen=canteen,
        report=report,
        day=day,
        slot=slot,
        cashier=cashier,
        slots=[s.value for s in Slot],
        errors=errors,
        now_local=local_time(utcnow(), canteen.district.effective_timezone),
    )


@bp.get("/cards/<card:card_id>/print")
def print_card(card_id: str):
    user = require_permission("cards.write", scope=cards.get_card, card_id=card_id)
    card = cards.get_card(user, card_id)
    return render_template("counter/print_card.html", card=card, elder=card.elder)
