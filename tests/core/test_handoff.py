"""A value a page kept for the requests it links: served for the same key while young."""

from mealservice.core.handoff import Handoff


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_kept_value_is_served_for_its_token_and_key_only():
    handoff = Handoff()
    token = handoff.keep(("a", 1), {"figure": 3})
    assert handoff.take(token, ("a", 1)) == {"figure": 3}
    assert handoff.take(token, ("a", 1)) == {"figure": 3}  # several requests reuse it
    assert handoff.take(token, ("a", 2)) is None
    assert handoff.take("unknown", ("a", 1)) is None
    assert handoff.take(None, ("a", 1)) is None
    assert handoff.keep(("a", 1), 4) != token


def test_a_value_older_than_its_seconds_is_not_served_and_makes_room():
    clock = Clock()
    handoff = Handoff(seconds=60, clock=clock)
    token = handoff.keep("key", 1)
    clock.now += 60
    assert handoff.take(token, "key") == 1
    clock.now += 1
    assert handoff.take(token, "key") is None
    handoff.keep("other", 2)
    assert token not in handoff.entries


def test_the_oldest_values_make_room_for_new_ones():
    handoff = Handoff(size=2)
    first, second, third = (handoff.keep("key", n) for n in range(3))
    assert handoff.take(first, "key") is None
    assert [handoff.take(second, "key"), handoff.take(third, "key")] == [1, 2]
