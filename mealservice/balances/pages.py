"""Relatives' and elders' page for the prepaid meal balance (饭卡): what is left and every
top-up, meal and refund behind it."""

from flask import Blueprint, render_template, request

from mealservice.balances import services
from mealservice.core.auth import LINKED_ELDER_ROLES, require_permission
from mealservice.core.db import db
from mealservice.core.errors import NotFound
from mealservice.elders.models import Elder
from mealservice.elders.services import get_elder, linked_elder_ids

bp = Blueprint("balances_pages", __name__)


@bp.get("/balances")
def balances():
    """A family account's elders (or the elder's own), each with balance and history;
    staff who may read balances name one elder with `?elder=`."""
    user = require_permission("balances.read")
    if user.role in LINKED_ELDER_ROLES:
        elders = [db.session.get(Elder, elder_id) for elder_id in linked_elder_ids(user)]
    else:
        try:
            elder_id = int(request.args.get("elder", ""))
        except ValueError:
            raise NotFound("elder") from None
        elders = [get_elder(user, elder_id)]
    accounts = [
        {
            "elder": elder,
            "balance_fen": services.balance_of(elder.id),
            "movements": services.history(elder.id),
            "timezone": elder.community.district.effective_timezone,
        }
        for elder in elders
    ]
    return render_template("balances/balances.html", accounts=accounts)
