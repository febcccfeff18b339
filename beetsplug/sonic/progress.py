"""A one-line progress bar with rate and ETA, drawn on a terminal only."""

from __future__ import annotations

import sys
import time


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """``with Progress(total, "embed") as bar: bar.advance()``.

    Draws to ``stream`` (stderr) at most ``fps`` times a second when it is a
    terminal; otherwise stays silent, so logs and pipes get no control codes.
    """

    def __init__(self, total: int, label: str, *, stream=None, width: int = 28, fps: float = 8.0,
                 enabled: bool | None = None):
        self.total = max(int(total), 0)
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.done = 0
        self.failed = 0
        self.start = time.monotonic()
        self._last = 0.0
        self._interval = 1.0 / fps
        self.enabled = self.stream.isatty() if enabled is None else enabled

    def __enter__(self) -> "Progress":
        self.draw(force=True)
        return self

    def __exit__(self, *exc) -> None:
        self.draw(force=True)
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()

    def advance(self, n: int = 1, *, failed: bool = False) -> None:
        self.done += n
        self.failed += int(failed)
        self.draw()

    def line(self) -> str:
        elapsed = time.monotonic() - self.start
        frac = self.done / self.total if self.total else 1.0
        filled = int(round(frac * self.width))
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        bar = "#" * filled + "-" * (self.width - filled)
        fails = f"  {self.failed} failed" if self.failed else ""
        return (f"{self.label} {frac:4.0%} [{bar}] {self.done}/{self.total}  "
                f"{rate:.1f}/s  ETA {_clock(eta)}{fails}")

    def draw(self, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self._interval and self.done < self.total:
            return
        self._last = now
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()
