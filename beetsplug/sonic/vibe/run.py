"""`beet vibe` use cases: assess, store (fields + vibe space), search by words, discrepancy."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import analysis
from ..errors import FatalError, ItemError
from ..search import Hit, rank
from ..spaces import open_space
from ..store import Space, SpaceSpec, Store
from . import local
from . import space as vspace
from .analyzers import is_hosted
from .llm import GeminiAnalyzer
from .vocabulary import Assessment, Vocabulary


@dataclass
class Vibes:
    """Everything one run needs: the store, the vibe space, the analyzer."""

    store: Store
    vocab: Vocabulary
    space: Space
    analyzer: str                 # "local" or "gemini"
    client: Any = None            # gemini.Client when hosted
    chat_model: str = ""
    text_model: str = ""

    @property
    def hosted(self) -> bool:
        return is_hosted(self.analyzer)


def space_spec(vocab: Vocabulary, analyzer: str, *, text_model: str = "", dims: int = 768) -> SpaceSpec:
    if is_hosted(analyzer):
        return SpaceSpec(name=f"vibe-{analyzer}", kind="vibe", backend="gemini", model=text_model,
                         dims=dims, params={"vocabulary": vocab.fingerprint})
    return SpaceSpec(name="vibe-local", kind="vibe", backend="local", model="vocabulary",
                     dims=vspace.dims(vocab), params={"vocabulary": vocab.fingerprint})


def open_vibes(store: Store, vocab: Vocabulary, analyzer: str, *, client=None, chat_model: str = "",
               text_model: str = "", dims: int = 768, rebuild: bool = False) -> Vibes:
    """The vibe space for this vocabulary and analyzer, under the one space policy: a
    stored vibe space made with another vocabulary, text model or size is an error
    naming ``beet vibe --rebuild`` (never dropped silently: hosted vibes are paid work)."""
    spec = space_spec(vocab, analyzer, text_model=text_model, dims=dims)
    sp = open_space(store, spec, rebuild=rebuild)
    return Vibes(store, vocab, sp, analyzer, client, chat_model, text_model)


def open_from_settings(store: Store, settings: Any, *, rebuild: bool = False,
                       log: Callable[[str], None] = lambda m: None) -> Vibes:
    """The configured analyzer's vibe space (a hosted one gets its polite client)."""
    from ..gemini import Client

    g = settings.gemini
    hosted = is_hosted(settings.vibe_analyzer)
    client = Client(g, log=log) if hosted else None
    return open_vibes(store, settings.vocab, settings.vibe_analyzer, client=client,
                      chat_model=g.chat_model if hosted else "",
                      text_model=g.text_model if hosted else "",
                      dims=g.dims if hosted else 768, rebuild=rebuild)


def pending(v: Vibes, items: Iterable[Any], *, force: bool = False) -> list:
    entries = v.store.entries(v.space)
    return [it for it in items if force or not (entries.get(it.id) and entries[it.id].ok)]


def _musicnn_tags(store: Store, item_id: int) -> dict[str, float] | None:
    space = store.get_space("musicnn")
    if space is None:
        return None
    extra = store.extras(space, [item_id]).get(item_id) or {}
    return extra.get("tags")


def assess(v: Vibes, item: Any) -> Assessment:
    if v.hosted:
        return GeminiAnalyzer(v.client, v.vocab, model=v.chat_model).assess(item)
    return local.assess(item, v.vocab, musicnn_tags=_musicnn_tags(v.store, item.id))


def vector_of(v: Vibes, a: Assessment) -> np.ndarray:
    if v.hosted:
        (values,) = v.client.embed([a.text()], model=v.text_model, dims=v.space.dims)
        if len(values) != v.space.dims:
            raise ItemError(f"the text embedding has {len(values)} values, expected {v.space.dims}")
        return analysis.normalize(np.asarray(values, np.float32))
    return vspace.vector(a, v.vocab)


def store_vibe(v: Vibes, item: Any, a: Assessment) -> None:
    """Write the vibe: fields on the item (queryable in beets) and the vector."""
    vec = vector_of(v, a)
    for key, value in a.fields().items():
        item[key] = value
    item.store()
    v.store.put_vector(v.space, item.id, vector=vec, extra={"assessment": a.to_json(),
                                                            "vocabulary": v.vocab.fingerprint})


@dataclass
class Result:
    item: Any
    assessment: Assessment | None = None
    error: str | None = None


def run(v: Vibes, items: list, *, pretend: bool = False,
        on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Assess (and unless ``pretend``, store) each item; one failure never stops the run.
    A FatalError (bad key, daily quota) stops it; finished vibes are kept."""
    results = []
    for item in items:
        try:
            a = assess(v, item)
            if not pretend:
                store_vibe(v, item, a)
            r = Result(item, a)
        except ItemError as exc:
            if not pretend:
                v.store.put_error(v.space, item.id, str(exc))
            r = Result(item, error=str(exc))
        results.append(r)
        if on_result:
            on_result(r)
    return results


def word_scores(v: Vibes, text: str, *, announce: Callable[[str], None] = lambda _: None,
                ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every vibe's similarity to free words: ``(ids (n,), scores (n,), unknown words)``."""
    ids, X = v.store.matrix(v.space)
    if v.hosted:  # the model's own text embedding, cached in the sidecar like similar --text's
        from ..textsearch import gemini_vector

        q, _ = gemini_vector(v.store, lambda: v.client, model=v.text_model, dims=v.space.dims,
                             text=text, announce=announce)
        unknown = []
    else:
        found, unknown = vspace.parse_words(text, v.vocab)
        if not (found["genres"] or found["characters"] or found["textures"] or found["placement"]
                or found["energy"] is not None):
            raise FatalError(f"none of the words {text!r} is in the vibe vocabulary "
                             "(see docs/vibe.md for the words and their spellings)")
        q = vspace.vector(None, v.vocab, genres=found["genres"], characters=found["characters"],
                          textures=found["textures"], placement=found["placement"],
                          energy=found["energy"])
    return ids, np.asarray(X @ q, np.float32), unknown


def search_words(v: Vibes, text: str, *, n: int, within: list[int] | None = None,
                 announce: Callable[[str], None] = lambda _: None) -> tuple[list[Hit], list[str]]:
    """Items whose vibe is nearest to free words; returns ``(hits, unknown words)``.
    ``announce``: told before a request to a hosted model (none for cached words)."""
    ids, scores, unknown = word_scores(v, text, announce=announce)
    hits = rank(ids, None, None, n=n, within=within, scores=scores)
    if not v.hosted:  # offline, a score of 0 shares no word: not a match, never padding
        hits = [h for h in hits if h.score > 1e-6]
    return hits, unknown


@dataclass
class Disagreement:
    item_id: int
    score: float               # 1 - overlap of the two neighbour lists
    audio_neighbours: list[int]
    vibe_neighbours: list[int]


def discrepancy(audio: tuple[np.ndarray, np.ndarray], vibe: tuple[np.ndarray, np.ndarray], *,
                only: set[int] | None = None, k: int = 5) -> list[Disagreement]:
    """Tracks whose audio neighbours and vibe neighbours disagree most, most first.

    Over the items that have both vectors, each item's k nearest in the audio space
    and in the vibe space; the score is the share of audio neighbours missing from
    the vibe list (ties broken by how much less similar the audio neighbours look
    in the vibe space).
    """
    a_ids, A = audio
    v_ids, V = vibe
    common = np.intersect1d(a_ids, v_ids)
    if common.size < k + 2:
        return []
    A = np.asarray(A[np.searchsorted(a_ids, common)])
    V = np.asarray(V[np.searchsorted(v_ids, common)])
    ai, _ = analysis.knn(A, k=k)
    vi, _ = analysis.knn(V, k=k)
    ranked = []
    for r, iid in enumerate(common.tolist()):
        if only is not None and iid not in only:
            continue
        overlap = len(set(ai[r]) & set(vi[r])) / k
        gap = float(np.mean(V[vi[r]] @ V[r]) - np.mean(V[ai[r]] @ V[r]))
        d = Disagreement(iid, round(1 - overlap, 4), common[ai[r]].tolist(), common[vi[r]].tolist())
        # the gap (how much less alike the sound neighbours look as vibes) orders ties only
        ranked.append((-(1 - overlap), -gap, d))
    ranked.sort(key=lambda x: x[:2])
    return [d for _, _, d in ranked]
