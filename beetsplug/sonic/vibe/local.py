"""The offline analyzer: a documented rule table from the tags a library already has.

Evidence, in order of trust: beets ``genres``, the discogs plugin's ``style``,
``grouping`` and ``comments``, words in brackets of the title ("(Dub Mix)"), the
year, ``bpm``, and -- when the musicnn backend stored them -- its tag
probabilities. Untagged music is assessed from the plugin's own audio analysis: the
tempo (``sonic_bpm``) and energy (``sonic_energy``) measured at embedding time stand in
for missing tags. A tag is only asserted when a rule matched evidence; energy comes from
the ``bpm`` tag, else the measured ``sonic_energy``, else the measured tempo, and only
with none of them is it a default (``vibe_energy_basis: default``, which ``beet set``
never prefers over a measurement). With no evidence at all the track is "not
assessable". Deterministic: the same tags and analysis give the same vibe.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..errors import ItemError
from .vocabulary import PARENT_GENRES, Assessment, Vocabulary

# (pattern, category, term). Patterns are matched on lower-cased evidence with word
# boundaries; the table is the documentation (docs/vibe.md shows it) and is tested.
RULES: list[tuple[str, str, str]] = [
    # sub-genres
    (r"acid[ -]?house", "genre", "Acid House"),
    (r"acid[ -]?techno", "genre", "Acid Techno"),
    (r"minimal(?:[ -]?techno)?|microhouse|micro[ -]house", "genre", "Minimal Techno"),
    (r"deep[ -]?house", "genre", "Deep House"),
    (r"detroit(?:[ -]?techno)?", "genre", "Detroit Techno"),
    (r"dub[ -]?techno|dub[ -]?chord", "genre", "Dub Techno"),
    (r"ebm|electronic body music|new beat", "genre", "EBM"),
    (r"idm|intelligent dance|braindance", "genre", "IDM"),
    (r"chicago(?:[ -]?house)?|jackin'?|jack[ -]?house|ghetto house", "genre", "Chicago House"),
    (r"tech[ -]?house", "genre", "Tech House"),
    (r"hard[ -]?techno|schranz|hardgroove", "genre", "Hard Techno"),
    (r"industrial(?:[ -]?techno)?", "genre", "Industrial Techno"),
    (r"electro(?![ -]?(?:nic|nica|house|pop|clash))", "genre", "Electro"),
    (r"break[ -]?beats?|breaks|big[ -]?beat|nu[ -]?skool", "genre", "Breakbeat"),
    (r"jungle|ragga[ -]?jungle", "genre", "Jungle"),
    (r"drum(?:\s*(?:&|and|n'?|'n'?)\s*)bass|d\s*[&n]\s*b|dnb|liquid funk|neurofunk", "genre",
     "Drum & Bass"),
    (r"uk[ -]?garage|ukg|(?:speed|2[ -]?step|two[ -]?step) ?garage|2[ -]?step|garage(?![ -]?(?:rock|punk))", "genre",
     "UK Garage"),
    (r"ambient|drone|dark[ -]?ambient|beatless", "genre", "Ambient"),
    (r"disco|nu[ -]?disco|italo|boogie", "genre", "Disco"),
    (r"trance|psy[ -]?trance|goa|progressive trance", "genre", "Trance"),
    # parent genres and synonyms: the plain tags of a real library
    (r"techno", "genre", "Techno"),
    (r"house", "genre", "House"),
    (r"hip[ -]?hop|rap|trap|boom[ -]?bap|grime", "genre", "Hip Hop"),
    (r"rock|indie|alternative|punk|grunge|metal|shoegaze", "genre", "Rock"),
    (r"pop|synth[ -]?pop|electro[ -]?pop|dance[ -]?pop|k[ -]?pop", "genre", "Pop"),
    (r"jazz|bebop|swing|jazz[ -]?funk", "genre", "Jazz"),
    (r"soul|(?<!liquid )funk|r&b|rnb|rhythm (?:and|&) blues|motown|neo[ -]?soul", "genre",
     "Soul & Funk"),
    (r"classical|orchestral|baroque|symphon(?:y|ic)|opera|chamber music|neo[ -]?classical",
     "genre", "Classical"),
    (r"soundtracks?|score|ost|film music|game music|video game music", "genre", "Soundtrack"),
    (r"downtempo|trip[ -]?hop|lounge|chill[ -]?out", "genre", "Downtempo"),
    # sonic character
    (r"303|tb[ -]?303|acid(?![ -]?(?:jazz|rock|folk))", "character", "303 Bassline"),
    (r"hypnotic|trippy|loopy", "character", "Hypnotic"),
    (r"driving|pounding|relentless", "character", "Driving"),
    (r"dark|sinister|menacing", "character", "Dark"),
    (r"atmospheric|spacey|spacious", "character", "Atmospheric"),
    (r"warehouse|rave", "character", "Warehouse"),
    (r"raw|rough|gritty", "character", "Raw"),
    (r"funky|funk(?![ -]?(?:tion))", "character", "Funky"),
    (r"melodic|melodies|melody", "character", "Melodic"),
    (r"percussive|percussion|tribal", "character", "Percussive"),
    (r"groovy|groove", "character", "Groovy"),
    (r"minimal|stripped", "character", "Minimal"),
    (r"industrial|ebm|noise", "character", "Industrial"),
    (r"dreamy|ethereal|chill[ -]?out|chill|mellow|balearic", "character", "Dreamy"),
    (r"euphoric|anthem|hands[ -]?up", "character", "Euphoric"),
    (r"soulful|soul|gospel", "character", "Soulful"),
    (r"vocal(?:s| mix)?|acapella|a cappella", "character", "Vocal"),
    (r"glitch(?:y)?|idm|clicks?[ &]+cuts", "character", "Glitchy"),
    (r"bass[ -]?heavy|sub[ -]?bass|bassline|wobble|reese", "character", "Bass-heavy"),
    (r"lo[ -]?fi", "character", "Lo-fi"),
    # texture / feel
    (r"classic|old[ -]?school", "texture", "Classic"),
    (r"modern", "texture", "Modern"),
    (r"underground", "texture", "Underground"),
    (r"peak[ -]?time|peak[ -]?hour|big[ -]?room", "texture", "Peak Time"),
    (r"late[ -]?night|after[ -]?hours?|afterhours", "texture", "Late Night"),
    (r"stripped(?:[ -]?back| down)?|minimal", "texture", "Stripped Back"),
    (r"warm", "texture", "Warm"),
    (r"cold|icy|clinical", "texture", "Cold"),
    (r"uplifting", "texture", "Uplifting"),
    (r"deep(?![ -]?house)|dub", "texture", "Deep"),
]
_COMPILED = [(re.compile(rf"(?<![a-z0-9])(?:{p})(?![a-z0-9])"), cat, term) for p, cat, term in RULES]

# musicnn (MSD) tags -> vocabulary, used when their probability is at least 0.3
MUSICNN_RULES = {"ambient": ("genre", "Ambient"), "electro": ("genre", "Electro"),
                 "funk": ("character", "Funky"), "soul": ("character", "Soulful"),
                 "female vocalists": ("character", "Vocal"), "male vocalists": ("character", "Vocal"),
                 "chillout": ("character", "Dreamy"), "chill": ("character", "Dreamy"),
                 "Mellow": ("character", "Dreamy"), "experimental": ("character", "Glitchy")}
MUSICNN_MIN = 0.3

# bpm -> energy, piecewise linear between these anchors
_BPM = np.array([50, 90, 110, 120, 126, 130, 136, 145, 165, 175, 200], float)
_ENERGY = np.array([2, 3, 4, 5, 6, 7, 8, 9, 8.5, 8.5, 10], float)
# genres that move the energy the tempo suggests, and genres that cap it
ENERGY_SHIFT = {"Dub Techno": -0.5, "Deep House": -0.5, "Hard Techno": +1,
                "Industrial Techno": +0.5, "EBM": +0.5, "Trance": +0.5}
ENERGY_CAP = {"Ambient": 2.0}


NOT_ASSESSABLE = ("not assessable: no genre, style, comments or bpm tags, and no tempo or energy "
                  "from the audio (run `beet embed --analysis`)")


def energy_from_bpm(bpm: float) -> float:
    return float(np.interp(bpm, _BPM, _ENERGY))


def placement_for(energy: float, textures: list[str], vocab: Vocabulary) -> str:
    if "Late Night" in textures and energy < 7.5 and "After-hours" in vocab.placements:
        return "After-hours"
    for limit, name in ((4.5, "Warm-up"), (6.0, "Early Set"), (7.5, "Mid Set")):
        if energy < limit and name in vocab.placements:
            return name
    return "Peak Time" if "Peak Time" in vocab.placements else vocab.placements[-1]


def evidence_of(item: Any) -> list[tuple[str, str]]:
    """``[(where, text)]``: the tag evidence of a beets item, lower-cased."""
    out = []
    for g in item.get("genres") or []:
        out.append(("genre", str(g)))
    for key in ("style", "grouping", "comments"):
        value = item.get(key)
        if isinstance(value, (list, tuple)):
            value = "; ".join(map(str, value))
        if value:
            out.append((key, str(value)))
    for bracket in re.findall(r"[(\[]([^)\]]+)[)\]]", item.get("title") or ""):
        out.append(("title", bracket))
    return [(where, text.lower()) for where, text in out]


def covered(text: str) -> list[tuple[int, int]]:
    """Character spans of ``text`` that some rule matched."""
    return [m.span() for rx, _, _ in _COMPILED for m in rx.finditer(text)]


def match(text: str) -> list[tuple[str, str]]:
    """``[(category, term)]`` the rule table finds in one piece of text."""
    found = []
    for rx, cat, term in _COMPILED:
        if rx.search(text) and (cat, term) not in found:
            found.append((cat, term))
    return found


def assess(item: Any, vocab: Vocabulary, *, musicnn_tags: dict[str, float] | None = None) -> Assessment:
    """The offline vibe of one item (ItemError when nothing at all is known)."""
    hits: dict[tuple[str, str], list[str]] = {}
    for where, text in evidence_of(item):
        for cat, term in match(text):
            hits.setdefault((cat, term), []).append(f"{where} {text!r}")
    for tag, p in (musicnn_tags or {}).items():
        if p >= MUSICNN_MIN and tag in MUSICNN_RULES:
            hits.setdefault(MUSICNN_RULES[tag], []).append(f"musicnn {tag} {p:.2f}")
    bpm = float(item.get("bpm") or 0)
    tag_bpm = bpm > 0
    if not tag_bpm and item.get("sonic_bpm"):
        bpm = float(item["sonic_bpm"])  # the tempo measured from the audio
    measured = item.get("sonic_energy")
    if not hits and not bpm and not measured:  # a year alone says nothing about the sound
        raise ItemError(NOT_ASSESSABLE)
    year = int(item.get("year") or 0)
    if year and "Classic" in vocab.textures and year <= 1999:
        hits.setdefault(("texture", "Classic"), []).append(f"year {year}")
    if year and "Modern" in vocab.textures and year >= 2015:
        hits.setdefault(("texture", "Modern"), []).append(f"year {year}")
    # "acid" alone: house tempo or techno tempo decides which
    if ("character", "303 Bassline") in hits and not any(
            k in hits for k in (("genre", "Acid House"), ("genre", "Acid Techno"))) and bpm:
        term = "Acid Techno" if bpm >= 132 else "Acid House"
        hits[("genre", term)] = [f"acid at {bpm:g} BPM"]

    allowed = {"genre": vocab.genres, "character": vocab.characters, "texture": vocab.textures}
    picked = {cat: [t for (c, t) in hits if c == cat and t in allowed[cat]] for cat in allowed}
    if tag_bpm:
        energy, basis = energy_from_bpm(bpm), "bpm tag"
        evidence = [f"energy from {bpm:g} BPM"]
    elif measured:
        energy, basis = float(measured), "audio energy"
        evidence = [f"energy {float(measured):g} measured from the audio"]
    elif bpm:
        energy, basis = energy_from_bpm(bpm), "audio tempo"
        evidence = [f"energy from {bpm:g} BPM (tempo measured from the audio)"]
    else:
        energy, basis = 6.0, "default"
        evidence = ["no bpm: energy 6 (mid-set) by default"]
    for g in picked["genre"]:
        energy += ENERGY_SHIFT.get(g, 0.0)
    for g in picked["genre"]:
        energy = min(energy, ENERGY_CAP.get(g, 10.0))
    if "Peak Time" in picked["texture"]:
        energy = max(energy, 8.5)
    energy = float(np.clip(round(energy * 2) / 2, 1.0, 10.0))
    evidence += [f"{t}: {', '.join(src)}" for (c, t), src in hits.items() if t in picked.get(c, [])]
    if not any(picked.values()) and not bpm and not measured:
        raise ItemError(NOT_ASSESSABLE)
    sub = [g for g in picked["genre"] if g not in PARENT_GENRES][:3]
    genres = vocab.with_parents(sub)
    genres = (genres + [g for g in picked["genre"] if g in PARENT_GENRES and g not in genres])[:5]
    return Assessment(genres=genres, characters=picked["character"][:5],
                      textures=picked["texture"][:3], energy=energy,
                      placement=placement_for(energy, picked["texture"], vocab),
                      source="local", evidence=evidence, energy_basis=basis)
