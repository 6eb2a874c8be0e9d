"""The public pages, open to everyone without a login: the meal places of each district
(kind, address, phone, opening hours, dine-in and delivery), each place's published menus
for the week with their prices, and the subsidy policy in words. Large type for a phone;
nobody's personal data."""

from babel.lists import format_list
from flask import render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mealservice.core.db import db
from mealservice.core.i18n import yuan
from mealservice.oversight.pages import bp
from mealservice.oversight.services import publication
from mealservice.places.models import District
from mealservice.policy import pricing

# The groups a tier may name (elders.models.Category), as the sentence "elders who are …"
# ends in English and "…老人" in Chinese.
CATEGORY_WORDS = {
    "extreme_poverty": _l("in extreme poverty support"),
    "minimum_allowance": _l("on the minimum living allowance"),
    "low_income": _l("on a low income"),
    "disabled": _l("unable to look after themselves"),
    "living_alone": _l("living alone"),
    "empty_nest": _l("living without their children nearby"),
    "left_behind": _l("left behind in the countryside"),
    "handicapped": _l("living with a disability"),
    "family_planning_special": _l("of a family-planning special family"),
}

TIER_MEALS = {
    "any": _l("each meal"),
    "dine_in": _l("each meal eaten at the place"),
    "delivery": _l("each meal delivered home"),
}


def _who(tier: pricing.Tier) -> str:
    groups = None
    if tier.categories:
        # In the order of the list above, which is the registry's; unknown codes last.
        codes = [code for code in CATEGORY_WORDS if code in tier.categories]
        codes += sorted(tier.categories - set(CATEGORY_WORDS))
        words = [str(CATEGORY_WORDS.get(code, code)) for code in codes]
        groups = format_list(words, style="or", locale=str(get_locale()))
    if tier.min_age is not None and groups:
        return _("Elders aged %(age)s or over who are %(groups)s", age=tier.min_age, groups=groups)
    if tier.min_age is not None:
        return _("Elders aged %(age)s or over", age=tier.min_age)
    if groups:
        return _("Elders who are %(groups)s", groups=groups)
    return _("Every elder")


def tier_sentence(tier: pricing.Tier) -> str:
    """One tier in words: "60岁以上老人：堂食每餐补贴 ¥2.00"."""
    return _(
        "%(who)s: %(amount)s off %(meal)s",
        who=_who(tier),
        amount=yuan(tier.amount_fen),
        meal=TIER_MEALS.get(tier.channel, tier.channel),
    )


def policy_rules(policy: pricing.Policy) -> list[str]:
    """The policy's other rules a family must know before they come, in words."""
    rules = [_("Only the largest subsidy that applies is given; subsidies are not added up.")]
    if policy.max_subsidized_per_day is not None:
        rules.append(_("At most %(n)s subsidised meals a day.", n=policy.max_subsidized_per_day))
    if policy.delivery_subsidy_fen:
        rules.append(
            _(
                "Meals delivered home: the subsidy also pays up to %(amount)s of the delivery fee.",
                amount=yuan(policy.delivery_subsidy_fen),
            )
        )
    if policy.no_subsidy_on_holidays:
        rules.append(_("On statutory holidays there is no subsidy: meals are at full price."))
    rules.append(_("Elders registered in another district pay the full price."))
    return rules


# What the pages' shared policy panel calls.
POLICY_WORDS = {"tier_sentence": tier_sentence, "policy_rules": policy_rules}


@bp.get("/public")
def public_places():
    """Every district's meal places and its subsidy policy in words; `?district=` for one."""
    district = (request.args.get("district") or "").strip()[:12] or None
    return render_template(
        "oversight/public_places.html",
        published=publication.published_districts(district),
        districts=db.session.scalars(select(District).order_by(District.code)).all(),
        district=district,
        **POLICY_WORDS,
    )


@bp.get("/public/places/<id:canteen_id>")
def public_place(canteen_id: int):
    """One meal place: how to reach it and its published menus for the week, with prices."""
    return render_template(
        "oversight/public_place.html",
        place=publication.published_place(canteen_id),
        **POLICY_WORDS,
    )
