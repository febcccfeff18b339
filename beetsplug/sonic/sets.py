"""Building a set: a sequence along an energy curve whose every transition mixes
(``beet set``), and a path from one track to another through the space (``beet path``).

Pure functions over arrays: ``X`` ``(n, d)`` unit vectors of the pool (rows are tracks),
``mix`` one :class:`~.dj.fields.Mixable` per row, ``energy`` ``(n,)`` on the 1-10 scale
(NaN = unknown), ``artist`` one string per row.

Search: a beam search (width ``beam``) over positions. Each partial set is scored by its
transitions (:func:`.dj.mixing.transition`) plus how close each track's energy sits to
the curve's target; candidates for the next slot are the ``fanout`` best by that score
among the tracks that satisfy the constraints (mixable with the last track, artist gap,
no repeats). Ties break by row, so the same inputs give the same set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .dj.mixing import relate, transition

CURVES = {
    "warmup": [3, 3.5, 4, 4.5, 5, 5.5, 6],
    "peak": [7, 7.5, 8, 8.5, 9, 9, 9, 8.5],
    "journey": [4, 4.7, 5.4, 6.1, 6.8, 7.5, 8.2, 9, 8.4, 7.8, 7.2],   # peak at 70 %, short release
    "cooldown": [8, 7.5, 7, 6.5, 6, 5, 4, 3],
    "flat": [6, 6],
}
ENERGY_WEIGHT = 0.5   # how much the curve counts against one transition


def curve(spec: str | list[float], n: int) -> np.ndarray:
    """``(n,)`` energy targets: a named shape or explicit numbers, stretched to ``n``."""
    points = CURVES[spec] if isinstance(spec, str) else [float(v) for v in spec]
    if len(points) == 1:
        return np.full(n, points[0])
    x = np.linspace(0, 1, len(points))
    return np.interp(np.linspace(0, 1, n), x, points)


def parse_curve(text: str) -> str | list[float]:
    if text in CURVES:
        return text
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"--curve: one of {', '.join(CURVES)}, or numbers like 4,5,6,7,8") from None
    if not values or not all(1 <= v <= 10 for v in values):
        raise ValueError("--curve numbers are energies from 1 to 10")
    return values


@dataclass
class Step:
    row: int
    target: float
    transition: float | None = None   # score of the transition INTO this track
    relation: object = None
    runner_up: int | None = None      # the best alternative for this slot
    runner_up_score: float | None = None
    fit: float | None = None          # this track's fit to the curve (0-1)
    runner_up_transition: float | None = None
    runner_up_fit: float | None = None
    looked_ahead: bool = False        # the alternative scored higher here; the whole set didn't


@dataclass
class Built:
    steps: list[Step]
    score: float
    complete: bool
    blocked: dict[str, int] = field(default_factory=dict)  # constraint -> candidates it cut


@dataclass(frozen=True)
class Rules:
    bpm_range: float = 6.0
    key_mode: str = "compatible"
    artist_gap: int = 3
    loose: bool = False   # unknown tempo/key allowed, and a best partial set when stuck


def _energy_fit(e: float, target: float) -> float:
    return 0.5 if np.isnan(e) else max(0.0, 1.0 - abs(e - target) / 4.5)


def build_set(X: np.ndarray, mix: list, energy: np.ndarray, artist: list[str], *, n: int,
              targets: np.ndarray, rules: Rules, start: list[int] | None = None,
              end: int | None = None, beam: int = 24, fanout: int = 12,
              shortlist: int = 200) -> Built:
    """The best sequence of ``n`` rows the beam finds (see the module docstring).
    ``start``: rows allowed first (default: any); ``end``: the row that must come last."""
    energy = np.asarray(energy, np.float64)
    # _energy_fit of every track, vectorised (the pool may be the whole library)
    efit0 = np.where(np.isnan(energy), 0.5, np.maximum(0.0, 1.0 - np.abs(energy - targets[0]) / 4.5))
    firsts = start if start else np.argsort(-efit0, kind="stable")[: beam].tolist()
    beams = [([r], efit0[r] * ENERGY_WEIGHT, []) for r in firsts if r != end]
    blocked: dict[str, int] = {}
    best_partial = max(beams, key=lambda b: b[1]) if beams else None
    for pos in range(1, n):
        last_slot = pos == n - 1 and end is not None
        expanded = []
        lasts = sorted({seq[-1] for seq, _, _ in beams})
        # one pass over the pool for every beam's last track (X is read once per position)
        S = np.asarray(X[lasts]) @ np.asarray(X).T
        row_of = {a: i for i, a in enumerate(lasts)}
        for seq, score, info in beams:
            a = seq[-1]
            sims = S[row_of[a]]
            if last_slot:
                cand = [end]
            else:
                k = min(shortlist + len(seq), sims.size)
                part = np.argpartition(-sims, k - 1)[:k]
                cand = part[np.lexsort((part, -sims[part]))].tolist()
            options = []
            for b in cand:
                if b == end and not last_slot:
                    continue  # the --to track is kept for the last slot
                why = _blocked(a, b, seq, mix, artist, rules)
                if why:
                    blocked[why] = blocked.get(why, 0) + 1
                    continue
                rel = relate(mix[a], mix[b])
                t, _ = transition(float(sims[b]), rel)
                gain = t + ENERGY_WEIGHT * _energy_fit(energy[b], targets[pos])
                fit = _energy_fit(energy[b], targets[pos])
                options.append((t + ENERGY_WEIGHT * fit, b, t, rel, fit))
            options.sort(key=lambda o: (-o[0], o[1]))
            for k, (gain, b, t, rel, fit) in enumerate(options[:fanout]):
                # the alternative to explain against: the local favourite when the beam
                # took a lower-ranked track, else the next best
                alt = options[0] if k else (options[1] if len(options) > 1 else None)
                expanded.append((seq + [b], score + gain,
                                 info + [(t, rel, fit, alt, k > 0)]))
        if not expanded:
            return _result(best_partial, targets, complete=False, blocked=blocked)
        expanded.sort(key=lambda e: (-e[1], e[0]))
        beams, seen = [], set()
        for e in expanded:  # one beam entry per (last track, set of tracks): no duplicates
            key = (e[0][-1], frozenset(e[0]))
            if key not in seen:
                seen.add(key)
                beams.append(e)
            if len(beams) == beam:
                break
        best_partial = beams[0]
    return _result(beams[0], targets, complete=True, blocked=blocked)


def _blocked(a: int, b: int, seq: list[int], mix: list, artist: list[str], rules: Rules) -> str | None:
    """Which constraint forbids ``b`` after ``a`` (None: allowed)."""
    if b in seq:
        return "repeat"
    if rules.artist_gap and artist[b] and artist[b] in {artist[r] for r in seq[-rules.artist_gap:]}:
        return "artist gap"
    ok = relate(mix[a], mix[b]).compatible(bpm_range=rules.bpm_range, key_mode=rules.key_mode)
    if ok is None:
        return None if rules.loose else "unknown tempo or key"
    if not ok:
        rel = relate(mix[a], mix[b])
        if rel.tempo is not None and abs(rel.tempo.change) > rules.bpm_range:
            return "tempo"
        return None if rules.loose else "key"
    return None


def _result(entry, targets, *, complete: bool, blocked: dict) -> Built:
    if entry is None:
        return Built([], 0.0, False, blocked)
    seq, score, info = entry
    steps = [Step(seq[0], float(targets[0]))]
    for i, (t, rel, fit, alt, ahead) in enumerate(info, start=1):
        steps.append(Step(seq[i], float(targets[i]), t, rel,
                          alt[1] if alt else None, alt[0] if alt else None, fit,
                          alt[2] if alt else None, alt[4] if alt else None, ahead))
    return Built(steps, float(score), complete, blocked)


def greedy(X: np.ndarray, mix: list, energy: np.ndarray, artist: list[str], *, n: int,
           targets: np.ndarray, rules: Rules, start: int) -> Built:
    """The obvious baseline: always the best next track by transition and curve."""
    return build_set(X, mix, energy, artist, n=n, targets=targets, rules=rules, start=[start],
                     beam=1, fanout=1)


def path(X: np.ndarray, mix: list, a: int, b: int, *, steps: int, rules: Rules | None = None,
         ) -> list[int]:
    """Rows leading from ``a`` to ``b``: waypoints along the great circle between their
    vectors, the nearest unused track to each (with ``rules``: only tracks mixable with the
    previous one, and the last one mixable into ``b`` too where any such track exists; the
    closest mixable one wins). Returns ``[a, ..., b]``."""
    va, vb = X[a].astype(np.float64), X[b].astype(np.float64)
    omega = np.arccos(np.clip(va @ vb, -1.0, 1.0))
    out = [a]

    def ok(x: int, y: int) -> bool:
        return bool(relate(mix[x], mix[y]).compatible(bpm_range=rules.bpm_range, key_mode=rules.key_mode))

    waypoints = np.linspace(0, 1, steps + 2)[1:-1]
    for i, t in enumerate(waypoints):
        if omega < 1e-6:
            w = va
        else:
            w = (np.sin((1 - t) * omega) * va + np.sin(t * omega) * vb) / np.sin(omega)
        sims = X @ (w / np.linalg.norm(w))
        order = [int(r) for r in np.argsort(-sims, kind="stable") if r not in out and r != b]
        if rules is not None:
            into_b = i == len(waypoints) - 1
            order = ([r for r in order if ok(out[-1], r) and ok(r, b)] if into_b else []) + \
                [r for r in order if ok(out[-1], r)]
        if order:
            out.append(order[0])
    return out + [b]


#: how far (energy 1-10) a track may sit from the curve before the set says it missed
MISS = 1.5


@dataclass(frozen=True)
class Miss:
    """A position where the set could not follow its energy curve, and what limited it."""

    position: int             # 0-based
    energy: float
    target: float
    limits: dict[str, int]    # constraint -> closer pool tracks it ruled out ("sound": allowed)
    closest: float | None     # the pool energy nearest the target (None: no energy known)

    @property
    def by(self) -> float:
        return round(abs(self.energy - self.target), 1)

    def reason(self) -> str:
        if not any(self.limits.values()):
            near = f" (the closest is {self.closest:.1f})" if self.closest is not None else ""
            return f"the pool: no unused track has an energy near {self.target:.1f}{near}"
        words = {"tempo": "tempo lock", "key": "key", "artist gap": "artist gap",
                 "unknown tempo or key": "unknown tempo or key", "repeat": "already played",
                 "sound": "a worse transition (they sound further away)"}
        parts = [f"{words.get(k, k)} ({v})" for k, v in sorted(self.limits.items(), key=lambda kv: -kv[1]) if v]
        return "closer tracks were ruled out by " + ", ".join(parts)

    def to_json(self) -> dict:
        return {"position": self.position + 1, "energy": round(self.energy, 1),
                "target": round(self.target, 1), "missed_by": self.by, "limits": self.limits,
                "reason": self.reason()}


def curve_misses(built: Built, energy: np.ndarray, mix: list, artist: list[str], rules: Rules,
                 *, threshold: float = MISS) -> list[Miss]:
    """Where the built set sits more than ``threshold`` from its curve, and why: which
    constraint (against the previous track) ruled out the pool tracks closer to the target,
    or that the pool holds none ("sound": a closer track was allowed, but the transition
    scored worse). ``energy`` ``(n,)`` per pool row, NaN = unknown."""
    energy = np.asarray(energy, np.float64)
    rows = [s.row for s in built.steps]
    out = []
    for pos, step in enumerate(built.steps):
        e = energy[step.row]
        if np.isnan(e) or abs(e - step.target) <= threshold:
            continue
        known = ~np.isnan(energy)
        closest = (float(energy[known][np.argmin(np.abs(energy[known] - step.target))])
                   if known.any() else None)
        limits: dict[str, int] = {}
        for b in np.flatnonzero(known & (np.abs(energy - step.target) < abs(e - step.target) - 0.5)):
            b = int(b)
            if b in rows[:pos] or b == step.row:
                why = "repeat" if b in rows[:pos] else None
            elif pos == 0:
                why = "sound"
            else:
                why = _blocked(rows[pos - 1], b, rows[:pos], mix, artist, rules) or "sound"
            if why and why != "repeat":
                limits[why] = limits.get(why, 0) + 1
        out.append(Miss(pos, float(e), float(step.target), limits, closest))
    return out
