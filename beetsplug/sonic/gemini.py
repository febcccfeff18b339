"""The Gemini API client: key, rate limit, retries, and errors in our two tiers.

Used by the ``gemini`` audio backend and the vibe analyzer. The real
``google-genai`` SDK does the HTTP; this module adds what a polite, robust caller
needs (house rule 6): a timeout on every call, a minimum interval between
requests, bounded retries with backoff that honour the server's ``retryDelay``,
and a clean stop on a per-day quota. The API key never appears in a message.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import FatalError, ItemError, RequestRefused

T = TypeVar("T")
#: the config section ``sonic: gemini:``
SECTION = "gemini"
KEY_ENV = ("GEMINI_API_KEY", "GOOGLE_API_KEY")


@dataclass(frozen=True)
class GeminiSettings:
    """Validated ``sonic: gemini:`` settings; defaults live in settings.DEFAULTS only."""

    api_key: str
    model: str
    text_model: str
    chat_model: str
    dims: int
    api_version: str
    base_url: str
    timeout: float          # seconds per request
    min_interval: float     # seconds between request starts
    concurrency: int        # requests in flight
    batch_size: int         # clips per request
    retries: int            # extra attempts after 5xx / timeout / 429
    backoff: float          # first wait after a 429 without retryDelay
    max_backoff: float
    retry_wait: float       # first wait after a 5xx or timeout

    def __repr__(self) -> str:  # never print the key
        return f"GeminiSettings(model={self.model!r}, dims={self.dims}, api_key=REDACTED)"


def find_key(configured: str | None) -> str | None:
    if configured:
        return configured
    for name in KEY_ENV:
        if os.environ.get(name):
            return os.environ[name]
    return None


def sdk_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("google.genai") is not None
    except (ModuleNotFoundError, ValueError):  # ValueError: a module hidden in sys.modules
        return False


def missing_sdk_error() -> FatalError:
    return FatalError("Gemini needs the google-genai package: pip install 'beets-sonic[gemini]'")


def missing_key_error() -> FatalError:
    return FatalError(
        "the gemini backend needs an API key: set `sonic: gemini: api_key:` in your beets "
        "config.yaml, or the GEMINI_API_KEY (or GOOGLE_API_KEY) environment variable"
    )


class Redactor:
    def __init__(self, secret: str):
        self.secret = secret

    def __call__(self, text: str) -> str:
        return text.replace(self.secret, "REDACTED") if self.secret else text


class RateLimiter:
    """At least ``interval`` seconds between the starts of consecutive requests.

    ``slots`` records each granted start time on ``clock``: what the limiter itself
    guarantees, free of the scheduling jitter a server would observe.
    """

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = max(float(interval), 0.0)
        self.clock = clock
        self.sleep = sleep
        self.slots: list[float] = []
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + self.interval
            self.slots.append(start)
        if start > now:
            self.sleep(start - now)


def _retry_delay(details: Any) -> float | None:
    """The server's RetryInfo.retryDelay in seconds, if it gave one."""
    for d in _error_details(details):
        if str(d.get("@type", "")).endswith("RetryInfo") and d.get("retryDelay"):
            m = re.fullmatch(r"([0-9.]+)s", str(d["retryDelay"]).strip())
            if m:
                return float(m.group(1))
    return None


def _per_day(details: Any) -> bool:
    for d in _error_details(details):
        for v in d.get("violations", []) or []:
            if "perday" in str(v.get("quotaId", "")).lower():
                return True
    return False


def _error_details(details: Any) -> list[dict]:
    if isinstance(details, dict):
        inner = details.get("error", details)
        if isinstance(inner, dict) and isinstance(inner.get("details"), list):
            return [d for d in inner["details"] if isinstance(d, dict)]
    return []


#: connection failures in a row (refused, DNS, connect timeout) that mean "no network"
OFFLINE_STRIKES = 3
#: requests in a row that failed the same way after all their retries (5xx, timeouts,
#: garbage answers, rate limits that never clear): the service is hopeless for now
FAILED_STRIKES = 3


def _unreachable(exc: BaseException) -> bool:
    """Whether the service couldn't be reached at all (as opposed to a slow or bad answer)."""
    import socket

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (ConnectionRefusedError, socket.gaierror)) or \
                type(seen).__name__ in ("ConnectError", "ConnectTimeout"):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class Client:
    """A thin, polite wrapper around ``google.genai.Client``."""

    def __init__(self, settings: GeminiSettings, *, sleep: Callable[[float], None] = time.sleep,
                 log: Callable[[str], None] | None = None):
        from google import genai
        from google.genai import types

        self.settings = settings
        self.redact = Redactor(settings.api_key)
        self.limiter = RateLimiter(settings.min_interval)
        self.sleep = sleep
        self.log = log or (lambda msg: None)
        options = {"api_version": settings.api_version, "timeout": int(settings.timeout * 1000)}
        if settings.base_url:
            options["base_url"] = settings.base_url
        self._types = types
        self._offline = 0  # connection failures in a row, over every request and thread
        self._failing: tuple[str, int] = ("", 0)  # (kind, requests in a row) that failed
        self._strikes_lock = threading.Lock()
        self._client = genai.Client(api_key=settings.api_key, http_options=types.HttpOptions(**options))

    @property
    def types(self):
        return self._types

    def call(self, what: str, fn: Callable[[Any], T]) -> T:
        """Run ``fn(sdk_client)`` with rate limit, retries and error tiers.

        Returns its result, or raises ItemError (this request's items failed),
        FatalError (stop the run: bad key, unknown model, per-day quota).
        """
        from google.genai import errors

        s = self.settings
        attempts_429 = attempts_other = 0
        backoff = s.backoff
        while True:
            self.limiter.wait()
            try:
                result = fn(self._client)
                self._offline = 0
                return result
            except errors.APIError as exc:
                self._offline = 0
                code = int(getattr(exc, "code", 0) or 0)
                message = self.redact(str(getattr(exc, "message", "") or exc))
                if code == 429:
                    if _per_day(exc.details):
                        raise FatalError(
                            f"Gemini daily quota used up ({message}). Finished work is saved; "
                            "run again after the quota resets (or use a paid tier)") from None
                    attempts_429 += 1
                    if attempts_429 > s.retries:
                        raise self.failed("rate limited (429)",
                                          f"rate limited (429) {attempts_429} times: {message}") from None
                    delay = _retry_delay(exc.details)
                    wait = delay if delay is not None else min(backoff, s.max_backoff)
                    if delay is None:
                        backoff = min(backoff * 2, s.max_backoff)
                    self.log(f"{what}: rate limited (429), waiting {wait:g} s")
                    self.sleep(wait)
                    continue
                if code in (401, 403):
                    raise FatalError(
                        f"Gemini rejected the API key ({code}: {message}). Check `sonic: gemini: "
                        "api_key` or the GEMINI_API_KEY / GOOGLE_API_KEY environment variable") from None
                if code == 404:
                    raise FatalError(
                        f"Gemini model not found (404: {message}). Check the model name in "
                        f"`sonic: gemini:` and api_version ({s.api_version})") from None
                if code >= 500:
                    attempts_other += 1
                    if attempts_other > s.retries:
                        raise self.failed(f"server error {code}", f"Gemini server error {code} after "
                                          f"{attempts_other} attempts: {message}") from None
                    self._pause(what, f"server error {code}", attempts_other)
                    continue
                raise RequestRefused(f"Gemini refused the request ({code}: {message})",
                                     status=code) from None
            except (FatalError, ItemError):
                raise
            except Exception as exc:  # timeouts, connection errors, malformed answers
                kind = "timed out" if "timeout" in type(exc).__name__.lower() else \
                    f"failed ({type(exc).__name__}: {self.redact(str(exc))[:200]})"
                if _unreachable(exc):
                    self._offline += 1
                    if self._offline >= OFFLINE_STRIKES:
                        raise FatalError(
                            f"cannot reach Gemini ({self.redact(str(exc))[:120] or type(exc).__name__}; "
                            f"{self._offline} connection failures in a row): no network? Finished "
                            "work is saved: run again when online, or use an offline backend "
                            "(`sonic: backend: musicnn` or `spectral`)") from None
                attempts_other += 1
                if attempts_other > s.retries:
                    raise self.failed(kind if kind == "timed out" else f"failed ({type(exc).__name__})",
                                      f"Gemini request {kind} after {attempts_other} attempts") from None
                self._pause(what, kind, attempts_other)

    def succeeded(self) -> None:
        with self._strikes_lock:
            self._failing = ("", 0)

    def failed(self, kind: str, message: str) -> Exception:
        """A request failed for good (its items fail): an ItemError -- or, the
        ``FAILED_STRIKES``-th request in a row to fail the same way, a FatalError that
        stops the run politely (nothing more is sent; the next run retries)."""
        with self._strikes_lock:
            last, n = self._failing
            n = n + 1 if kind == last else 1
            self._failing = (kind, n)
        if n >= FAILED_STRIKES:
            return FatalError(
                f"Gemini failed {n} requests in a row ({message}): stopping. Finished work is "
                "saved and no vector was lost; run the command again later")
        return ItemError(message)

    def _pause(self, what: str, why: str, attempt: int) -> None:
        wait = min(self.settings.retry_wait * 2 ** (attempt - 1), self.settings.max_backoff)
        self.log(f"{what}: {why}, retrying in {wait:g} s")
        self.sleep(wait)

    # --- the two calls we make -------------------------------------------------------

    def embed(self, contents: list, *, model: str, dims: int) -> list[list[float]]:
        """One embedding per Content (one request); shape errors are ItemErrors."""
        types = self.types

        def go(client):
            result = client.models.embed_content(
                model=model, contents=contents,
                config=types.EmbedContentConfig(output_dimensionality=dims))
            return [list(e.values or []) for e in (result.embeddings or [])]

        vectors = self.call(f"embedding {len(contents)} item(s)", go)
        if len(vectors) != len(contents):
            raise self.failed("answers that don't fit",
                              f"Gemini returned {len(vectors)} embeddings for {len(contents)} inputs")
        self.succeeded()
        return vectors

    def generate_json(self, prompt: str, *, schema: dict, model: str, system: str = "") -> str:
        types = self.types

        def go(client):
            result = client.models.generate_content(
                model=model, contents=prompt,
                config=types.GenerateContentConfig(
                    response_mime_type="application/json", response_schema=schema,
                    system_instruction=system or None, temperature=0.2))
            return result.text or ""

        text = self.call("vibe", go)
        self.succeeded()
        return text
