"""`pmm.analysis.memo.Memo`: threads asking for the same missing key at once compute it once."""

from __future__ import annotations

import threading
import time

import pytest

from pmm.analysis.memo import Memo


def test_threads_missing_the_same_key_compute_it_once() -> None:
    memo: Memo[int] = Memo(8)
    calls: list[str] = []
    start = threading.Barrier(6)

    def make(key: str) -> int:
        calls.append(key)
        time.sleep(0.2)  # long enough for every other thread to arrive and wait
        return len(key)

    results: list[int] = []

    def ask(key: str) -> None:
        start.wait()
        results.append(memo.get(key, lambda: make(key)))

    threads = [threading.Thread(target=ask, args=(k,)) for k in ["page"] * 5 + ["other"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(calls) == ["other", "page"]  # once per key, the other key not held up
    assert sorted(results) == [4, 4, 4, 4, 4, 5]
    assert len(memo._making) == 0  # no lock left behind


def test_a_failed_computation_is_not_kept_and_the_next_reader_computes_again() -> None:
    memo: Memo[int] = Memo(8)

    def fail() -> int:
        raise ValueError("no data")

    with pytest.raises(ValueError):
        memo.get("k", fail)
    assert memo.get("k", lambda: 7) == 7
    assert len(memo) == 1 and len(memo._making) == 0
