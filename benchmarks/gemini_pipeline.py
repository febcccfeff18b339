"""Hosted pipeline throughput: decode + encode + request, through the real SDK against the
local fake Gemini server (tests/fake_gemini.py), with an instant server and interval 0,
and with 1.5 s of fake latency per request at concurrency 1, 4 and 8.
"""

from __future__ import annotations

import sys
import time

from _audio import ROOT, tracks

sys.path.insert(0, ROOT)

from beetsplug.sonic.backends import get_backend  # noqa: E402
from beetsplug.sonic.gemini import GeminiSettings  # noqa: E402
from beetsplug.sonic.runner import outcomes  # noqa: E402
from tests.fake_gemini import FakeGemini  # noqa: E402


def run(paths, *, latency: float, concurrency: int, batch: int, workers: int, segment: float) -> float:
    fake = FakeGemini(latency=latency, cheap=True)
    try:
        settings = GeminiSettings(api_key="bench", base_url=fake.url, min_interval=0.0,
                                  concurrency=concurrency, batch_size=batch, timeout=60)
        backend = get_backend("gemini", segment=segment, positions=(0.5,), gemini=settings)
        tasks = [(i, p.encode()) for i, p in enumerate(paths)]
        t = time.perf_counter()
        n = sum(1 for out in outcomes(backend, tasks, workers, {}) if out.error is None)
        assert n == len(paths), f"{len(paths) - n} failed"
        return n / (time.perf_counter() - t)
    finally:
        fake.close()


def main() -> None:
    paths = tracks("throughput", per_family=3, seconds=300, formats=("mp3",))
    paths = (paths * 3)[:32]
    print(f"{len(paths)} five-minute MP3s, 80 s midpoint clips, 2 prepare threads")
    for latency, conc, batch in ((0.0, 1, 4), (1.5, 1, 4), (1.5, 4, 4), (1.5, 8, 4), (1.5, 8, 1)):
        rate = run(paths, latency=latency, concurrency=conc, batch=batch, workers=2, segment=80)
        print(f"  latency {latency:3.1f} s, concurrency {conc}, {batch} track(s)/request: "
              f"{rate:5.2f} tracks/s", flush=True)


if __name__ == "__main__":
    main()
