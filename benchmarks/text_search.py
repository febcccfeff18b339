"""Words vs real music: precision@10 of ``beet similar --text`` queries on the dev corpus.

    python benchmarks/text_search.py [CORPUS] [--cache DIR]

CORPUS: ``tools/dev_corpus.py``'s folder (default ``~/.cache/sonic-corpus/corpus``, with its
``labels.tsv``). Every track is decoded as the musicnn backend decodes it (9 patches of 3 s
over 10-90 % of the track) and run through the MSD checkpoint (the tags the plugin stores)
and the MTT checkpoint (instruments and moods it could add); taggrams are cached.

Each query is scored by the plugin's own code (:func:`textsearch.tag_scores` over the
corpus, :func:`textvocab.parse` for the words) and judged by precision@10 against the
tracks the query's words describe. The relevant sets were fixed before any run, from
what is known about the music (the rule is printed beside each query): a file's own
genre tag where it has one, else what the soundtrack is. Chance = the share of
relevant tracks (the expected precision of 10 tracks drawn at random).

The "MSD tags alone" column leaves out the measured energy column (the calm/energetic
words' ``energy`` weight). The MTT columns answer "would the second checkpoint help?": the same words mapped onto MTT
tags (:data:`MTT_WORDS`, written the same way, before the run), alone and averaged with
the MSD score (each standardised over the corpus first).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from beetsplug.sonic import textsearch, textvocab  # noqa: E402
from beetsplug.sonic.audio import load_segments  # noqa: E402
from beetsplug.sonic.backends.musicnn import patch_positions  # noqa: E402
from beetsplug.sonic.musicnn.checkpoint import find_weights  # noqa: E402
from beetsplug.sonic.musicnn.model import MTT_TAGS, SR, MusiCNN, log_mel, patches  # noqa: E402

K = 10


def tagged(genre: str):
    return lambda r: genre in (r["genre"] or "").lower()


def soundtracks(*names: str, unless: tuple[str, ...] = ()):
    return lambda r: r["label"] in names and not any(u in (r["genre"] or "").lower() for u in unless)


#: query -> (why these tracks, relevance rule over a row of labels.tsv + its file's genre tag)
QUERIES = {
    "metal": ("file genre tag says metal (widelands' 3 thrash metal tracks)", tagged("metal")),
    "heavy rock": ("file genre tag says metal", tagged("metal")),
    "electronic": ("freedroidrpg: the sci-fi RPG's electronic score (its tagged files: dnb, ambient)",
                   soundtracks("freedroidrpg")),
    "orchestral": ("widelands, flare, megaglest: orchestral fantasy/strategy scores (tagged metal "
                   "or folk files left out)", soundtracks("widelands", "flare", "megaglest",
                                                          unless=("metal", "folk"))),
    "calm ambient": ("lugaru and flare: the ambient fantasy scores", soundtracks("lugaru", "flare")),
    "fast energetic": ("extremetuxracer and frozen-bubble: racing and arcade loops",
                       soundtracks("extremetuxracer", "frozen-bubble")),
    "happy": ("supertux: the cheerful platformer", soundtracks("supertux")),
}

#: the same kind of table for the MTT checkpoint's tags (the candidate second vocabulary)
MTT_WORDS = {
    "metal": {"metal": 1.0, "loud": 0.5, "rock": 0.5},
    "heavy": {"metal": 1.0, "loud": 0.6, "rock": 0.4},
    "rock": {"rock": 1.0, "guitar": 0.5, "drums": 0.3},
    "electronic": {"electronic": 1.0, "synth": 0.7, "techno": 0.5, "beat": 0.3},
    "orchestral": {"classical": 1.0, "strings": 0.8, "violin": 0.6, "cello": 0.5, "harp": 0.3},
    "calm": {"quiet": 1.0, "soft": 0.8, "slow": 0.6, "loud": -0.5, "fast": -0.5},
    "ambient": {"ambient": 1.0, "new age": 0.5, "quiet": 0.3, "beat": -0.4},
    "fast": {"fast": 1.0, "beat": 0.4, "slow": -0.6},
    "energetic": {"fast": 0.7, "loud": 0.7, "beat": 0.5, "drums": 0.4, "quiet": -0.6, "soft": -0.6},
    "happy": {"pop": 0.6, "dance": 0.5, "fast": 0.3, "slow": -0.3},  # MTT has no mood "happy"
}


def taggrams(path: str, nets: dict[str, MusiCNN], cache: str) -> dict[str, np.ndarray]:
    st = os.stat(path)
    key = hashlib.sha1(f"{path}|{st.st_size}|{st.st_mtime}|v1".encode()).hexdigest()
    file = os.path.join(cache, key + ".npz")
    if os.path.exists(file):
        with np.load(file) as z:
            return {k: z[k] for k in z.files}
    segs = load_segments(path, sr=SR, length=3.0, positions=patch_positions())
    X = np.concatenate([patches(log_mel(y)) for y in segs])
    out = {name: net.forward(X)["taggram"].mean(axis=0) for name, net in nets.items()}
    np.savez(file, **out)
    return out


def energy_of(path: str, cache: str) -> float:
    """The track's energy (1-10) as ``beet embed`` measures it (spectral backend, default plan)."""
    from beetsplug.sonic.backends.spectral import SpectralBackend
    from beetsplug.sonic.settings import DEFAULTS

    st = os.stat(path)
    key = hashlib.sha1(f"{path}|{st.st_size}|{st.st_mtime}|energy-v1".encode()).hexdigest()
    file = os.path.join(cache, key + ".npy")
    if os.path.exists(file):
        return float(np.load(file))
    backend = SpectralBackend(segment=DEFAULTS["segment"], positions=tuple(DEFAULTS["positions"]))
    dj = backend.embed(path).extras.get("dj") or {}
    e = float(dj["energy"]) if dj.get("energy") is not None else float("nan")
    np.save(file, np.float64(e))
    return e


def mtt_scores(T: np.ndarray, text: str) -> np.ndarray:
    w: dict[str, float] = {}
    for word in textvocab.tokens(text):
        for tag, v in MTT_WORDS.get(word, {}).items():
            w[tag] = w.get(tag, 0.0) + v
    vec = np.array([w.get(t, 0.0) for t in MTT_TAGS])
    return (T - T.mean(axis=0)) @ vec / np.abs(vec).sum()


def z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() or 1.0)


def precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    top = np.argsort(-scores, kind="stable")[:K]
    return float(relevant[top].mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", nargs="?", default=os.path.expanduser("~/.cache/sonic-corpus/corpus"))
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/sonic-text-bench"))
    a = ap.parse_args()
    from mediafile import MediaFile

    os.makedirs(a.cache, exist_ok=True)
    with open(os.path.join(a.corpus, "labels.tsv")) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    nets = {"MSD": MusiCNN.load(), "MTT": MusiCNN.load(find_weights("MTT_musicnn"))}
    t0 = time.perf_counter()
    msd, mtt = [], []
    for i, r in enumerate(rows):
        r["genre"] = MediaFile(r["path"]).genre or ""
        t = taggrams(r["path"], nets, a.cache)
        e = energy_of(r["path"], a.cache)
        msd.append(np.append(t["MSD"], np.clip((e - 1) / 9, 0, 1) if np.isfinite(e) else np.nan))
        mtt.append(t["MTT"])
        print(f"\r{i + 1}/{len(rows)} tracks", end="", file=sys.stderr, flush=True)
    print(f"\rtaggrams of {len(rows)} tracks in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    P, T = np.array(msd), np.array(mtt)
    known = np.isfinite(P[:, -1])
    P[~known, -1] = P[known, -1].mean()  # as textsearch.tag_matrix does
    print(f"{len(rows)} tracks ({int(known.sum())} with an energy), precision@{K} of each word "
          "query (chance = share of relevant tracks)\n")
    print("| query | relevant (rule) | chance | shipped: MSD tags + energy | MSD tags alone | MTT tags "
          "| MSD + MTT | terms read |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    sums = np.zeros(5)
    for text, (why, rule) in QUERIES.items():
        relevant = np.array([rule(r) for r in rows])
        parsed = textvocab.parse(text)
        weights = parsed.weights()
        s_ship = textsearch.tag_scores(P, weights)
        tags_only = {t: w for t, w in weights.items() if t != "energy"}
        s_msd = textsearch.tag_scores(P, tags_only)
        s_mtt = mtt_scores(T, text)
        got = [relevant.mean(), precision(s_ship, relevant), precision(s_msd, relevant),
               precision(s_mtt, relevant), precision(z(s_msd) + z(s_mtt), relevant)]
        sums += got
        print(f"| `{text}` | {relevant.sum()}: {why} | {got[0]:.2f} | **{got[1]:.2f}** | {got[2]:.2f} | "
              f"{got[3]:.2f} | {got[4]:.2f} | {', '.join(t.describe() for t in parsed.terms)}"
              f"{' (unknown: ' + ', '.join(parsed.unknown) + ')' if parsed.unknown else ''} |")
    m = sums / len(QUERIES)
    print(f"| mean | | {m[0]:.2f} | **{m[1]:.2f}** | {m[2]:.2f} | {m[3]:.2f} | {m[4]:.2f} | |")


if __name__ == "__main__":
    main()
