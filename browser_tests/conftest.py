"""Browser tests: Chromium (Debian's package) driven by Playwright, against the built site and a real JupyterLab.

Run with ``make browser-test`` (after ``make site``); screenshots go to ``output/screenshots/``. No browser is
downloaded: Playwright starts ``$CHROMIUM`` (default ``/usr/bin/chromium``) through its ``executable_path``.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "output" / "site" / "_build" / "html"
SHOTS = ROOT / "output" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium) or set CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    """The folder the screenshots go to (CI keeps it as an artifact)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture(scope="session")
def site_dir() -> Path:
    if not (SITE / "index.html").exists():
        pytest.fail(f"no site at {SITE}: run `make site` first")
    return SITE

