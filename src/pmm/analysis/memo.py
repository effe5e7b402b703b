"""Small in-process caches of derived results, keyed by what they are derived from.

Every key holds the identity of its inputs as read from the database in the same request (a
release's id and creation time, a cycle's data digest), never a time to live: a key whose inputs
changed is simply never asked for again, so each worker process of the platform stays correct
on its own while sharing nothing with the others. Cached values are shared between requests:
callers must not modify them in place (pandas operations that return new frames are fine).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")


class Memo(Generic[T]):
    """A least-recently-used map from key to value, safe for the web's worker threads: threads
    missing the same key at once compute it once (the others wait for it: many readers arriving
    together right after a release do not each compute the same page)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()
        self._making = Flights()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        found = self._find(key)
        if found is not None:
            return found[0]
        with self._making.of(key):  # per key: other keys need not wait
            found = self._find(key)  # made by the thread this one waited for
            if found is not None:
                return found[0]
            value = make()
            with self._lock:
                self._items[key] = value
                self._items.move_to_end(key)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return value

    def _find(self, key: Hashable) -> tuple[T] | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return (self._items[key],)
        return None

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class Flights:
    """One lock per key being made, dropped when no thread holds or waits for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locks: dict[Hashable, list] = {}  # key: [lock, threads holding or waiting]

    @contextmanager
    def of(self, key: Hashable) -> Iterator[None]:
        with self._lock:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1] -= 1
                if not entry[1]:
                    del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


def database_of(session: Session) -> str:
    """The database a session reads (part of every key: one process may open several)."""
    return session.get_bind().url.render_as_string(hide_password=False)
