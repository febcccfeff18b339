"""Raw per-patch model outputs for the quality benchmark, computed once and cached.

For every track of a labelled folder (one sub-folder per label) and every audio
plan, this decodes through the plugin's own ``audio.load_segments``, runs the
MSD and MTT MusiCNN checkpoints through the plugin's numpy network, and keeps
every layer a recipe may use, per 3 s patch -- so recipes can be compared
without decoding or running the network again. The spectral backend's raw
vectors are kept too (fusion).

Cache: ``<cache>/<sha1 of path, size, mtime>.npz``; a changed file is recomputed.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from beetsplug.sonic.audio import load_segments  # noqa: E402
from beetsplug.sonic.musicnn.checkpoint import find_weights  # noqa: E402
from beetsplug.sonic.musicnn.model import SR, MusiCNN, log_mel, patches  # noqa: E402

#: audio plans: name -> (segment seconds, relative positions)
PLANS = {
    "mid30": (30.0, (0.5,)),                                   # the first version's default
    "seg3x30": (30.0, (0.25, 0.5, 0.75)),
    "spread33": (3.0, tuple(np.round(np.linspace(0.1, 0.9, 33), 4))),  # nests 17 and 9
}
MODELS = ("MSD_musicnn", "MTT_musicnn")
LAYERS = ("dense", "penultimate", "mean_pool", "max_pool", "logits")
VERSION = 1


@dataclass
class Track:
    path: str
    label: str
    sublabel: str


def corpus(folder: str) -> list[Track]:
    out = []
    for label in sorted(os.listdir(folder)):
        sub = os.path.join(folder, label)
        if not os.path.isdir(sub):
            continue
        for name in sorted(os.listdir(sub)):
            if name.startswith("."):
                continue
            sublabel = name.split("--", 1)[0] if "--" in name else ""
            out.append(Track(os.path.join(sub, name), label, sublabel))
    return out


def key(path: str) -> str:
    st = os.stat(path)
    return hashlib.sha1(f"{VERSION}|{os.path.realpath(path)}|{st.st_size}|{st.st_mtime}".encode()).hexdigest()


_NETS: dict[str, MusiCNN] = {}


def nets() -> dict[str, MusiCNN]:
    if not _NETS:
        for m in MODELS:
            _NETS[m] = MusiCNN.load(find_weights(m))
    return _NETS


def compute(path: str) -> dict[str, np.ndarray]:
    from beetsplug.sonic.backends import get_backend

    out: dict[str, np.ndarray] = {}
    for plan, (length, positions) in PLANS.items():
        t0 = time.process_time()
        segments = load_segments(path, sr=SR, length=length, positions=positions)
        t1 = time.process_time()
        X = np.concatenate([patches(log_mel(y)) for y in segments])
        t2 = time.process_time()
        out[f"{plan}/decode_s"] = np.float32(t1 - t0)
        out[f"{plan}/mel_s"] = np.float32(t2 - t1)
        out[f"{plan}/n"] = np.int32(len(X))
        for m, net in nets().items():
            t3 = time.process_time()
            res = net.forward(X)
            out[f"{plan}/{m}/forward_s"] = np.float32(time.process_time() - t3)
            for layer in LAYERS:
                out[f"{plan}/{m}/{layer}"] = res[layer].astype(np.float32)
    for name, positions in (("spectral_mid30", (0.5,)), ("spectral_seg3x30", (0.25, 0.5, 0.75))):
        t0 = time.process_time()
        out[name] = get_backend("spectral", segment=30.0, positions=positions).embed(path).vector
        out[f"{name}_s"] = np.float32(time.process_time() - t0)
    return out


def _one(args: tuple[str, str]) -> tuple[str, str | None]:
    path, dest = args
    try:
        data = compute(path)
    except Exception as exc:  # one bad file: reported, never the run
        return path, f"{type(exc).__name__}: {exc}"
    tmp = dest + ".tmp.npz"
    np.savez(tmp, **data)
    os.replace(tmp, dest)
    return path, None


def load_all(folder: str, cache: str, *, workers: int = 2) -> tuple[list[Track], list[dict]]:
    """Every track of ``folder`` with its cached features (computed where missing)."""
    import multiprocessing

    os.makedirs(cache, exist_ok=True)
    tracks = corpus(folder)
    dests = [os.path.join(cache, key(t.path) + ".npz") for t in tracks]
    todo = [(t.path, d) for t, d in zip(tracks, dests) if not os.path.exists(d)]
    if todo:
        print(f"computing features for {len(todo)} of {len(tracks)} tracks "
              f"({workers} worker(s)) ...", file=sys.stderr, flush=True)
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(workers) as pool:
            for i, (path, err) in enumerate(pool.imap_unordered(_one, todo), 1):
                if err:
                    print(f"  failed {path}: {err}", file=sys.stderr)
                if i % 10 == 0 or i == len(todo):
                    print(f"  {i}/{len(todo)}", file=sys.stderr, flush=True)
    kept_t, kept_f = [], []
    for t, d in zip(tracks, dests):
        if os.path.exists(d):
            with np.load(d) as z:
                kept_t.append(t)
                kept_f.append({k: z[k] for k in z.files})
    return kept_t, kept_f


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    folder = sys.argv[1]
    cache = sys.argv[2] if len(sys.argv) > 2 else os.path.expanduser("~/.cache/sonic-quality")
    t, f = load_all(folder, cache)
    print(f"{len(t)} tracks with features in {cache}")
