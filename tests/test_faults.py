"""Faults a real library meets: a read-only or full disk under the sidecar, a killed
parent with live workers, readers while a writer works. Through the real CLI."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest

from .helpers import Beet
from .test_lifecycle import _children, _is_worker, assert_consistent, count_vectors, status, wait_for


class Mounts:
    """Real mounts (a small tmpfs; a read-only bind), undone after the test. Needs root
    with mount rights -- the CI machine has them; elsewhere the tests say why they skip."""

    def __init__(self):
        self.done: list[str] = []

    def _run(self, *args: str) -> None:
        res = subprocess.run(["mount", *args], capture_output=True, text=True)
        if res.returncode != 0:
            pytest.skip(f"cannot mount here: {res.stderr.strip()}")

    def tmpfs(self, folder, size: str) -> None:
        self._run("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder))
        self.done.append(str(folder))

    def read_only(self, folder) -> None:
        self._run("--bind", str(folder), str(folder))
        self.done.append(str(folder))
        self._run("-o", "remount,bind,ro", str(folder))

    def undo(self) -> None:
        for folder in reversed(self.done):
            subprocess.run(["umount", "-l", folder], capture_output=True)


@pytest.fixture
def mounts():
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs or a read-only bind needs root and mount(8)")
    m = Mounts()
    try:
        yield m
    finally:
        m.undo()


def incoming(tmp_path, name: str, files) -> str:
    folder = tmp_path / name
    folder.mkdir()
    for f in files:
        shutil.copy(f, folder)
    return str(folder)


def test_a_read_only_sidecar_still_answers(mounts, tmp_path, family_audio):
    side = tmp_path / "side"
    side.mkdir()
    beet = Beet(tmp_path / "h", sidecar=str(side / "v.db"))
    files = sorted(family_audio.glob("pads_*"))[:2] + sorted(family_audio.glob("acid_*"))[:2]
    beet("import", incoming(tmp_path, "in", files))
    mounts.read_only(side)  # a read-only mount: even root can't write there

    assert beet.similar_titles("-n", "1", "title:Pads Study 1") == ["Pads Study 2"]
    assert "cohesion" in beet("cohesion", "title:Acid").stdout
    assert "4 tracks" in beet("graph", "-o", tmp_path / "map.html").stdout
    assert status(beet)["embedded"] == 4
    res = beet("embed", "--force", check=False)
    assert res.returncode != 0 and "Traceback" not in res.output
    assert "cannot write the sonic sidecar" in res.output and "writable" in res.output
    assert "move it aside" not in res.output  # nothing suggests throwing the vectors away
    res = beet("rm", "-f", "title:Acid Study 1", check=False)  # beets' own work is never stopped
    assert res.returncode == 0 and "Traceback" not in res.output
    assert "Acid Study 1" not in beet.ids()


def test_a_full_disk_is_one_clear_line_and_loses_nothing(mounts, tmp_path, family_audio):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounts.tmpfs(disk, "8m")
    beet = Beet(tmp_path / "h", sidecar=str(disk / "v.db"))
    beet("import", incoming(tmp_path, "in1", sorted(family_audio.glob("pads_*"))[:3]))
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass  # the disk is full

    res = beet("import", incoming(tmp_path, "in2", sorted(family_audio.glob("acid_*"))[:3]), check=False)
    assert res.returncode == 0 and "Traceback" not in res.output
    assert res.output.count("the disk is full") == 1, res.output  # once, not once per track
    assert "3 new item(s) not embedded" in res.output
    assert len(beet.ids()) == 6
    res = beet("embed", check=False)
    assert res.returncode != 0 and "Traceback" not in res.output and "the disk is full" in res.output
    assert beet.similar_titles("-n", "1", "title:Pads Study 1")[0].startswith("Pads")  # reads work
    res = beet("rm", "-f", "title:Pads Study 3", check=False)
    assert res.returncode == 0 and "Traceback" not in res.output
    assert "Pads Study 3" not in beet.ids()
    assert not [p for p in disk.rglob("*.tmp")]  # no half-written cache file

    filler.unlink()  # room again: nothing was lost, the rest catches up
    assert "pruned 1 vector(s)" in beet("embed", "--prune").stdout  # the removed item's
    assert "3 to embed, 2 up to date" in beet("embed").stdout
    st = status(beet)
    assert (st["embedded"], st["orphaned"], st["failed"]) == (5, 0, 0)


@pytest.mark.slow
def test_workers_of_a_killed_parent_exit_quietly(tmp_path, family_audio):
    beet = Beet(tmp_path / "h", auto=False)
    beet("import", incoming(tmp_path, "in", sorted(family_audio.iterdir())))
    proc = beet.popen("embed", "--workers", "2")
    # killed mid-run, once both workers are at work (a first vector is stored): not in
    # the instant a worker is being spawned, when CPython's own bootstrap, before any
    # of our code runs, would report the parent's pipe closing (EOFError)
    wait_for(lambda: count_vectors(beet.sidecar) >= 1
             and sum(_is_worker(c) for c in _children(proc.pid)) >= 2)
    workers = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    # the workers hold the pipes: communicate() returns only once every one has exited
    out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err and "leaked" not in err, err

    def gone(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return True

    wait_for(lambda: all(gone(p) for p in workers), timeout=30)


@pytest.mark.slow
def test_readers_keep_answering_while_a_writer_works(tmp_path, family_audio):
    beet = Beet(tmp_path / "h", auto=False)
    beet("import", incoming(tmp_path, "in", sorted(family_audio.iterdir())))
    beet("embed", "--limit", "4", "title:Pads")
    writer = beet.popen("embed", "--workers", "1")
    answers = 0
    while writer.poll() is None or answers < 3:
        res = beet("similar", "-n", "1", "title:Pads Study 1", check=False)
        assert res.returncode == 0 and "Traceback" not in res.output, res.output
        assert res.stdout.startswith("sounds like") and len(res.stdout.splitlines()) == 2
        answers += 1
    writer.communicate(timeout=60)
    assert writer.returncode == 0 and status(beet)["embedded"] == len(beet.ids())


def test_an_inconsistent_vector_is_repaired_by_the_next_run(beet, family_audio, copy_of):
    """A vector that isn't what its space's statistics make of its raw output (as two
    writers of older versions could leave one) is found and re-derived by `beet embed`."""
    import numpy as np

    beet("import", copy_of(sorted(family_audio.glob("pads_*"))[:3] + sorted(family_audio.glob("acid_*"))[:3]))
    target = beet.ids()["Pads Study 1"]
    with beet.store() as store:
        space = store.get_space("spectral")
        wrong = np.random.default_rng(0).standard_normal((1, space.dims)).astype(np.float32)
        store.set_state_and_vectors(space, n=space.stats_n, state=None, ids=np.array([target]),
                                    vectors=wrong / np.linalg.norm(wrong))
    out = beet("embed").stdout
    assert "repaired 1 vector(s)" in out and "0 to embed" in out
    assert_consistent(beet)
    assert "repaired" not in beet("embed").stdout  # checked once per outside change
