"""``beet cohesion``: how tight a set is, which track fits worst, what would fit better,
and an order that flows. Works on any space's unit vectors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import analysis
from .search import Hit, rank, rows_of

#: a member "doesn't belong" when at least OUTLIER_TOP % of the library's other tracks are as
#: close to the rest of the set as it is, OUTLIER_RATIO times as many as for the set's typical
#: member, and its cosine to the rest is below the typical member's by OUTLIER_GAP standard
#: deviations of the library's cosines (a guard for small libraries, where one track is a big
#: share). Measured on real music (benchmarks/cohesion_outliers.py, docs/quality.md): in
#: tight 8-track sets it flags 70% of planted intruders and 3% of true members.
OUTLIER_TOP = 25.0
OUTLIER_RATIO = 4.0
OUTLIER_GAP = 0.5
#: fewer library tracks outside the set than this: no reference, no flags
MIN_REFERENCE = 10


@dataclass
class SetReport:
    ids: np.ndarray           # (m,) the set's items that have vectors, in query order
    missing: list[int]        # set items without a vector
    X: np.ndarray             # (m, d) their unit vectors
    cohesion: float
    fit: np.ndarray           # (m,) cosine to the normalised centroid
    top: np.ndarray           # (m,) % of library tracks outside the set at least as close to
                              # the rest of the set (leave-one-out); NaN without a reference
    outlier: np.ndarray       # (m,) bool: doesn't belong (see OUTLIER_TOP)
    baseline: np.ndarray      # cohesion of random same-size sets (empty: set is most of the library)
    percentile: float         # share of random sets less cohesive than this one (NaN: no baseline)

    @property
    def judged(self) -> bool:
        """Whether there was a library outside the set to judge the tracks against."""
        return not np.isnan(self.top).all()


def outliers(fit: np.ndarray, top: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """The members that don't belong, from :func:`analysis.loo_standing`'s output."""
    top = np.asarray(top, np.float64)
    if top.size < 2 or np.isnan(top).any():
        return np.zeros(top.size, bool)
    others_top = np.array([np.median(np.delete(top, i)) for i in range(top.size)])
    gap = np.array([np.median(np.delete(fit, i)) for i in range(top.size)]) - fit
    return (top > OUTLIER_TOP) & (top > OUTLIER_RATIO * others_top) & (gap > OUTLIER_GAP * spread)


def assess(ids: np.ndarray, X: np.ndarray, set_ids: list[int], *, trials: int = 500,
           seed: int = 0) -> SetReport:
    """Cohesion, per-track fit and standing, and the random-set baseline for a set."""
    rows, missing = rows_of(ids, list(dict.fromkeys(set_ids)))
    S = np.asarray(X[rows], np.float32)
    outside = ids.size - len(rows)
    if outside >= MIN_REFERENCE:
        loo, top, spread = analysis.loo_standing(S, np.delete(np.asarray(X), rows, axis=0))
        flags = outliers(loo, top, spread)
    else:
        top, flags = np.full(len(rows), np.nan), np.zeros(len(rows), bool)
    if len(rows) <= ids.size // 2:
        baseline = analysis.random_set_cohesions(X, size=len(rows), trials=trials, seed=seed)
    else:  # most of the library: random sets of that size are nearly the same set
        baseline = np.zeros(0, np.float32)
    coh = analysis.cohesion(S)
    return SetReport(ids[rows], missing, S, coh, analysis.fit(S), top, flags, baseline,
                     analysis.percentile_of(coh, baseline) if baseline.size else float("nan"))


def suggest(ids: np.ndarray, X: np.ndarray, report: SetReport, *, order: np.ndarray,
            limit: int, n: int = 3) -> dict[int, list[Hit]]:
    """For each flagged track (worst first, at most ``limit``), ``n`` library tracks to put
    in its place: close to the rest of the set AND to its neighbours in the running
    ``order`` (half each; the nearest unflagged track either side). No track is proposed
    for two slots."""
    out: dict[int, list[Hit]] = {}
    taken = report.ids.tolist()
    pos = {int(r): p for p, r in enumerate(order)}
    flagged = [i for i in np.argsort(-report.top, kind="stable") if report.outlier[i]][:limit]
    for i in flagged:
        rest = np.delete(report.X, i, axis=0)
        scores = np.asarray(X @ analysis.normalize(analysis.centroid(rest)), np.float32)
        p = pos[int(i)]  # its neighbours: the nearest tracks either side that stay in the set
        before = [int(r) for r in order[:p] if not report.outlier[r]][-1:]
        after = [int(r) for r in order[p + 1:] if not report.outlier[r]][:1]
        nbrs = before + after
        if nbrs:
            scores = 0.5 * scores + 0.5 * np.asarray(X @ report.X[nbrs].T, np.float32).mean(axis=1)
        hits = rank(ids, X, None, n=n, exclude=taken, scores=scores)
        out[int(report.ids[i])] = hits
        taken += [h.item_id for h in hits]
    return out


def flow(report: SetReport, mixables: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(order (m,), score of each transition (m - 1,))`` for a set that flows: by sound
    alone, or with ``mixables`` (one per row, dj.fields.Mixable) by the transition score
    (sound, tempo, key: dj.mixing)."""
    S = analysis.similarity_matrix(report.X)
    if mixables is not None:
        S = transition_matrix(S, mixables)
    order = analysis.flow_order(S)
    return order, S[order[:-1], order[1:]]


def transition_matrix(S: np.ndarray, mixables: list) -> np.ndarray:
    """``(m, m)`` transition scores from the cosine matrix ``S`` and each row's tempo/key."""
    from .dj.mixing import relate, transition

    m = len(mixables)
    T = np.zeros((m, m), np.float32)
    for i in range(m):
        for j in range(m):
            if i != j:
                T[i, j] = transition(float(S[i, j]), relate(mixables[i], mixables[j]))[0]
    np.fill_diagonal(T, 1.0)
    return T


@dataclass
class Transition:
    a: int                 # row of the current track
    b: int                 # row of the next
    score: float
    sound: float
    reason: str
    relation: object


def rate_transitions(report: SetReport, mixables: list) -> list[Transition]:
    """Each consecutive transition of the set in its own order, scored and explained."""
    from .dj.mixing import relate, transition, weakest_reason

    S = analysis.similarity_matrix(report.X)
    out = []
    for i in range(len(mixables) - 1):
        rel = relate(mixables[i], mixables[i + 1])
        score, parts = transition(float(S[i, i + 1]), rel)
        out.append(Transition(i, i + 1, score, float(S[i, i + 1]),
                              weakest_reason(parts, rel, mixables[i], mixables[i + 1], float(S[i, i + 1])),
                              rel))
    return out


@dataclass
class Judgement:
    """Everything ``beet cohesion`` reports about one set."""

    report: SetReport
    order: np.ndarray | None = None          # (m,) flowing order, rows of report.X
    transitions: np.ndarray | None = None    # (m - 1,) similarity of each step
    suggestions: dict[int, list[Hit]] | None = None
    rated: list[Transition] | None = None     # the set's own transitions, in its order

    @property
    def worst_first(self) -> np.ndarray:
        """Rows by standing (most library tracks as close first), else by fit."""
        r = self.report
        return np.argsort(-r.top if r.judged else r.fit, kind="stable")

    def display_order(self) -> np.ndarray:
        """The order a matrix is drawn in: the flowing order (similar tracks adjacent, so
        blocks show), computed if ``--order`` didn't."""
        if self.order is not None:
            return self.order
        return analysis.flow_order(self.similarity()) if len(self.report.ids) > 2 else np.arange(len(self.report.ids))

    def similarity(self) -> np.ndarray:
        """``(m, m)`` track-to-track cosine similarities."""
        return analysis.similarity_matrix(self.report.X)

    def to_json(self, describe) -> dict:
        """``describe(item_id) -> dict`` adds each track's metadata."""
        r = self.report

        def num(x, digits=4):
            return None if np.isnan(x) else round(float(x), digits)

        out = {"tracks_in_set": int(r.ids.size), "cohesion": round(r.cohesion, 4),
               "percentile": num(r.percentile, 1),
               "random_median": num(np.median(r.baseline)) if r.baseline.size else None,
               "judged": r.judged, "outliers": int(r.outlier.sum()),
               "tracks": [{**describe(int(r.ids[i])), "fit": round(float(r.fit[i]), 4),
                           "top_percent": num(r.top[i], 2), "outlier": bool(r.outlier[i])}
                          for i in self.worst_first]}
        if self.order is not None:
            out["order"] = [int(r.ids[i]) for i in self.order]
            out["transitions"] = [round(float(t), 4) for t in self.transitions]
        if self.rated is not None:
            out["rated_transitions"] = [
                {"from": int(r.ids[t.a]), "to": int(r.ids[t.b]), "score": round(t.score, 4),
                 "sound": round(t.sound, 4), "reason": t.reason,
                 "tempo_change": t.relation.tempo.change if t.relation.tempo else None,
                 "key_relation": t.relation.key, "doubtful": list(t.relation.doubts)}
                for t in self.rated]
        if self.suggestions is not None:
            out["suggestions"] = {str(k): [{"id": h.item_id, "score": round(h.score, 4)} for h in v]
                                  for k, v in self.suggestions.items()}
        return out


def judge(ids: np.ndarray, X: np.ndarray, set_ids: list[int], *, order: bool = False,
          suggestions: bool = False, worst: int = 3, mixables: dict | None = None,
          transitions: bool = False) -> Judgement:
    """The use case of ``beet cohesion``: assess the set, optionally order it (by sound,
    or with ``mixables`` {id: Mixable} by transition score), rate its own transitions and
    suggest replacements for its worst-fitting tracks."""
    report = assess(ids, X, set_ids)
    result = Judgement(report)
    rows = [mixables[int(i)] for i in report.ids] if mixables is not None else None
    if order:
        result.order, result.transitions = flow(report, rows)
    if transitions and rows is not None:
        result.rated = rate_transitions(report, rows)
    if suggestions:
        running = result.order if result.order is not None else np.arange(len(report.ids))
        result.suggestions = suggest(ids, X, report, order=running, limit=worst)
    return result


def markdown_matrix(S: np.ndarray, names: list[str]) -> str:
    """The similarity matrix as a Markdown table with numbered tracks and a legend."""
    m = len(names)
    head = "| # | " + " | ".join(str(j + 1) for j in range(m)) + " |"
    rule = "|---:|" + "---:|" * m
    rows = [f"| {i + 1} | " + " | ".join("—" if i == j else f"{S[i, j]:.2f}" for j in range(m)) + " |"
            for i in range(m)]
    legend = [f"{i + 1}. {name}" for i, name in enumerate(names)]
    return "\n".join([head, rule, *rows, "", *legend])


def heatmap(S: np.ndarray, names: list[str], path: str) -> None:
    """Draw the similarity matrix to a PNG (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = len(names)
    fig, ax = plt.subplots(figsize=(2 + 0.45 * m, 1.5 + 0.4 * m))
    im = ax.imshow(S, cmap="viridis", vmin=min(0.0, float(S.min())), vmax=1.0)
    ax.set_xticks(range(m), [str(i + 1) for i in range(m)])
    ax.set_yticks(range(m), [f"{i + 1}. {n[:40]}" for i, n in enumerate(names)])
    fig.colorbar(im, ax=ax, label="cosine similarity")
    ax.set_title("track-to-track similarity")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
