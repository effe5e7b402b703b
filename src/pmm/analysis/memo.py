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
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")


class Memo(Generic[T]):
    """A least-recently-used map from key to value, safe for the web's worker threads (two
    threads missing the same key may both compute it; the values are equal)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()  # outside the lock: other keys need not wait
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def database_of(session: Session) -> str:
    """The database a session reads (part of every key: one process may open several)."""
    return session.get_bind().url.render_as_string(hide_password=False)
