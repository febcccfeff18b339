"""What keeping the vec0 table costs on writes, beside the rest of a vector write.

Writes N vectors one transaction each (what `beet embed` does) into a scratch sidecar
and times the sqlite-vec insert alone against the whole write; then the bulk rewrite
after a re-standardisation (every vector of a space) with and without vec0.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from beetsplug.sonic import analysis  # noqa: E402
from beetsplug.sonic.store import SpaceSpec, Store  # noqa: E402


def main() -> None:
    rng = np.random.default_rng(0)
    for n, dims in ((2000, 200), (2000, 768)):
        X = analysis.normalize(rng.standard_normal((n, dims))).astype(np.float32)
        with tempfile.TemporaryDirectory() as tmp, Store(os.path.join(tmp, "s.db")) as store:
            space = store.ensure_space(SpaceSpec("b", "audio", "b", "b", dims))
            t = time.perf_counter()
            for i, v in enumerate(X, 1):
                store.put_vector(space, i, vector=v, raw=v, path=b"/x", mtime=1.0, size=1)
            whole = (time.perf_counter() - t) / n * 1e3
            conn = store.conn
            t = time.perf_counter()
            for i, v in enumerate(X, 1):
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(f"DELETE FROM {space.table} WHERE item_id = ?", (i,))
                conn.execute(f"INSERT INTO {space.table} (item_id, embedding) VALUES (?, ?)",
                             (i, v.tobytes()))
                conn.execute("COMMIT")
            vec0 = (time.perf_counter() - t) / n * 1e3
            ids = np.arange(1, n + 1)
            t = time.perf_counter()
            store.set_state_and_vectors(space, n=n, state={}, ids=ids, vectors=X)
            bulk = time.perf_counter() - t
            t = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(f"DELETE FROM {space.table}")
            for i, v in zip(ids.tolist(), X):
                conn.execute(f"INSERT INTO {space.table} (item_id, embedding) VALUES (?, ?)",
                             (i, v.tobytes()))
            conn.execute("COMMIT")
            bulk_vec0 = time.perf_counter() - t
        print(f"{n} x {dims}: one vector write {whole:.2f} ms, of which vec0 {vec0:.2f} ms "
              f"({vec0 / whole:.0%}); re-standardising all {bulk:.2f} s, of which vec0 "
              f"{bulk_vec0:.2f} s ({bulk_vec0 / bulk:.0%})", flush=True)


if __name__ == "__main__":
    main()
