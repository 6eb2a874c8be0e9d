"""The diet clash rule, on plain values: no database, no HTTP."""

from types import SimpleNamespace

from mealservice.menus.diet import ALLERGY, DIET_NEED, DietClash, clashes_by_option, diet_clashes


def elder(allergies=(), diet_needs=()):
    return SimpleNamespace(allergies=list(allergies), diet_needs=list(diet_needs))


def option(id=1, name="营养套餐", dishes=(), tags=()):
    return SimpleNamespace(id=id, name=name, dishes=list(dishes), tags=list(tags))


NUTRITIOUS = option(1, "营养套餐", ["宫保鸡丁", "香菇青菜", "米饭"], ["low_salt"])
SOFT = option(2, "软食套餐", ["虾仁蒸蛋", "山药粥"], ["soft", "low_sugar"])


def test_an_elder_without_allergies_or_needs_clashes_with_nothing():
    assert diet_clashes(elder(), [NUTRITIOUS, SOFT]) == []


def test_an_allergy_clashes_with_the_dish_that_names_the_food():
    peanut_rice = option(dishes=["花生米", "青菜"])
    assert diet_clashes(elder(allergies=["花生"]), [peanut_rice]) == [
        DietClash(1, "营养套餐", "花生米", ALLERGY, allergy="花生")
    ]


def test_an_allergy_clashes_with_a_dish_a_kitchen_knows_holds_the_food():
    assert diet_clashes(elder(allergies=["花生"]), [NUTRITIOUS, SOFT]) == [
        DietClash(1, "营养套餐", "宫保鸡丁", ALLERGY, allergy="花生")
    ]
    assert diet_clashes(elder(allergies=["海鲜"]), [NUTRITIOUS, SOFT]) == [
        DietClash(2, "软食套餐", "虾仁蒸蛋", ALLERGY, allergy="海鲜")
    ]


def test_an_allergy_written_with_the_word_allergy_is_the_food():
    [clash] = diet_clashes(elder(allergies=[" 花生过敏 "]), [NUTRITIOUS])
    assert (clash.dish, clash.allergy) == ("宫保鸡丁", "花生")


def test_an_option_tagged_with_the_allergen_clashes_as_a_whole_when_no_dish_names_it():
    tagged = option(dishes=["酱爆鸡丁"], tags=["含花生"])
    assert diet_clashes(elder(allergies=["花生"]), [tagged]) == [
        DietClash(1, "营养套餐", None, ALLERGY, allergy="花生")
    ]


def test_an_allergy_to_a_food_no_dish_holds_clashes_with_nothing():
    assert diet_clashes(elder(allergies=["芒果"]), [NUTRITIOUS, SOFT]) == []


def test_a_diet_need_clashes_with_an_option_not_tagged_for_it():
    assert diet_clashes(elder(diet_needs=["low_sugar"]), [NUTRITIOUS, SOFT]) == [
        DietClash(1, "营养套餐", None, DIET_NEED, diet_need="low_sugar")
    ]
    assert diet_clashes(elder(diet_needs=["soft", "low_sugar"]), [SOFT]) == []


def test_an_untagged_option_suits_no_diet_need():
    plain = option(dishes=["红烧肉"])
    needs = [
        clash.diet_need for clash in diet_clashes(elder(diet_needs=["soft", "low_salt"]), [plain])
    ]
    assert needs == ["soft", "low_salt"]


def test_clashes_are_grouped_by_option_and_suitable_options_are_left_out():
    grouped = clashes_by_option(elder(["海鲜"], ["low_salt"]), [NUTRITIOUS, SOFT])
    assert list(grouped) == [2]
    assert [(c.reason, c.dish) for c in grouped[2]] == [
        (ALLERGY, "虾仁蒸蛋"),
        (DIET_NEED, None),
    ]


def test_missing_allergies_and_needs_read_as_none():
    assert diet_clashes(SimpleNamespace(allergies=None, diet_needs=None), [NUTRITIOUS]) == []
