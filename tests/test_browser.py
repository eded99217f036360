"""The course in a real browser: JupyterLab in Debian's Chromium, widgets render and respond.

One JupyterLab server (127.0.0.1, random port and token, private config) serves the whole
module; each test opens a notebook in a fresh browser context, runs all cells through the
Run menu, waits for the kernel, then runs the notebook's check: its widgets render (no
"Error displaying widget", no missing-extension fallback) and respond to the keyboard.
Screenshots of the checked widgets go to ``build/screenshots/``.

Add a notebook: write a check function ``check_x(notebook, name)`` and add one line to
``CASES``, e.g. ``"02_augmentation": NotebookCase(course_notebook("02_preprocessing.ipynb"),
check_augmentation_slider)``.

Needs ``/usr/bin/chromium`` (``make browser``; ``make test`` and ``make test-browser``
install it). Run: ``.venv/bin/python -m pytest tests/test_browser.py``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from browser_helpers import (
    BROKEN_WIDGET_TEXT,
    CHROMIUM,
    VIEWPORT,
    WIDGET_EXTENSION,
    JupyterLab,
    cell_errors,
    launch_chromium,
    open_notebook,
    page_screenshot,
    port_is_open,
    processes_mentioning,
    run_all_cells,
    running_jupyterlab,
    screenshot,
    widget_problems,
    write_notebook,
)

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} missing: run `make browser` (installs Debian's chromium)"
)

RESPONSE_TIMEOUT_MS = 15_000  # a slider move goes browser -> kernel observer -> browser
LABEL_WIDGET = ".jupyter-widgets.widget-label"  # a Label view (a slider's own <label> is not)


# --------------------------------------------------------------------------- notebooks


DEMO_SOURCES = [
    "import ipywidgets as widgets",
    '''slider = widgets.IntSlider(value=3, min=0, max=10, description="level")
label = widgets.Label()
out = widgets.Output()


def show(value):
    """The kernel-side observer: what the page shows must come from here."""
    label.value = f"level is {value}"
    with out:
        out.clear_output(wait=True)
        print(f"squared: {value ** 2}")


slider.observe(lambda change: show(change["new"]), names="value")
show(slider.value)
widgets.VBox([slider, label, out])''',
]


def demo_notebook(path: Path) -> Path:
    """A small notebook: an IntSlider whose kernel-side observer updates a Label and an Output."""
    return write_notebook(path, DEMO_SOURCES)


# --------------------------------------------------------------------------- checks


def assert_widgets_render(notebook, expected: dict[str, int]) -> None:
    """Fail with the reasons (one a line) unless every expected widget view rendered."""
    problems = widget_problems(notebook, expected)
    if problems:
        raise AssertionError("widgets did not render:\n" + "\n".join(problems))


def check_demo_slider(notebook, name: str) -> None:
    """The demo's slider, label and output render; keyboard and text box both move it."""
    assert_widgets_render(
        notebook,
        {".widget-vbox": 1, ".widget-slider": 1, LABEL_WIDGET: 1, ".widget-output": 1},
    )
    box = notebook.locator(".widget-vbox").first
    label = box.locator(LABEL_WIDGET)
    output = box.locator(".widget-output")
    expect(label).to_have_text("level is 3")
    expect(output).to_contain_text("squared: 9")
    screenshot(box, f"{name}-before")

    handle = box.locator(".widget-slider [role=slider]")
    handle.focus()
    handle.press("ArrowRight")
    handle.press("ArrowRight")
    expect(handle).to_have_attribute("aria-valuetext", "5")
    expect(label).to_have_text("level is 5", timeout=RESPONSE_TIMEOUT_MS)
    expect(output).to_contain_text("squared: 25", timeout=RESPONSE_TIMEOUT_MS)

    readout = box.locator(".widget-slider .widget-readout")
    readout.click()
    readout.press("ControlOrMeta+a")
    readout.press_sequentially("8")
    readout.press("Enter")
    expect(label).to_have_text("level is 8", timeout=RESPONSE_TIMEOUT_MS)
    expect(output).to_contain_text("squared: 64", timeout=RESPONSE_TIMEOUT_MS)
    screenshot(box, f"{name}-after")


@dataclass(frozen=True)
class NotebookCase:
    """A notebook with widgets and the check its widgets must pass in the browser.

    Attributes:
        write: writes the notebook to the path it gets (inside the server's root); for a
            course notebook use ``course_notebook("NN_name.ipynb")``.
        check: ``check(notebook_panel, name)``; asserts, and saves screenshots named
            ``<name>-...`` through ``screenshot``.
    """

    write: Callable[[Path], Path]
    check: Callable[..., None]


# notebook -> its check. Phase 2 adds the lessons' widgets here (02, 03, 04).
CASES: dict[str, NotebookCase] = {
    "demo_slider": NotebookCase(demo_notebook, check_demo_slider),
}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """One JupyterLab for the module; stopped afterwards, also when a test failed."""
    base = tmp_path_factory.mktemp("jupyterlab")
    with running_jupyterlab(base) as server:
        yield server
    # the stop really happened: no server, no kernel, nothing listening
    assert server.process.poll() is not None, "jupyter lab still running after the tests"
    assert not processes_mentioning(str(base)), "processes of the test server survived"
    assert not port_is_open(server.port), f"port {server.port} still open after the tests"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Debian's Chromium, headless, driven by Playwright (no downloaded browser)."""
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator:
    """A fresh browser context and page; a full-page screenshot of JupyterLab is kept."""
    context = browser.new_context(viewport=VIEWPORT)
    new_page = context.new_page()
    new_page.set_default_timeout(60_000)
    try:
        yield new_page
    finally:
        test_name = re.sub(r"[^\w.-]+", "_", request.node.name)
        try:
            if new_page.url.startswith("http"):  # a JupyterLab page, not set_content HTML
                with contextlib.suppress(sync_api.Error):  # diagnostic only: never hide an error
                    page_screenshot(new_page, f"page-{test_name}")
        finally:
            context.close()


def open_and_run(page, lab: JupyterLab, case: NotebookCase, filename: str):
    """Write ``case``'s notebook into the server root, open it, run all cells; return the panel."""
    case.write(lab.root / filename)
    notebook = open_notebook(page, lab, filename)
    run_all_cells(page, notebook)
    errors = cell_errors(notebook)
    assert not errors, f"{filename}: cells raised:\n" + "\n\n".join(errors)
    return notebook


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", list(CASES))
def test_widgets_render_and_respond(page, lab: JupyterLab, name: str) -> None:
    notebook = open_and_run(page, lab, CASES[name], f"{name}.ipynb")
    CASES[name].check(notebook, name)


def test_check_fails_without_the_widget_extension(page, lab: JupyterLab) -> None:
    """The same check, with @jupyter-widgets/jupyterlab-manager disabled, must fail."""
    name, case = "demo_slider", CASES["demo_slider"]
    with lab.extensions_disabled([WIDGET_EXTENSION]):
        notebook = open_and_run(page, lab, case, f"{name}-no-extension.ipynb")
    with pytest.raises(AssertionError) as failure:
        case.check(notebook, f"{name}-no-extension")
    message = str(failure.value)
    print(message)  # shown with `pytest -s`: what a broken course looks like to this test
    assert "widgets did not render" in message
    assert "expected at least 1 visible '.widget-slider', found 0" in message
    assert "widget shown as plain text instead of a view: IntSlider(" in message
    screenshot(notebook.locator(".jp-Cell").nth(1), f"{name}-no-extension")


@pytest.mark.parametrize("text", list(BROKEN_WIDGET_TEXT))
def test_widget_problems_reports_the_widget_managers_error_text(page, text: str) -> None:
    """What the widget manager shows in place of a broken view is reported (no server needed)."""
    page.set_content(
        '<div class="jp-Notebook"><div class="jp-OutputArea-output"'
        ' data-mime-type="application/vnd.jupyter.widget-view+json">'
        f'<div class="jupyter-widgets widget-slider">{text} (model 1a2b)</div></div></div>'
    )
    problems = widget_problems(page.locator(".jp-Notebook"), {".widget-slider": 1}, settle=0.5)
    assert problems == [f"page shows {text!r}: {BROKEN_WIDGET_TEXT[text]}"]


def test_server_is_stopped_when_the_code_using_it_fails(tmp_path: Path) -> None:
    """The server and its kernel are gone after an exception inside ``running_jupyterlab``."""
    with pytest.raises(RuntimeError, match="a failing test"):
        with running_jupyterlab(tmp_path) as server:
            kernel = server.api("kernels", method="POST", body={"name": "python3"}, timeout=60.0)
            kernel_tag = f"kernel-{kernel['id']}"  # in the kernel's command line (-f ...json)
            assert server.process.poll() is None and port_is_open(server.port)
            assert processes_mentioning(kernel_tag), "the kernel process was not found"
            raise RuntimeError("a failing test")
    assert server.process.poll() is not None
    assert not port_is_open(server.port)
    assert not processes_mentioning(kernel_tag), "the kernel survived its server"
    assert not processes_mentioning(str(tmp_path)), "processes of the server survived"
