"""The numpy MusiCNN against the original TensorFlow model's saved outputs, and the backend."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from beetsplug.sonic import analysis
from beetsplug.sonic.musicnn import checkpoint
from beetsplug.sonic.musicnn.model import MSD_TAGS, MusiCNN, log_mel, patches

from .helpers import Beet, family_of

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "musicnn").glob("*.npz"))


@pytest.fixture(scope="module")
def net():
    return MusiCNN.load()


def cos(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_checkpoint_reader_lists_the_bundle():
    prefix = checkpoint.find_weights()
    assert prefix is not None, "pip install --no-deps musicnn==0.1.0"
    entries = checkpoint.read_index(prefix + ".index")
    assert len(entries) == 150
    assert sum("Adam" not in k for k in entries) == 66
    weights = checkpoint.load(prefix)
    assert weights["conv2d/kernel"].shape == (7, 38, 1, 204)
    assert weights["conv2d_5/kernel"].shape == (7, 561, 1, 64)
    assert weights["dense_1/kernel"].shape == (200, 50)
    assert all(w.dtype == np.float32 and np.isfinite(w).all() for w in weights.values())


def test_damaged_or_missing_checkpoints_are_clear_errors(tmp_path):
    prefix = checkpoint.find_weights()
    bad = tmp_path / "ckpt"
    bad.mkdir()
    shutil.copy(prefix + ".index", bad / ".index")
    data = Path(prefix + ".data-00000-of-00001").read_bytes()
    (bad / ".data-00000-of-00001").write_bytes(data[: len(data) // 2])
    with pytest.raises(checkpoint.CheckpointError, match="damaged"):
        checkpoint.load(str(bad) + "/")
    (bad / ".index").write_bytes(Path(prefix + ".index").read_bytes()[:-10])
    with pytest.raises(checkpoint.CheckpointError, match="bad magic"):
        checkpoint.load(str(bad) + "/")
    with pytest.raises(checkpoint.CheckpointError, match="cannot read"):
        checkpoint.load(str(tmp_path / "nothing") + "/")


@pytest.mark.parametrize("front", ["gemm", "im2col"])
@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_network_matches_tensorflow(fixture, net, front):
    ref = np.load(fixture)
    out = net.forward(patches(ref["mel"]), front=front)
    for layer in ("penultimate", "mean_pool", "max_pool"):
        for mine, theirs in zip(out[layer], ref[layer]):  # every patch
            assert cos(mine, theirs) >= 0.999, layer
    # the clip embeddings we use: patch-averaged penultimate, pooled mid-end
    assert cos(out["penultimate"].mean(0), ref["penultimate"].mean(0)) >= 0.999
    assert cos(np.concatenate([out["mean_pool"].mean(0), out["max_pool"].mean(0)]),
               np.concatenate([ref["mean_pool"].mean(0), ref["max_pool"].mean(0)])) >= 0.999
    assert np.abs(out["taggram"] - ref["taggram"]).max() < 1e-3


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_fast_front_end_equals_the_reference_on_every_layer(fixture, net):
    """The GEMM front end (band/Toeplitz matrices, max before batch norm) computes the same
    numbers as the first version's im2col formulation, patch by patch, layer by layer."""
    X = patches(np.load(fixture)["mel"])
    X = np.concatenate([X, X[:, ::-1] * 0.7 + 0.3])  # and a patch unlike music
    fast, ref = net.forward(X), net.forward(X, front="im2col")
    for layer in ("dense", "penultimate", "mean_pool", "max_pool", "logits"):
        for a, b in zip(fast[layer], ref[layer]):
            assert cos(a, b) >= 0.99999, layer


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_mel_front_end_matches_librosa(fixture):
    ref = np.load(fixture)
    mine = log_mel(ref["audio"])
    assert mine.shape == ref["mel"].shape
    assert np.abs(mine - ref["mel"]).max() < 1e-3


def test_tags_make_sense_for_the_families(net):
    by_name = {p.stem: np.load(p) for p in FIXTURES}
    tags = {k: net.forward(patches(v["mel"]))["taggram"].mean(0) for k, v in by_name.items()}
    top = {k: [MSD_TAGS[i] for i in np.argsort(-t)[:5]] for k, t in tags.items()}
    assert "electronic" in top["acid"]
    assert tags["acid"][MSD_TAGS.index("electronic")] > tags["plucks"][MSD_TAGS.index("electronic")]


def test_short_input_is_repeat_padded():
    mel = np.random.default_rng(0).random((50, 96)).astype(np.float32)
    P = patches(mel)
    assert P.shape == (1, 187, 96)
    np.testing.assert_array_equal(P[0, 50:100], mel)


@pytest.fixture(scope="module")
def musicnn_library(tmp_path_factory, family_audio):
    beet = Beet(tmp_path_factory.mktemp("nn"), backend="musicnn")
    beet("import", family_audio)
    return beet


def test_musicnn_backend_finds_the_family(musicnn_library, record_property):
    beet = musicnn_library
    for title in beet.ids():
        top = beet.similar_titles("-n", "3", f"title:{title}")
        assert {family_of(t) for t in top} == {family_of(title)}, (title, top)
    with beet.store() as store:
        ids, X = store.matrix(store.get_space("musicnn"))
        S = analysis.similarity_matrix(np.asarray(X))
    off = S[~np.eye(len(S), dtype=bool)]
    record_property("musicnn_cosine_spread", round(float(off.max() - off.min()), 3))
    assert off.max() - off.min() > 1.0


def test_tags_are_kept_and_shown(musicnn_library):
    out = musicnn_library("similar", "--tags", "-n", "2", "title:Acid Study 1").stdout.splitlines()
    assert out[0].startswith("sounds like") and len(out) == 5 and "electronic" in out[2]
    rec = json.loads(musicnn_library("similar", "--tags", "--json", "-n", "1", "title:Acid Study 1").stdout)
    assert len(rec["tags"]) == 3 and rec["tags"][0][0] in MSD_TAGS


def test_installing_weights_later_moves_to_the_better_space(tmp_path, family_audio, copy_of):
    beet = Beet(tmp_path / "h", backend="auto")
    env = beet.env()
    env["SONIC_MUSICNN_WEIGHTS"] = ""  # as if the musicnn wheel were not installed
    beet.env = lambda: env
    beet("import", copy_of(sorted(family_audio.glob("pads_*"))[:3]))
    out = beet("embed").stdout
    assert "using the spectral backend" in out and "pip install --no-deps musicnn" in out
    del env["SONIC_MUSICNN_WEIGHTS"]  # now "installed"
    res = beet("similar", "-n", "1", "title:Pads Study 1")
    assert "the musicnn space has no vectors yet" in res.output and "Pads Study" in res.stdout
    store = beet.store()
    try:  # a reader does not create the space it could not answer from
        assert [s.name for s in store.spaces()] == ["spectral"]
    finally:
        store.close()
    out = beet("embed").stdout
    assert "using the musicnn backend" in out and "3 to embed" in out
    status = [json.loads(line) for line in beet("embed", "--status", "--json").stdout.splitlines()]
    assert {s["space"]: s["embedded"] for s in status} == {"spectral": 3, "musicnn": 3}
    assert "dropped the spectral space" in beet("embed", "--drop-space", "spectral", "-y").stdout
