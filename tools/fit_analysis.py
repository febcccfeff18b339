#!/usr/bin/env python3
"""Fit the tempo scorer's weights (``dj/tempo.py: WEIGHTS``, ``CALIBRATION``) and the key
confidence (``dj/tonality.py: KEY_CALIBRATION``) on the real-music truth set.

    python tools/fit_analysis.py [--truth DIR] [--key-only]     (default: ~/.cache/sonic-truth)

Each track of ``tools/truth_corpus.py``'s set gives its candidates and their evidence
(``tempo.evidence`` on the 90 s midpoint the plugin analyses); the right candidates are
those within 4 % of the stated tempo (or of the beat of a compound meter). A
conditional logit (softmax over each track's candidates, L2-penalised) is fitted by
gradient descent. Printed: leave-one-source-out accuracy (each source's tracks judged by
weights fitted without them: what to expect on music from elsewhere), the accuracy with
every track in, and the weights to paste. Tracks none of whose candidates is right
teach nothing and are counted as misses. The tempo's confidence is Platt-scaled on
held-out readings of its probability among the candidates; the key's is a logistic over
how firmly the span holds the key (``tonality.stability``; the key read as the plugin
reads it, with the sound the track ends on), printed held out by source and with every
track in.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from tempo_key import SR, endings, load_truth, segments  # noqa: E402

from beetsplug.sonic.dj import ending, estimate, tempo, tonality  # noqa: E402
from beetsplug.sonic.dj.onsets import onsets_of  # noqa: E402

L2 = 0.01


def dataset(truth: list[dict]) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Per track: ``(features (k, F), right (k,) bool, source)``."""
    out = []
    for t, y in zip(truth, segments([t["path"] for t in truth])):
        i, spans = estimate.windows(y, SR)
        ev = tempo.evidence([onsets_of(s, SR) for s in spans],
                            estimate.harmony(tonality.chromagram(spans[i], SR)))
        if ev is None:
            out.append((np.zeros((0, len(tempo.FEATURES))), np.zeros(0, bool), t["source"]))
            continue
        acf, bpms, feats = ev
        right = np.array([any(abs(b / x - 1) <= 0.04 for x in t["bpms"]) for b in bpms])
        out.append((feats, right, t["source"]))
    return out


def fit(data, *, l2: float = L2, steps: int = 8000, rate: float = 0.2) -> np.ndarray:
    usable = [(f, r) for f, r, _ in data if r.any()]
    mu = np.concatenate([f for f, _ in usable]).mean(axis=0)
    sd = np.concatenate([f for f, _ in usable]).std(axis=0) + 1e-9
    w = np.zeros(usable[0][0].shape[1])
    for _ in range(steps):
        grad = l2 * w
        for f, r in usable:
            z = (f - mu) / sd
            s = z @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            q = r / r.sum()
            grad += z.T @ (p - q) / len(usable)
        w -= rate * grad
    return w / sd  # weights on the raw features (a constant shift changes no softmax)


def accuracy(data, w) -> tuple[int, list[float], list[bool]]:
    hits, probs, right = 0, [], []
    for f, r, _ in data:
        if f.shape[0] == 0:
            probs.append(0.0)
            right.append(False)
            continue
        i, p = tempo.choose(f, w)
        hits += bool(r[i])
        probs.append(p)
        right.append(bool(r[i]))
    return hits, probs, right


def platt(p: np.ndarray, right: np.ndarray, *, steps: int = 5000, rate: float = 0.05) -> tuple[float, float]:
    """``(a, b)`` of P(right) = sigmoid(a * logit(p) + b), by maximum likelihood (L2 0.01)."""
    z = np.log(np.clip(p, 1e-6, None) / np.clip(1 - p, 1e-6, None))
    a, b = 1.0, 0.0
    for _ in range(steps):
        q = 1 / (1 + np.exp(-(a * z + b)))
        a -= rate * (np.mean((q - right) * z) + 0.01 * (a - 1))
        b -= rate * np.mean(q - right)
    return a, b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth", default=os.path.expanduser("~/.cache/sonic-truth"))
    ap.add_argument("--l2", type=float, default=L2)
    ap.add_argument("--key-only", action="store_true", help="only the key confidence's calibration")
    args = ap.parse_args()
    if args.key_only:
        fit_key(load_truth(args.truth))
        return
    truth = [t for t in load_truth(args.truth) if t["bpms"]]
    data = dataset(truth)
    n = len(data)
    reachable = sum(r.any() for _, r, _ in data)
    print(f"{n} tracks; a right candidate among them for {reachable}")
    if tempo.WEIGHTS.size == len(tempo.FEATURES):
        print(f"shipped weights: {accuracy(data, tempo.WEIGHTS)[0]}/{n}")
    sources = sorted({s for _, _, s in data})
    cv_hits, cv_p, cv_r = 0, [], []
    for s in sources:
        w = fit([d for d in data if d[2] != s], l2=args.l2)
        held = [d for d in data if d[2] == s]
        h, p, r = accuracy(held, w)
        cv_hits += h
        cv_p += p
        cv_r += r
        print(f"  held out {s}: {h}/{len(held)}")
    print(f"leave-one-source-out: {cv_hits}/{n} = {cv_hits / n:.1%}")
    p, r = np.array(cv_p), np.array(cv_r)
    for lo in (0.5, 0.6, 0.7, 0.8, 0.9):
        m = p >= lo
        print(f"  p >= {lo}: {m.sum()} tracks, {r[m].mean() if m.any() else float('nan'):.1%} right")
    a, b = platt(p, r)
    conf = np.array([tempo.calibrated(x, (a, b)) for x in p])
    for lo in (0.5, 0.8, 0.9):
        m = conf >= lo
        print(f"  calibrated >= {lo}: {m.sum()} tracks, {r[m].mean() if m.any() else float('nan'):.1%} right")
    print(f"CALIBRATION = ({a:.4g}, {b:.4g})")
    w = fit(data, l2=args.l2)
    print(f"all in: {accuracy(data, w)[0]}/{n}")
    print("WEIGHTS = np.array([" + ", ".join(f"{x:.4g}" for x in w) + "])")
    fit_key(load_truth(args.truth))


def fit_key(truth: list[dict]) -> None:
    """The key confidence's calibration (the key itself has no fitted parameter): a
    logistic over how firmly the span holds the key (the coherence factor of
    :func:`.tonality.key_confidence` is a rule, applied after)."""
    truth = [t for t in truth if t["keys"]]
    x, coherence, right = [], [], []
    paths = [t["path"] for t in truth]
    for t, y, end in zip(truth, segments(paths), endings(paths)):
        i, spans = estimate.windows(y, SR)
        chroma = tonality.chromagram(spans[i], SR)
        final = (lambda end=end, body=spans[i]: ending.final_profile(end, SR, body=body)) if end is not None else None
        best, stable = tonality.evidence(chroma.frames, estimate.side_chromagrams(spans, i, SR), final=final)
        x.append((stable,))
        coherence.append(chroma.coherence)
        right.append(any(k.tonic == best % 12 and k.minor == (best >= 12) for k in t["keys"]))
    X, r = np.array(x), np.array(right, float)

    def confidence(rows: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
        return np.array([tonality.key_confidence(X[j, 0], coherence[j], (w[0], b)) for j in rows])

    sources = np.array([t["source"] for t in truth])
    held = np.zeros(len(r))
    for s in sorted(set(sources)):
        out = sources == s
        w, b = logistic(X[~out], r[~out])
        held[out] = confidence(np.flatnonzero(out), w, b)
    w, b = logistic(X, r)
    conf = confidence(np.arange(len(r)), w, b)
    print(f"\nkey: {int(r.sum())}/{len(r)} exact")
    for label, c in (("held out by source", held), ("all in", conf)):
        for lo in (0.5, 0.8):
            sel = c >= lo
            print(f"  {label}, confidence >= {lo}: {sel.sum()} tracks, "
                  f"{r[sel].mean() if sel.any() else float('nan'):.1%} right")
    print(f"KEY_CALIBRATION = ({w[0]:.4g}, {b:.4g})")


def logistic(X: np.ndarray, y: np.ndarray, *, steps: int = 20000, rate: float = 0.5,
             ) -> tuple[np.ndarray, float]:
    """``(w, b)`` of P(y) = sigmoid(X @ w + b) by maximum likelihood, L2 0.01 on the
    standardised columns."""
    mu, sd = X.mean(axis=0), X.std(axis=0) + 1e-12
    Z = (X - mu) / sd
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        q = 1 / (1 + np.exp(-(Z @ w + b)))
        w -= rate * (Z.T @ (q - y) / len(y) + 0.01 * w)
        b -= rate * np.mean(q - y)
    return w / sd, float(b - (w / sd) @ mu)

if __name__ == "__main__":
    main()
