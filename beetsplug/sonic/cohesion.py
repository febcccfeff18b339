"""``beet cohesion``: how tight a set is, which track fits worst, what would fit better,
and an order that flows. Works on any space's unit vectors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import analysis
from .search import Hit, rank, rows_of


@dataclass
class SetReport:
    ids: np.ndarray           # (m,) the set's items that have vectors, in query order
    missing: list[int]        # set items without a vector
    X: np.ndarray             # (m, d) their unit vectors
    cohesion: float
    fit: np.ndarray           # (m,) cosine to the normalised centroid
    scaled: np.ndarray        # (m,) fit min-max scaled within the set
    baseline: np.ndarray      # cohesion of random same-size sets from the library
    percentile: float         # share of random sets less cohesive than this one


def assess(ids: np.ndarray, X: np.ndarray, set_ids: list[int], *, trials: int = 500,
           seed: int = 0) -> SetReport:
    """Cohesion, per-track fit and the random-set baseline for a set of item ids."""
    rows, missing = rows_of(ids, list(dict.fromkeys(set_ids)))
    S = np.asarray(X[rows], np.float32)
    fit = analysis.fit(S)
    coh = analysis.cohesion(S)
    baseline = analysis.random_set_cohesions(X, size=len(rows), trials=trials, seed=seed)
    return SetReport(ids[rows], missing, S, coh, fit, analysis.scaled(fit), baseline,
                     analysis.percentile_of(coh, baseline))


def suggest(ids: np.ndarray, X: np.ndarray, report: SetReport, *, worst: int,
            n: int = 3, within: list[int] | None = None) -> dict[int, list[Hit]]:
    """For each of the ``worst`` fitting tracks, the ``n`` library tracks (not in the set)
    closest to the centroid of the rest of the set -- what would fit in its place."""
    out = {}
    for i in np.argsort(report.fit, kind="stable")[:worst]:
        rest = np.delete(report.X, i, axis=0)
        if rest.shape[0] == 0:
            continue
        q = analysis.normalize(analysis.centroid(rest))
        out[int(report.ids[i])] = rank(ids, X, q, n=n, exclude=report.ids.tolist(), within=within)
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
        return np.argsort(self.report.fit, kind="stable")

    def similarity(self) -> np.ndarray:
        """``(m, m)`` track-to-track cosine similarities."""
        return analysis.similarity_matrix(self.report.X)

    def to_json(self, describe) -> dict:
        """``describe(item_id) -> dict`` adds each track's metadata."""
        r = self.report
        out = {"tracks_in_set": int(r.ids.size), "cohesion": round(r.cohesion, 4),
               "percentile": round(r.percentile, 1),
               "random_median": round(float(np.median(r.baseline)), 4),
               "tracks": [{**describe(int(r.ids[i])), "fit": round(float(r.fit[i]), 4),
                           "scaled": round(float(r.scaled[i]), 4)} for i in self.worst_first]}
        if self.order is not None:
            out["order"] = [int(r.ids[i]) for i in self.order]
            out["transitions"] = [round(float(t), 4) for t in self.transitions]
        if self.rated is not None:
            out["rated_transitions"] = [
                {"from": int(r.ids[t.a]), "to": int(r.ids[t.b]), "score": round(t.score, 4),
                 "sound": round(t.sound, 4), "reason": t.reason,
                 "tempo_change": t.relation.tempo.change if t.relation.tempo else None,
                 "key_relation": t.relation.key} for t in self.rated]
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
        result.suggestions = suggest(ids, X, report, worst=worst)
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
