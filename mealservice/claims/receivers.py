"""Claims listen here to the packages below them: a change that bears on the meals of an
undecided claim has the claim checked again, whichever path made the change."""

from mealservice.claims.services import recheck_undecided
from mealservice.elders.signals import elder_status_changed
from mealservice.policy.signals import holiday_changed


@elder_status_changed.connect
def recheck_after_status_change(_elder, since, **_) -> None:
    recheck_undecided(since=since)


@holiday_changed.connect
def recheck_after_holiday_change(_sender, day, **_) -> None:
    # The month's holiday_subsidy may change.
    recheck_undecided(on=day)
