"""A real headless Chromium (Debian's package) driven by Playwright; no browser download."""

from __future__ import annotations

import os
import shutil
import time

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    if exe is None:
        if os.environ.get("SONIC_SKIP_BROWSER"):
            pytest.skip("SONIC_SKIP_BROWSER is set and no chromium is installed")
        pytest.fail("no chromium on PATH: `./dev test` installs Debian's chromium package")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A loaded page with everything it logged or requested recorded."""

    def __init__(self, browser, url: str, *, viewport=(1200, 800)):
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

        def on_dialog(d):
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", on_dialog)
        self.url = url
        self.page.goto(url)

    def js(self, expr: str):
        return self.page.evaluate(expr)

    def wait_stable(self, timeout: float = 120.0) -> int:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.js("!!(window.__sonic && window.__sonic.stable)"):
                return self.js("window.__sonic.stableAt")
            time.sleep(0.1)
        raise AssertionError("the layout did not settle")

    def close(self) -> None:
        self.page.close()
