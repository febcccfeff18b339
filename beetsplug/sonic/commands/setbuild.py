"""``beet set POOL_QUERY`` and ``beet path A B``: build a set from a crate."""

from __future__ import annotations

import numpy as np
from beets import ui

from .. import names, output, sets
from ..errors import FatalError
from ..library_ops import query_rows
from ..playlist import M3UTarget, matching
from ..store import library
from . import common

FORMAT = "$sonic_pos  $sonic_energy_shown  $sonic_bpm_shown  $sonic_camelot_shown  $sonic_step  $sonic_name"


def _common(cmd: ui.Subcommand) -> None:
    cmd.parser.add_format_option(target="item")
    cmd.parser.add_option("--json", action="store_true", help="one JSON object per track")
    cmd.parser.add_option("--m3u", metavar="FILE", help="also write the set as an M3U playlist (a bare "
                          "NAME goes into the playlist plugin's playlist_dir)")
    cmd.parser.add_option("--bpm-range", type="float", default=6.0, metavar="PCT",
                          help="largest tempo change between neighbours, percent (default 6)")
    cmd.parser.add_option("--key", choices=("any", "compatible", "same"), default="compatible",
                          help="key rule between neighbours (default compatible)")
    cmd.parser.add_option("--loose", action="store_true",
                          help="allow unknown tempo/key and clashing keys; when stuck, the best "
                               "partial set")
    common.add_playlist_option(cmd, "take the pool from an M3U playlist")


def make_set() -> ui.Subcommand:
    cmd = ui.Subcommand("set", help="build an N-track set along an energy curve from a pool")
    cmd.parser.usage += (
        "\n\nEvery transition mixable (tempo within --bpm-range, half/double time allowed; a"
        "\ncompatible key), no artist twice within --artist-gap tracks, following --curve:"
        "\nwarmup | peak | journey (rise to ~70%, short release) | cooldown | flat, or numbers"
        "\nlike 4,5,6,7,8 stretched to N. Energy: vibe_energy where assessed, else sonic_energy"
        "\n(measured from the audio), which also wins over a vibe's default energy."
    )
    cmd.parser.add_option("-n", "--number", type="int", default=12, help="tracks in the set (default 12)")
    cmd.parser.add_option("--curve", default="journey", help="the energy curve (default journey)")
    cmd.parser.add_option("--from", dest="start", metavar="QUERY", help="start with a track matching this")
    cmd.parser.add_option("--to", dest="end", metavar="QUERY", help="end with a track matching this")
    cmd.parser.add_option("--artist-gap", type="int", default=3, metavar="N",
                          help="no artist twice within N tracks (default 3; 0 = off)")
    cmd.parser.add_option("--explain", action="store_true",
                          help="say why each track was chosen over the runner-up")
    _common(cmd)
    return cmd


def make_path() -> ui.Subcommand:
    cmd = ui.Subcommand("path", help="a sequence of tracks leading from A to B through the sound space")
    cmd.parser.usage = "%prog A_QUERY B_QUERY [options]\n\nEach step sits between its neighbours in " \
                       "sound: waypoints along the arc from A to B, the nearest unused track to each."
    cmd.parser.add_option("--steps", type="int", default=6, help="tracks between A and B (default 6)")
    cmd.parser.add_option("--mix", action="store_true", help="every transition must be mixable")
    _common(cmd)
    cmd.parser.get_option("--playlist").help = ("take the steps from an M3U playlist (a path, or a name "
                                                "in the playlist plugin's playlist_dir)")
    return cmd


#: what a pool needs of every track (the whole library is read as these columns only)
POOL_COLUMNS = ("artist", "bpm", "initial_key")
POOL_FLEX = ("sonic_bpm", "sonic_bpm_conf", "sonic_camelot", "sonic_key_conf", "sonic_energy", "vibe_energy",
             "vibe_energy_basis", "vibe_source")


#: above this many pool tracks, mixability is worked out only for the tracks visited
LAZY_ABOVE = 5000


class _Mixables:
    """``mixable(item)`` of a pool's rows, worked out for the rows the search visits."""

    def __init__(self, items: list):
        from ..dj.fields import mixable

        self.items, self.done, self.mixable = items, [None] * len(items), mixable

    def __getitem__(self, r: int):
        m = self.done[r]
        if m is None:
            m = self.done[r] = self.mixable(self.items[r])
        return m

    def __len__(self) -> int:
        return len(self.items)


def _pool(rt, pool: list):
    space = rt.read_space(None)
    ids, X = rt.store.matrix(space)
    rows, by_id = query_rows(ids, pool)
    if len(rows) < 2:
        raise FatalError(f"{len(rows)} track(s) of the pool have a vector: run `beet embed`")
    items = [by_id[int(ids[r])] for r in rows]
    energy = np.array([energy_of(it) for it in items])
    rows = np.asarray(rows)
    Xp = np.asarray(X) if len(rows) == len(ids) else np.asarray(X[rows])  # the whole library: no copy
    if len(items) <= LAZY_ABOVE:  # a plain list: cheaper than lazy look-ups at this size
        from ..dj.fields import mixable

        return items, Xp, [mixable(it) for it in items], energy
    return items, Xp, _Mixables(items), energy


def _whole(lib, items: list, rows) -> None:
    """The printed tracks as beets items (the pool holds a few columns of each)."""
    for r in rows:
        if r is not None and isinstance(items[r], library.Row):
            items[r] = lib.get_item(items[r].id)


def _vibe_defaulted(item) -> bool:
    """Whether a vibe's energy is a default rather than evidence: said by the vibe, or (for
    vibes stored before ``vibe_energy_basis``) an offline vibe of a track without a bpm tag."""
    basis = item.get("vibe_energy_basis")
    if basis:
        return basis == "default"
    return item.get("vibe_source") == "local" and not float(item.get("bpm") or 0) > 0


def energy_source(item) -> str | None:
    """Which energy the set builder uses for ``item``: the vibe's where it assessed one,
    the measured ``sonic_energy`` before a vibe's default, a default only when nothing else."""
    vibe, audio = item.get("vibe_energy"), item.get("sonic_energy")
    if vibe and not _vibe_defaulted(item):
        return "vibe"
    if audio:
        return "audio"
    return "default" if vibe else None


def energy_of(item) -> float:
    src = energy_source(item)
    value = item.get("sonic_energy") if src == "audio" else item.get("vibe_energy") if src else None
    return float(value) if value else np.nan


def _say_energy(items) -> None:
    sources = [energy_source(it) for it in items]
    output.line(f"energy: vibe_energy (beet vibe) for {sources.count('vibe')} of the {len(items)} "
                f"pool tracks, sonic_energy (measured from the audio) for {sources.count('audio')}"
                + (f", a vibe's default for {sources.count('default')}" if "default" in sources else "")
                + (f", unknown for {sources.count(None)}" if None in sources else ""))


def hops(X: np.ndarray, mix: list, rows: list[int], rules=None) -> list:
    """``[(transition score, Relation, mixable or None)]`` for each hop of ``rows`` (the
    first track has none): how each track follows the one before it."""
    from ..dj.mixing import relate, transition

    out = [None]
    for a, b in zip(rows, rows[1:]):
        rel = relate(mix[a], mix[b])
        ok = rel.compatible(bpm_range=rules.bpm_range, key_mode=rules.key_mode) if rules else None
        out.append((transition(float(X[a] @ X[b]), rel)[0], rel, ok))
    return out


def _hop_text(score, rel) -> str:
    tempo = f"{rel.tempo.change:+.1f}%" + (f" {rel.tempo.flag}" if rel.tempo.flag else "") if rel.tempo else "?"
    return f"{score:.2f} {rel.key or '?'} {tempo}"


def _hop_problem(rel, opts) -> str:
    if rel.tempo is None or rel.key is None:
        return "unknown " + ("tempo" if rel.tempo is None else "key")
    if abs(rel.tempo.change) > opts.bpm_range:
        return f"{rel.tempo.change:+.1f}% tempo (more than --bpm-range {opts.bpm_range:g}%)"
    return f"key {rel.key} (--key {opts.key})"


def _print(rt, opts, items, steps_rows, targets=None, built=None, mixables=None, energy=None,
           X=None, rules=None, misses=None):
    chosen = [items[r] for r in steps_rows]
    hop = hops(X, mixables, steps_rows, rules) if built is None else None
    for pos, r in enumerate(steps_rows):
        it, m = items[r], mixables[r]
        step = built.steps[pos] if built else None
        score, rel, ok = ((step.transition, step.relation, None) if step else hop[pos] if hop and pos
                          else (None, None, None))
        e = energy[r] if energy is not None else np.nan
        rec = {"position": pos + 1, "energy": None if np.isnan(e) else round(float(e), 1),
               "target": round(float(step.target), 1) if step else None,
               "bpm": m.bpm, "camelot": m.key.camelot if m.key else None,
               "transition": round(score, 3) if score is not None else None,
               "key_relation": rel.key if rel else None,
               "tempo_change": rel.tempo.change if rel and rel.tempo else None,
               "doubtful": list(rel.doubts) if rel else list(m.doubts),
               "energy_source": energy_source(it)}
        if rules is not None and pos:
            rec["mixable"] = ok
        if misses is not None:
            miss = misses.get(pos)
            rec["curve_missed_by"] = miss.by if miss else None
            rec["curve_limited_by"] = miss.reason() if miss else None
        if opts.json:
            output.line(output.item_json(it, **rec))
            continue
        trans = _hop_text(score, rel) if score is not None else "start"
        if rel and rel.doubts:  # the transition rests on a reading that may be wrong
            trans += " (doubtful " + "/".join(rel.doubts) + ")"
        src = rec["energy_source"] or "?"
        key_shown = (names.key_text(m.key) or "?") + ("?" if "key" in m.doubts else "")
        output.line(output.format_item(
            it, opts.format or FORMAT, sonic_pos=f"{pos + 1:>2}.",
            sonic_energy_shown=(f"E {rec['energy']:>4} {src:<5} (target {rec['target']})" if rec["target"]
                                else f"E {rec['energy']} {src}"),
            sonic_bpm_shown=(f"{m.bpm:6.1f} BPM" if m.bpm else "   ? BPM") + ("?" if "tempo" in m.doubts else " "),
            sonic_camelot_shown=f"{key_shown:<11}", sonic_step=f"{trans:<22}"))
        if getattr(opts, "explain", False) and step and step.runner_up is not None:
            output.line("      " + _why(step, output.name(items[step.runner_up])))
    if opts.m3u:
        output.write_playlist(rt.log, opts.m3u, chosen)


def _why(step, alternative: str) -> str:
    """Why this track and not the alternative: the parts of the score, or the look-ahead."""
    mine = step.transition + sets.ENERGY_WEIGHT * step.fit
    parts = (f"transition {step.transition:.2f} + curve fit {step.fit:.2f}/2 = {mine:.2f}")
    theirs = (f"{step.runner_up_transition:.2f} + {step.runner_up_fit:.2f}/2 = "
              f"{step.runner_up_score:.2f}")
    if step.looked_ahead:
        return (f"why: {alternative} scored more here ({theirs}) than this ({parts}), but every "
                "set through it ended worse: the search looks ahead")
    decided = ("its transition" if step.transition - step.runner_up_transition
               >= sets.ENERGY_WEIGHT * (step.runner_up_fit - step.fit) else "the energy curve")
    return f"why: {parts}, over {alternative} ({theirs}); {decided} decided"


def run_set(rt, lib, opts, args) -> None:
    if opts.number < 2:
        raise FatalError("-n/--number must be 2 or more")
    try:
        shape = sets.parse_curve(opts.curve)
    except ValueError as exc:
        raise FatalError(str(exc)) from None
    opts.m3u = M3UTarget.of(opts.m3u) if opts.m3u else None
    pool = (common.rows(rt, lib, opts, args, columns=POOL_COLUMNS, flex=POOL_FLEX)
            if common.whole_library(opts, args)
            else common.query_items(rt, lib, opts, args, at_least=2, what="a set needs at least two tracks"))
    items, X, mix, energy = _pool(rt, pool)
    row_of = {it.id: i for i, it in enumerate(items)}
    start = ([row_of[it.id] for it in matching(lib, opts.start, rt.log) if it.id in row_of]
             if opts.start else None)
    end = (next((row_of[it.id] for it in matching(lib, opts.end, rt.log) if it.id in row_of), None)
           if opts.end else None)
    if opts.start and not start:
        raise FatalError(f"no track of the pool matches --from {opts.start!r}")
    if opts.end and end is None:
        raise FatalError(f"no track of the pool matches --to {opts.end!r}")
    if np.isnan(energy).all():
        rt.log.warning("no energy known for the pool (run `beet embed --analysis` or `beet vibe`): "
                       "the curve is ignored")
    if not opts.json and not opts.format:
        _say_energy(items)
    rules = sets.Rules(opts.bpm_range, opts.key, opts.artist_gap, opts.loose)
    targets = sets.curve(shape, opts.number)
    built = sets.build_set(X, mix, energy, [(it.artist or "").casefold() for it in items],
                           n=opts.number, targets=targets, rules=rules, start=start, end=end)
    if not built.complete:
        cut = ", ".join(f"{k} ({v})" for k, v in sorted(built.blocked.items(), key=lambda kv: -kv[1]))
        msg = (f"could only build {len(built.steps)} of {opts.number} tracks from {len(items)}: "
               f"constraints that cut candidates: {cut or 'none'}; relax them with --bpm-range, "
               "--key any, --artist-gap 0, a bigger pool, or --loose")
        if not opts.loose or not built.steps:
            raise FatalError(msg)
        rt.log.warning("{}", msg)
    _whole(lib, items, [s.row for s in built.steps] + [s.runner_up for s in built.steps])
    misses = sets.curve_misses(built, energy, mix, [(it.artist or "").casefold() for it in items], rules)
    _print(rt, opts, items, [s.row for s in built.steps], targets, built, mix, energy,
           misses={m.position: m for m in misses})
    if misses and not opts.json:
        output.line(f"\nthe energy curve could not be followed at {len(misses)} of {len(built.steps)} "
                    f"positions (more than {sets.MISS:g} off):")
        for m in misses:
            output.line(f"  {m.position + 1:>2}. E {m.energy:.1f}, target {m.target:.1f}: missed by "
                        f"{m.by:.1f}; {m.reason()}")


def run_path(rt, lib, opts, args) -> None:
    if len(args) != 2:
        raise FatalError('give two queries: beet path "title:Start" "title:End"')
    if opts.steps < 1:
        raise FatalError("--steps must be 1 or more")
    opts.m3u = M3UTarget.of(opts.m3u) if opts.m3u else None
    ends = []
    for q in args:
        found = matching(lib, q, rt.log)
        if not found:
            raise FatalError(f"no track matches {q!r}")
        ends.append(found[0])
    # the steps come from the playlist (--playlist) or the whole library
    # without --mix only the steps' vectors matter: the library is read as ids alone
    pool = (common.items(rt, lib, opts, []) if opts.playlist
            else library.rows(lib, POOL_COLUMNS, POOL_FLEX) if opts.mix else library.rows(lib, ()))
    pool += [e for e in ends if e.id not in {it.id for it in pool}]
    items, X, mix, energy = _pool(rt, pool)
    row_of = {it.id: i for i, it in enumerate(items)}
    missing = [q for q, e in zip(args, ends) if e.id not in row_of]
    if missing:
        raise FatalError(f"the track matching {missing[0]!r} has no vector yet: run `beet embed`")
    ends = [row_of[e.id] for e in ends]
    rules = sets.Rules(opts.bpm_range, opts.key, 0, opts.loose) if opts.mix else None
    rows = sets.path(X, mix, ends[0], ends[1], steps=opts.steps, rules=rules)
    _whole(lib, items, rows)
    if not opts.mix and not opts.playlist:  # the printed steps' tempo, key and energy
        mix = _Mixables(items)
        for r in rows:
            energy[r] = energy_of(items[r])
    _print(rt, opts, items, rows, mixables=mix, energy=energy, X=X, rules=rules)
    if rules is None:
        return
    if len(rows) < opts.steps + 2:
        rt.log.warning("only {} of {} steps: no further track could be mixed in (try --bpm-range, "
                       "--key any or more --steps)", len(rows) - 2, opts.steps)
    for pos, hop in enumerate(hops(X, mix, rows, rules)):
        if hop is not None and not hop[2]:
            into = "B" if pos == len(rows) - 1 else f"step {pos + 1}"
            rt.log.warning("hop {} -> {} ({} -> {}) is not mixable: {}", pos, pos + 1,
                           output.name(items[rows[pos - 1]]), into, _hop_problem(hop[1], opts))
