from flask.views import MethodView

from mealservice.balances import services
from mealservice.balances.schemas import BalanceOut, PayoutIn, TopUpIn, TopUpOut
from mealservice.core.api import Blueprint
from mealservice.core.auth import current_user
from mealservice.core.idempotency import HEADER_DOC, idempotent
from mealservice.elders import cards
from mealservice.elders.services import get_elder
from mealservice.places.services import get_canteen

blp = Blueprint("balances", __name__, url_prefix="/api/v1", description="Prepaid meal balances")


@blp.route("/canteens/<id:canteen_id>/top-ups")
class TopUps(MethodView):
    @blp.requires("balances.top_up", 409, 422, scope=get_canteen)
    @blp.doc(parameters=[HEADER_DOC])
    @idempotent
    @blp.arguments(TopUpIn)
    @blp.response(201, TopUpOut)
    def post(self, data, canteen_id):
        """Money paid into an elder's meal balance at the counter (cash or an e-payment
        reference), the elder named by card or by the counter look-up."""
        user = current_user()
        canteen = get_canteen(user, canteen_id)
        elder = cards.elder_shown(canteen.district, data)
        return services.top_up(
            user, canteen, elder, data["amount_fen"], data["method"], data.get("reference")
        )


@blp.route("/canteens/<id:canteen_id>/payouts")
class Payouts(MethodView):
    @blp.requires("balances.top_up", 409, 422, scope=get_canteen)
    @blp.doc(parameters=[HEADER_DOC])
    @idempotent
    @blp.arguments(PayoutIn)
    @blp.response(201, TopUpOut)
    def post(self, data, canteen_id):
        """A deceased elder's remaining balance paid out to the family at the counter, the
        elder named by card or by the counter look-up: 409 `elder_not_deceased` for a
        living elder, `nothing_owed` for an empty balance."""
        user = current_user()
        canteen = get_canteen(user, canteen_id)
        elder = cards.elder_shown(canteen.district, data)
        return services.pay_out(user, canteen, elder, data["method"], data.get("reference"))


def _elder_scope(user, elder_id):
    get_elder(user, elder_id)


@blp.get("/elders/<id:elder_id>/balance")
@blp.requires("balances.read", scope=_elder_scope)
@blp.response(200, BalanceOut)
def balance(elder_id):
    """The elder's meal balance and its latest movements."""
    elder = get_elder(current_user(), elder_id)
    return {
        "elder_id": elder.id,
        "balance_fen": services.balance_of(elder.id),
        "movements": services.history(elder.id),
    }
