"""Whether a meal suits an elder: the one rule that matches the elder's allergies and
diet needs against an option's dishes and tags, for the counter's answer and the pages
where a meal is chosen.

A menu option is a set meal: a few dishes by name and the kitchen's tags for the whole
option. What the kitchen means by them, and so what clashes:

- **An allergy** (a food a doctor named: 花生, 海鲜, 鸡蛋) clashes with every dish whose
  name says it holds that food: the word itself (花生米 for 花生), or a word that in a
  Chinese kitchen means it (虾仁 is 海鲜, 宫保 dishes are cooked with peanuts; see
  ALLERGEN_SIGNS). An option the kitchen tagged with the food ("花生", "含花生") clashes
  as a whole when no dish's name gives it away. Allergies err on the side of warning: a
  needless warning costs the cashier a glance, a missed one costs the elder.
- **A diet need** (soft, low_salt, low_sugar: DietNeed, named as the kitchen tags are)
  clashes with an option that does not carry the need's tag. The tags are positive: the
  menu page asks the kitchen of every option whether it is soft, low in salt, low in
  sugar, so an unticked box is an answer ("not cooked that way"), not silence.

The rule reads only what the elder row and the option row already hold, so judging a
served meal or a page of options costs no query.
"""

from collections.abc import Iterable
from dataclasses import dataclass

ALLERGY = "allergy"
DIET_NEED = "diet_need"

# Words in a dish's name that mean it holds the food an elder is allergic to, beyond the
# food's own name. Kept small and certain: a kitchen tags what names cannot tell.
ALLERGEN_SIGNS = {
    "海鲜": ("虾", "蟹", "贝", "蛤", "蚝", "蚌", "螺", "鱿鱼", "墨鱼", "章鱼", "海参", "海蜇",
           "带鱼", "黄鱼", "鲳鱼"),
    "花生": ("宫保",),
    "鸡蛋": ("蛋",),
    "蛋": ("蛋",),
    "牛奶": ("奶",),
    "奶": ("奶",),
}  # fmt: skip


@dataclass(frozen=True)
class DietClash:
    """One reason an option does not suit the elder. `dish` is the dish that clashes, or
    None when the option as a whole does (a missing diet tag, an allergen tag)."""

    option_id: int
    option_name: str
    dish: str | None
    reason: str  # ALLERGY or DIET_NEED
    allergy: str | None = None
    diet_need: str | None = None


def diet_clashes(elder, options: Iterable) -> list[DietClash]:
    """Every clash between the elder's allergies and diet needs and the options (a menu's,
    or the one a meal was served), in the options' order, allergies first within one."""
    allergies = [a for a in (_allergen(word) for word in elder.allergies or ()) if a]
    needs = list(elder.diet_needs or ())
    clashes = []
    for option in options:
        for allergy in allergies:
            clashes += _allergy_clashes(option, allergy)
        tags = set(option.tags or ())
        clashes += [
            DietClash(option.id, option.name, None, DIET_NEED, diet_need=need)
            for need in needs
            if need not in tags
        ]
    return clashes


def clashes_by_option(elder, options: Iterable) -> dict[int, list[DietClash]]:
    """diet_clashes grouped by option id, for pages listing options; options that suit
    the elder are left out."""
    grouped: dict[int, list[DietClash]] = {}
    for clash in diet_clashes(elder, options):
        grouped.setdefault(clash.option_id, []).append(clash)
    return grouped


def _allergen(word: str) -> str:
    # People write "花生过敏" as often as "花生".
    word = word.strip()
    return word.removesuffix("过敏").strip() or word


def _allergy_clashes(option, allergy: str) -> list[DietClash]:
    signs = (allergy, *ALLERGEN_SIGNS.get(allergy, ()))
    dishes = [dish for dish in option.dishes or () if any(sign in dish for sign in signs)]
    if not dishes and any(allergy in tag for tag in option.tags or ()):
        dishes = [None]
    return [DietClash(option.id, option.name, dish, ALLERGY, allergy=allergy) for dish in dishes]
