"""musicnn speed, side by side in one run.

    python benchmarks/musicnn_speed.py [CORPUS_DIR]     (default: ~/.cache/sonic-corpus/corpus)

1. Per patch: the first version's im2col front end vs the GEMM front end, the same
   patches, batch sizes 1-32, one thread and two; with the per-patch cosine between them.
2. Where the time goes per layer group (timbral, temporal, mid-end + back end).
3. Per track on real files, one core, decode included: the first version's default
   (30 s midpoint, 10 patches, im2col) vs the shipped recipe (backend.embed).
4. Decoding per format: the shipped plan (9 spread 3 s patches + 30 s midpoint) on real
   tracks transcoded to Ogg Vorbis, Opus, MP3, FLAC and M4A.
5. ``beet embed -w 1`` vs ``-w 2`` (the indexer's worker pool) in tracks/s.
Real files come from the development corpus (tools/dev_corpus.py); without it,
generated tracks stand in (and the table says so).
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)

PATCH_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from beetsplug.sonic.musicnn.model import MusiCNN
from beetsplug.sonic.musicnn.checkpoint import find_weights
net = MusiCNN.load(find_weights("MSD_musicnn"))
rng = np.random.default_rng(0)
out = {}
for b in (1, 4, 9, 16, 32):
    X = (rng.standard_normal((b, 187, 96)) * 0.8 + 1.5).astype(np.float32)
    row = {}
    for front in ("im2col", "gemm"):
        net.forward(X, front=front)
        reps = max(2, 24 // b)
        t = time.perf_counter()
        for _ in range(reps):
            net.forward(X, front=front)
        row[front] = (time.perf_counter() - t) / reps / b
    a, g = net.forward(X, front="im2col")["penultimate"], net.forward(X)["penultimate"]
    row["cos"] = float(((a * g).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(g, axis=1)).min())
    out[b] = row
# per layer group, batch 9
X = (rng.standard_normal((9, 187, 96)) * 0.8 + 1.5).astype(np.float32)
x = X * net.bn_in[0] + net.bn_in[1]
groups = {}
for front in ("im2col", "gemm"):
    fn = net._front_gemm if front == "gemm" else net._front_im2col
    fn(x)
    t = time.perf_counter(); live = fn(x); total = time.perf_counter() - t
    groups[front] = total
t = time.perf_counter()
for _ in range(5): net.forward(X)
whole = (time.perf_counter() - t) / 5
t = time.perf_counter()
for _ in range(5): net._front_gemm(x)
groups["rest"] = max(whole - (time.perf_counter() - t) / 5, 0.0)
# timbral vs temporal split of the gemm front end
saved = net.temporal
net.temporal = []
net._front_gemm(x); t = time.perf_counter(); net._front_gemm(x); groups["gemm_timbral"] = time.perf_counter() - t
net.temporal = saved; saved = net.timbral; net.timbral = []
net._front_gemm(x); t = time.perf_counter(); net._front_gemm(x); groups["gemm_temporal"] = time.perf_counter() - t
net.timbral = saved
saved = net.temporal; net.temporal = []
net._front_im2col(x); t = time.perf_counter(); net._front_im2col(x); groups["im2col_timbral"] = time.perf_counter() - t
net.temporal = saved; saved = net.timbral; net.timbral = []
net._front_im2col(x); t = time.perf_counter(); net._front_im2col(x); groups["im2col_temporal"] = time.perf_counter() - t
net.timbral = saved
print(json.dumps({"patch": out, "groups": groups}))
"""

TRACK_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from beetsplug.sonic import audio
from beetsplug.sonic.audio import load_segments
from beetsplug.sonic.backends import get_backend
from beetsplug.sonic.musicnn.model import SR, log_mel, patches
from beetsplug.sonic.backends.musicnn import model
files = sys.argv[2:]
net = model()
graph = audio._decode_graph
def first_version(f):
    (y,) = load_segments(f, sr=SR, length=30.0, positions=(0.5,))
    net.forward(patches(log_mel(y)), front="im2col")
def as_it_shipped(f):  # the first version's decoder too: PyAV frame by frame
    audio._decode_graph = lambda *a, **k: None
    try:
        first_version(f)
    finally:
        audio._decode_graph = graph
b = get_backend("musicnn", segment=30.0, positions=(0.5,))
first_version(files[0]); b.embed(files[0]); as_it_shipped(files[0])
res = {}
for name, fn in (("shipped_then", as_it_shipped), ("first", first_version), ("shipped", b.embed)) * 3:
    t = time.process_time()
    for f in files: fn(f)
    res.setdefault(name, []).append((time.process_time() - t) / len(files))
print(json.dumps({k: min(v) for k, v in res.items()}))
"""


def one_core_env() -> dict:
    return dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def run_child(code: str, *args: str, env: dict, cores: list[int]) -> dict:
    cmd = ["taskset", "-c", ",".join(map(str, cores)), sys.executable, "-c", code, ROOT, *args]
    return json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout)


def real_files(corpus: str, n: int) -> tuple[list[str], str]:
    files = sorted(glob.glob(os.path.join(corpus, "*", "*.ogg")))
    if files:
        return files[:: max(1, len(files) // n)][:n], "dev corpus (Ogg Vorbis)"
    sys.path.insert(0, os.path.dirname(__file__))
    from _audio import tracks

    return tracks("throughput", per_family=3, seconds=240, formats=("mp3",))[:n], "generated 4-min MP3s"


def transcode(src: str, dest: str) -> None:
    """Real music in another container/codec (Opus through libopus at 48 kHz)."""
    import av

    from beetsplug.sonic import audio, synth

    if dest.endswith(".opus"):
        (y,) = audio.load_segments(src, sr=48000, length=1e9, positions=(0.5,))
        with av.open(dest, "w", format="ogg") as out:
            stream = out.add_stream("libopus", rate=48000, layout="mono")
            stream.bit_rate = 96_000
            audio.write_samples(out, stream, y, sr=48000)
        return
    (y,) = audio.load_segments(src, sr=44100, length=1e9, positions=(0.5,))
    synth.write(dest, y[None, :], sr=44100)


def main() -> None:
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/sonic-corpus/corpus")
    cores = sorted(os.sched_getaffinity(0))
    print("## 1. per patch (MSD_musicnn), seconds per patch\n")
    print("| batch | threads | first version (im2col) | GEMM front end | speed-up | min cos |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    groups = None
    for threads, use in ((1, cores[:1]), (len(cores), cores)):
        env = one_core_env() if threads == 1 else dict(os.environ)
        res = run_child(PATCH_CHILD, env=env, cores=use)
        groups = groups or res["groups"]
        for b, row in res["patch"].items():
            print(f"| {b} | {threads} | {row['im2col'] * 1e3:.1f} ms | {row['gemm'] * 1e3:.1f} ms | "
                  f"{row['im2col'] / row['gemm']:.2f}x | {row['cos']:.7f} |", flush=True)
    g = groups
    print("\n## 2. where the time goes (batch 9, one thread)\n")
    print("| part | first version | GEMM front end |\n| --- | ---: | ---: |")
    print(f"| timbral convolutions (2) | {g['im2col_timbral'] * 1e3:.0f} ms | {g['gemm_timbral'] * 1e3:.0f} ms |")
    print(f"| temporal convolutions (3) | {g['im2col_temporal'] * 1e3:.0f} ms | {g['gemm_temporal'] * 1e3:.0f} ms |")
    print(f"| whole front end | {g['im2col'] * 1e3:.0f} ms | {g['gemm'] * 1e3:.0f} ms |")
    print(f"| mid-end + back end | {g['rest'] * 1e3:.0f} ms | {g['rest'] * 1e3:.0f} ms |")

    files, what = real_files(corpus, 12)
    print(f"\n## 3. per track, one core, decode included ({len(files)} tracks, {what})\n")
    res = run_child(TRACK_CHILD, *files, env=one_core_env(), cores=cores[:1])
    then = res["shipped_then"]
    print(f"first version default as it shipped (30 s midpoint, 10 patches, im2col, "
          f"PyAV frame decoder): {then:.3f} s/track")
    print(f"first version default with today's decoder (filter graph):               "
          f"{res['first']:.3f} s/track")
    print(f"shipped recipe (9 spread patches + spectral 30 s):                       "
          f"{res['shipped']:.3f} s/track (ratio {res['shipped'] / then:.2f} to the first version "
          f"as it shipped)")

    print("\n## 4. decoding the shipped plan, per format (s/track, one core)\n")
    from beetsplug.sonic.audio import load_segments
    from beetsplug.sonic.backends.musicnn import patch_positions

    with tempfile.TemporaryDirectory() as tmp:
        src = files[:4]
        print("| format | 9 x 3 s patches at 16 kHz | 30 s midpoint at 22.05 kHz |\n| --- | ---: | ---: |")
        for ext in ("ogg", "opus", "mp3", "flac", "m4a"):
            paths = list(src) if ext == "ogg" else []  # the corpus files are Ogg Vorbis
            for i, f in enumerate(src if ext != "ogg" else []):
                dest = os.path.join(tmp, f"{i}.{ext}")
                try:
                    transcode(f, dest)
                except Exception as exc:  # an encoder missing from this PyAV build
                    print(f"| {ext} | (cannot encode: {exc}) | |")
                    break
                paths.append(dest)
            else:
                t = time.process_time()
                for p in paths:
                    load_segments(p, sr=16000, length=3.0, positions=patch_positions())
                a = (time.process_time() - t) / len(paths)
                t = time.process_time()
                for p in paths:
                    load_segments(p, sr=22050, length=30.0, positions=(0.5,))
                b = (time.process_time() - t) / len(paths)
                print(f"| {ext} | {a:.3f} | {b:.3f} |", flush=True)

    print("\n## 5. the indexer's worker pool (beet embed -w N), tracks/s\n")
    from beetsplug.sonic import indexer
    from beetsplug.sonic.backends import get_backend
    from beetsplug.sonic.spaces import audio_spec
    from beetsplug.sonic.store import Store

    files, what = real_files(corpus, 24)

    class It:
        def __init__(self, i, p):
            self.id, self.path = i, os.fsencode(p)

    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp, Store(os.path.join(tmp, "s.db")) as store:
            backend = get_backend("musicnn", segment=30.0, positions=(0.5,))
            space = store.ensure_space(audio_spec(backend))
            items = [It(i + 1, p) for i, p in enumerate(files)]
            t = time.perf_counter()
            report = indexer.embed_items(store, space, backend, items, workers=workers,
                                         options={"segment": 30.0, "positions": (0.5,)})
            dt = time.perf_counter() - t
            print(f"-w {workers}: {report.embedded / dt:.2f} tracks/s ({len(files)} tracks of the {what})",
                  flush=True)


if __name__ == "__main__":
    main()
