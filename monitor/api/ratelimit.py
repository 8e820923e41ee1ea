"""Requests per minute per token: fixed one-minute windows, in Redis when configured, else in memory."""

from __future__ import annotations

import threading
import time


class MemoryCounter:
    """Per-process counters; enough for one API process (the embedded mode)."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def incr(self, key: str, window: int) -> int:
        with self._lock:
            if len(self._counts) > 10_000:  # forget old windows
                self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
            seen, n = self._counts.get(key, (window, 0))
            n = n + 1 if seen == window else 1
            self._counts[key] = (window, n)
            return n


class RedisCounter:
    """Counters shared by every API process."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)

    def incr(self, key: str, window: int) -> int:
        name = f"vigil:rate:{key}:{window}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, 120)
        return int(pipe.execute()[0])


class RateLimiter:
    """allow(key) is False once `per_minute` requests with that key were seen this minute."""

    def __init__(self, per_minute: int, redis_url: str | None = None) -> None:
        self.per_minute = per_minute
        self._counter = RedisCounter(redis_url) if redis_url else MemoryCounter()

    def allow(self, key: str) -> bool:
        if self.per_minute <= 0:
            return True
        return self._counter.incr(key, int(time.time() // 60)) <= self.per_minute
