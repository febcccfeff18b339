"""The vibe as vectors: the offline vocabulary vector and word queries.

Offline, a vibe is a vector over the vocabulary: one block per list (sub-genre,
character, texture, placement) plus energy. Block weights make a shared
sub-genre count for more than a shared texture. Same vocabulary -> same layout,
so vectors stay comparable; a changed vocabulary makes a new space.
"""

from __future__ import annotations

import re

import numpy as np

from .. import analysis
from .local import covered, match
from .vocabulary import Assessment, Vocabulary

WEIGHTS = {"genre": 1.0, "character": 0.7, "texture": 0.5, "placement": 0.5, "energy": 0.8}


def dims(vocab: Vocabulary) -> int:
    return len(vocab.genres) + len(vocab.characters) + len(vocab.textures) + len(vocab.placements) + 1


def _block(terms: list[str], allowed: tuple[str, ...], weight: float) -> np.ndarray:
    v = np.zeros(len(allowed), np.float32)
    for t in terms:
        if t in allowed:
            v[allowed.index(t)] = 1.0
    n = np.linalg.norm(v)
    return v / n * weight if n else v


def vector(a: Assessment | None, vocab: Vocabulary, *, genres=(), characters=(), textures=(),
           placement: str | None = None, energy: float | None = None) -> np.ndarray:
    """The unit vibe vector ``(dims,)`` of an assessment (or of loose terms for a query)."""
    if a is not None:
        genres, characters, textures = a.genres, a.characters, a.textures
        placement, energy = a.placement, a.energy
    parts = [
        _block(list(genres), vocab.genres, WEIGHTS["genre"]),
        _block(list(characters), vocab.characters, WEIGHTS["character"]),
        _block(list(textures), vocab.textures, WEIGHTS["texture"]),
        _block([placement] if placement else [], vocab.placements, WEIGHTS["placement"]),
        np.array([WEIGHTS["energy"] * (energy - 5.5) / 4.5 if energy is not None else 0.0], np.float32),
    ]
    return analysis.normalize(np.concatenate(parts))


def parse_words(text: str, vocab: Vocabulary) -> tuple[dict, list[str]]:
    """Map free words onto the vocabulary: ``({genres, characters, textures, placement,
    energy}, unknown words)``, with the same rule table as the offline analyzer."""
    lowered = text.lower()
    found: dict = {"genres": [], "characters": [], "textures": [], "placement": None, "energy": None}
    for cat, term in match(lowered):
        key = cat + "s"
        if term in getattr(vocab, key) and term not in found[key]:
            found[key].append(term)
    if re.search(r"(?<![a-z])acid(?![a-z])", lowered) and not any("Acid" in g for g in found["genres"]):
        # a query has no tempo to decide by: "acid" means both acid sub-genres
        found["genres"] += [g for g in ("Acid House", "Acid Techno") if g in vocab.genres]
    spans = covered(lowered)
    for p in vocab.placements:
        for form in {p.lower(), p.lower().replace("-", " ")}:
            i = lowered.find(form)
            if i >= 0:
                found["placement"] = p
                spans.append((i, i + len(form)))
    m = re.search(r"energy\s*[:=]?\s*(\d+(?:\.\d+)?)", lowered)
    if m:
        found["energy"] = float(np.clip(float(m.group(1)), 1, 10))
        spans.append(m.span())
    unknown = [w.group() for w in re.finditer(r"[a-z0-9&'-]+", lowered)
               if not any(a < w.end() and w.start() < b for a, b in spans)]
    return found, unknown
