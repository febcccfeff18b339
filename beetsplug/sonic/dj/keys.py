"""Musical keys: parsing every common notation, the Camelot wheel, and key relations.

A key is ``(tonic, minor)``: tonic a pitch class 0-11 (C = 0), minor a bool. Camelot
codes number the circle of fifths 1-12 with ``A`` for minor and ``B`` for major:
8A = A minor, 8B = C major; neighbours on the wheel (+-1, same letter) and the
relative key (same number, other letter) mix harmonically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NOTES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
#: spellings DJs use: Db major but C# minor, Ab major but G# minor
_SPELLING = {False: {"C#": "Db", "D#": "Eb", "G#": "Ab", "A#": "Bb"},
             True: {"D#": "Eb", "A#": "Bb"}}
_LETTER = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
#: Camelot number of each major tonic (C major = 8B); a minor key's number is its
#: relative major's (A minor = 8A).
_CAMELOT_MAJOR = {0: 8, 7: 9, 2: 10, 9: 11, 4: 12, 11: 1, 6: 2, 1: 3, 8: 4, 3: 5, 10: 6, 5: 7}
_MAJOR_OF_NUMBER = {v: k for k, v in _CAMELOT_MAJOR.items()}


@dataclass(frozen=True)
class Key:
    tonic: int
    minor: bool

    @property
    def name(self) -> str:
        """``A minor``, ``Eb major`` (flats where DJs use them)."""
        note = NOTES[self.tonic]
        note = _SPELLING[self.minor].get(note, note)
        return f"{note} {'minor' if self.minor else 'major'}"

    @property
    def camelot(self) -> str:
        major = (self.tonic + 3) % 12 if self.minor else self.tonic
        return f"{_CAMELOT_MAJOR[major]}{'A' if self.minor else 'B'}"

    @property
    def relative(self) -> "Key":
        return Key((self.tonic + 3) % 12, False) if self.minor else Key((self.tonic - 3) % 12, True)


def from_camelot(code: str) -> Key | None:
    m = re.fullmatch(r"\s*(1[0-2]|0?[1-9])\s*([ABab])\s*", code)
    if not m:
        return None
    number, minor = int(m.group(1)), m.group(2).upper() == "A"
    major = _MAJOR_OF_NUMBER[number]
    return Key((major - 3) % 12, True) if minor else Key(major, False)


def _from_open_key(code: str) -> Key | None:
    """Open Key (Traktor): 1d = C major, 1m = A minor; numbers are Camelot + 7 (mod 12)."""
    m = re.fullmatch(r"\s*(1[0-2]|0?[1-9])\s*([dDmM])\s*", code)
    if not m:
        return None
    camelot = (int(m.group(1)) + 6) % 12 + 1
    return from_camelot(f"{camelot}{'A' if m.group(2).lower() == 'm' else 'B'}")


_NAME = re.compile(
    r"\s*([A-Ga-g])\s*(#|♯|b|♭|-?sharp|-?flat)?\s*"
    r"(m|min|minor|moll|maj|major|dur)?\s*$")


def parse(text: str | None) -> Key | None:
    """A key from any common notation, or None: ``Am``, ``A minor``, ``Amin``, ``A min``,
    ``F#m``, ``Gb major``, ``B♭``, ``8A`` (Camelot), ``1m``/``1d`` (Open Key)."""
    if not text or not str(text).strip():
        return None
    s = str(text).strip()
    key = from_camelot(s) or _from_open_key(s)
    if key is not None:
        return key
    m = _NAME.fullmatch(s.replace("\u266f", "#").replace("\u266d", "b"))
    if not m:
        return None
    letter, accidental, mode = m.group(1), (m.group(2) or "").lower(), (m.group(3) or "").lower()
    if letter.islower() and not mode:
        # "a" alone is ambiguous in some tools (lower case = minor); "ab" is A-flat major
        mode = "m" if not accidental else ""
    tonic = _LETTER[letter.upper()]
    if accidental in ("#", "sharp", "-sharp"):
        tonic += 1
    elif accidental in ("b", "flat", "-flat"):
        tonic -= 1
    minor = mode in ("m", "min", "minor", "moll")
    return Key(tonic % 12, minor)


#: relation of a candidate's key to the current one -> how well they mix (0-1)
RELATIONS = {"same": 1.0, "+1": 0.85, "-1": 0.85, "relative": 0.8, "boost": 0.6, "clash": 0.0}
COMPATIBLE = ("same", "+1", "-1", "relative")


def relation(current: Key, candidate: Key) -> str:
    """``same``, ``+1``/``-1`` (a step around the wheel, same mode), ``relative`` (same
    number, other mode), ``boost`` (+2, the "energy boost" mix), else ``clash``."""
    a, b = current.camelot, candidate.camelot
    na, nb = int(a[:-1]), int(b[:-1])
    step = (nb - na) % 12
    if a[-1] == b[-1]:
        return {0: "same", 1: "+1", 11: "-1", 2: "boost"}.get(step, "clash")
    return "relative" if step == 0 else "clash"
