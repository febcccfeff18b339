"""Words -> musicnn tags: the offline vocabulary of ``beet similar --text``.

Every track embedded with the ``musicnn`` backend keeps the MSD checkpoint's 50 tag
probabilities (``similar --tags``). A query is read as a list of *terms*; each term
(a word or phrase, with its synonyms) stands for a weighted set of those tags; a
negation word ("no", "not", "without", "non", "less") before a term flips its
weights, so "no vocals" asks for low ``male vocalists``/``female vocalists`` and high
``instrumental``. Words that are neither a term, a negation nor filler are reported
as unknown, never dropped silently. docs/text-search.md lists this whole table
(a test checks the two agree).

One column is not a tag: ``energy`` is the track's energy as ``beet embed`` measures it
from the audio (``sonic_energy``, 1-10, scaled to 0-1), read by the calm and energetic
words. The weights are a judgement of what the MSD tags mean (the MSD has no ``classical``,
``techno`` or ``piano`` tag, so those words lean on the nearest tags it has); they
were not tuned on any test library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: (words and phrases that mean the same, {MSD tag: weight}); phrases of several words
#: are matched before single words ("hard rock" before "rock").
TERMS: list[tuple[tuple[str, ...], dict[str, float]]] = [
    # --- genres the MSD tags name ---
    (("rock",), {"rock": 1.0, "classic rock": 0.4, "hard rock": 0.3}),
    (("hard rock",), {"hard rock": 1.0, "rock": 0.5, "classic rock": 0.3}),
    (("classic rock",), {"classic rock": 1.0, "rock": 0.5, "70s": 0.3}),
    (("indie rock",), {"indie rock": 1.0, "indie": 0.6, "alternative": 0.4}),
    (("alternative", "alternative rock", "alt rock"), {"alternative": 1.0, "alternative rock": 1.0, "indie": 0.3}),
    (("indie",), {"indie": 1.0, "indie rock": 0.5, "indie pop": 0.5}),
    (("indie pop",), {"indie pop": 1.0, "indie": 0.6, "pop": 0.4}),
    (("pop",), {"pop": 1.0, "catchy": 0.4}),
    (("progressive", "prog", "progressive rock", "prog rock"), {"Progressive rock": 1.0, "rock": 0.3}),
    (("metal", "heavy metal"), {"metal": 1.0, "heavy metal": 1.0, "hard rock": 0.4}),
    (("punk",), {"punk": 1.0, "rock": 0.3}),
    (("jazz", "jazzy", "swing"), {"jazz": 1.0, "blues": 0.3, "soul": 0.2}),
    (("blues", "bluesy"), {"blues": 1.0, "classic rock": 0.3}),
    (("soul", "soulful"), {"soul": 1.0, "rnb": 0.4, "funk": 0.3}),
    (("rnb", "r&b", "r'n'b"), {"rnb": 1.0, "soul": 0.5}),
    (("funk", "funky", "groovy"), {"funk": 1.0, "soul": 0.4, "dance": 0.3}),
    (("hip-hop", "hip hop", "hiphop", "rap"), {"Hip-Hop": 1.0, "rnb": 0.3}),
    (("folk",), {"folk": 1.0, "acoustic": 0.6, "country": 0.2}),
    (("country",), {"country": 1.0, "folk": 0.3}),
    (("easy listening", "lounge"), {"easy listening": 1.0, "chillout": 0.4, "Mellow": 0.4}),
    (("oldies", "retro", "vintage"), {"oldies": 1.0, "60s": 0.4, "70s": 0.3}),
    (("60s", "sixties"), {"60s": 1.0, "oldies": 0.4}),
    (("70s", "seventies"), {"70s": 1.0}),
    (("80s", "eighties"), {"80s": 1.0}),
    (("90s", "nineties"), {"90s": 1.0}),
    (("00s", "2000s", "noughties"), {"00s": 1.0}),
    # --- electronic music (the MSD knows electronic, electronica, electro, House, dance) ---
    (("electronic", "electronica", "edm"), {"electronic": 1.0, "electronica": 0.7, "electro": 0.5}),
    (("electro",), {"electro": 1.0, "electronic": 0.6}),
    (("synth", "synths", "synthesizer", "synthesizers", "synthetic"),
     {"electronic": 1.0, "electronica": 0.6, "electro": 0.5, "acoustic": -0.4}),
    (("techno",), {"electronic": 1.0, "dance": 0.8, "electro": 0.7, "House": 0.5}),
    (("acid",), {"electronic": 1.0, "electro": 0.7, "dance": 0.7, "House": 0.5}),  # acid house / techno
    (("house",), {"House": 1.0, "dance": 0.8, "electronic": 0.6}),
    (("trance",), {"electronic": 1.0, "dance": 0.8, "electronica": 0.6}),
    (("drum and bass", "drum & bass", "dnb", "jungle", "breakbeat", "breaks"),
     {"electronic": 1.0, "electronica": 0.7, "dance": 0.5}),
    (("dance", "danceable", "club", "dancefloor"), {"dance": 1.0, "party": 0.5, "House": 0.4}),
    (("disco",), {"dance": 1.0, "funk": 0.6, "70s": 0.4}),
    (("bass", "bassline", "basslines"), {"dance": 0.6, "electronic": 0.6, "funk": 0.3}),
    (("beat", "beats", "drums", "percussion", "percussive", "rhythmic"),
     {"dance": 0.7, "electronic": 0.4, "Hip-Hop": 0.3, "ambient": -0.6}),
    (("minimal",), {"electronic": 0.8, "experimental": 0.5}),
    # --- texture and instruments ---
    (("ambient", "atmospheric", "ethereal", "spacey", "drone"),
     {"ambient": 1.0, "chillout": 0.5, "experimental": 0.3, "instrumental": 0.3}),
    (("pad", "pads"), {"ambient": 1.0, "chillout": 0.5, "electronica": 0.4, "instrumental": 0.3}),
    (("acoustic", "unplugged"), {"acoustic": 1.0, "folk": 0.5, "guitar": 0.3, "electronic": -0.5}),
    (("guitar", "guitars"), {"guitar": 1.0, "rock": 0.4, "acoustic": 0.3}),
    (("pluck", "plucks", "plucked"), {"acoustic": 1.0, "guitar": 0.6, "folk": 0.5}),
    (("piano",), {"instrumental": 0.6, "beautiful": 0.5, "Mellow": 0.5, "jazz": 0.3}),
    (("orchestral", "orchestra", "classical", "cinematic", "symphonic", "strings", "soundtrack"),
     {"instrumental": 1.0, "beautiful": 0.5, "ambient": 0.3, "electronic": -0.4, "dance": -0.4,
      "male vocalists": -0.3}),
    (("experimental", "weird", "strange", "abstract", "avant-garde", "glitch"), {"experimental": 1.0}),
    # --- voices ---
    (("vocals", "vocal", "voice", "voices", "singing", "singer", "sung", "lyrics", "vocalist"),
     {"male vocalists": 1.0, "female vocalists": 1.0, "female vocalist": 0.6, "instrumental": -1.0}),
    (("female vocals", "female vocal", "female vocalist", "female vocalists", "female voice",
      "female singer", "woman", "women"),
     {"female vocalists": 1.0, "female vocalist": 1.0, "male vocalists": -0.3, "instrumental": -0.5}),
    (("male vocals", "male vocal", "male vocalist", "male vocalists", "male voice", "male singer",
      "man", "men"),
     {"male vocalists": 1.0, "female vocalists": -0.3, "instrumental": -0.5}),
    (("instrumental",), {"instrumental": 1.0, "male vocalists": -0.5, "female vocalists": -0.5}),
    # --- mood and energy ---
    (("chill", "chillout", "chilled", "relaxed", "relaxing", "laid-back", "laidback", "downtempo"),
     {"chillout": 1.0, "chill": 1.0, "Mellow": 0.5, "easy listening": 0.3}),
    (("calm", "mellow", "peaceful", "soft", "gentle", "quiet", "soothing", "smooth", "slow"),
     {"energy": -1.0, "Mellow": 1.0, "chill": 0.6, "chillout": 0.5, "beautiful": 0.3, "hard rock": -0.4,
      "metal": -0.4, "punk": -0.4, "party": -0.3}),
    (("energetic", "upbeat", "driving", "intense", "powerful", "loud", "fast", "uptempo", "energy"),
     {"energy": 1.0, "dance": 0.6, "party": 0.6, "hard rock": 0.4, "punk": 0.4, "Mellow": -0.7,
      "chill": -0.6, "ambient": -0.5}),
    (("aggressive", "heavy", "hard", "angry"),
     {"metal": 1.0, "hard rock": 0.8, "heavy metal": 0.6, "punk": 0.5, "Mellow": -0.6}),
    (("happy", "cheerful", "joyful", "uplifting", "bright", "fun", "playful"),
     {"happy": 1.0, "catchy": 0.4, "party": 0.3, "sad": -0.6}),
    (("sad", "melancholic", "melancholy", "gloomy", "somber", "sombre", "mournful"),
     {"sad": 1.0, "Mellow": 0.4, "happy": -0.6}),
    (("dark", "moody", "ominous", "sinister", "brooding"),
     {"sad": 0.6, "experimental": 0.5, "ambient": 0.3, "happy": -0.6, "party": -0.3}),
    (("beautiful", "pretty", "lovely", "dreamy", "emotional", "romantic", "tender"),
     {"beautiful": 1.0, "Mellow": 0.5, "sad": 0.2}),
    (("sexy", "sensual", "seductive", "sultry"), {"sexy": 1.0, "rnb": 0.4, "soul": 0.3}),
    (("catchy", "hooky", "anthemic"), {"catchy": 1.0, "pop": 0.5}),
    (("party", "festive"), {"party": 1.0, "dance": 0.6, "happy": 0.3}),
]

#: a negation word flips the weights of the next term: "no vocals", "without drums"
NEGATIONS = ("no", "not", "without", "non", "less", "never", "zero")
#: connecting words that carry no sound; reported as ignored, never as understood
FILLER = ("a", "an", "and", "the", "with", "of", "some", "very", "really", "quite", "bit", "little",
          "lots", "music", "track", "tracks", "song", "songs", "tune", "tunes", "sound", "sounds",
          "sounding", "like", "for", "in", "on", "to", "or", "but", "that", "is", "mood", "vibe",
          "vibes", "style", "feel", "feeling", "kind", "sort", "something", "stuff", "&")

_TOKEN = re.compile(r"[a-z0-9][a-z0-9&'-]*|&")


@dataclass(frozen=True)
class Term:
    phrase: str               # as written in the query (its canonical spelling)
    negated: bool
    weights: dict[str, float]  # MSD tag -> weight, already flipped when negated

    def describe(self) -> str:
        return ("no " if self.negated else "") + self.phrase


@dataclass
class Parsed:
    terms: list[Term] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def weights(self) -> dict[str, float]:
        """The query: MSD tag -> summed weight over the terms (zeros left out)."""
        out: dict[str, float] = {}
        for t in self.terms:
            for tag, w in t.weights.items():
                out[tag] = out.get(tag, 0.0) + w
        return {t: round(w, 4) for t, w in out.items() if abs(w) > 1e-9}

    def to_json(self) -> dict:
        return {"terms": [t.describe() for t in self.terms], "unknown": self.unknown,
                "ignored": self.ignored, "tags": self.weights()}


def _lookup() -> tuple[dict[tuple[str, ...], tuple[str, dict[str, float]]], int]:
    table, longest = {}, 1
    for words, weights in TERMS:
        for w in words:
            key = tuple(_TOKEN.findall(w))
            if key in table:
                raise ValueError(f"the word {w!r} is in two terms of the vocabulary")
            table[key] = (words[0], weights)
            longest = max(longest, len(key))
    return table, longest


_TABLE, _LONGEST = _lookup()


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace(",", " ").replace("/", " "))


def parse(text: str) -> Parsed:
    """Read free words into terms (longest phrase first), negations, unknown and filler."""
    toks = tokens(text)
    out = Parsed()
    negate = ""
    i = 0
    while i < len(toks):
        for size in range(min(_LONGEST, len(toks) - i), 0, -1):
            key = tuple(toks[i: i + size])
            if key in _TABLE:
                canonical, weights = _TABLE[key]
                sign = -1.0 if negate else 1.0
                out.terms.append(Term(" ".join(key), bool(negate),
                                      {t: sign * w for t, w in weights.items()}))
                negate = ""
                i += size
                break
        else:
            tok = toks[i]
            if tok in NEGATIONS:
                if negate:
                    out.unknown.append(negate)  # "not no": the first negates nothing
                negate = tok
            elif tok.startswith("non-") and (tok[4:],) in _TABLE:  # "non-vocal"
                toks[i] = tok[4:]
                negate = "non"
                continue
            elif tok in FILLER:
                out.ignored.append(tok)
            else:
                out.unknown.append(tok)
            i += 1
    if negate:
        out.unknown.append(negate)  # a negation with nothing after it
    return out


def vocabulary() -> list[tuple[tuple[str, ...], dict[str, float]]]:
    """Every term with its synonyms and tag weights (for the docs and the map)."""
    return [(words, dict(weights)) for words, weights in TERMS]
