"""The two explorers as a learner uses them: notebooks 4 and 7 run in a real JupyterLab, in Chromium; moving a slider
and ticking a checkbox redraws the faces; at 1366x900 with the file browser open no slider value is cut off."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in the current tab (the others stay in the DOM)
RUN_ALL_TIMEOUT_MS = 240_000  # FER_FAST=1: each notebook runs in well under a minute on 2 cores


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(folder: Path) -> None:
    """JupyterLab user settings: no news or update pop-ups over the notebook, every cell kept in the page."""
    settings = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                             "checkForUpdates": False},
        # "none": no virtual scrolling, so every cell's prompt is in the DOM for the "all cells ran" check.
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }
    for rel, value in settings.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A real ``jupyter lab`` server (no token) on a free port, serving a copy of the notebooks; yields its URL."""
    tmp = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", tmp / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for path in (tmp / "notebooks").glob("*.ipynb"):  # no committed outputs: an execution count proves a cell ran
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
        nb["metadata"].pop("widgets", None)
        path.write_text(json.dumps(nb))
    (tmp / "data").mkdir()
    shutil.copy2(ROOT / "data" / "fer2013_synthetic_sample.csv", tmp / "data")  # the notebooks read ../data/
    _write_settings(tmp / "settings")
    port = _free_port()
    env = {**os.environ, "FER_FAST": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
           "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           # The kernels import this checkout's fer_helpers, whatever is installed.
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
           "JUPYTER_CONFIG_DIR": str(tmp / "config"), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime")}
    log = open(tmp / "jupyter.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         "--allow-root", "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
         f"--ServerApp.root_dir={tmp / 'notebooks'}", f"--LabApp.user_settings_dir={tmp / 'settings'}",
         f"--LabApp.workspaces_dir={tmp / 'workspaces'}"],
        cwd=tmp / "notebooks", env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "api/status", timeout=2):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail(f"jupyter lab did not start:\n{(tmp / 'jupyter.log').read_text()[-3000:]}")
            time.sleep(0.5)
    yield url
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


def _start_kernel(lab_url: str, notebook: str) -> None:
    """Start the notebook's kernel through the server's REST API (JupyterLab then opens it without asking)."""
    body = json.dumps({"path": notebook, "type": "notebook", "name": notebook,
                       "kernel": {"name": "python3"}}).encode()
    request = urllib.request.Request(lab_url + "api/sessions", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert json.load(response)["kernel"]["name"] == "python3"


# True when the current notebook shows ``n`` code cells and every one has run (``ran``) or none has.
_PROMPTS = """a => {
    const prompts = [...document.querySelectorAll(a.panel + ' .jp-CodeCell .jp-InputPrompt')];
    return prompts.length === a.n && prompts.every(p => a.ran === /\\[\\d+\\]/.test(p.textContent));
}"""


def _run_all(page, lab_url: str, notebook: str, shots: Path) -> None:
    """Open ``notebook`` (without outputs) in JupyterLab, run all its cells, wait until every code cell has run."""
    n_code = sum(c["cell_type"] == "code" for c in json.loads((ROOT / "notebooks" / notebook).read_text())["cells"])
    _start_kernel(lab_url, notebook)
    page.goto(f"{lab_url}lab/tree/{notebook}", wait_until="domcontentloaded")
    try:
        page.locator(PANEL + " .jp-Cell").first.wait_for(timeout=60_000)
        # The status bar says "Python 3 (ipykernel) | Idle" once the page is connected to the kernel.
        page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"ipykernel\) \| Idle")).wait_for(timeout=90_000)
        page.wait_for_function(_PROMPTS, arg={"panel": PANEL, "n": n_code, "ran": False}, timeout=60_000)
        page.locator(".lm-MenuBar-item", has_text="Run").click()
        page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
        page.wait_for_function(_PROMPTS, arg={"panel": PANEL, "n": n_code, "ran": True},
                               timeout=RUN_ALL_TIMEOUT_MS, polling=500)
    except Exception:
        page.screenshot(path=str(shots / f"lab_{notebook[:2]}_failure.png"))
        print("prompts:", page.locator(PANEL + " .jp-CodeCell .jp-InputPrompt").all_inner_texts())
        raise
    errors = page.locator(PANEL + " .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                          has_text="Traceback")
    assert errors.count() == 0, f"{notebook}: {errors.first.inner_text()[:2000]}"


def _explorer(page, text: str):
    """The output area holding the explorer whose controls include ``text``."""
    area = page.locator(PANEL).locator(".jp-OutputArea-output",
                                       has=page.locator(".widget-label", has_text=text)).first
    try:
        area.scroll_into_view_if_needed(timeout=30_000)
    except Exception:
        text_outputs = page.locator(PANEL + " .jp-OutputArea-output", has_text="VBox(").all_inner_texts()
        raise AssertionError(f"no explorer with a {text!r} control rendered (ipywidgets' JupyterLab extension, "
                             f"jupyterlab_widgets, missing?); widget outputs shown as text: {text_outputs}") from None
    return area


def _shot(area, path: Path) -> None:
    """A screenshot of the explorer widget itself (the output area is wider)."""
    area.locator(".widget-vbox").first.screenshot(path=str(path))


def _drag(page, slider, dx: float):
    """Drag a slider's handle by ``dx`` pixels with the mouse, as a person does."""
    handle = slider.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=8)
    page.mouse.up()


def _pictures(area) -> list[bytes]:
    return [img.screenshot() for img in area.locator(".widget-image").all()]


def _wait_for_change(area, before: list[bytes], what: str, timeout_s: float = 20.0) -> list[bytes]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        after = _pictures(area)
        if after != before:
            return after
        time.sleep(0.2)
    raise AssertionError(f"the pictures did not change after {what}")


def _slider_readout_problems(area) -> list[str]:
    """Slider value labels (``.widget-readout``) not fully visible: text wider than its box, or the box not inside
    its slider widget and every ancestor that clips (overflow other than visible), up to the window."""
    return area.evaluate("""area => {
        const problems = [];
        for (const readout of area.querySelectorAll('.widget-readout')) {
            const slider = readout.closest('.widget-slider');
            const name = slider?.querySelector('.widget-label')?.textContent || '?';
            const r = readout.getBoundingClientRect();
            const span = b => `[${b.left.toFixed(0)}, ${b.right.toFixed(0)}]`;
            if (readout.scrollWidth > readout.clientWidth)
                problems.push(`${name}: text ${readout.scrollWidth}px wide in a ${readout.clientWidth}px box`);
            if (r.width < 1)
                problems.push(`${name}: readout not shown`);
            const boxes = [[slider, 'its slider']];
            for (let el = readout.parentElement; el; el = el.parentElement)
                if (getComputedStyle(el).overflowX !== 'visible') boxes.push([el, el.className || el.tagName]);
            for (const [el, what] of boxes) {
                const b = el.getBoundingClientRect();
                if (r.left < b.left - 0.5 || r.right > b.right + 0.5)
                    problems.push(`${name}: readout ${span(r)} cut off by ${what} ${span(b)}`);
            }
            if (r.right > window.innerWidth) problems.push(`${name}: readout ${span(r)} outside the window`);
        }
        return problems;
    }""")


@pytest.fixture(scope="module")
def lab_page(browser, lab):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_augmentation_explorer_in_jupyterlab(lab_page, lab, shots):
    page = lab_page
    _run_all(page, lab, "04_data_augmentation.ipynb", shots)
    # The file browser is open (JupyterLab's default layout): the notebook gets what is left of 1366 px.
    assert page.locator("#filebrowser").is_visible()
    area = _explorer(page, "rotation_range")
    page.wait_for_timeout(300)
    _shot(area, shots / "lab_04_explorer_before.png")
    sliders = area.locator(".widget-slider")
    assert sliders.count() >= 6, "the explorer's sliders did not render"
    readouts = area.locator(".widget-readout")
    assert readouts.count() >= 6
    problems = _slider_readout_problems(area)
    assert not problems, f"slider values cut off at 1366x900 with the file browser open: {problems}"

    before = _pictures(area)
    assert len(before) >= 2, "the explorer's face rows did not render"
    rotation = area.locator(".widget-slider", has=page.locator(".widget-label", has_text="rotation_range"))
    value = rotation.locator(".widget-readout").inner_text()
    _drag(page, rotation, 40)
    after_slider = _wait_for_change(area, before, "moving rotation_range")
    assert rotation.locator(".widget-readout").inner_text() != value
    _shot(area, shots / "lab_04_explorer_after_slider.png")

    flip = area.locator(".widget-checkbox", has_text="vertical_flip").locator("input[type=checkbox]")
    assert not flip.is_checked()
    flip.check()
    _wait_for_change(area, after_slider, "ticking vertical_flip")
    _shot(area, shots / "lab_04_explorer_after_checkbox.png")
    assert not _slider_readout_problems(area)
    page.screenshot(path=str(shots / "lab_04_window.png"))


def test_detection_explorer_in_jupyterlab(lab_page, lab, shots):
    page = lab_page
    _run_all(page, lab, "07_photos_and_webcam.ipynb", shots)
    area = _explorer(page, "minNeighbors")
    page.wait_for_timeout(300)
    _shot(area, shots / "lab_07_explorer_before.png")
    before = _pictures(area)
    assert len(before) == 1
    status = area.locator(".widget-html").last.inner_text()
    assert "detection took" in status
    slider = area.locator(".widget-slider", has=page.locator(".widget-label", has_text="minNeighbors"))
    value = slider.locator(".widget-readout").inner_text()
    _drag(page, slider, -80)  # fewer neighbours: more boxes survive
    _wait_for_change(area, before, "moving minNeighbors", timeout_s=30)
    assert slider.locator(".widget-readout").inner_text() != value
    _shot(area, shots / "lab_07_explorer_after_slider.png")
    assert not _slider_readout_problems(area)
    page.screenshot(path=str(shots / "lab_07_window.png"))
