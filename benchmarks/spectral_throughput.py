"""Spectral backend throughput on generated 5-minute MP3s, decode included.

One core: the process is pinned to CPU 0 and BLAS to one thread. Then both
cores through the indexer's worker pool (what `beet embed -w 2` does).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import time  # noqa: E402

from _audio import tracks  # noqa: E402

from beetsplug.sonic.audio import ENDING_SEARCH, load_ending, load_segments  # noqa: E402
from beetsplug.sonic.backends import get_backend  # noqa: E402
from beetsplug.sonic.dj import ending  # noqa: E402
from beetsplug.sonic.dj.estimate import SPAN  # noqa: E402
from beetsplug.sonic.dj.run import SR, analysis_span  # noqa: E402
from beetsplug.sonic.runner import outcomes  # noqa: E402


def per_second(fn, paths) -> float:
    fn(paths[0])  # warm caches, FFT plans
    t = time.perf_counter()
    for p in paths:
        fn(p)
    return len(paths) / (time.perf_counter() - t)


def decoded(path: str, seg: float, pos: tuple[float, ...]) -> None:
    """What the backend decodes: the analysis span (the 90 s middle), and the embedding's
    segments where they are not its middle. (And the end of the file where a key and its
    relative nearly tie: timed on its own below.)"""
    analysis_span(path)
    if pos != (0.5,) or seg > SPAN:
        load_segments(path, sr=SR, length=seg, positions=pos)


def main() -> None:
    paths = tracks("throughput", per_family=3, seconds=300, formats=("mp3",))
    cores = sorted(os.sched_getaffinity(0))
    print(f"{len(paths)} generated 5-minute 192 kbit/s MP3s; machine has {len(cores)} cores")
    os.sched_setaffinity(0, {cores[0]})
    rows = []
    for seg, pos in ((30, (0.5,)), (10, (0.25, 0.5, 0.75)), (30, (0.25, 0.5, 0.75))):
        label = f"{seg} s x {len(pos)} point(s)"
        decode = per_second(lambda p, seg=seg, pos=pos: decoded(p, seg, pos), paths)
        backend = get_backend("spectral", segment=seg, positions=pos)
        full = per_second(backend.embed, paths)
        rows.append((label, decode, full))
        print(f"one core, {label:<20}: decode only {decode:5.1f} tracks/s | decode + features "
              f"{full:5.1f} tracks/s ({1000 / full:.0f} ms/track)", flush=True)
    end = per_second(lambda p: load_ending(p, sr=SR, length=ending.SECONDS), paths)
    print(f"one core, the last {ENDING_SEARCH:g} s of a file, decoded where a key and its relative "
          f"nearly tie (the key's final sound): {1000 / end:.0f} ms", flush=True)
    os.sched_setaffinity(0, set(cores))
    backend = get_backend("spectral", segment=30, positions=(0.5,))
    tasks = [(i, p.encode()) for i, p in enumerate(paths * 3)]
    t = time.perf_counter()
    n = sum(1 for _ in outcomes(backend, tasks, len(cores), {"segment": 30, "positions": (0.5,)}))
    rate = n / (time.perf_counter() - t)
    print(f"{len(cores)} worker processes, 30 s x 1 point: {rate:5.1f} tracks/s "
          f"(includes starting the workers)")


if __name__ == "__main__":
    main()
