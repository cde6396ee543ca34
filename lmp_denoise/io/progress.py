"""Progress of long work on stderr: a tqdm bar on a terminal, plain lines in a batch log.

A bar that redraws itself with carriage returns turns a batch log into one long line; so when
stderr is not a terminal, each report becomes one plain line instead, at most one every
``every`` seconds (and always the last).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable

from tqdm import tqdm


class Progress:
    def __init__(self, desc: str, unit: str, total: int | None = None, initial: int = 0, every: float = 0.0) -> None:
        self.desc, self.unit, self.total, self.initial, self.every = desc, unit, total, initial, every
        self.bar: tqdm | None = None
        self.began = self.last = time.perf_counter()

    def wrap(self, items: Iterable) -> Iterable:
        if sys.stderr.isatty():
            self.bar = tqdm(items, desc=self.desc, unit=self.unit, total=self.total, initial=self.initial)
            return self.bar
        return items

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.began

    def report(self, postfix: str, line: Callable[[], str], last: bool = False) -> None:
        """``postfix`` on the bar; else ``line()`` (built only when written) as one line of the log."""
        if self.bar is not None:
            self.bar.set_postfix_str(postfix, refresh=False)
            return
        now = time.perf_counter()
        if now - self.last < self.every and not last:
            return
        self.last = now
        print(f"{self.desc}: {line()}", file=sys.stderr, flush=True)
