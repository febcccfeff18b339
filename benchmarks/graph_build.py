"""`beet graph`: kNN graph construction (time, peak memory) and the page in headless Chromium.

Synthetic clustered unit vectors (768 dims). For 5k, 20k and 50k tracks: the
blocked exact kNN (k = 4), Louvain communities, connector and isolation scores
and the starting layout -- everything `build_payload` does. For 5k and 20k the
page is then loaded in Debian's Chromium and timed until the force layout is
stable.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

CHILD = r"""
import sys, time, resource, json
sys.path.insert(0, {root!r})
import numpy as np
from beetsplug.sonic import analysis as A, graph
n = {n}
rng = np.random.default_rng(0)
true = rng.integers(max(20, n // 250), size=n)
X = A.normalize(rng.standard_normal((true.max() + 1, 768))[true] + 0.9 * rng.standard_normal((n, 768)))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
meta = [{{"id": i, "artist": f"Artist {{true[i]}}", "title": f"Track {{i}}", "bpm": 124, "key": "Am"}} for i in range(n)]
t = time.perf_counter()
payload = graph.build_payload(X, meta, k=4, space="bench")
t_all = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
A.knn(X, k=4)
t_knn = time.perf_counter() - t
page = graph.render_html(payload)
open({out!r}, "w").write(page)
print(json.dumps({{"knn_s": t_knn, "payload_s": t_all, "peak_mb": peak / 1024,
                  "over_data_mb": (peak - base) / 1024, "html_mb": len(page.encode()) / 1e6,
                  "communities": payload["ncomm"]}}))
"""


def stable_time(path: str) -> tuple[float, int]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium",
                               args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = b.new_page(viewport={"width": 1400, "height": 900})
        page.goto("file://" + path)
        while not page.evaluate("!!(window.__sonic && window.__sonic.stable)"):
            time.sleep(0.1)
        out = page.evaluate("[__sonic.stableAt, __sonic.frames]")
        b.close()
    return out[0] / 1000, out[1]


def main() -> None:
    import json

    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    print(f"{'tracks':>7} | {'whole graph':>11} | {'of it kNN':>9} | {'peak RSS':>9} | "
          f"{'HTML':>7} | page stable in Chromium")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (5000, 20000, 50000):
            out = os.path.join(tmp, f"g{n}.html")
            r = json.loads(subprocess.run([sys.executable, "-c", CHILD.format(root=root, n=n, out=out)],
                                          capture_output=True, text=True, check=True).stdout)
            page = "—"
            if n <= 20000 and os.path.exists("/usr/bin/chromium"):
                secs, frames = stable_time(out)
                page = f"{secs:.1f} s ({frames} frames)"
            print(f"{n:>7} | {r['payload_s']:>9.1f} s | {r['knn_s']:>7.1f} s | {r['peak_mb']:>6.0f} MB | "
                  f"{r['html_mb']:>4.1f} MB | {page}", flush=True)


if __name__ == "__main__":
    main()
