"""The scheduler's process puts its startup heap out of the collector's sight."""

import gc

from mealservice.core import scheduler


def test_settling_the_heap_freezes_what_the_process_holds():
    try:
        scheduler.settle_heap()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_the_scheduler_settles_its_heap_before_its_first_run(app, monkeypatch):
    events = []

    class Started:
        running = False

        def start(self):
            events.append(("start", gc.get_freeze_count() > 0))

        def add_listener(self, *_):
            pass

    monkeypatch.setattr(scheduler, "build_scheduler", lambda *_: Started())
    # The test process keeps its own SIGTERM handling.
    monkeypatch.setattr(scheduler.signal, "signal", lambda *_: None)
    try:
        scheduler.run(app)
    finally:
        gc.unfreeze()
    assert events == [("start", True)]
