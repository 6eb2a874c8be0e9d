"""The audit log reader: every change to money and to accounts, by table, by who made it
and by local dates, in the reader's scope (oversight.services.audit_log), paged. Each
change is shown field by field, old → new, never a secret or a personal number."""

from datetime import date

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from mealservice.core.auth import ADMIN, require_permission
from mealservice.core.forms import kept_query_args, page_arg
from mealservice.core.schemas import page_of_query
from mealservice.oversight.pages import bp
from mealservice.oversight.services import audit_log
from mealservice.places.services import get_district

ENTRIES_PER_PAGE = 50

TABLE_WORDS = {
    "meals": _l("Meals"),
    "cards": _l("Meal cards"),
    "balances": _l("Meal balances"),
    "subsidy_policies": _l("Subsidy policy versions"),
    "policy_tiers": _l("Subsidy tiers"),
    "claims": _l("Subsidy claims"),
    "claim_reviews": _l("Claim reviews"),
    "claim_rejected_lines": _l("Rejected claim lines"),
    "users": _l("Accounts"),
    "refused_scans": _l("Refused offline scans"),
}

ACTION_WORDS = {
    "insert": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
}

FILTERS = ("table", "actor", "since", "until")


def _timezone(user) -> str:
    if user.role != ADMIN and user.district_code:
        return get_district(user, user.district_code).effective_timezone
    return current_app.config["TIMEZONE"]


def _filters() -> tuple[dict, list[str]]:
    errors = []
    table = (request.args.get("table") or "").strip()
    if table and table not in audit_log.TABLES:
        errors.append(_("Table: choose one of the list."))
        table = ""
    found = {"table": table or None, "actor": (request.args.get("actor") or "").strip()[:80]}
    for name, word in (("since", _("From")), ("until", _("To"))):
        text = (request.args.get(name) or "").strip()
        found[name] = None
        if text:
            try:
                found[name] = date.fromisoformat(text)
            except ValueError:
                errors.append(_("%(field)s: the date must look like 2026-11-24.", field=word))
    if found["since"] and found["until"] and found["since"] > found["until"]:
        errors.append(_("To: the last day comes on or after the first."))
    found["actor"] = found["actor"] or None
    return found, errors


def _pager_args(**changes) -> dict:
    return kept_query_args(FILTERS, **changes)


def shown(value) -> str:
    """A stored value as the page prints it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | dict):
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return str(value)


@bp.get("/audit-log")
def audit():
    """Who changed which money-bearing record or account, newest first."""
    user = require_permission("access_log.read")
    filters, errors = _filters()
    timezone = _timezone(user)
    page = page_arg()
    found = (
        {"items": [], "next": None}
        if errors
        else page_of_query(
            audit_log.audit_log_query(user, timezone=timezone, **filters), page, ENTRIES_PER_PAGE
        )
    )
    return render_template(
        "oversight/audit_log.html",
        entries=[(entry, audit_log.changes_of(entry)) for entry in found["items"]],
        tables=audit_log.TABLES,
        table_words=TABLE_WORDS,
        action_words=ACTION_WORDS,
        values={key: request.args.get(key, "") for key in FILTERS},
        errors=errors,
        timezone=timezone,
        shown=shown,
        page=page,
        next_page=found["next"],
        pager_args=_pager_args,
    )
