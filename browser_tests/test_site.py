"""The static website (``make site``): every page loads without console errors, the navigation reaches every
lesson, figures show, each lesson has its Colab badge and its saved widget state."""

import functools
import http.server
import json
import threading
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]

LESSONS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PAGES = ["README", "data/README", "docs/MODEL_CARD", *(f"notebooks/{name}" for name in LESSONS)]


def _figures_in(name: str) -> int:
    """How many image outputs the committed notebook holds."""
    cells = json.loads((ROOT / f"{name}.ipynb").read_text())["cells"]
    return sum(any(k.startswith("image/") for k in out.get("data", {}))
               for cell in cells for out in cell.get("outputs", []))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def base_url(site_dir):
    """The built site served on a free localhost port, in a thread."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def site(browser, base_url):
    """A page on the site whose requests to other hosts are refused (the tests run offline) and recorded."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    state = {"external": set(), "errors": []}

    def route(r):
        if r.request.url.startswith(base_url):
            r.continue_()
        else:
            state["external"].add(r.request.url)
            r.abort()

    def on_console(msg):
        if msg.type == "error":
            where = (msg.location or {}).get("url", "")
            # A resource on another host (CDN scripts of the widget manager, the Colab badge) fails here because the
            # test refuses it; everything the site itself serves must load without errors.
            if not (msg.text.startswith("Failed to load resource") and where and not where.startswith(base_url)):
                state["errors"].append(f"{msg.text} ({where})")

    context.route("**/*", route)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: state["errors"].append(f"uncaught: {exc}"))
    yield page, state
    context.close()


def _open(page, state, url):
    state["errors"].clear()
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, f"{url}: HTTP {response and response.status}"
    page.wait_for_load_state("networkidle")
    return list(state["errors"])


def test_every_page_loads_without_console_errors_and_its_figures_show(site, base_url, shots):
    page, state = site
    for name in PAGES:
        url = urljoin(base_url, f"{name}.html")
        errors = _open(page, state, url)
        assert not errors, f"{name}: console errors {errors}"
        title = page.locator("main h1").first.inner_text()
        assert title.strip(), f"{name}: no title"
        # Figures: every image the site serves itself has decoded pixels (naturalWidth > 0).
        images = page.evaluate(
            """base => [...document.querySelectorAll('main img')].filter(img => img.src.startsWith(base))
                         .map(img => ({src: img.src, w: img.naturalWidth, complete: img.complete}))""", base_url)
        broken = [img["src"] for img in images if not (img["complete"] and img["w"] > 0)]
        assert not broken, f"{name}: images that did not load: {broken}"
        if name.startswith("notebooks/"):
            shown, committed = page.locator("main .cell_output img").count(), _figures_in(name)
            assert shown == committed, f"{name}: {shown} figures on the page, {committed} in the notebook"
        page.screenshot(path=str(shots / f"site_{name.replace('/', '_')}.png"))
    print("requests to other hosts (refused offline):", sorted({urlparse(u).netloc for u in state["external"]}))


def test_navigation_reaches_every_lesson_in_order(site, base_url):
    page, state = site
    assert not _open(page, state, base_url)  # index.html redirects to the README page
    assert page.url.endswith("README.html"), page.url
    # The sidebar lists every lesson, the data guide and the model card.
    sidebar = page.eval_on_selector_all(".bd-sidebar-primary a.reference.internal", "links => links.map(a => a.href)")
    wanted = {urljoin(base_url, f"{name}.html") for name in PAGES if name != "README"}
    assert wanted <= set(sidebar), f"missing from the sidebar: {sorted(wanted - set(sidebar))}"
    # "Next" from the README walks through the lessons in their order.
    visited = []
    for _ in range(len(PAGES) + 1):
        nxt = page.locator("a.right-next")
        if nxt.count() == 0:
            break
        nxt.first.click()
        page.wait_for_load_state("load")
        visited.append(urlparse(page.url).path.lstrip("/").removesuffix(".html"))
    lessons = [v for v in visited if v.startswith("notebooks/")]
    assert lessons == [f"notebooks/{name}" for name in LESSONS], visited


def test_search_finds_a_lesson(site, base_url):
    page, state = site
    assert not _open(page, state, urljoin(base_url, "search.html?q=augmentation"))
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for(timeout=15000)
    hrefs = results.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert any("04_data_augmentation" in h for h in hrefs), hrefs


def test_each_lesson_page_has_its_colab_badge_and_outputs(site, base_url):
    page, state = site
    for name in LESSONS:
        assert not _open(page, state, urljoin(base_url, f"notebooks/{name}.html"))
        badge = page.locator("a[href^='https://colab.research.google.com/github/']").first
        assert badge.get_attribute("href").endswith(f"/notebooks/{name}.ipynb")
        assert page.locator("main .cell_output").count() > 0, f"{name}: no executed outputs on the page"


@pytest.mark.parametrize("name", ["04_data_augmentation", "07_photos_and_webcam"])
def test_explorer_pages_carry_the_saved_widget_state(site, base_url, name):
    """The explorers' last state (their face pictures included) is in the page for the widget manager to draw."""
    page, state = site
    assert not _open(page, state, urljoin(base_url, f"notebooks/{name}.html"))
    raw = page.locator("script[type='application/vnd.jupyter.widget-state+json']").first.text_content()
    models = json.loads(raw)["state"]
    images = [m for m in models.values() if m["model_name"] == "ImageModel"]
    assert images and all(m.get("buffers") for m in images), f"{name}: no saved pictures in the widget state"
    views = page.locator("script[type='application/vnd.jupyter.widget-view+json']")
    assert views.count() >= 1
    assert json.loads(views.first.text_content())["model_id"] in models
