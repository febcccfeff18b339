"""Every command at 1k / 10k / 50k tracks, as a user runs it (a fresh process each).

Builds synthetic libraries once (cached under ``$SONIC_SCALE_CACHE``, default
``/tmp/sonic-scale``): beets items with tags (artist, title, album, genre, bpm,
initial_key, sonic_energy), an empty file per item (so the sidecar's file states are
current, as after a real ``beet embed``), and musicnn raw outputs (9 patches x 200 +
the spectral features, drawn around 60 clusters) with their vectors, written through
the plugin's own store (:mod:`beetsplug.sonic.store.bulk`), the library state fitted
on a sample. Then times each command as a whole process (median wall time, peak RSS
of the process), on a throw-away copy of the library where the command writes.

    .venv/bin/python benchmarks/scale.py 1000 10000 50000 [--runs 3] [--only set,path]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
CACHE = os.environ.get("SONIC_SCALE_CACHE", "/tmp/sonic-scale")
CLUSTERS = 60
GENRES = ["techno", "house", "ambient", "dnb", "electro", "dub", "disco", "idm"]
KEYS = ["Am", "Em", "Bm", "F#m", "C#m", "G#m", "D#m", "Bbm", "Fm", "Cm", "Gm", "Dm",
        "C", "G", "D", "A", "E", "B", "F#", "Db", "Ab", "Eb", "Bb", "F"]


def config(home: str, *, auto: bool = False, music: str | None = None) -> str:
    path = os.path.join(home, "config.yaml")
    with open(path, "w") as f:
        f.write(f"directory: {music or home + '/music'}\nlibrary: {home}/library.db\nplugins: sonic\n"
                "import: {copy: no, write: no, autotag: no, quiet: yes, singletons: yes}\n"
                f"sonic: {{backend: musicnn, auto: {'yes' if auto else 'no'}}}\n")
    return path


#: with --compare DIR: the environment that runs the code in DIR instead (see compare())
OTHER: dict[str, str] | None = None


def beet(home: str, *args: str, check: bool = True, other: bool = False) -> tuple[float, int, str]:
    """``(wall seconds, peak RSS in MB, output)`` of one ``beet`` process. The peak is
    measured by ``/usr/bin/time`` (a small parent: a child forked from this big process
    would inherit its high-water mark)."""
    env = dict(os.environ, BEETSDIR=home, **(OTHER if other else {}))
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        t = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, sys.executable, "-m",
                               "beets", *args], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              cwd=tempfile.gettempdir() if other else None)
        wall = time.perf_counter() - t
        peak = int(rss.read().strip().splitlines()[-1]) // 1024
    out = proc.stdout.decode(errors="replace")
    if check and proc.returncode:
        raise RuntimeError(f"beet {' '.join(args)} failed:\n{out[-2000:]}")
    return wall, peak, out


def raw_outputs(rng, n: int, centers, fcenters) -> np.ndarray:
    from beetsplug.sonic.backends.musicnn import LAYER_DIMS, PATCHES

    c = rng.integers(0, len(centers), n)
    track = centers[c] + 0.6 * rng.standard_normal((n, LAYER_DIMS), np.float32)
    P = track[:, None, :] + 0.8 * rng.standard_normal((n, PATCHES, LAYER_DIMS), np.float32)
    S = fcenters[c] + 0.5 * rng.standard_normal((n, fcenters.shape[1]), np.float32)
    return np.concatenate([np.maximum(P, 0).reshape(n, -1), S], axis=1).astype(np.float32)


def build(n: int) -> str:
    """The cached library of ``n`` items (built on first use)."""
    home = os.path.join(CACHE, f"lib-{n}")
    if os.path.exists(os.path.join(home, ".complete")):
        return home
    shutil.rmtree(home, ignore_errors=True)
    os.makedirs(os.path.join(home, "music"))
    config(home)
    t0 = time.perf_counter()
    from beets.library import Item, Library

    rng = np.random.default_rng(n)
    lib = Library(os.path.join(home, "library.db"), os.path.join(home, "music"))
    with lib.transaction():
        for i in range(n):
            path = os.path.join(home, "music", f"{i // 1000:03d}", f"t{i:06d}.mp3")
            if i % 1000 == 0:
                os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "wb").close()
            item = Item(path=path.encode(), title=f"Track {i}", artist=f"Artist {i % (n // 8 + 1)}",
                        album=f"Album {i // 10}", genre=GENRES[i % len(GENRES)],
                        bpm=int(118 + rng.integers(0, 17)), initial_key=KEYS[int(rng.integers(0, 24))],
                        length=300.0, format="MP3")
            item["sonic_energy"] = round(float(rng.uniform(2, 10)), 1)
            lib.add(item)
    rows = [(it.id, it.path) for it in lib.items()]
    lib._close()
    beet(home, "embed", "--limit", "0")  # the musicnn space, exactly as the CLI specifies it (--dry-run writes nothing)
    from beetsplug.sonic.backends.musicnn import LAYER_DIMS, MusicnnBackend
    from beetsplug.sonic.backends.spectral import FEATURE_DIMS
    from beetsplug.sonic.store import Store
    from beetsplug.sonic.store.bulk import put_entries

    store = Store(_sidecar(home))
    space = store.get_space("musicnn")
    backend = MusicnnBackend(segment=float(space.params["segment"]), positions=tuple(space.params["positions"]))
    centers = 2.0 * rng.standard_normal((CLUSTERS, LAYER_DIMS)).astype(np.float32)
    fcenters = rng.standard_normal((CLUSTERS, FEATURE_DIMS)).astype(np.float32)
    state = backend.fit(raw_outputs(rng, min(n, 2000), centers, fcenters))
    block = 2000
    ids_all = np.array([r[0] for r in rows])
    for s in range(0, n, block):
        ids = ids_all[s:s + block]
        R = raw_outputs(rng, len(ids), centers, fcenters)
        paths = [rows[k][1] for k in range(s, s + len(ids))]
        states = [os.stat(p) for p in paths]
        put_entries(store, space, ids, R, backend.derive(R, state), paths=paths,
                    mtimes=[st.st_mtime for st in states], sizes=[st.st_size for st in states])
    from beetsplug.sonic.store.bulk import set_state

    set_state(store, space, n=n, state=state)
    store.mark_checked(store.get_space("musicnn"))
    store.close()
    open(os.path.join(home, ".complete"), "w").close()
    print(f"built {n} items in {time.perf_counter() - t0:.0f} s: {home}", file=sys.stderr)
    return home


def _sidecar(home: str) -> str:
    return os.path.join(home, "library.sonic.db")


def copy_of(home: str) -> str:
    tmp = tempfile.mkdtemp(prefix="sonic-scale-", dir=CACHE)
    for name in os.listdir(home):
        src = os.path.join(home, name)
        if os.path.isfile(src) and not name.startswith(".") and not name.endswith(".bak"):
            shutil.copy2(src, tmp)
    config(tmp, music=os.path.join(home, "music"))  # the same files, the same paths
    return tmp


#: name -> argv (read-only commands run on the cached library itself)
READS = {
    "similar": ("similar", "id:7"),
    "similar --mix": ("similar", "--mix", "id:7"),
    "cohesion (12)": ("cohesion", "id:1..12"),
    "set -n 12": ("set", "-n", "12", "--loose"),
    "path A B": ("path", "id:3", "id:9"),
    "embed --status": ("embed", "--status"),
    "embed (nothing to do)": ("embed",),
}


def old_schema_copy(home: str) -> str:
    """A copy of the library whose sidecar an older beets-sonic opens (schema 3)."""
    import sqlite3

    tmp = copy_of(home)
    c = sqlite3.connect(_sidecar(tmp))
    c.execute("DROP INDEX IF EXISTS entries_state")
    c.execute("PRAGMA user_version = 3")
    c.commit()
    c.close()
    return tmp


def compare(sizes: list[int], code: str, runs: int, only: list[str]) -> None:
    """Each command with this code and with the code in ``code`` (a checkout's root holding
    ``beetsplug/``), interleaved on the same machine at the same time: the ratio is what
    to read on a machine shared with other work."""
    global OTHER
    with open(os.path.join(code, "sitecustomize.py"), "w") as f:  # hide this editable install
        f.write("import sys\nsys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f)]\n")
    OTHER = {"PYTHONPATH": code}
    for n in sizes:
        home = build(n)
        old = old_schema_copy(home)
        try:
            print(f"\n## {n} items: this code vs {code} (min of {runs}, interleaved)")
            print("| command | before | after | before / after | peak before | peak after |")
            print("| --- | ---: | ---: | ---: | ---: | ---: |")
            cmds = dict(READS, graph=("graph", "-o", os.path.join(CACHE, f"map-{n}.html")))
            for name, argv in cmds.items():
                if only and not any(o in name for o in only):
                    continue
                beet(home, *argv, check=False)
                beet(old, *argv, check=False, other=True)
                new_runs, old_runs = [], []
                for _ in range(runs):
                    old_runs.append(beet(old, *argv, check=False, other=True))
                    new_runs.append(beet(home, *argv, check=False))
                b, a = min(r[0] for r in old_runs), min(r[0] for r in new_runs)
                print(f"| `beet {' '.join(argv)}` | {b:.2f} s | {a:.2f} s | {b / a:.1f}x | "
                      f"{max(r[1] for r in old_runs)} MB | {max(r[1] for r in new_runs)} MB |", flush=True)
        finally:
            shutil.rmtree(old, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--compare", metavar="DIR", help="also run the code in DIR (e.g. `git archive "
                    "REV beetsplug | tar -x -C DIR`), interleaved, and print both")
    ap.add_argument("sizes", nargs="*", type=int, default=[1000, 10000, 50000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--graph", action="store_true", help="also time beet graph")
    ap.add_argument("--writes", action="store_true", help="also rm + embed, and a refit")
    a = ap.parse_args()
    only = [s for s in a.only.split(",") if s]
    os.makedirs(CACHE, exist_ok=True)
    if a.compare:
        return compare(a.sizes, a.compare, a.runs, only)
    for n in a.sizes:
        home = build(n)
        side = os.path.getsize(_sidecar(home))
        print(f"\n## {n} items: sidecar {side / 1e6:.0f} MB ({side / n * 1000 / 1e6:.1f} MB per 1,000 tracks)")
        cmds = dict(READS)
        if a.graph:
            cmds["graph"] = ("graph", "-o", os.path.join(CACHE, f"map-{n}.html"))
        for name, argv in cmds.items():
            if only and not any(o in name for o in only):
                continue
            beet(home, *argv, check=False)  # warm the page cache (and the matrix file, a migration)
            runs = [beet(home, *argv, check=False) for _ in range(a.runs)]
            wall = statistics.median(r[0] for r in runs)
            print(f"| `beet {' '.join(argv)}` | {wall:.2f} s | {max(r[1] for r in runs)} MB |", flush=True)
            if "Traceback" in runs[0][2]:
                print(runs[0][2][-1500:])
        cache = sum(os.path.getsize(os.path.join(_sidecar(home) + "-cache", f))
                    for f in os.listdir(_sidecar(home) + "-cache")) if os.path.isdir(_sidecar(home) + "-cache") else 0
        print(f"matrix cache {cache / 1e6:.1f} MB ({cache / n * 1000 / 1e6:.2f} MB per 1,000 tracks)")
        if a.writes:
            writes(home, n)


def five_tracks() -> str:
    """A folder of 5 generated tracks (30 s) to import."""
    from _audio import tracks

    paths = tracks("scale-import", per_family=2, seconds=30)[:5]
    folder = os.path.join(CACHE, "import-5")
    if not os.path.isdir(folder):
        os.makedirs(folder)
        for p in paths:
            os.symlink(p, os.path.join(folder, os.path.basename(p)))
    return folder


def import_five(home: str | None) -> tuple[float, int]:
    """Import 5 tracks with auto-embedding into a copy of ``home`` (None: an empty library)."""
    tmp = copy_of(home) if home else tempfile.mkdtemp(prefix="sonic-scale-", dir=CACHE)
    try:
        config(tmp, auto=True, music=os.path.join(home, "music") if home else None)
        w, m, out = beet(tmp, "import", five_tracks())
        assert "embedded 5 new item(s)" in out, out
        return w, m
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def writes(home: str, n: int) -> None:
    empty = [import_five(None) for _ in range(2)]
    full = [import_five(home) for _ in range(2)]
    print(f"| `beet import` of 5 tracks, empty library | {min(e[0] for e in empty):.2f} s | "
          f"{max(e[1] for e in empty)} MB |")
    print(f"| `beet import` of 5 tracks into this library | {min(f[0] for f in full):.2f} s | "
          f"{max(f[1] for f in full)} MB |")
    tmp = copy_of(home)
    try:
        w, m, _ = beet(tmp, "rm", "-f", "id:5")
        print(f"| `beet rm -f id:5` | {w:.2f} s | {m} MB |")
        w, m, out = beet(tmp, "embed")
        print(f"| `beet embed` after the rm | {w:.2f} s | {m} MB | {out.strip().splitlines()[-1:]} |")
        import sqlite3

        c = sqlite3.connect(_sidecar(tmp))
        c.execute("UPDATE spaces SET stats_n = ? WHERE name = 'musicnn'", (int(n / 1.25),))
        c.commit()
        c.close()
        w, m, out = beet(tmp, "embed")
        print(f"| `beet embed` with a refit due | {w:.2f} s | {m} MB | {out.strip().splitlines()[-1:]} |")
        print(f"sidecar after the refit: {os.path.getsize(_sidecar(tmp)) / 1e6:.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
