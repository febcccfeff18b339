"""``beet similar --text WORDS``: tracks described by words, in every space that can read them.

- **musicnn** (offline): the words become MSD tag weights (:mod:`.textvocab`); a
  track's score is the weighted mean of how far each tag's probability lies above
  the library's average (:func:`tag_scores`), so "electronic" means "more
  electronic than this library's typical track".
- **gemini**: the words are embedded by the space's own multimodal model (one text
  request through the shared client, cached in the sidecar) and compared by
  cosine with the model's own audio vectors (the raw ones: standardising a text
  vector with the library's *audio* statistics would move it by the audio mean).
- **vibe**: the vibe space's word search (``beet vibe --search``).

Every path ends in the same ranking (:func:`search.rank`) and the same standing
(a hit is a match only when it scores above the library's median track).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from . import analysis, search, textvocab
from .errors import FatalError, ItemError
from .musicnn.model import MSD_TAGS
from .search import Hit, Query
from .store import Space, Store, textcache


@dataclass
class TextResult:
    text: str
    space: str
    method: str                       # "tags" | "gemini" | "vibe"
    query: Query                      # the library's score distribution (for standing)
    hits: list[Hit]
    parsed: textvocab.Parsed | None = None   # musicnn: what the words meant
    unknown: list[str] = field(default_factory=list)
    requested: bool = False           # gemini: a request was made (not from the cache)

    def to_json(self) -> dict:
        out = {"text": self.text, "space": self.space, "method": self.method, "unknown": self.unknown}
        if self.parsed is not None:
            out.update(self.parsed.to_json())
        if self.method == "gemini":
            out["requested"] = self.requested
        return out


def _query(scores: np.ndarray) -> Query:
    s = np.sort(np.asarray(scores, np.float32))
    return Query([], [], None, library_size=int(s.size),
                 typical=float(np.median(s)) if s.size else 0.0, scores=s)


def ranked(ids: np.ndarray, scores: np.ndarray, *, n: int, within: Iterable[int] | None = None,
           max_per_group: int | None = None,
           group_of: Callable[[int], str] | None = None) -> tuple[Query, list[Hit]]:
    """The ``n`` best of ``scores`` ``(n_items,)`` (one per id) and their distribution."""
    hits = search.rank(ids, None, None, n=n, within=within, max_per_group=max_per_group,
                       group_of=group_of, scores=np.asarray(scores, np.float32))
    return _query(scores), hits


# --- musicnn: tag profiles -------------------------------------------------------------


#: the columns a text query weighs: the 50 MSD tags, then the track's energy measured from
#: the audio (``sonic_energy`` 1-10 scaled to 0-1; a track without one gets the library mean)
FEATURES = [*MSD_TAGS, "energy"]


def tag_matrix(extras: dict[int, dict]) -> tuple[np.ndarray, np.ndarray]:
    """``(ids (n,) ascending, P (n, 51))``: the MSD tag probabilities and the scaled energy
    of every track that has tags, columns in :data:`FEATURES` order."""
    rows = sorted((iid, e) for iid, e in extras.items() if isinstance(e.get("tags"), dict))
    ids = np.array([r[0] for r in rows], np.int64)
    P = np.array([[float(e["tags"].get(tag, 0.0)) for tag in MSD_TAGS] + [_energy(e)] for _, e in rows],
                 np.float32).reshape(len(rows), len(FEATURES))
    known = ~np.isnan(P[:, -1])
    P[~known, -1] = P[known, -1].mean() if known.any() else 0.5
    return ids, P


def _energy(extra: dict) -> float:
    dj = extra.get("dj") or {}
    e = dj.get("energy") if isinstance(dj, dict) else None
    return float(np.clip((float(e) - 1) / 9, 0, 1)) if e is not None else float("nan")


def tag_scores(P: np.ndarray, weights: dict[str, float]) -> np.ndarray:
    """Each track's match ``(n,)`` to tag ``weights`` (``P`` ``(n, 51)``, :data:`FEATURES`):
    the weighted mean of how much more
    probable each tag is for the track than for the library's average track
    (``sum_t w_t (P[:, t] - mean_t) / sum_t |w_t|``; 0.1 = ten points above average).

    Deliberately in probability units, not per-tag standard scores: a tag the model is
    unsure of everywhere (probabilities all under 0.2) must not count as much as one it
    is confident about. A one-word query ranks the same either way.
    """
    unknown = sorted(set(weights) - set(FEATURES))
    if unknown:
        raise ValueError(f"not MSD tags: {unknown}")
    w = np.array([weights.get(t, 0.0) for t in FEATURES], np.float64)
    total = np.abs(w).sum()
    if not total or len(P) == 0:
        return np.zeros(len(P), np.float32)
    P = np.asarray(P, np.float64)
    return ((P - P.mean(axis=0)) @ w / total).astype(np.float32)


def by_tags(store: Store, space: Space, text: str, **rank_options) -> TextResult:
    parsed = textvocab.parse(text)
    if not parsed.terms:
        raise FatalError(f"none of the words {text!r} is in the vocabulary"
                         + (f" (not understood: {', '.join(parsed.unknown)})" if parsed.unknown else "")
                         + ": docs/text-search.md lists every word the musicnn space understands")
    tids, P = textcache.tag_matrix(store, space, tag_matrix, dims=len(FEATURES))
    if tids.size == 0:
        raise FatalError(f"no track in the {space.name} space has musicnn tags: run `beet embed`")
    query, hits = ranked(tids, tag_scores(P, parsed.weights()), **rank_options)
    return TextResult(text, space.name, "tags", query, hits, parsed=parsed, unknown=parsed.unknown)


# --- gemini: the model's own text embedding --------------------------------------------


def cache_key(text: str) -> str:
    """The words as cached and sent: whitespace collapsed, case kept."""
    return " ".join(text.split())


def gemini_vector(store: Store, client_of: Callable[[], object], *, model: str, dims: int,
                  text: str, announce: Callable[[str], None]) -> tuple[np.ndarray, bool]:
    """The unit vector ``(dims,)`` of ``text`` and whether a request was made: from the
    sidecar's cache, else one text request (announced first) through the shared client."""
    words = cache_key(text)
    cached = textcache.get(store, model=model, dims=dims, text=words)
    if cached is not None:
        return cached, False
    announce(f"asking Gemini ({model}, {dims} dims) to embed the words: one request "
             "(cached in the sidecar: repeating this search costs nothing)")
    client = client_of()
    content = client.types.Content(parts=[client.types.Part.from_text(text=words)])
    try:
        (values,) = client.embed([content], model=model, dims=dims)
    except ItemError as exc:
        raise FatalError(f"Gemini could not embed the words: {exc}") from None
    v = np.asarray(values, np.float32)
    if v.size != dims or not np.all(np.isfinite(v)) or not np.any(v):
        raise FatalError(f"Gemini returned an unusable vector for the words ({v.size} values, "
                         f"expected {dims}): try again later")
    v = analysis.normalize(v)
    textcache.put(store, model=model, dims=dims, text=words, vector=v)
    return v, True


def by_gemini(store: Store, space: Space, text: str, *, client_of: Callable[[], object],
              announce: Callable[[str], None], **rank_options) -> TextResult:
    ids, R = store.raw_matrix(space)
    if ids.size == 0:
        raise FatalError(f"the {space.name} space has no vectors yet: run `beet embed`")
    R = np.asarray(R, np.float32)[:, : space.dims]
    q, requested = gemini_vector(store, client_of, model=space.model, dims=space.dims,
                                 text=text, announce=announce)
    scores = analysis.normalize(R) @ q
    query, hits = ranked(ids, scores, **rank_options)
    return TextResult(text, space.name, "gemini", query, hits, requested=requested)


# --- vibe ------------------------------------------------------------------------------


def by_vibe(vibes, text: str, *, announce: Callable[[str], None] = lambda _: None,
            **rank_options) -> TextResult:
    from .vibe import run as vr

    if vibes.store.count(vibes.space) == 0:
        raise FatalError("no vibes yet: run `beet vibe` first")
    ids, scores, unknown = vr.word_scores(vibes, text, announce=announce)
    query, hits = ranked(ids, scores, **rank_options)
    if not vibes.hosted:  # offline, a score of 0 shares no word: not a match, never padding
        hits = [h for h in hits if h.score > 1e-6]
    return TextResult(text, vibes.space.name, "vibe", query, hits, unknown=unknown)


# --- the map: what its "describe" box needs -------------------------------------------


def map_words(store: Store, space: Space, ids: list[int]) -> dict | None:
    """The ``words`` entry of a map's payload for the tracks ``ids`` (in the page's order):
    musicnn: every track's tag probabilities and energy (per mille, -1 = none) and the vocabulary, so
    the page scores words itself, offline; gemini and vibe: a note that text search
    needs the command line; another space: None (no box)."""
    if space.kind == "vibe" or space.backend == "gemini":
        return {"method": "gemini" if space.backend == "gemini" else "vibe",
                "note": "describing in words needs the command line here: beet similar --text \"...\""
                        + (" (the words go to Gemini)" if space.backend == "gemini" else " --space vibe")}
    if space.backend != "musicnn":
        return None
    tids, P = textcache.tag_matrix(store, space, tag_matrix, dims=len(FEATURES))
    rows = search.rows_of(tids, list(ids))[0] if tids.size else np.zeros(0, np.int64)
    have = {int(tids[r]): r for r in rows}
    flat: list[int] = []
    for iid in ids:
        r = have.get(int(iid))
        flat.extend([-1] * len(FEATURES) if r is None else np.rint(np.asarray(P[r]) * 1000).astype(int).tolist())
    return {"method": "tags", "tagNames": list(FEATURES), "tags": flat,
            "vocab": [[list(words), weights] for words, weights in textvocab.vocabulary()],
            "negations": list(textvocab.NEGATIONS), "filler": list(textvocab.FILLER)}
