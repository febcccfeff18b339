"""Can these two tracks be mixed, and how well? Pure functions over :class:`Mixable`.

Tempo: the pitch fader change that brings the candidate to the current track's tempo,
trying half and double time too (a 170 BPM track mixes into an 85 BPM one).
Key: the candidate's relation on the Camelot wheel (:func:`.keys.relation`).

The transition score of an ordered pair (current -> next), 0-1:

    0.5 * sound  +  0.2 * tempo  +  0.2 * key  +  0.1 * energy

sound  = the cosine of the two tracks' vectors, mapped from [0, 1] (negative = 0)
tempo  = 1 - |tempo change| / 8 %  (0 beyond 8 %; 0.5 when a tempo is unknown or doubtful)
key    = keys.RELATIONS: same 1, +-1 0.85, relative 0.8, boost 0.6, clash 0 (0.5 unknown
         or doubtful)

A doubtful reading (an audio estimate whose confidence is below ``fields.DOUBTFUL_BELOW``)
counts like an unknown one in a score and in ``similar --mix`` (``--loose`` lists it);
the transition remembers it (``Relation.doubts``) so that sets can say so.
energy = 1 - |energy step| / 3 on the 1-10 scale (1 when unknown)
"""

from __future__ import annotations

from dataclasses import dataclass

from . import keys
from .fields import Mixable

WEIGHTS = {"sound": 0.5, "tempo": 0.2, "key": 0.2, "energy": 0.1}
TEMPO_SPAN = 8.0   # percent at which the tempo part of a transition reaches 0


@dataclass(frozen=True)
class TempoMatch:
    change: float        # percent the candidate must be sped up (+) or slowed (-)
    factor: float        # 1, 2 (candidate at double time) or 0.5 (half time)

    @property
    def flag(self) -> str:
        return {1.0: "", 2.0: "double-time", 0.5: "half-time"}[self.factor]


def tempo_match(current: float, candidate: float) -> TempoMatch:
    """The smallest pitch change that makes ``candidate`` play at ``current``'s tempo."""
    best = None
    for factor in (1.0, 2.0, 0.5):
        change = (current / (candidate * factor) - 1.0) * 100.0
        if best is None or abs(change) < abs(best.change) - 1e-9:
            best = TempoMatch(round(change, 1), factor)
    return best


@dataclass(frozen=True)
class Relation:
    """How ``candidate`` follows ``current``."""

    tempo: TempoMatch | None
    key: str | None          # keys.relation, None when a key is unknown
    doubts: tuple[str, ...] = ()   # "tempo"/"key": a side's reading of it is doubtful

    def compatible(self, *, bpm_range: float, key_mode: str) -> bool | None:
        """True/False, or None when tempo or key is unknown (only ``--loose`` lists those)."""
        if self.tempo is None or (key_mode != "any" and self.key is None):
            return None
        if abs(self.tempo.change) > bpm_range:
            return False
        if key_mode == "same":
            return self.key == "same"
        if key_mode == "compatible":
            return self.key in keys.COMPATIBLE or self.key == "boost"
        return True


def relate(current: Mixable, candidate: Mixable) -> Relation:
    tm = tempo_match(current.bpm, candidate.bpm) if current.bpm and candidate.bpm else None
    kr = keys.relation(current.key, candidate.key) if current.key and candidate.key else None
    doubts = tuple(d for d in ("tempo", "key") if d in current.doubts or d in candidate.doubts)
    return Relation(tm, kr, doubts)


def transition(sound: float, rel: Relation, *, energy_step: float | None = None) -> tuple[float, dict]:
    """``(score 0-1, parts)`` for one ordered pair (see the module docstring)."""
    parts = {
        "sound": max(0.0, min(1.0, float(sound))),
        "tempo": 0.5 if rel.tempo is None or "tempo" in rel.doubts
        else max(0.0, 1.0 - abs(rel.tempo.change) / TEMPO_SPAN),
        "key": 0.5 if rel.key is None or "key" in rel.doubts else keys.RELATIONS[rel.key],
        "energy": 1.0 if energy_step is None else max(0.0, 1.0 - abs(energy_step) / 3.0),
    }
    return sum(WEIGHTS[k] * v for k, v in parts.items()), parts


def weakest_reason(parts: dict, rel: Relation, a: Mixable, b: Mixable, sound: float) -> str:
    """Why a transition is weak, in a DJ's words: a key clash first, then a tempo change a
    pitch fader can't hide (over 4 %), then what is unknown, then the sound."""
    if rel.key == "clash" and "key" not in rel.doubts:
        return f"key clash {a.key.camelot}→{b.key.camelot}"
    if rel.tempo is not None and abs(rel.tempo.change) > 4.0 and "tempo" not in rel.doubts:
        return f"{rel.tempo.change:+.1f}% tempo"
    if rel.tempo is None or rel.key is None:
        return "unknown " + ("tempo" if rel.tempo is None else "key")
    if rel.doubts:
        return "doubtful " + " and ".join(rel.doubts) + " reading"
    if parts["energy"] < 0.5:
        return "energy jump"
    if rel.key == "boost":
        return f"energy boost {a.key.camelot}→{b.key.camelot}"
    return f"sound {sound:.2f}"


@dataclass(frozen=True)
class MixHit:
    item_id: int
    score: float             # sound: cosine to the seed
    relation: Relation
    mixable: Mixable
    compatible: bool | None  # None: tempo or key unknown or doubtful


def mix_candidates(ranked: list, current: Mixable, lookup, *, n: int, bpm_range: float,
                   key_mode: str, loose: bool) -> list[MixHit]:
    """From hits ranked by sound (best first, ``.item_id``/``.score``), the ``n`` that
    can be mixed into ``current``; with ``loose``, tracks of unknown tempo or key follow
    the compatible ones (never mixed in among them). ``lookup(id) -> Mixable | None``."""
    good, unknown = [], []
    for hit in ranked:
        m = lookup(hit.item_id)
        if m is None:
            continue
        rel = relate(current, m)
        ok = rel.compatible(bpm_range=bpm_range, key_mode=key_mode)
        if ok and ("tempo" in rel.doubts or ("key" in rel.doubts and key_mode != "any")):
            ok = None  # a doubtful reading is no promise: --loose territory
        if ok:
            good.append(MixHit(hit.item_id, hit.score, rel, m, True))
        elif ok is None and loose:
            unknown.append(MixHit(hit.item_id, hit.score, rel, m, None))
        if len(good) >= n:
            break
    return good[:n] + (unknown[: n - len(good)] if loose else [])
