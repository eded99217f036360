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
import tempfile
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
    course_notebook,
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

pytestmark = [
    pytest.mark.system,  # JupyterLab in a real browser
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} missing: run `make browser` (installs Debian's chromium)"),
]

RESPONSE_TIMEOUT_MS = 30_000  # a slider move goes browser -> kernel observer -> browser (busy CI)
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


def widget_cell(notebook):
    """The notebook's last code cell: the widget's cell in a ``course_notebook(..., until=...)``."""
    return notebook.locator(".jp-CodeCell").last


def slider_named(scope, description: str):
    """The slider view (``.widget-slider``) whose description label is exactly ``description``."""
    page = scope if hasattr(scope, "goto") else scope.page
    label = page.locator("label", has_text=re.compile(rf"^\s*{re.escape(description)}\s*$"))
    return scope.locator(".widget-slider").filter(has=label)  # `has` is relative: from the page


def press_slider(slider, key: str, times: int = 1) -> None:
    """Move a slider with the keyboard on its handle, as a student would."""
    handle = slider.locator("[role=slider]")
    handle.focus()
    for _ in range(times):
        handle.press(key)


def check_augmentation_slider(notebook, name: str) -> None:
    """Lesson 02: moving the rotation slider redraws the preview grid (a new <img>)."""
    assert_widgets_render(notebook, {".widget-hbox": 1, ".widget-slider": 4, ".widget-output img": 1})
    cell = widget_cell(notebook)
    box = cell.locator(".widget-hbox").filter(has=notebook.page.locator(".widget-slider")).first
    rotation = slider_named(box, "rotation")
    expect(rotation).to_have_count(1)
    preview = box.locator(".widget-output img")
    expect(preview).to_have_count(1)
    before = preview.get_attribute("src")
    assert before and before.startswith("data:image/png"), f"preview is not a PNG image: {before!r:.60}"
    screenshot(box, f"{name}-before")

    press_slider(rotation, "ArrowRight", times=4)  # 0.05 -> 0.25: clearly turned copies
    expect(rotation.locator("[role=slider]")).to_have_attribute("aria-valuetext", "0.25")
    expect(rotation.locator(".widget-readout")).to_have_text("0.25")
    expect(preview).not_to_have_attribute("src", before, timeout=RESPONSE_TIMEOUT_MS)
    expect(preview).to_have_count(1)
    screenshot(box, f"{name}-after")


TRAINABLE = re.compile(r"trainable parameters: ([\d,]+) of ([\d,]+)")


def trainable_count(label) -> tuple[int, int]:
    """``(trainable, total)`` read from the explorer's "trainable parameters: N of M" label."""
    text = label.inner_text()
    match = TRAINABLE.search(text)
    assert match, f"no trainable-parameter count in {text!r}"
    return tuple(int(g.replace(",", "")) for g in match.groups())


def check_unfreeze_slider(notebook, name: str) -> None:
    """Lesson 03: the unfreeze-depth slider changes the trainable-parameter count shown."""
    assert_widgets_render(notebook, {".widget-vbox": 1, ".widget-slider": 1, LABEL_WIDGET: 1})
    cell = widget_cell(notebook)
    slider = slider_named(cell, "Unfrozen blocks")
    expect(slider).to_have_count(1)
    box = cell.locator(".widget-vbox").filter(has=slider_named(notebook.page, "Unfrozen blocks")).first
    label = box.locator(LABEL_WIDGET, has_text="trainable parameters")
    expect(label).to_have_count(1)
    handle = slider.locator("[role=slider]")
    start = int(handle.get_attribute("aria-valuetext"))  # the readout's text: "2"
    top = int(float(handle.get_attribute("aria-valuemax")))  # "4.0"
    before, total = trainable_count(label)
    chart = box.locator(".widget-output img")  # the per-block bar chart, redrawn after the label
    chart_before = chart.first.get_attribute("src") if chart.count() else None
    screenshot(box, f"{name}-before")

    # one block deeper (or shallower when already at the top): the count must move that way
    key, deeper = ("ArrowRight", True) if start < top else ("ArrowLeft", False)
    press_slider(slider, key)
    expect(handle).to_have_attribute("aria-valuetext", str(start + (1 if deeper else -1)))
    expect(label).not_to_have_text(re.compile(rf"trainable parameters: {before:,} of"),
                                   timeout=RESPONSE_TIMEOUT_MS)
    after, total_after = trainable_count(label)
    assert total_after == total, f"the total changed: {total} -> {total_after}"
    assert (after > before) if deeper else (after < before), (
        f"{key} on 'Unfrozen blocks' ({start} -> {start + (1 if deeper else -1)}): "
        f"trainable parameters {before:,} -> {after:,}"
    )
    if chart_before is not None:  # the screenshot shows the redrawn chart, not the old one
        expect(chart.first).not_to_have_attribute("src", chart_before, timeout=RESPONSE_TIMEOUT_MS)
    screenshot(box, f"{name}-after")


def in_chinese(message: str) -> str:
    """``message`` as the Chinese catalog has it; fails if the catalog lacks it."""
    from tlhelpers.i18n import translations

    translated = translations("zh").gettext(message)
    assert translated != message, f"the Chinese catalog lacks {message!r}"
    return translated


def check_unfreeze_slider_in_chinese(notebook, name: str) -> None:
    """Lesson 03 in Chinese: the unfreeze explorer's slider and count read Chinese, and respond."""
    assert_widgets_render(notebook, {".widget-vbox": 1, ".widget-slider": 1, LABEL_WIDGET: 1})
    cell = widget_cell(notebook)
    slider = slider_named(cell, in_chinese("Unfrozen blocks"))
    expect(slider).to_have_count(1)
    box = cell.locator(".widget-vbox").filter(has=slider_named(notebook.page, in_chinese("Unfrozen blocks"))).first
    label = box.locator(LABEL_WIDGET).first
    before = label.inner_text()
    assert re.search(r"[\u4e00-\u9fff]", before), f"the count is not in Chinese: {before!r}"
    screenshot(box, f"{name}-before")
    handle = slider.locator("[role=slider]")
    start, top = int(handle.get_attribute("aria-valuetext")), int(float(handle.get_attribute("aria-valuemax")))
    press_slider(slider, "ArrowRight" if start < top else "ArrowLeft")
    expect(label).not_to_have_text(before, timeout=RESPONSE_TIMEOUT_MS)
    assert re.search(r"[\u4e00-\u9fff]", label.inner_text())
    screenshot(box, f"{name}-after")


def write_png(path: Path) -> Path:
    """Write a small PNG (a light shoe-like shape on black, as in Fashion-MNIST) to ``path``."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (64, 64), 0)
    draw = ImageDraw.Draw(image)
    draw.polygon([(6, 40), (30, 22), (44, 30), (58, 38), (58, 50), (6, 50)], fill=220)
    image.save(path, format="PNG")
    return path


def check_upload_predictions(notebook, name: str) -> None:
    """Lesson 05: the upload button takes a PNG; the image and the top-k table appear."""
    assert_widgets_render(notebook, {".widget-upload": 1})
    cell = widget_cell(notebook)
    button = cell.locator(".widget-upload")
    expect(button).to_have_count(1)
    box = cell.locator(".widget-vbox").filter(has=notebook.page.locator(".widget-upload")).first
    expect(box).to_contain_text("Upload a PNG or JPEG image.")
    expect(box.locator("table.tl-predictions")).to_have_count(0)
    screenshot(box, f"{name}-before")

    with tempfile.TemporaryDirectory() as folder:
        png = write_png(Path(folder) / "shoe.png")
        # ipywidgets 8's upload is a button opening a file dialog: no <input type=file> to fill.
        # Once in a CI run the chosen file never reached the widget (the button still read
        # "Upload image (0)"), as if the click landed while the view was being replaced; so
        # the choice is made again, at most twice more, until the button counts the file.
        for attempt in range(3):
            with notebook.page.expect_file_chooser() as chooser:
                button.click()
            chooser.value.set_files(str(png))
            try:
                expect(button).to_contain_text("(1)", timeout=10_000)
                break
            except AssertionError:
                if attempt == 2:
                    raise

    table = box.locator("table.tl-predictions")
    expect(table).to_have_count(1, timeout=RESPONSE_TIMEOUT_MS)
    expect(table.locator("tr")).to_have_count(3)  # k=3 classes, each with its probability
    expect(table).to_contain_text("%")
    expect(box).to_contain_text(f"{png.name}: 64x64 pixels", timeout=RESPONSE_TIMEOUT_MS)
    expect(box.locator(".widget-output img")).to_have_count(1, timeout=RESPONSE_TIMEOUT_MS)
    assert "⚠" not in box.inner_text(), f"the widget reported a problem: {box.inner_text()!r}"
    screenshot(box, f"{name}-after")


@dataclass(frozen=True)
class NotebookCase:
    """A notebook with widgets and the check its widgets must pass in the browser.

    Attributes:
        write: writes the notebook to the path it gets (inside the server's root); for a
            course notebook use ``course_notebook("NN_name.ipynb", until="<widget cell text>")``.
        check: ``check(notebook_panel, name)``; asserts, and saves screenshots named
            ``<name>-...`` through ``screenshot``.
        marks: pytest marks for this case (e.g. ``pytest.mark.skip(reason=...)``).
    """

    write: Callable[[Path], Path]
    check: Callable[..., None]
    marks: tuple = ()


# notebook -> its check. The lessons run up to and including their widget's cell; 03 and 05
# run only the cells their widget needs (their training cells run under nbval already).
CASES: dict[str, NotebookCase] = {
    "demo_slider": NotebookCase(demo_notebook, check_demo_slider),
    "02_augmentation": NotebookCase(
        course_notebook("02_preprocessing.ipynb", until="AugmentationPreview("),
        check_augmentation_slider,
    ),
    "03_unfreeze": NotebookCase(
        course_notebook("03_fine_tuning.ipynb", until="UnfreezeExplorer(spare", keep=("f6efa1b3",),
                        setup="settings = recipe.default_recipe()  # as the lesson sets it"),
        check_unfreeze_slider,
    ),
    "03_unfreeze_zh": NotebookCase(
        course_notebook("zh/03_fine_tuning.ipynb", until="UnfreezeExplorer(spare", keep=("zh-language", "f6efa1b3"),
                        setup="settings = recipe.default_recipe()  # as the lesson sets it"),
        check_unfreeze_slider_in_chinese,
    ),
    "05_upload": NotebookCase(
        course_notebook("05_validation.ipynb", until="predictor = UploadPredictor(", keep=("d7a534f1",),
                        setup="from tlhelpers import serving, transfer\n"
                              "from tlhelpers.widgets.upload import UploadPredictor\n"
                              "model = transfer.build_classifier(base, task.num_classes)  # untrained: the widget needs a model\n"
                              "servable = serving.with_preprocessing(model, track.backbone, track.input_size)"),
        check_upload_predictions,
    ),
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


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=case.marks, id=name) for name, case in CASES.items()]
)
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
