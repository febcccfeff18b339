"""How `beet similar` should search: vec0 KNN vs numpy brute force vs our mmap matrix.

For 10k and 100k synthetic clustered unit vectors at 768 and 200 dims:

* vec0      -- the sidecar's own sqlite-vec KNN (``embedding MATCH ? AND k = ?``)
* numpy     -- brute force ``X @ q`` over a matrix already in memory (the floor)
* sonic     -- what `beet similar` does, measured in a FRESH process: open the
               sidecar, map the cached matrix file, score every row, take the top k

Each method answers the same 20 queries; results are checked against exact
search. Run: ``.venv/bin/python benchmarks/similar_search.py [--sizes 10000,100000]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from beetsplug.sonic import analysis  # noqa: E402
from beetsplug.sonic.store import SpaceSpec, Store  # noqa: E402

K = 10
QUERIES = 20


def clustered(n: int, d: int, *, clusters: int = 50, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d))
    X = centres[rng.integers(clusters, size=n)] + 0.6 * rng.standard_normal((n, d))
    return analysis.normalize(X)


FRESH = r"""
import sys, time, json
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
import numpy as np
from beetsplug.sonic.store import Store
from beetsplug.sonic import search
t_import = time.perf_counter()
store = Store({db!r})
space = store.get_space("bench")
t1 = time.perf_counter()
ids, X = store.matrix(space)
q = np.frombuffer(bytes.fromhex({q!r}), np.float32)
hits = search.rank(ids, X, q, n={k}, exclude=[int({seed})])
t2 = time.perf_counter()
print(json.dumps({{"open_ms": (t1 - t_import) * 1e3, "search_ms": (t2 - t1) * 1e3,
                  "ids": [h.item_id for h in hits]}}))
"""


def bench(n: int, d: int, root: str) -> dict:
    X = clustered(n, d)
    ids = np.arange(1, n + 1)
    rng = np.random.default_rng(1)
    seeds = rng.choice(n, QUERIES, replace=False)
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.sonic.db")
        store = Store(db)
        space = store.ensure_space(SpaceSpec("bench", "audio", "bench", "bench", d))
        t = time.perf_counter()
        store.put_vectors(space, ids, X)
        load_s = time.perf_counter() - t
        store.matrix(space)  # write the cache file once, as `beet embed` leaves it
        exact = [(ids[analysis.top_k(np.where(np.arange(n) == s, -np.inf, X @ X[s]), K)]).tolist()
                 for s in seeds]

        t = time.perf_counter()
        sql = (f"SELECT item_id, distance FROM vec_{space.id} WHERE embedding MATCH ? AND k = ? "
               "ORDER BY distance")  # the documented SQL interface (docs/how-it-works.md)
        vec0 = [[i for i, _ in store.conn.execute(sql, (X[s].tobytes(), K + 1)) if i != s + 1][:K]
                for s in seeds]
        vec0_ms = (time.perf_counter() - t) * 1e3 / QUERIES

        t = time.perf_counter()
        for s in seeds:
            sc = X @ X[s]
            sc[s] = -np.inf
            analysis.top_k(sc, K)
        numpy_ms = (time.perf_counter() - t) * 1e3 / QUERIES

        fresh, fresh_ids = [], []
        for s in seeds[:5]:
            code = FRESH.format(root=root, db=db, q=X[s].tobytes().hex(), k=K, seed=s + 1)
            out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                            text=True, check=True).stdout)
            fresh.append(out["search_ms"])
            fresh_ids.append(out["ids"])
        store.close()
    return {
        "n": n, "d": d, "bulk_load_s": load_s,
        "vec0_ms": vec0_ms, "numpy_ms": numpy_ms, "sonic_fresh_ms": float(np.median(fresh)),
        "vec0_exact": vec0 == exact, "sonic_exact": fresh_ids == exact[:5],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--dims", default="768,200")
    args = ap.parse_args()
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    print(f"{'items':>7} {'dims':>5} | {'vec0 KNN':>9} | {'numpy (RAM)':>11} | {'sonic fresh':>11} "
          f"| ratio | exact (vec0, sonic)")
    for n in map(int, args.sizes.split(",")):
        for d in map(int, args.dims.split(",")):
            r = bench(n, d, root)
            print(f"{r['n']:>7} {r['d']:>5} | {r['vec0_ms']:>6.1f} ms | {r['numpy_ms']:>8.1f} ms "
                  f"| {r['sonic_fresh_ms']:>8.1f} ms | {r['sonic_fresh_ms'] / r['numpy_ms']:>4.2f}x "
                  f"| {r['vec0_exact']}, {r['sonic_exact']}", flush=True)


if __name__ == "__main__":
    main()
