"""What auto-embedding adds to `beet import`, per track (real `beet import`, same files).

Imports the same generated tracks into two fresh libraries, once with
``sonic: auto: no`` and once with ``auto: yes``, three times each, and reports the
median difference per track.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

from _audio import tracks


def timed_import(folder: str, auto: bool) -> float:
    with tempfile.TemporaryDirectory() as home:
        with open(os.path.join(home, "config.yaml"), "w") as f:
            f.write(f"directory: {home}/music\nlibrary: {home}/l.db\nplugins: sonic\n"
                    "import: {copy: no, write: no, autotag: no, quiet: yes, singletons: yes}\n"
                    f"sonic: {{auto: {'yes' if auto else 'no'}}}\n")
        env = dict(os.environ, BEETSDIR=home)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "beets", "import", folder], env=env, check=True,
                       capture_output=True)
        return time.perf_counter() - t


def main() -> None:
    paths = tracks("quality", per_family=6, seconds=60, formats=("mp3", "flac", "ogg", "m4a", "wav"))
    folder = os.path.dirname(paths[0])
    off = [timed_import(folder, False) for _ in range(3)]
    on = [timed_import(folder, True) for _ in range(3)]
    n = len(paths)
    print(f"beet import of {n} tracks (60 s each, 5 formats), median of 3:")
    print(f"  auto: no   {statistics.median(off):6.2f} s  ({statistics.median(off) / n * 1000:5.0f} ms/track)")
    print(f"  auto: yes  {statistics.median(on):6.2f} s  ({statistics.median(on) / n * 1000:5.0f} ms/track)")
    print(f"  overhead of auto-embedding: {(statistics.median(on) - statistics.median(off)) / n * 1000:.0f} ms/track")


if __name__ == "__main__":
    main()
