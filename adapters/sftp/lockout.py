"""Wrong passwords, counted per (client address, account), and the lockout that follows too many.

After `max_failures` failures within `window_seconds`, the pair is locked for `window_seconds`:
its password attempts are refused without being checked. A success clears the count. The counts
live in this process only: each SFTP listener keeps its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

Key = tuple[str, str]  # (client address, username)


@dataclass
class _Failures:
    times: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class LoginLockout:
    def __init__(self, max_failures: int, window_seconds: float):
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self._failures: dict[Key, _Failures] = {}

    def seconds_left(self, address: str, username: str) -> float:
        """How long this pair stays locked out; 0 when it may try a password."""
        entry = self._failures.get((address, username))
        return max(0.0, entry.locked_until - time.monotonic()) if entry else 0.0

    def failed(self, address: str, username: str) -> int:
        """Count a wrong password; returns the failures within the window (locked at `max_failures`)."""
        now = time.monotonic()
        self._forget(now)
        entry = self._failures.setdefault((address, username), _Failures())
        entry.times.append(now)
        if len(entry.times) >= self.max_failures:
            entry.locked_until = now + self.window_seconds
        return len(entry.times)

    def succeeded(self, address: str, username: str) -> None:
        self._failures.pop((address, username), None)

    def _forget(self, now: float) -> None:
        """Drop failures older than the window, and pairs with nothing left to remember."""
        for key, entry in list(self._failures.items()):
            entry.times = [t for t in entry.times if t > now - self.window_seconds]
            if not entry.times and entry.locked_until <= now:
                del self._failures[key]
