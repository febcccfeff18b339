"""Which vibe analyzer runs: the offline rule table, or the hosted LLM."""

from __future__ import annotations

from typing import Any

from ..errors import FatalError
from ..gemini import missing_key_error, missing_sdk_error, sdk_installed

LOCAL = "local"
HOSTED = "gemini"
CHOICES = ("auto", LOCAL, HOSTED)


def choose_analyzer(name: str, gemini: Any) -> str:
    """The analyzer for ``vibe: analyzer`` (``auto``: the LLM when a key and the SDK
    are there, else the rules). A hosted choice without key or SDK names the fix."""
    if name not in CHOICES:
        raise FatalError(f"config `sonic: vibe: analyzer`: must be one of {', '.join(CHOICES)}, "
                         f"not {name!r}")
    if name == "auto":
        return HOSTED if gemini is not None and sdk_installed() else LOCAL
    if name == HOSTED:
        if gemini is None:
            raise missing_key_error()
        if not sdk_installed():
            raise missing_sdk_error()
    return name


def is_hosted(analyzer: str) -> bool:
    return analyzer == HOSTED
