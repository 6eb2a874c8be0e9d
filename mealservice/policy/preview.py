"""What a new version of a district's policy would change, before it is created.

The district's recent meals (sent up by the packages that record them, through a signal:
policy knows nothing of meals) are each priced twice by the one pricing function: under
the versions stored today, and as if the proposed version had been in force that day. The
difference is told per elder and per tier of the proposed version: how many elders would
get more subsidy, less, or the same. Nothing is written."""

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from mealservice.places.models import District
from mealservice.policy import pricing
from mealservice.policy.services import pricing_policies
from mealservice.policy.signals import preview_samples_wanted

# The sample: the meals of the last four weeks, the newest first, at most this many.
SAMPLE_DAYS = 28
SAMPLE_MEALS = 2000

NO_TIER = ""  # the row of meals no tier of the proposed version pays for


@dataclass(frozen=True)
class Sample:
    """One recorded meal of an elder, as the pricing function sees it."""

    elder_id: int
    elder: pricing.ElderFacts
    meal: pricing.MealFacts


@dataclass
class TierChange:
    tier: str  # a tier of the proposed version, or NO_TIER
    meals: int = 0
    subsidy_before_fen: int = 0
    subsidy_after_fen: int = 0
    elders_up: int = 0
    elders_down: int = 0
    elders_same: int = 0


@dataclass
class Preview:
    since: date
    meals: int = 0
    elders: int = 0
    elders_up: int = 0
    elders_down: int = 0
    elders_same: int = 0
    subsidy_before_fen: int = 0
    subsidy_after_fen: int = 0
    tiers: list[TierChange] = field(default_factory=list)


def proposed_policy(district: District, data: dict) -> pricing.Policy:
    """A version's input (PolicyIn, loaded) as the pricing function takes it, unsaved."""
    return pricing.Policy(
        version=None,
        district_code=district.code,
        effective_from=data["effective_from"],
        no_subsidy_on_holidays=data["no_subsidy_on_holidays"],
        max_meals_per_slot=data["max_meals_per_slot"],
        max_subsidized_per_day=data.get("max_subsidized_per_day"),
        refuse_beyond_limit=data["refuse_beyond_limit"],
        delivery_subsidy_fen=data["delivery_subsidy_fen"],
        tiers=tuple(
            pricing.Tier(
                name=tier["name"],
                amount_fen=tier["amount_fen"],
                channel=tier["channel"],
                min_age=tier.get("min_age"),
                categories=frozenset(tier["categories"]) if tier.get("categories") else None,
            )
            for tier in data["tiers"]
        ),
    )


def recent_samples(district: District, today: date) -> tuple[date, list[Sample]]:
    since = today - timedelta(days=SAMPLE_DAYS)
    samples: list[Sample] = []
    for _receiver, found in preview_samples_wanted.send(district, since=since, limit=SAMPLE_MEALS):
        samples.extend(found or ())
    return since, samples


def preview_version(district: District, data: dict, today: date) -> Preview:
    since, samples = recent_samples(district, today)
    return compare(pricing_policies(district.code), proposed_policy(district, data), samples, since)


def subsidy_of(price: pricing.Price) -> int:
    return price.subsidy_fen + price.delivery_subsidy_fen


def compare(
    stored: list[pricing.Policy],
    proposed: pricing.Policy,
    samples: list[Sample],
    since: date,
) -> Preview:
    """Each sample priced under the stored versions and under the proposed one as if in
    force on the meal's own date. Each meal is priced as the elder's only meal of its slot
    and day: the preview compares the rules, not the order in which meals were taken."""
    # (elder, proposed tier) -> [meals, before, after]
    per_elder_tier: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    per_elder: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for sample in samples:
        meal = replace(sample.meal, meals_in_slot=0, subsidized_today=0)
        before = pricing.price_meal(stored, sample.elder, meal)
        after = pricing.price_meal(
            [replace(proposed, effective_from=meal.local_date)], sample.elder, meal
        )
        row = per_elder_tier[(sample.elder_id, after.tier or NO_TIER)]
        row[0] += 1
        row[1] += subsidy_of(before)
        row[2] += subsidy_of(after)
        per_elder[sample.elder_id][0] += subsidy_of(before)
        per_elder[sample.elder_id][1] += subsidy_of(after)

    order = [tier.name for tier in proposed.tiers] + [NO_TIER]
    tiers = {name: TierChange(name) for name in order}
    for (_elder_id, tier), (meals, before, after) in per_elder_tier.items():
        change = tiers[tier]
        change.meals += meals
        change.subsidy_before_fen += before
        change.subsidy_after_fen += after
        _count(change, before, after)
    preview = Preview(since=since, meals=len(samples), elders=len(per_elder))
    for before, after in per_elder.values():
        preview.subsidy_before_fen += before
        preview.subsidy_after_fen += after
        _count(preview, before, after)
    preview.tiers = [tiers[name] for name in order if tiers[name].meals or name != NO_TIER]
    return preview


def _count(counts, before: int, after: int) -> None:
    if after > before:
        counts.elders_up += 1
    elif after < before:
        counts.elders_down += 1
    else:
        counts.elders_same += 1
