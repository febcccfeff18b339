from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from beetsplug.sonic import synth

from .browser import browser  # noqa: F401  (one session fixture: a second live Playwright can't start)
from .fake_gemini import FakeGemini
from .helpers import FORMATS, PER_FAMILY, Beet


@pytest.fixture
def fake():
    """A local fake Gemini server for the real google-genai SDK (closed after the test)."""
    server = FakeGemini()
    yield server
    server.close()


@pytest.fixture(scope="session")
def family_audio(tmp_path_factory) -> Path:
    """Five 40 s tracks of each family, formats rotating through MP3/FLAC/Ogg/M4A/WAV."""
    folder = tmp_path_factory.mktemp("families")
    synth.make_library(str(folder), per_family=PER_FAMILY, seconds=40, formats=FORMATS)
    return folder


@pytest.fixture(scope="session")
def family_library(tmp_path_factory, family_audio) -> Beet:
    """A beets library that imported the family tracks with auto-embedding (read-only use)."""
    beet = Beet(tmp_path_factory.mktemp("famlib"))
    beet("import", family_audio)
    return beet


@pytest.fixture
def beet(tmp_path) -> Beet:
    return Beet(tmp_path / "home")


@pytest.fixture
def copy_of(tmp_path):
    """Copy some files into a fresh folder to import from."""

    def _copy(paths) -> Path:
        dest = tmp_path / "incoming"
        dest.mkdir(exist_ok=True)
        for p in paths:
            shutil.copy(p, dest)
        return dest

    return _copy
