"""What a long restore shows and how it stops: a progress line with counts and an ETA on a
terminal, a bounded write rate, and Ctrl-C honoured between two writes (never in the middle of
one), so the same command can resume and write nothing twice."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TextIO, TypeVar

# Samples of each kind of change a dry run names.
SAMPLES = 5
T = TypeVar("T")


def samples(found: Sequence[T], show: Callable[[T], str] = str) -> str:
    """` (e.g. a, b, ...)`: the first SAMPLES of `found`, shown; nothing if there are none."""
    if not found:
        return ""
    listed = ", ".join(show(f) for f in found[:SAMPLES])
    return f" (e.g. {listed}{', ...' if len(found) > SAMPLES else ''})"


def what_happens_to_created(apply: bool, include_created: bool) -> str:
    """What a restore does with what was created since the point."""
    if not include_created:
        return "leaves alone"
    return "removes" if apply else "would remove"


class Progress:
    """`label: done/total (pct) ETA h:mm:ss` rewritten in place on a terminal; silent
    elsewhere (the summary says what was done)."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label, self.total, self.done = label, total, 0
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())

    def step(self, count: int = 1) -> None:
        self.done += count
        if self.live:
            self.stream.write("\r" + self.line())
            self.stream.flush()

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        percent = 100 * self.done // self.total if self.total else 100
        eta = time.strftime("%H:%M:%S", time.gmtime(left))
        return f"{self.label}: {self.done}/{self.total} ({percent}%) ETA {eta}   "

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()


class Pace:
    """At most `rate` writes a second (None: unbounded)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next = time.monotonic()

    def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if now < self.next:
            time.sleep(self.next - now)
        self.next = max(now, self.next) + self.interval


class Stop:
    """Whether Ctrl-C (or SIGTERM) was pressed: the writing loop asks between two writes."""

    requested = False


@contextmanager
def stop_between_writes() -> Iterator[Stop]:
    """SIGINT and SIGTERM only ask the loop to stop after the write under way."""
    stop = Stop()

    def ask(signum: int, frame: FrameType | None) -> None:
        stop.requested = True

    previous = {sig: signal.signal(sig, ask) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
