"""Two tiers of errors.

* :class:`ItemError` -- one track could not be processed. The caller logs it with
  the track's path and carries on with the next one.
* :class:`FatalError` -- the run cannot start or go on (bad configuration, an
  unreadable sidecar, a per-day quota). The message names the fix; the CLI turns
  it into a beets ``UserError`` so no traceback reaches the user.
"""

from __future__ import annotations


class SonicError(Exception):
    """Base class of every error the plugin raises on purpose."""


class ItemError(SonicError):
    """One item failed; the run goes on."""


class RequestRefused(ItemError):
    """A hosted service refused one request (a 4xx other than auth/quota); ``status`` is
    the HTTP status. Only the items of that request fail."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


class FatalError(SonicError):
    """Stop before (or instead of) doing more work."""


def item_reason(exc: Exception) -> str:
    """What one item's failure says: an :class:`ItemError`'s message, or the kind and
    message of an error nothing foresaw (a bug, a file unlike any other)."""
    return str(exc) if isinstance(exc, ItemError) else f"unexpected {type(exc).__name__}: {exc}"
