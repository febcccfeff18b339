#!/usr/bin/env python3
"""Build the real-music development corpus from Debian game-soundtrack packages.

    python tools/dev_corpus.py [--cache DIR]      (default: ~/.cache/sonic-corpus)

Downloads the packages with ``apt-get download`` (no install, no root needed
beyond what apt-get wants), extracts only their music files and lays them out as
``DIR/corpus/<label>/<sublabel>--<name>.ogg`` (symlinks into the extracted tree),
one folder per soundtrack: the layout ``benchmarks/quality.py`` reads. A
``labels.tsv`` beside it records label, sub-label (a package's own theme folder,
e.g. supertux's ``antarctic/``), duration and path. Tracks under 30 s are left out.

Idempotent: downloaded packages and extracted files are reused; the corpus folder
is rebuilt from them on every run. Prints what it built.

Reserved for the independent evaluation and never used here (do not add them):
nexuiz-music, warzone2100-music, wesnoth-*-music, ufoai-music, singularity-music,
asc-music, drascula-music, hyperrogue-music, planetblupi-music-ogg,
fretsonfire-songs-*, and PyPI's immich-memories-music.
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import os
import shutil
import subprocess
import sys

#: label -> (package, glob patterns of its music files inside the package tree)
SOURCES = {
    "supertux": ("supertux-data", ["./usr/share/games/supertux2/music/*/*.ogg",
                                   "./usr/share/games/supertux2/music/*.ogg"]),
    "hedgewars": ("hedgewars-data", ["./usr/share/games/hedgewars/Data/Music/*.ogg"]),
    "freedroidrpg": ("freedroidrpg-data", ["./usr/share/freedroidrpg/data/sound/music/*.ogg"]),
    "widelands": ("widelands-data", ["./usr/share/games/widelands/data/music/*.ogg"]),
    "extremetuxracer": ("extremetuxracer-data", ["./usr/share/games/etr/music/*.ogg"]),
    "flare": ("flare-game", ["./usr/share/games/flare/mods/*/music/*.ogg"]),
    "megaglest": ("megaglest-data", ["./usr/share/games/megaglest/*/music/*.ogg",
                                     "./usr/share/games/megaglest/*/*/music/*.ogg",
                                     "./usr/share/games/megaglest/*/*/*/*/music/*.ogg"]),
    "xmoto": ("xmoto-data", ["./usr/share/games/xmoto/Textures/Musics/*.ogg"]),
    "lugaru": ("lugaru-data", ["./usr/share/games/lugaru/Sounds/Music*.ogg"]),
    "frozen-bubble": ("frozen-bubble-data", ["./usr/share/games/frozen-bubble/snd/*zik*.ogg"]),
}
RESERVED = ("nexuiz-music", "warzone2100-music", "wesnoth-*-music", "ufoai-music",
            "singularity-music", "asc-music", "drascula-music", "hyperrogue-music",
            "planetblupi-music-ogg", "fretsonfire-songs-*")
MIN_SECONDS = 30.0


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def download(package: str, debs: str) -> str:
    found = glob.glob(os.path.join(debs, f"{package}_*.deb"))
    if not found:
        print(f"downloading {package} ...", flush=True)
        run(["apt-get", "download", "-q", package], cwd=debs, stdout=subprocess.DEVNULL)
        found = glob.glob(os.path.join(debs, f"{package}_*.deb"))
    if not found:
        sys.exit(f"dev_corpus: apt-get download {package} left no .deb in {debs}")
    return sorted(found)[-1]


def extract(deb: str, patterns: list[str], dest: str) -> list[str]:
    """Extract the members matching ``patterns`` (once); return their paths under ``dest``."""
    listing = run(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE).stdout
    names = subprocess.run(["tar", "-t"], input=listing, stdout=subprocess.PIPE, check=True
                           ).stdout.decode().splitlines()
    wanted = sorted(n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns))
    missing = [n for n in wanted if not os.path.exists(os.path.join(dest, n))]
    if missing:
        os.makedirs(dest, exist_ok=True)
        subprocess.run(["tar", "-x", "-C", dest, *missing], input=listing, check=True)
    return [os.path.join(dest, n) for n in wanted]


def duration(path: str) -> float:
    import av

    with av.open(path) as c:
        s = c.streams.audio[0]
        if s.duration and s.time_base:
            return float(s.duration * s.time_base)
        return (c.duration or 0) / 1e6


def sublabel(label: str, path: str) -> str:
    parent = os.path.basename(os.path.dirname(path))
    if label == "supertux" and parent != "music":
        return parent
    if label == "megaglest" and parent == "music":
        return os.path.basename(os.path.dirname(os.path.dirname(path)))
    if label == "flare":
        return path.split("/mods/")[1].split("/")[0]
    return ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/sonic-corpus"))
    args = ap.parse_args()
    for label, (package, _) in SOURCES.items():
        assert not any(fnmatch.fnmatch(package, r) for r in RESERVED), package
    debs = os.path.join(args.cache, "debs")
    tree = os.path.join(args.cache, "extracted")
    corpus = os.path.join(args.cache, "corpus")
    os.makedirs(debs, exist_ok=True)
    shutil.rmtree(corpus, ignore_errors=True)
    rows = []
    for label, (package, patterns) in SOURCES.items():
        files = extract(download(package, debs), patterns, os.path.join(tree, package))
        kept = 0
        for path in files:
            seconds = duration(path)
            if seconds < MIN_SECONDS:
                continue
            sub = sublabel(label, path)
            name = (f"{sub}--" if sub else "") + os.path.basename(path)
            os.makedirs(os.path.join(corpus, label), exist_ok=True)
            link = os.path.join(corpus, label, name)
            os.symlink(path, link)
            rows.append((label, sub, f"{seconds:.1f}", link))
            kept += 1
        print(f"{label:16s} {package:22s} {kept:3d} tracks (of {len(files)} music files; "
              f"{len(files) - kept} under {MIN_SECONDS:.0f} s)")
    with open(os.path.join(corpus, "labels.tsv"), "w", encoding="utf-8") as f:
        f.write("label\tsublabel\tseconds\tpath\n")
        f.writelines("\t".join(r) + "\n" for r in rows)
    labels = sorted({r[0] for r in rows})
    print(f"corpus: {len(rows)} tracks, {len(labels)} labels in {corpus}")


if __name__ == "__main__":
    main()
