"""The demo: a throwaway beets library, imported with auto-embedding, then ``beet similar``,
a cohesion check that flags a planted intruder, a mix-compatible suggestion and the map.

    python -m beetsplug.sonic.demo                 # generated music (four families)
    python -m beetsplug.sonic.demo ~/Music/crate   # your own folder (read only)

Your own files are never moved, copied or re-tagged: the demo imports them in
place (``copy: no, write: no``) into a library inside a temporary folder. Untagged
files are imported too (``duplicate_action: keep``: beets' quiet import would otherwise
skip every file after the first as a duplicate of it, since they share an empty artist
and title) and are named by their file.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from . import synth


def beet(home: str, *args: str, capture: bool = False) -> str:
    env = dict(os.environ, BEETSDIR=home)
    proc = subprocess.run([sys.executable, "-m", "beets", *args], env=env, text=True,
                          capture_output=capture, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SystemExit(f"demo: `beet {' '.join(args)}` failed\n{proc.stderr if capture else ''}")
    return proc.stdout if capture else ""


def write_config(home: str, *, own_music: bool, backend: str | None) -> None:
    lines = [
        f"directory: {os.path.join(home, 'music')}",
        f"library: {os.path.join(home, 'library.db')}",
        "plugins: sonic",
        "import:",
        "  autotag: no",
        "  quiet: yes",
        "  singletons: yes",
        f"  copy: {'no' if own_music else 'yes'}",
        "  write: no",
        # untagged files share an empty artist/title: without this beets' quiet import
        # keeps the first and skips the rest as its duplicates
        "  duplicate_action: keep",
        f"  log: {os.path.join(home, 'import.log')}",
    ]
    if backend:
        lines += ["sonic:", f"  backend: {backend}"]
    with open(os.path.join(home, "config.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")


AUDIO = (".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".wav", ".aif",
         ".aiff", ".wma", ".ape", ".wv", ".mpc", ".alac", ".dsf")


def _audio_files(folder: str) -> int:
    return sum(1 for _, _, files in os.walk(folder) for f in files if f.lower().endswith(AUDIO))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="./dev demo", description=__doc__.splitlines()[0])
    ap.add_argument("music", nargs="?", help="a folder of your own music (default: generate some)")
    ap.add_argument("--home", help="keep the demo library here instead of a temporary folder")
    ap.add_argument("--per-family", type=int, default=4, help="generated tracks per family")
    ap.add_argument("--backend", help="sonic backend to use (default: the plugin's default)")
    args = ap.parse_args(argv)

    home = args.home or tempfile.mkdtemp(prefix="sonic-demo-")
    os.makedirs(home, exist_ok=True)
    write_config(home, own_music=bool(args.music), backend=args.backend)
    if args.music:
        source = os.path.abspath(os.path.expanduser(args.music))
        if not os.path.isdir(source):
            raise SystemExit(f"demo: {source} is not a folder")
    else:
        source = os.path.join(home, "generated")
        print(f"Generating {args.per_family} tracks in each of {len(synth.FAMILIES)} families "
              f"({', '.join(synth.FAMILIES)}) ...", flush=True)
        synth.make_library(source, per_family=args.per_family, seconds=45,
                           formats=("mp3", "flac", "ogg", "m4a", "wav"))
    print(f"\n$ beet import {source}    (the sonic plugin embeds each new track)", flush=True)
    log = beet(home, "import", source, capture=True)
    for line in log.splitlines():
        if "sonic:" in line:
            print(line)
    imported = len(beet(home, "ls", "-f", "$id", capture=True).split())
    audio = _audio_files(source)
    print(f"imported {imported} of the {audio} audio files in {source}"
          + ("" if imported >= audio else " (beets could not read the others: see "
             f"{os.path.join(home, 'import.log')})"))
    print("\n$ beet embed --status")
    print(beet(home, "embed", "--status", capture=True), end="")

    ids = beet(home, "ls", "-f", "$id\t$sonic_name", capture=True).splitlines()
    if not ids:
        raise SystemExit("demo: nothing was imported")
    step = max(1, len(ids) // 4)
    for line in ids[::step][:4]:
        item_id, name = line.split("\t", 1)
        print(f"\n$ beet similar -n 5 id:{item_id}      # {name}")
        print(beet(home, "similar", "-n", "5", f"id:{item_id}", capture=True), end="")

    seed = ids[0].split("\t", 1)[0]
    if args.music:  # a set of one track's nearest neighbours, and one track from elsewhere
        near = [json.loads(x)["id"] for x in
                beet(home, "similar", "-n", "5", "--json", f"id:{seed}", capture=True).splitlines()]
        far = next((i.split("\t", 1)[0] for i in reversed(ids) if int(i.split("\t", 1)[0]) not in near), seed)
        query = [f"id:{seed}"] + [x for i in near for x in (",", f"id:{i}")] + [",", f"id:{far}"]
        what = "a track, its 5 nearest neighbours and one track from elsewhere"
    else:
        query = ["title:Acid Study", ",", "title:Pads Study 1"]
        what = "the acid tracks and one ambient pad planted among them"
    print(f"\n$ beet cohesion {' '.join(query)}      # {what}")
    print(beet(home, "cohesion", *query, capture=True), end="")
    # a track that has something to mix into (generated keys are random: look for one)
    mix_seed = next((i.split("\t", 1)[0] for i in ids[:8] if beet(
        home, "similar", "--mix", "--json", "-n", "1", f"id:{i.split(chr(9), 1)[0]}", capture=True).strip()), seed)
    print(f"\n$ beet similar --mix -n 5 id:{mix_seed}      # what can be mixed into it: tempo, key, sound")
    print(beet(home, "similar", "--mix", "-n", "5", f"id:{mix_seed}", capture=True), end="")
    page = os.path.join(home, "sonic-map.html")
    print(f"\n$ beet graph -o {page}")
    print(beet(home, "graph", "-o", page, capture=True), end="")
    print(f"\nOpen the map in a browser: file://{page}")
    print(f"\nThe demo library is in {home}. Try more with:\n  BEETSDIR={home} "
          f"{sys.executable} -m beets similar --help")
    if not args.home:
        print(f"When you are done, remove it with:\n  rm -rf {home}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
