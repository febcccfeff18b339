"""The gemini backend through the real google-genai SDK against a local fake server."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import threading
import time

import numpy as np
import pytest

from beetsplug.sonic import synth

from .fake_gemini import KEY, b64, error, gemini_beet, quota_error
from .helpers import Beet, family_of


def import_tracks(beet, tmp_path, files, auto=False):
    beet.set(auto=auto)
    incoming = tmp_path / "incoming"
    incoming.mkdir(exist_ok=True)
    for f in files:
        (incoming / f.name).write_bytes(f.read_bytes())
    return beet("import", incoming)


def status(beet) -> dict:
    return json.loads(beet("embed", "--status", "--json").stdout.splitlines()[0])


def entries(beet):
    with beet.store() as store:
        return store.entries(store.get_space("gemini"))


def clips_of(req) -> list[bytes]:
    return [b64(r["content"]["parts"][0]["inline_data"]["data"]) for r in req.body["requests"]]


def decode(clip: bytes) -> tuple[np.ndarray, int]:
    import av

    with av.open(io.BytesIO(clip)) as c:
        sr = c.streams.audio[0].rate
        y = np.concatenate([f.to_ndarray().mean(axis=0) for f in c.decode(audio=0)])
    return y, sr


def test_request_shape_and_clip_from_the_middle(tmp_path, fake):
    beet = gemini_beet(tmp_path / "h", fake)
    # a 60 s tone whose level rises linearly: the clip's level tells where it was cut
    sr = 44100
    t = np.arange(60 * sr) / sr
    y = (0.9 * t / 60 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    ramp = tmp_path / "ramp.wav"
    synth.write(str(ramp), np.stack([y, y]), sr=sr)
    synth.tag(str(ramp), artist="Ramp", title="Rising")
    import_tracks(beet, tmp_path, [ramp])
    beet("embed")
    (req,) = fake.embed_requests()
    assert req.path == "/v1beta/models/gemini-embedding-2-preview:batchEmbedContents"
    assert req.headers.get("x-goog-api-key") == KEY
    (r,) = req.body["requests"]
    assert r["model"] == "models/gemini-embedding-2-preview" and r["outputDimensionality"] == 768
    (part,) = r["content"]["parts"]
    assert part["inline_data"]["mime_type"] == "audio/mp3"
    clip, clip_sr = decode(clips_of(req)[0])
    assert abs(clip.size / clip_sr - 10.0) < 0.15
    # level = gain * (start + t): a line through the clip's RMS envelope gives its start
    # whatever the codec does to the gain
    win = clip_sr // 2
    t = np.arange(1, 19) * 0.5 + 0.25
    levels = [np.sqrt(np.mean(clip[i * win: (i + 1) * win] ** 2)) for i in range(1, 19)]
    slope, intercept = np.polyfit(t, levels, 1)
    assert abs(intercept / slope - 25.0) < 0.5
    vec = entries(beet)
    assert len(vec) == 1 and next(iter(vec.values())).ok
    assert not list(tmp_path.glob("**/*.mp3.tmp")) and not list((tmp_path / "h" / "music").glob("**/*clip*"))


def test_one_content_per_track_batched(tmp_path, fake, family_audio):
    beet = gemini_beet(tmp_path / "h", fake, batch_size=3)
    import_tracks(beet, tmp_path, sorted(family_audio.iterdir())[:7])
    beet("embed")
    sizes = [len(r.body["requests"]) for r in fake.embed_requests()]
    assert sorted(sizes) == [1, 3, 3]
    assert all(len(x["content"]["parts"]) == 1 for r in fake.embed_requests() for x in r.body["requests"])
    assert status(beet)["embedded"] == 7


def test_gemini_space_finds_the_family(tmp_path, fake, family_audio):
    beet = gemini_beet(tmp_path / "h", fake, batch_size=8)
    import_tracks(beet, tmp_path, sorted(family_audio.iterdir()))
    beet("embed")
    for title in ("Acid Study 1", "Pads Study 2", "Breaks Study 3"):
        top = beet.similar_titles("-n", "3", f"title:{title}")
        assert {family_of(t) for t in top} == {family_of(title)}


def test_multi_point_sends_one_clip_per_position(tmp_path, fake, family_audio):
    beet = gemini_beet(tmp_path / "h", fake, batch_size=6)
    beet.set(positions=[0.25, 0.5, 0.75])
    import_tracks(beet, tmp_path, sorted(family_audio.glob("acid_*"))[:2])
    beet("embed")
    (req,) = fake.embed_requests()
    assert len(req.body["requests"]) == 6
    assert status(beet)["embedded"] == 2


@pytest.mark.parametrize("script, expect", [
    ([quota_error(retry_delay="0.4s"), "ok"], "retry-after-delay"),
    ([quota_error(), "ok"], "retry-after-backoff"),
    ([error(500, "INTERNAL", "boom"), error(503, "UNAVAILABLE", "busy"), "ok"], "retry-5xx"),
    ([{"sleep": 4}, "ok"], "retry-timeout"),
])
def test_transient_faults_are_retried(tmp_path, fake, family_audio, script, expect):
    beet = gemini_beet(tmp_path / "h", fake, batch_size=1, backoff=0.3)
    import_tracks(beet, tmp_path, sorted(family_audio.glob("pads_*"))[:1])
    fake.script = list(script)
    out = beet("embed").output
    assert "embedded 1" in out and "failed 0" in out
    reqs = fake.embed_requests()
    assert len(reqs) == len(script)
    if expect == "retry-after-delay":
        assert reqs[1].t - reqs[0].t >= 0.4
    if expect == "retry-after-backoff":
        assert reqs[1].t - reqs[0].t >= 0.3


def test_per_day_quota_stops_cleanly_and_keeps_work(tmp_path, fake, family_audio):
    beet = gemini_beet(tmp_path / "h", fake, batch_size=1)
    import_tracks(beet, tmp_path, sorted(family_audio.glob("breaks_*"))[:4])
    fake.script = ["ok", quota_error(per_day=True)]
    res = beet("embed", check=False)
    assert res.returncode != 0
    assert "daily quota" in res.output and "Finished work is saved" in res.output
    assert "Traceback" not in res.output
    st = status(beet)
    assert st["embedded"] == 1 and st["failed"] == 0 and st["missing"] == 3
    fake.script = []
    assert "3 to embed, 1 up to date" in beet("embed").stdout
    assert status(beet)["embedded"] == 4


@pytest.mark.parametrize("fault, words", [
    (error(401, "UNAUTHENTICATED", "API key not valid"), "rejected the API key"),
    (error(403, "PERMISSION_DENIED", "no access"), "rejected the API key"),
    (error(404, "NOT_FOUND", "models/x is not found"), "model not found"),
])
def test_fatal_faults_stop_before_marking_anything(tmp_path, fake, family_audio, fault, words):
    beet = gemini_beet(tmp_path / "h", fake, batch_size=1)
    import_tracks(beet, tmp_path, sorted(family_audio.glob("plucks_*"))[:2])
    fake.script = [fault]
    res = beet("embed", check=False)
    assert res.returncode != 0 and words in res.output and "Traceback" not in res.output
    assert len(fake.embed_requests()) == 1  # not retried
    assert status(beet)["failed"] == 0
    assert KEY not in res.output


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on exit: connections are refused


@pytest.mark.parametrize("url", [f"http://127.0.0.1:{_closed_port()}", "http://gemini.invalid"],
                         ids=["refused", "dns"])
def test_no_network_stops_the_run_with_one_message(tmp_path, fake, family_audio, url):
    beet = gemini_beet(tmp_path / "h", fake, batch_size=1, retries=5)
    import_tracks(beet, tmp_path, sorted(family_audio.glob("acid_*"))[:4])
    beet.config["sonic"]["gemini"]["base_url"] = url
    beet.write_config()
    res = beet("embed", check=False)
    assert res.returncode != 0 and "Traceback" not in res.output
    assert "cannot reach Gemini" in res.output and "offline backend" in res.output
    assert res.output.count("cannot reach Gemini") == 1
    st = status(beet)
    assert st["failed"] == 0 and st["missing"] == 4  # nothing marked failed: all still to do


@pytest.mark.parametrize("script, reason", [
    (["malformed", "malformed", "malformed"], "after 3 attempts"),
    ([{"dims": 512}], "vector of 512 values, expected 768"),
    (["empty"], "returned 0 embeddings for 1 inputs"),
    ([error(400, "INVALID_ARGUMENT", "Unsupported audio")], "refused the request (400"),
])
def test_bad_answers_fail_only_their_items(tmp_path, fake, family_audio, script, reason):
    beet = gemini_beet(tmp_path / "h", fake, batch_size=1)
    import_tracks(beet, tmp_path, sorted(family_audio.glob("acid_*"))[:2])
    fake.script = list(script)
    res = beet("embed", check=False)
    assert res.returncode == 1 and "embedded 1" in res.output and "failed 1" in res.output
    failed = [e for e in entries(beet).values() if not e.ok]
    assert len(failed) == 1 and reason in failed[0].error
    con = sqlite3.connect(beet.sidecar)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_bad_clip_in_a_batch_is_isolated(tmp_path, fake, family_audio):
    beet = gemini_beet(tmp_path / "h", fake, batch_size=3)
    import_tracks(beet, tmp_path, sorted(family_audio.glob("acid_*"))[:3])
    fake.script = [error(400, "INVALID_ARGUMENT", "bad clip"), "ok", error(400, "INVALID_ARGUMENT", "bad clip"), "ok"]
    res = beet("embed", check=False)
    assert "embedded 2" in res.output and "failed 1" in res.output
    assert [len(r.body["requests"]) for r in fake.embed_requests()] == [3, 1, 1, 1]


def test_requests_are_spaced_by_the_interval():
    """The limiter's own granted start times, on a fake clock shared by 4 threads: what the
    code controls (spacing seen at a server would include scheduling jitter)."""
    import threading

    from beetsplug.sonic.gemini import RateLimiter

    now = [100.0]
    lock = threading.Lock()

    def sleep(seconds):  # a fake clock: sleeping moves time, never the wall clock
        with lock:
            now[0] = max(now[0], now[0] + seconds)

    limiter = RateLimiter(0.3, clock=lambda: now[0], sleep=sleep)
    threads = [threading.Thread(target=lambda: [limiter.wait() for _ in range(5)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slots = sorted(limiter.slots)
    assert len(slots) == 20
    assert np.diff(slots).min() >= 0.3 - 1e-9
    assert RateLimiter(0.0).interval == 0.0 and RateLimiter(-1).interval == 0.0


def test_every_request_goes_through_the_limiter(tmp_path, fake, family_audio):
    beet = gemini_beet(tmp_path / "h", fake, batch_size=1, min_interval=0.05)
    import_tracks(beet, tmp_path, sorted(family_audio.iterdir())[:6])
    beet("embed", "--workers", "2")
    assert len(fake.embed_requests()) == 6


def test_cost_preview_dry_run_and_limit(tmp_path, fake, family_audio):
    beet = gemini_beet(tmp_path / "h", fake, batch_size=4, min_interval=3)
    import_tracks(beet, tmp_path, sorted(family_audio.iterdir())[:10])
    out = beet("embed", "--dry-run").stdout
    assert "10 to embed" in out and "3 request(s)" in out and "about 9 s" in out
    assert fake.embed_requests() == []
    beet.set(gemini={**beet.config["sonic"]["gemini"], "min_interval": 0})
    assert "embedded 3" in beet("embed", "--limit", "3").stdout
    assert status(beet)["embedded"] == 3


def test_no_key_is_one_clear_error_before_work(tmp_path, family_audio):
    beet = Beet(tmp_path / "h", backend="gemini")
    res = beet("embed", check=False)
    assert res.returncode != 0
    assert "sonic: gemini: api_key" in res.output and "GEMINI_API_KEY" in res.output
    assert "GOOGLE_API_KEY" in res.output and "Traceback" not in res.output


def test_missing_sdk_is_one_clear_error(tmp_path, fake):
    import subprocess
    import sys

    beet = gemini_beet(tmp_path / "h", fake)
    code = ("import sys; sys.modules['google.genai'] = None; from beets.ui import main; "
            "main(['embed'])")
    res = subprocess.run([sys.executable, "-c", code], env=beet.env(), capture_output=True, text=True)
    assert res.returncode != 0 and "pip install 'beets-sonic[gemini]'" in res.stderr
    assert "Traceback" not in res.stderr


def test_key_from_the_environment(tmp_path, fake, family_audio):
    beet = gemini_beet(tmp_path / "h", fake, api_key="")
    import_tracks(beet, tmp_path, sorted(family_audio.iterdir())[:1])
    env = beet.env()
    env["GEMINI_API_KEY"] = KEY
    beet.env = lambda: env
    beet("embed")
    assert fake.embed_requests()[0].headers["x-goog-api-key"] == KEY


def test_the_key_never_leaks(tmp_path, fake, family_audio):
    beet = gemini_beet(tmp_path / "h", fake, batch_size=1, retries=1)
    import_tracks(beet, tmp_path, sorted(family_audio.iterdir())[:2])
    fake.script = [error(500, "INTERNAL", f"echoing your key {KEY}"), error(500, "INTERNAL", KEY), "ok"]
    res = beet("-vv", "embed", check=False)
    assert "failed 1" in res.output and "REDACTED" in res.output
    cfg = beet("config").stdout
    assert KEY not in res.output and KEY not in cfg and "REDACTED" in cfg
    beet("embed")  # the failed track, then a search that writes the matrix cache
    assert beet("similar", "-n", "1", "title:Acid Study 1").stdout.count("\n") == 2
    files = [p for p in beet.sidecar.parent.rglob("*")
             if p.is_file() and "music" not in p.parts and p.name != "config.yaml"]  # the key's home
    assert any("-cache" in str(p) for p in files) and beet.sidecar in files
    for f in files:  # sidecar, its WAL and cache, the library, the import log
        assert KEY.encode() not in f.read_bytes(), f


def test_hosted_import_waits_for_the_end_of_the_import(tmp_path, fake, family_audio):
    beet = gemini_beet(tmp_path / "h", fake, batch_size=4)
    res = import_tracks(beet, tmp_path, sorted(family_audio.iterdir())[:5], auto=True)
    assert "sonic: embedding 5 imported item(s) with gemini" in res.output
    assert "sonic: embedded 5, failed 0" in res.output
    assert status(beet)["embedded"] == 5


def test_hosted_import_can_leave_items_for_later(tmp_path, fake, family_audio):
    beet = gemini_beet(tmp_path / "h", fake)
    beet.set(hosted_import="later")
    res = import_tracks(beet, tmp_path, sorted(family_audio.iterdir())[:3], auto=True)
    assert "3 new item(s) wait for `beet embed`" in res.output
    assert fake.embed_requests() == []
    assert status(beet)["missing"] == 3


def test_interrupted_run_resumes_without_paying_twice(tmp_path, fake):
    incoming = tmp_path / "fifty"
    incoming.mkdir()
    for i in range(50):
        fam = synth.FAMILIES[i % 4]
        path = incoming / f"t{i:02d}.wav"
        synth.write(str(path), synth.render(synth.spec(fam, 100 + i), 6.0))
        synth.tag(str(path), artist=f"A{i}", title=f"T{i}")
    beet = gemini_beet(tmp_path / "h", fake, batch_size=1, segment=5)
    beet.set(auto=False)
    beet("import", incoming)
    release = threading.Event()
    fake.script = ["ok"] * 25 + [{"stall": release}]
    proc = beet.popen("embed")
    deadline = time.time() + 120
    while time.time() < deadline:
        if len(fake.embed_requests()) >= 26:
            with beet.store() as store:
                if store.count(store.get_space("gemini")) >= 25:
                    break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    release.set()
    assert status(beet)["embedded"] == 25
    fake.script = []
    out = beet("embed").stdout
    assert "25 to embed, 25 up to date" in out and "embedded 25" in out
    assert len(fake.delivered) == 50 and set(fake.delivered.values()) == {1}
    assert len(fake.embed_requests()) == 51  # 50 answered + the one in flight at the kill


def test_ctrl_c_during_a_request_exits_at_once_and_keeps_work(tmp_path, fake, family_audio):
    beet = gemini_beet(tmp_path / "h", fake, batch_size=1, timeout=60)
    import_tracks(beet, tmp_path, sorted(family_audio.glob("pads_*"))[:3])
    release = threading.Event()
    fake.script = ["ok", {"stall": release}]
    proc = beet.popen("embed")
    try:
        deadline = time.time() + 60
        while len(fake.embed_requests()) < 2 and time.time() < deadline:
            time.sleep(0.05)
        assert len(fake.embed_requests()) == 2  # the second request hangs on the server
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)  # not the 60 s request timeout
    finally:
        release.set()
    assert proc.returncode != 0 and "interrupted; 1 finished item(s) are saved" in err
    assert "Traceback" not in err
    assert status(beet)["embedded"] == 1
