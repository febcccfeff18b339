"""``beet vibe QUERY``: a DJ's vibe as queryable fields; ``--search`` and ``--discrepancy``."""

from __future__ import annotations

from beets import ui
from beets.util import displayable_path

from .. import output
from ..errors import FatalError
from ..progress import Progress
from . import common


def make() -> ui.Subcommand:
    cmd = ui.Subcommand("vibe", help="tag tracks with a DJ's vibe: sub-genre, character, texture, "
                                     "energy 1-10, set placement")
    cmd.parser.usage += (
        "\n\nAssesses matching items that have no current vibe (an LLM from the metadata with a"
        "\nGemini key, else offline rules from genre/style/comments/bpm) and stores the result as"
        "\nqueryable fields: beet ls vibe_placement:'Peak Time' vibe_energy:8..\n"
        "Also: --search WORDS (nearest vibes), --discrepancy (sound and vibe disagree)."
    )
    cmd.parser.add_format_option(target="item")
    cmd.parser.add_option("--json", action="store_true", help="one JSON object per line")
    cmd.parser.add_option("--force", action="store_true", help="assess again items that have a vibe")
    cmd.parser.add_option("--rebuild", action="store_true",
                          help="drop the vibe space (after a vocabulary or model change) and assess again")
    cmd.parser.add_option("-y", "--yes", action="store_true", help="with --rebuild: do not ask")
    cmd.parser.add_option("--pretend", action="store_true", help="show the assessments, store nothing")
    cmd.parser.add_option("--search", metavar="WORDS",
                          help='list the items whose vibe is nearest to the words, e.g. "dark hypnotic peak time"')
    cmd.parser.add_option("--discrepancy", action="store_true",
                          help="list tracks whose audio neighbours and vibe neighbours disagree most")
    cmd.parser.add_option("-n", "--number", type="int", default=10,
                          help="with --search / --discrepancy: how many to list (default 10)")
    common.add_playlist_option(cmd, "the tracks of an M3U playlist")
    return cmd


def run(rt, lib, opts, args) -> None:
    if opts.search is not None:
        return search(rt, lib, opts, args)
    if opts.discrepancy:
        return discrepancy(rt, lib, opts, args)
    return assess(rt, lib, opts, args)


def assess(rt, lib, opts, args) -> None:
    from ..vibe import run as vr

    if opts.rebuild and not opts.yes and not ui.input_yn(
            "drop every stored vibe vector and assess again? (y/n)", require=True):
        raise FatalError("nothing changed")
    v = rt.vibes(rebuild=opts.rebuild)
    items = common.query_items(rt, lib, opts, args)
    todo = vr.pending(v, items, force=opts.force or opts.pretend or opts.rebuild)
    say = rt.log.info if opts.json else output.line  # --json: only JSON lines on stdout
    say(f"vibe ({v.analyzer}): {len(todo)} to assess, {len(items) - len(todo)} already have one")
    fmt = opts.format or rt.settings.vibe_format
    shown = []

    def on_result(r):
        bar.advance(failed=bool(r.error))
        shown.append(r)

    with Progress(len(todo), "vibe") as bar:
        try:
            results = vr.run(v, todo, pretend=opts.pretend, on_result=on_result)
        except FatalError as exc:
            results = shown
            rt.log.error("{}", exc)
    for r in results:
        if r.error and opts.json:
            output.line(output.item_json(r.item, vibe=None, error=r.error))
        elif r.error:
            output.line(f"  not assessed: {displayable_path(r.item.path)}: {r.error}")
        elif opts.json:
            output.line(output.item_json(r.item, vibe=r.assessment.to_json()))
        else:
            output.line(output.format_item(r.item, fmt, **r.assessment.fields(),
                                           vibe_tags=r.assessment.tags_line()))
            rt.log.debug("  evidence: {}", "; ".join(r.assessment.evidence))
    failed = sum(1 for r in results if r.error)
    say(f"vibe: {len(results) - failed} assessed{' (pretend: nothing stored)' if opts.pretend else ''}, "
        f"{failed} not assessed")
    if len(results) < len(todo):
        raise ui.UserError(f"sonic: stopped after {len(results)} of {len(todo)}; finished vibes are saved")
    if failed:
        raise ui.UserError(f"sonic: {failed} item(s) not assessed (listed above); the others are "
                           + ("shown" if opts.pretend else "saved"))


def _tags_of(item) -> str:
    from ..vibe.vocabulary import tags_line

    return tags_line(*(item.get(f"vibe_{k}") or [] for k in ("genre", "character", "texture")))


def _check_listing(opts) -> None:
    if opts.number < 1:
        raise FatalError(f"-n/--number must be 1 or more, not {opts.number}")
    if opts.force or opts.pretend or opts.rebuild:
        raise FatalError("--force, --pretend and --rebuild assess; they don't apply to "
                         "--search or --discrepancy")


def search(rt, lib, opts, args) -> None:
    from ..vibe import run as vr

    _check_listing(opts)
    if not opts.search.strip():
        raise FatalError('--search needs words, e.g. --search "dark hypnotic peak time"')
    v = rt.vibes()
    if rt.store.count(v.space) == 0:
        raise FatalError("no vibes yet: run `beet vibe` first")
    within = [it.id for it in common.items(rt, lib, opts, args)] if args or opts.playlist else None
    hits, unknown = vr.search_words(v, opts.search, n=opts.number, within=within, announce=rt.info)
    if unknown and opts.json:  # JSON output stays JSON: the words go to the log (stderr)
        rt.log.info("not in the vibe vocabulary (ignored): {}", ", ".join(unknown))
    elif unknown:
        output.line(f"not in the vibe vocabulary (ignored): {', '.join(unknown)}")
    if not hits and not opts.json:
        output.line("no vibe shares any of those words" + (" within that query" if within else ""))
    for h in hits:
        item = lib.get_item(h.item_id)
        if item is None:
            continue
        if opts.json:
            output.line(output.item_json(item, score=round(h.score, 4)))
        else:
            output.line(output.format_item(item, opts.format or ("$sonic_score  " + rt.settings.vibe_format),
                                           sonic_score=f"{h.score:.3f}", vibe_tags=_tags_of(item)))


def discrepancy(rt, lib, opts, args) -> None:
    from ..vibe import run as vr

    _check_listing(opts)
    v = rt.vibes()
    audio = rt.read_space(None)
    only = {it.id for it in common.items(rt, lib, opts, args)} if args or opts.playlist else None
    rows = vr.discrepancy(rt.store.matrix(audio), rt.store.matrix(v.space), only=only)
    if not rows:
        raise FatalError("too few tracks with both an audio vector and a vibe: run `beet embed` "
                         "and `beet vibe` first")

    def name(iid):
        it = lib.get_item(iid)
        return output.name(it) if it else f"#{iid}"

    def tags(iid):
        it = lib.get_item(iid)
        return (it.get("vibe_genre") or []) if it else []

    for d in rows[: opts.number]:
        if opts.json:
            output.print_json({"id": d.item_id, "score": d.score, "vibe": tags(d.item_id),
                               "audio_neighbours": d.audio_neighbours,
                               "vibe_neighbours": d.vibe_neighbours})
            continue
        output.line(f"{d.score:.2f}  {name(d.item_id)}  [{'; '.join(tags(d.item_id)) or 'no genre'}]")
        output.line("      sounds like: " + ", ".join(
            f"{name(i)} [{'; '.join(tags(i)) or '-'}]" for i in d.audio_neighbours[:3]))
