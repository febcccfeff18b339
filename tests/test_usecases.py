"""The use cases in-process, without `beet`: cohesion, graph, library upkeep, the space
policy, settings validation, migrations and the documented SQL interface."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from beets.library import Item

from beetsplug.sonic import analysis, cohesion, graph, library_ops, spaces
from beetsplug.sonic import store as store_mod
from beetsplug.sonic.backends import get_backend
from beetsplug.sonic.errors import FatalError
from beetsplug.sonic.store import SpaceSpec, Store
from beetsplug.sonic.vibe.run import open_vibes
from beetsplug.sonic.vibe.vocabulary import Vocabulary

from .helpers import vec0_top_k

SPEC = SpaceSpec(name="spectral", kind="audio", backend="spectral", model="spectral", dims=8,
                 params={"segment": 30.0}, standardize=True)


@pytest.fixture
def store(tmp_path):
    with Store(str(tmp_path / "lib.sonic.db"), driver="sqlean") as s:
        yield s


def clusters(n_per: int = 6, d: int = 8, seed: int = 0) -> np.ndarray:
    """Two tight clusters of unit vectors: rows 0..n-1 around e0, n..2n-1 around e1."""
    rng = np.random.default_rng(seed)
    centres = np.eye(d)[:2]
    X = np.concatenate([c + 0.15 * rng.standard_normal((n_per, d)) for c in centres])
    return analysis.normalize(X)


def test_judge_finds_the_intruder_and_orders(tmp_path):
    X = clusters(10)
    ids = np.arange(1, 21)
    result = cohesion.judge(ids, X, [1, 2, 3, 4, 5, 12], order=True, suggestions=True, worst=1)
    assert int(result.report.ids[result.worst_first[0]]) == 12  # the one from the other cluster
    assert result.report.outlier.tolist() == [False] * 5 + [True]
    assert sorted(result.order.tolist()) == list(range(6))
    assert result.transitions.shape == (5,)
    (hits,) = result.suggestions.values()
    assert 6 <= hits[0].item_id <= 10  # an unused member of the set's own cluster
    doc = result.to_json(lambda iid: {"id": iid})
    assert doc["tracks"][0]["id"] == 12 and doc["tracks"][0]["outlier"] and doc["order"]
    rows = [0, 1, 2, 3, 4, 11]
    np.testing.assert_allclose(result.similarity(), X[rows] @ X[rows].T, atol=1e-6)
    json.dumps(doc)  # serialisable as is


def test_graph_build_links_clusters_internally():
    X = clusters(5)
    items = [Item(id=i + 1, artist=f"A{i}", title=f"<b>T{i}</b>", bpm=120, initial_key="Am")
             for i in range(10)]
    payload, page = graph.build(X, items, k=3, space="spectral")
    nbr = np.array(payload["nbr"]).reshape(10, 3)
    assert all((nbr[i] < 5).all() == (i < 5) for i in range(10))
    assert payload["ncomm"] == 2 and "<b>T0</b>" not in page
    with pytest.raises(ValueError):
        graph.build(X[:1], items[:1], k=3, space="spectral")


def test_status_prune_export(store):
    space = store.ensure_space(SPEC)
    for iid in (1, 2, 3):
        store.put_vector(space, iid, vector=np.eye(8)[iid], path=b"/nope", mtime=1.0, size=1)
    items = [Item(id=1, path=b"/nope"), Item(id=2, path=b"/nope")]
    st = library_ops.status(store, space, items[:1], library_ids={1, 2})
    assert (st.unreachable, st.missing, st.orphaned) == (1, 0, 1)  # item 2 is in the library
    doc = library_ops.export(store, space, items, path_of=lambda it: "p")
    assert [r["id"] for r in doc["items"]] == [1, 2] and len(doc["items"][0]["vector"]) == 8
    assert library_ops.prune(store, {1, 2}) == (1, 1)
    assert store.matrix(space)[0].tolist() == [1, 2]


def test_space_policy_audio_and_vibe(store):
    spaces.open_space(store, SPEC)
    changed = SpaceSpec(**{**SPEC.__dict__, "params": {"segment": 20.0}})
    with pytest.raises(FatalError, match="beet embed --rebuild"):
        spaces.open_space(store, changed)
    assert spaces.open_space(store, changed, rebuild=True).params == {"segment": 20.0}
    vocab = Vocabulary()
    v = open_vibes(store, vocab, "local")
    store.put_vector(v.space, 1, vector=np.eye(v.space.dims)[0])
    other = Vocabulary(genres=("Acid Techno", "Other"))
    with pytest.raises(FatalError, match="beet vibe --rebuild"):
        open_vibes(store, other, "local")
    assert store.count(store.get_space("vibe-local")) == 1  # nothing was dropped


def test_reading_falls_back_only_with_a_warning(store):
    empty = store.ensure_space(SPEC)
    full = store.ensure_space(SpaceSpec(**{**SPEC.__dict__, "name": "musicnn", "backend": "musicnn"}))
    store.put_vector(full, 1, vector=np.eye(8)[0])
    warnings = []
    got = spaces.for_reading(store, None, configured=lambda: empty, warn=warnings.append)
    assert got.name == "musicnn" and "spectral space has no vectors yet" in warnings[0]
    with pytest.raises(FatalError, match=r"no 'nope' space .*spaces: spectral, musicnn"):
        spaces.for_reading(store, "nope", configured=lambda: empty, warn=warnings.append)
    with pytest.raises(FatalError, match="sonic: backend: spectral"):
        spaces.for_reading(store, "spectral", configured=lambda: empty, warn=warnings.append)


def test_unknown_settings_name_the_closest_key():
    import confuse

    from beetsplug.sonic.settings import DEFAULTS, from_config

    def settings(**overrides):
        cfg = confuse.Configuration("sonic-test", read=False)
        cfg.add(DEFAULTS)
        cfg.set(overrides)
        return from_config(cfg, library_path="/tmp/lib.db")

    with pytest.raises(FatalError, match=r"sonic: segmnet.*did you mean `segment`"):
        settings(segmnet=20)
    with pytest.raises(FatalError, match=r"sonic: gemini: retry_wiat.*`gemini: retry_wait`"):
        settings(gemini={"retry_wiat": 1})
    with pytest.raises(FatalError, match=r"sonic: auto`: must be yes or no"):
        settings(auto="maybe")
    assert settings(backend="spectral").backend_options() == {"segment": 30.0, "positions": (0.5,)}
    assert not settings(backend="spectral").hosted


def test_migrations_are_functions_and_run_once(tmp_path, monkeypatch):
    path = str(tmp_path / "m.db")
    Store(path, driver="sqlean").close()
    calls = []

    def m2_data(c):  # a data migration: rewrites rows, impossible as split SQL strings
        calls.append(1)
        c.execute("UPDATE spaces SET model = upper(model)")

    monkeypatch.setattr(store_mod, "MIGRATIONS", [*store_mod.MIGRATIONS, m2_data])
    with Store(path, driver="sqlean") as s:
        s.ensure_space(SPEC)
    monkeypatch.setattr(store_mod, "MIGRATIONS", [*store_mod.MIGRATIONS])
    with Store(path, driver="sqlean") as s:
        assert s.schema_version == len(store_mod.MIGRATIONS) and calls == [1]


def test_documented_sql_matches_the_exact_ranking(store):
    rng = np.random.default_rng(3)
    space = store.ensure_space(SPEC)
    X = analysis.normalize(rng.standard_normal((40, 8)))
    store.put_vectors(space, np.arange(1, 41), X)
    q = X[4]
    sql = [iid for iid, _ in vec0_top_k(store.conn, "spectral", q, 6)]
    assert sql == (analysis.top_k(X @ q, 6) + 1).tolist()


def test_backends_return_one_declared_type(tmp_path):
    from beetsplug.sonic import synth
    from beetsplug.sonic.backends import Embedding

    path = str(tmp_path / "a.wav")
    synth.write(path, synth.render(synth.spec("acid", 1), 8.0))
    out = get_backend("spectral", segment=5, positions=(0.5,)).embed(path)
    assert isinstance(out, Embedding) and out.vector.dtype == np.float32
    assert set(out.extras) == {"dj"} and out.extras["dj"]["camelot"]  # tempo and key ride along


def test_the_demo_shows_what_the_plugin_is_for():
    """`./dev demo`'s program: similar, a cohesion check that flags the planted intruder, a
    mix-compatible suggestion, a map at a printed path, and how to remove the folder."""
    import re
    import shutil
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "beetsplug.sonic.demo", "--backend", "spectral"],
                          capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    home = re.search(r"rm -rf (\S+)", proc.stdout)
    try:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out = proc.stdout
        assert "$ beet similar -n 5" in out and "sounds like" in out
        flagged = [line for line in out.splitlines() if "doesn't belong" in line and "top" in line]
        assert len(flagged) == 1 and "Pads Study 1" in flagged[0]
        mix = out.split("$ beet similar --mix", 1)[1].split("$ beet graph", 1)[0]
        assert "mixing into" in mix and re.search(r"\d+A|\d+B", mix.splitlines()[2])
        page = re.search(r"file://(\S+\.html)", out).group(1)
        assert os.path.getsize(page) > 10_000 and home and page.startswith(home.group(1))
    finally:
        if home:
            shutil.rmtree(home.group(1), ignore_errors=True)
