"""The Gemini analyzer: an "experienced underground DJ" reads the metadata and answers
in the vocabulary, through structured output whose enums ARE the vocabulary."""

from __future__ import annotations

import json
from typing import Any

from ..errors import ItemError
from .vocabulary import ENERGY_ANCHORS, Assessment, Vocabulary

SYSTEM = (
    "You are an experienced underground DJ preparing sets. From a track's metadata, judge "
    "its sub-genre, sonic character and texture using ONLY the allowed words, its energy "
    "on a 1-10 scale, and where it belongs in a set. Energy anchors: "
    + "; ".join(f"{k:g} = {v}" for k, v in ENERGY_ANCHORS.items())
    + ". Choose 1-3 sub-genres, up to 5 characters and up to 3 textures. When unsure, "
      "choose fewer words rather than guessing."
)

FIELDS = ("artist", "title", "album", "label", "year", "bpm", "initial_key", "genres", "style",
          "comments")


def metadata(item: Any) -> dict[str, Any]:
    """What the model is told about a track (empty fields left out)."""
    out = {}
    for key in FIELDS:
        value = item.get(key)
        if isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value))
        if value not in (None, "", 0, 0.0):
            out["key" if key == "initial_key" else key] = value
    return out


def prompt(item: Any) -> str:
    return "Assess this track:\n" + json.dumps(metadata(item), ensure_ascii=False, indent=1)


def schema(vocab: Vocabulary) -> dict:
    def terms(words, lo, hi):
        return {"type": "ARRAY", "items": {"type": "STRING", "enum": list(words)},
                "minItems": lo, "maxItems": hi}

    return {
        "type": "OBJECT",
        "properties": {
            "genres": terms(vocab.genres, 1, 3),
            "characters": terms(vocab.characters, 0, 5),
            "textures": terms(vocab.textures, 0, 3),
            "energy": {"type": "NUMBER", "minimum": 1, "maximum": 10},
            "placement": {"type": "STRING", "enum": list(vocab.placements)},
        },
        "required": ["genres", "characters", "textures", "energy", "placement"],
        "propertyOrdering": ["genres", "characters", "textures", "energy", "placement"],
    }


def parse(text: str, vocab: Vocabulary, *, source: str) -> Assessment:
    """Validate a model answer against the schema and the vocabulary (ItemError if not)."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise ItemError(f"the model's answer is not JSON: {str(text)[:80]!r}") from None
    if not isinstance(data, dict):
        raise ItemError("the model's answer is not a JSON object")
    try:
        a = Assessment(genres=list(data["genres"]), characters=list(data["characters"]),
                       textures=list(data["textures"]), energy=float(data["energy"]),
                       placement=str(data["placement"]), source=source)
    except (KeyError, TypeError, ValueError) as exc:
        raise ItemError(f"the model's answer misses or mangles a field ({exc})") from None
    if not a.genres:
        raise ItemError("the model's answer names no sub-genre")
    return vocab.check(a)


class GeminiAnalyzer:
    def __init__(self, client, vocab: Vocabulary, *, model: str):
        self.client = client
        self.vocab = vocab
        self.model = model

    def assess(self, item: Any) -> Assessment:
        """Ask; an answer outside the schema or vocabulary is asked again once."""
        reason = ""
        for _ in range(2):
            text = self.client.generate_json(prompt(item), schema=schema(self.vocab),
                                             model=self.model, system=SYSTEM)
            try:
                return parse(text, self.vocab, source=self.model)
            except ItemError as exc:
                reason = str(exc)
        raise ItemError(f"rejected the model's answer twice: {reason}")
