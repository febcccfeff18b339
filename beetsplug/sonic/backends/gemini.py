"""``gemini``: Google's ``gemini-embedding-2-preview`` embeds a clip from the middle of
each track (hosted; needs an API key).

The work is split so decoding overlaps with waiting on the rate limit:
``prepare(path)`` decodes and encodes the clip(s) locally (run ahead in threads
by the indexer) and ``send(batch)`` embeds several tracks in one request, one
Content per clip (several parts in one Content would fuse into ONE vector).
With several ``positions`` each track sends one clip per position and the
vectors are averaged.
"""

from __future__ import annotations

import numpy as np

from ..audio import encode_clip, load_segments
from ..errors import ItemError, RequestRefused
from ..gemini import Client, GeminiSettings, missing_key_error, missing_sdk_error, sdk_installed
from .base import HostedBackend

CLIP_SR = 16000       # the model listens at 16 kHz; more would only cost upload time
CLIP_BITRATE = 64_000


class GeminiBackend(HostedBackend):
    NAME = "gemini"

    def __init__(self, *, segment: float, positions: tuple[float, ...],
                 gemini: GeminiSettings, client: Client | None = None, **options):
        super().__init__(segment=segment, positions=positions, **options)
        if segment > 80:
            raise ValueError("the Gemini embedding model takes at most 80 s of audio per clip")
        self.settings = gemini
        self._client = client

    @classmethod
    def options(cls, settings) -> dict:
        if settings.gemini is None:
            raise missing_key_error()
        if not sdk_installed():
            raise missing_sdk_error()
        return {"segment": settings.gemini_segment, "positions": settings.positions,
                "gemini": settings.gemini}

    @classmethod
    def unavailable(cls, gemini) -> str | None:
        if gemini is None:
            return "no API key"
        return None if sdk_installed() else "google-genai is not installed"

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.settings, log=self.options.get("log"))
        return self._client

    @property
    def dims(self) -> int:
        return self.settings.dims

    @property
    def model(self) -> str:
        return self.settings.model

    @property
    def batch_size(self) -> int:
        return max(1, self.settings.batch_size)

    @property
    def concurrency(self) -> int:
        return max(1, self.settings.concurrency)

    def params(self) -> dict:
        return {**super().params(), "clip": f"mp3 {CLIP_SR} Hz mono {CLIP_BITRATE // 1000} kbit/s q7"}

    def estimate_seconds(self, n_tracks: int) -> float:
        interval = self.settings.min_interval
        return self.requests_for(n_tracks) * interval / self.concurrency if interval else 0.0

    def prepare(self, path: str) -> list[bytes]:
        """The MP3 clip(s) of one track, in memory (never written beside the music)."""
        segments = load_segments(path, sr=CLIP_SR, length=self.segment, positions=self.positions)
        return [encode_clip(y, sr=CLIP_SR, fmt="mp3", bitrate=CLIP_BITRATE) for y in segments]

    def send(self, batch: list[list[bytes]]) -> list[np.ndarray | ItemError]:
        """Embed several prepared tracks in one request; one result per track.

        A request-level failure (after retries) fails every track in it; a
        malformed vector fails only its track. FatalError propagates.
        """
        types = self.client.types
        contents = [types.Content(parts=[types.Part.from_bytes(data=clip, mime_type="audio/mp3")])
                    for clips in batch for clip in clips]
        try:
            vectors = self.client.embed(contents, model=self.model, dims=self.dims)
        except ItemError as exc:
            if len(batch) > 1 and isinstance(exc, RequestRefused) and exc.status == 400:
                # one bad clip rejects the whole batch: find it by sending one by one
                return [r for clips in batch for r in self.send([clips])]
            return [exc] * len(batch)
        out: list[np.ndarray | ItemError] = []
        pos = 0
        for clips in batch:
            chunk = vectors[pos: pos + len(clips)]
            pos += len(clips)
            bad = [len(v) for v in chunk if len(v) != self.dims]
            if bad:
                out.append(ItemError(f"Gemini returned a vector of {bad[0]} values, expected {self.dims}"))
                continue
            # MRL truncation: re-normalise each clip's vector, then average the positions;
            # checked AFTER normalising (huge finite values overflow the norm and would
            # come out as zeros), so nothing that isn't a unit vector's direction is stored
            with np.errstate(all="ignore"):
                arr = np.asarray(chunk, np.float32)
                arr /= np.linalg.norm(arr, axis=1, keepdims=True)
                vec = arr.mean(axis=0)
            if not np.all(np.isfinite(arr)) or not np.all(np.abs(np.linalg.norm(arr, axis=1) - 1) < 1e-3):
                out.append(ItemError("Gemini returned a vector that is empty, not finite or out "
                                     "of range (it could not be normalised)"))
                continue
            out.append(vec)
        return out


BACKEND = GeminiBackend
