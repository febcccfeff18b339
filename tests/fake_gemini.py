"""A local stand-in for the Gemini API, for the real google-genai SDK to talk to.

Serves ``models/{model}:batchEmbedContents`` and ``models/{model}:generateContent``
on 127.0.0.1. Audio embeddings are made from the clip itself (decoded, spectral
features, a fixed random projection), so tracks that sound alike get similar
vectors and similarity can be tested end to end. A script of faults can be queued;
every request is logged with its arrival time.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np


@dataclass
class Request:
    t: float
    path: str
    headers: dict[str, str]
    body: Any
    status: int = 0


def b64(data: str) -> bytes:
    """The SDK sends URL-safe base64, unpadded."""
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def quota_error(*, retry_delay: str | None = None, per_day: bool = False) -> dict:
    details: list[dict] = [{
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [{"quotaMetric": "generativelanguage.googleapis.com/embed_requests",
                        "quotaId": ("EmbedRequestsPerDayPerProject" if per_day
                                    else "EmbedRequestsPerMinutePerProject")}],
    }]
    if retry_delay:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
    return {"status": 429, "body": {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                                              "message": "Resource has been exhausted", "details": details}}}


def error(code: int, status: str, message: str) -> dict:
    return {"status": code, "body": {"error": {"code": code, "status": status, "message": message}}}


def audio_vector(clip: bytes, dims: int) -> list[float]:
    import av

    from beetsplug.sonic.backends.spectral import SR, segment_features

    with av.open(io.BytesIO(clip)) as c:
        rs = av.AudioResampler(format="flt", layout="mono", rate=SR)
        y = np.concatenate([f.to_ndarray().reshape(-1) for fr in c.decode(audio=0) for f in rs.resample(fr)])
    # the clip's own spectral features in the first dimensions: after the plugin's
    # per-dimension standardisation, tracks that sound alike come out alike
    v = np.zeros(3072)
    feats = segment_features(y)
    v[: feats.size] = feats
    return (v / np.linalg.norm(v))[:dims].tolist()


def text_vector(text: str, dims: int) -> list[float]:
    v = np.zeros(dims)
    for word in text.lower().replace(",", " ").replace(".", " ").replace(":", " ").split():
        h = int(hashlib.sha1(word.encode()).hexdigest(), 16)
        v[h % dims] += 1.0
    return (v / (np.linalg.norm(v) or 1)).tolist()


@dataclass
class FakeGemini:
    script: list = field(default_factory=list)  # actions for the next requests, in order
    log: list[Request] = field(default_factory=list)
    latency: float = 0.0
    generate: Callable[[dict], Any] | None = None  # body -> JSON-able answer text/object
    delivered: dict[str, int] = field(default_factory=dict)  # clip hash -> times embedded
    cheap: bool = False  # benchmarks: hash-based vectors, no decoding in the server
    fallback: Any = "ok"  # the action once the script is used up (an outage: error(503, ...))

    def __post_init__(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                req = Request(time.monotonic(), self.path, dict(self.headers), json.loads(raw or b"{}"))
                with fake._lock:
                    fake.log.append(req)
                    action = fake.script.pop(0) if fake.script else fake.fallback
                fake._answer(self, req, action)

        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def embed_requests(self) -> list[Request]:
        return [r for r in self.log if r.path.endswith(":batchEmbedContents")]

    # --- answering ---------------------------------------------------------------

    def _send(self, h, status: int, payload: bytes, ctype: str = "application/json") -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def _answer(self, h, req: Request, action) -> None:
        if self.latency:
            time.sleep(self.latency)
        if isinstance(action, dict) and "sleep" in action:
            time.sleep(action["sleep"])
            action = action.get("then", "ok")
        if isinstance(action, dict) and "stall" in action:
            action["stall"].wait(60)
            h.close_connection = True
            return
        if isinstance(action, dict) and "status" in action:
            req.status = action["status"]
            return self._send(h, action["status"], json.dumps(action["body"]).encode())
        if action == "malformed":
            req.status = 200
            return self._send(h, 200, b"{this is not json", "application/json")
        req.status = 200
        if req.path.endswith(":batchEmbedContents"):
            return self._send(h, 200, json.dumps(self._embed(req, action)).encode())
        if req.path.endswith(":generateContent"):
            answer = self.generate(req.body) if self.generate else {}
            text = answer if isinstance(answer, str) else json.dumps(answer)
            body = {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                                    "finishReason": "STOP"}]}
            return self._send(h, 200, json.dumps(body).encode())
        self._send(h, 404, json.dumps({"error": {"code": 404, "status": "NOT_FOUND",
                                                  "message": f"no route {req.path}"}}).encode())

    def _embed(self, req: Request, action) -> dict:
        if action == "empty":
            return {"embeddings": []}
        out = []
        for r in req.body.get("requests", []):
            dims = int(r.get("outputDimensionality") or 3072)
            if isinstance(action, dict) and "dims" in action:
                dims = action["dims"]
            part = r["content"]["parts"][0]
            if "inline_data" in part or "inlineData" in part:
                data = b64((part.get("inline_data") or part.get("inlineData"))["data"])
                key = hashlib.sha1(data).hexdigest()
                with self._lock:
                    self.delivered[key] = self.delivered.get(key, 0) + 1
                values = (text_vector(key, min(dims, 3072)) if self.cheap
                          else audio_vector(data, min(dims, 3072)))
            else:
                values = text_vector(part.get("text", ""), dims)
            if isinstance(action, dict) and "dims" in action:
                values = (values * (dims // len(values) + 1))[:dims]
            if isinstance(action, dict) and "value" in action:  # every value the same
                values = [action["value"]] * dims
            out.append({"values": values})
        return {"embeddings": out}


#: a key shaped like a real one: tests check it never reaches a log
KEY = "AIzaTEST-secret-key-0123456789"


def gemini_beet(home, fake: FakeGemini, **gemini):
    """A beets home whose backend is gemini, talking to ``fake`` (fast retries, short
    clips; ``gemini``: settings that differ)."""
    from .helpers import Beet

    settings = {"api_key": KEY, "base_url": fake.url, "min_interval": 0, "segment": 10,
                "timeout": 3, "retries": 2, "backoff": 0.05, "retry_wait": 0.05, "batch_size": 2}
    settings.update(gemini)
    return Beet(home, backend="gemini", gemini=settings)
