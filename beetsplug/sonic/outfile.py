"""Output files (pages, JSON exports, playlists, images): checked before any work, and
written atomically -- to a temporary file beside the target, then renamed over it -- so
a failed run never destroys the previous file nor leaves a truncated one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .errors import FatalError


def check_writable(path: str) -> str:
    """The absolute path an output file will be written to; a FatalError before any
    work when it is a folder, or its folder does not exist or can't be written."""
    out = os.path.abspath(os.path.expanduser(path))
    folder = os.path.dirname(out)
    if os.path.isdir(out):
        raise FatalError(f"cannot write {out}: it is a folder; give a file name "
                         f"(e.g. {os.path.join(out, 'out' + (os.path.splitext(path)[1] or '.txt'))})")
    if not os.path.isdir(folder):
        raise FatalError(f"cannot write {out}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise FatalError(f"cannot write {out}: the folder {folder} is not writable")
    return out


@contextmanager
def replacing(path: str) -> Iterator[str]:
    """A temporary path to write to; renamed over ``path`` when the block succeeds,
    removed when it fails (the failure is a one-line FatalError for an OSError)."""
    out = check_writable(path)
    # hidden, unique, and with the target's extension (a writer may choose the format by it)
    stem, ext = os.path.splitext(os.path.basename(out))
    tmp = os.path.join(os.path.dirname(out), f".{stem}.{uuid.uuid4().hex[:8]}.tmp{ext}")
    try:
        yield tmp
        os.replace(tmp, out)
    except BaseException as exc:
        try:
            os.remove(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise FatalError(f"cannot write {out}: {exc.strerror or exc}; the previous file, "
                             "if any, is unchanged") from None
        raise


def write_text(path: str, text: str, *, errors: str = "replace") -> None:
    """``text`` as UTF-8 (``errors``: what becomes of a character UTF-8 can't hold, e.g.
    an undecodable byte of a file name)."""
    write_bytes(path, text.encode("utf-8", errors))


def write_bytes(path: str, data: bytes) -> None:
    with replacing(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def write_with(path: str, writer: Callable[[str], None]) -> None:
    """``writer(tmp_path)`` writes the file (e.g. matplotlib's savefig)."""
    with replacing(path) as tmp:
        writer(tmp)


def text_path(path: bytes | str) -> str:
    """A file path as text for a page or a JSON document: beets' own display form, with
    bytes that aren't UTF-8 shown as U+FFFD (a lone surrogate can't be written as UTF-8)."""
    name = os.fsdecode(path)
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
