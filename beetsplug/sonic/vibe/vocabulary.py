"""The controlled vocabulary and one track's assessment in it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from ..errors import FatalError, ItemError

GENRES = ["Acid House", "Acid Techno", "Minimal Techno", "Deep House", "Detroit Techno",
          "Dub Techno", "EBM", "IDM", "Chicago House", "Tech House", "Hard Techno",
          "Industrial Techno", "Electro", "Breakbeat", "Jungle", "Drum & Bass", "UK Garage",
          "Ambient", "Disco", "Trance"]
#: parent genres: what a real library's plain tags say ("Techno", "Hip Hop", ...)
PARENT_GENRES = ["Techno", "House", "Hip Hop", "Rock", "Pop", "Jazz", "Soul & Funk", "Classical",
                 "Soundtrack", "Downtempo"]
#: a sub-genre's parent, added to every vibe that has the sub-genre (when both are in the
#: vocabulary), so a track tagged plain "Techno" and an Acid Techno track share a term
PARENTS = {"Acid Techno": "Techno", "Minimal Techno": "Techno", "Detroit Techno": "Techno",
           "Dub Techno": "Techno", "Hard Techno": "Techno", "Industrial Techno": "Techno",
           "Acid House": "House", "Deep House": "House", "Chicago House": "House",
           "Tech House": "House", "Jungle": "Drum & Bass"}
CHARACTERS = ["303 Bassline", "Hypnotic", "Driving", "Dark", "Atmospheric", "Warehouse", "Raw",
              "Funky", "Melodic", "Percussive", "Groovy", "Minimal", "Industrial", "Dreamy",
              "Euphoric", "Soulful", "Vocal", "Glitchy", "Bass-heavy", "Lo-fi"]
TEXTURES = ["Classic", "Modern", "Underground", "Peak Time", "Late Night", "Stripped Back",
            "Warm", "Cold", "Uplifting", "Deep"]
PLACEMENTS = ["Warm-up", "Early Set", "Mid Set", "Peak Time", "After-hours"]
ENERGY_ANCHORS = {2: "ambient or drone", 4: "warm-up", 6: "mid-set depth track",
                  7.5: "floor-filler", 9: "peak time", 10: "extreme"}


@dataclass(frozen=True)
class Vocabulary:
    genres: tuple[str, ...] = tuple(GENRES + PARENT_GENRES)
    characters: tuple[str, ...] = tuple(CHARACTERS)
    textures: tuple[str, ...] = tuple(TEXTURES)
    placements: tuple[str, ...] = tuple(PLACEMENTS)

    @classmethod
    def from_config(cls, view) -> "Vocabulary":
        lists = {}
        for key in ("genres", "characters", "textures", "placements"):
            value = view[key].get()
            if not isinstance(value, (list, tuple)) or not value or \
                    not all(isinstance(v, str) and v.strip() for v in value):
                raise FatalError(f"sonic: vibe: {key}: must be a non-empty list of words")
            if len(set(value)) != len(value):
                raise FatalError(f"sonic: vibe: {key}: has duplicates")
            lists[key] = tuple(v.strip() for v in value)
        return cls(**lists)

    @property
    def fingerprint(self) -> str:
        """Changes whenever any list changes; old vibes then count as stale."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    def with_parents(self, genres: list[str]) -> list[str]:
        """``genres`` and, after them, the parents of those that have one."""
        out = list(genres)
        for g in genres:
            parent = PARENTS.get(g)
            if parent in self.genres and parent not in out:
                out.append(parent)
        return out

    def check(self, a: "Assessment") -> "Assessment":
        """Reject anything outside the vocabulary or the energy range (ItemError); the
        parents of its sub-genres are added."""
        for name, allowed in (("genre", self.genres), ("character", self.characters),
                              ("texture", self.textures)):
            for term in getattr(a, name + "s"):
                if term not in allowed:
                    raise ItemError(f"{name} {term!r} is not in the vocabulary")
        if a.placement not in self.placements:
            raise ItemError(f"placement {a.placement!r} is not one of {', '.join(self.placements)}")
        if not 1.0 <= a.energy <= 10.0:
            raise ItemError(f"energy {a.energy} is outside 1-10")
        a.genres = self.with_parents(a.genres)
        return a


@dataclass
class Assessment:
    genres: list[str]
    characters: list[str]
    textures: list[str]
    energy: float
    placement: str
    source: str
    evidence: list[str] = field(default_factory=list)
    #: where the energy came from: "bpm tag", "audio energy", "audio tempo", "default"
    #: (the offline analyzer), "" (an LLM's judgement)
    energy_basis: str = ""

    def to_json(self) -> dict:
        return asdict(self)

    def fields(self) -> dict:
        """The beets flexible fields this assessment is stored as."""
        return {"vibe_genre": list(self.genres), "vibe_character": list(self.characters),
                "vibe_texture": list(self.textures), "vibe_energy": float(self.energy),
                "vibe_placement": self.placement, "vibe_source": self.source,
                "vibe_energy_basis": self.energy_basis or "assessed"}

    def tags_line(self) -> str:
        return tags_line(self.genres, self.characters, self.textures)

    def text(self) -> str:
        """Only sonic descriptors -- never artist, label or year (they cluster by label)."""
        styles = [t.lower() for t in self.genres + self.textures]
        parts = []
        if styles:
            parts.append("Styles: " + ", ".join(styles) + ".")
        parts.append(f"Energy: {self.energy:g}.")
        parts.append(f"Placement: {self.placement}.")
        if self.characters:
            parts.append("Vibe: " + ", ".join(t.lower() for t in self.characters))
        return " ".join(parts).rstrip(".")


def tags_line(*lists) -> str:
    """``  [Acid Techno, Techno | Dark]`` for listings: empty lists left out, nothing at all
    for a track without tags (never ``[ |  | ]``)."""
    parts = [", ".join(x) for x in lists if x]
    return f"  [{' | '.join(parts)}]" if parts else ""

