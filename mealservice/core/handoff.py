"""A value a page computed, kept a short while by this worker for the requests the page
itself causes (the images it links, say), so they reuse the page's work instead of each
doing it again.

The page keeps its value under a new random token and puts the token in the URLs it
links. A request that brings the token back gets the value only if it asks for the same
thing (`key`) and the value is younger than `seconds`; otherwise (another worker, an old,
unknown or forged token, a value pushed out) it gets None and computes for itself. So a
token only ever saves work: it never widens what a request may see (the request checks
its access first, and its key must match), and what it serves is never older than the
page that linked it, give or take `seconds`. The next page computes afresh."""

import secrets
import threading
import time
from collections.abc import Callable, Hashable


class Handoff:
    def __init__(
        self, seconds: float = 60, size: int = 256, clock: Callable[[], float] = time.monotonic
    ):
        self.seconds = seconds
        self.size = size
        self.clock = clock
        # token -> (when kept, key, value), oldest first.
        self.entries: dict[str, tuple[float, Hashable, object]] = {}
        self.lock = threading.Lock()

    def keep(self, key: Hashable, value) -> str:
        """Keeps `value` (plain data: it outlives the request) and returns its token."""
        token = secrets.token_urlsafe(12)
        now = self.clock()
        with self.lock:
            for old in [
                t for t, (kept, _k, _v) in self.entries.items() if now - kept > self.seconds
            ]:
                del self.entries[old]
            while len(self.entries) >= self.size:
                del self.entries[next(iter(self.entries))]
            self.entries[token] = (now, key, value)
        return token

    def take(self, token: str | None, key: Hashable):
        """The value kept under `token` for `key`, or None when there is none to reuse."""
        entry = self.entries.get(token) if token else None
        if entry is None:
            return None
        kept, kept_key, value = entry
        if kept_key != key or self.clock() - kept > self.seconds:
            return None
        return value
