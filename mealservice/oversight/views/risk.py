from mealservice.claims import sampling, services
from mealservice.core.auth import canteen_scope, current_user
from mealservice.core.periods import previous_month
from mealservice.oversight.schemas.risk import (
    DistrictRiskOut,
    OutcomeIn,
    RiskQuery,
    SampleIn,
    SampleList,
    SampleOut,
)
from mealservice.oversight.services.risk import district_risk
from mealservice.oversight.views import blp
from mealservice.places.services import get_district


@blp.get("/districts/<code:code>/risk")
@blp.requires("risk.read", 422, scope=get_district)
@blp.arguments(RiskQuery, location="query")
@blp.response(200, DistrictRiskOut)
def district_risk_scores(query, code):
    """Each canteen's risk over the three months ending with `month` (default: last
    month): 100 × Σ(weight × meals named by each anomaly) / Σ subsidized meals, from the
    latest revision of each month's claim; highest first. A manager sees their canteen."""
    user = current_user()
    district = get_district(user, code)
    month = query.get("month") or previous_month(district.local_today())
    return district_risk(district.code, month, canteen_scope(user))


@blp.post("/claims/<id:claim_id>/samples")
@blp.requires("samples.write", 409, 422, scope=services.get_claim)
@blp.arguments(SampleIn)
@blp.response(201, SampleList)
def draw_sample(data, claim_id):
    """Draw `size` lines (default 10) of an undecided claim at random for a phone check,
    among the lines not drawn before; fewer when fewer are left. 409 `claim_decided`."""
    user = current_user()
    claim = services.get_claim(user, claim_id)
    checks = sampling.draw_sample(user, claim, data["size"])
    return {"items": sampling.samples(claim, [check.id for check in checks]) if checks else []}


@blp.get("/claims/<id:claim_id>/samples")
@blp.requires("samples.read", scope=services.get_claim)
@blp.response(200, SampleList)
def claim_samples(claim_id):
    """The claim's drawn lines, the elder masked, with what each call found."""
    return {"items": sampling.samples(services.get_claim(current_user(), claim_id))}


@blp.post("/samples/<id:sample_id>/outcome")
@blp.requires("samples.write", 409, 422, scope=sampling.get_sample)
@blp.arguments(OutcomeIn)
@blp.response(200, SampleOut)
def record_sample_outcome(data, sample_id):
    """Record what the call found, once (409 `sample_recorded`). `failed` adds a
    `sample_failed` anomaly to the claim, which must be undecided (409 `claim_decided`)."""
    user = current_user()
    check = sampling.record_outcome(
        user, sampling.get_sample(user, sample_id), data["outcome"], data.get("note")
    )
    return sampling.sample_item(check)
