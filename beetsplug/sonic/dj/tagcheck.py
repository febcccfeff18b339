"""Tags checked against the audio: where a track's ``bpm``/``initial_key`` tags and the
plugin's own reading of its audio disagree. Pure functions over beets items' fields.

A tempo disagrees when the tag is more than 4 % off the audio's reading; the usual
culprit, a tag at half or double (or two thirds, three halves) the tempo, is named. A key
disagrees when the tag is neither the audio's key nor its relative (the relative shares
every note: key detectors, people and tags confuse the two, and both mix alike).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import keys

TEMPO_TOLERANCE = 0.04
#: tag / audio ratios worth naming, in the order they are tried
RATIOS = (("half", 0.5), ("double", 2.0), ("two thirds", 2 / 3), ("three halves", 1.5))


@dataclass(frozen=True)
class Disagreement:
    item_id: int
    bpm_tag: float | None = None
    bpm_audio: float | None = None
    bpm_conf: float | None = None
    tempo: str | None = None        # "half", "double", ..., "off"; None: no disagreement
    key_tag: str | None = None
    key_audio: str | None = None
    key_conf: float | None = None
    key: str | None = None          # keys.relation of the audio's key to the tag's

    def describe(self) -> str:
        parts = []
        if self.tempo:
            what = f" (the tag is {self.tempo} the audio's)" if self.tempo != "off" else ""
            parts.append(f"bpm tag {self.bpm_tag:g} vs audio {self.bpm_audio:.1f}{what}")
        if self.key:
            parts.append(f"key tag {self.key_tag} vs audio {self.key_audio}")
        return "; ".join(parts)

    def to_json(self) -> dict:
        return {"bpm_tag": self.bpm_tag, "bpm_audio": self.bpm_audio, "bpm_conf": self.bpm_conf,
                "tempo": self.tempo, "key_tag": self.key_tag, "key_audio": self.key_audio,
                "key_conf": self.key_conf, "key_relation": self.key}


def tempo_relation(tag: float, audio: float) -> str | None:
    """None when ``tag`` is within 4 % of ``audio``; else the named ratio, or ``off``."""
    if abs(tag / audio - 1) <= TEMPO_TOLERANCE:
        return None
    for name, r in RATIOS:
        if abs(tag / (audio * r) - 1) <= TEMPO_TOLERANCE:
            return name
    return "off"


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def check(item: Any) -> Disagreement | None:
    """The disagreement between ``item``'s tags and its audio reading, or None."""
    tag_bpm, audio_bpm = _float(item.get("bpm")), _float(item.get("sonic_bpm"))
    tempo = tempo_relation(tag_bpm, audio_bpm) if tag_bpm and audio_bpm else None
    tag_key = keys.parse(item.get("initial_key") or "")
    audio_key = keys.from_camelot(item.get("sonic_camelot") or "") if item.get("sonic_camelot") else None
    key = None
    if tag_key and audio_key:
        rel = keys.relation(tag_key, audio_key)
        key = rel if rel not in ("same", "relative") else None
    if tempo is None and key is None:
        return None
    return Disagreement(item.id, tag_bpm, audio_bpm, _float(item.get("sonic_bpm_conf")), tempo,
                        tag_key.name if tag_key else None, audio_key.name if audio_key else None,
                        _float(item.get("sonic_key_conf")), key)
