"""Drive the course the way students meet it: JupyterLab in a real Chromium.

The pieces ``tests/test_browser.py`` is built from:

* :func:`running_jupyterlab` starts ``jupyter lab`` on 127.0.0.1 with a free port, a random
  token and throw-away config/data/runtime/settings folders, waits until it answers and
  always stops it (its whole process group), also when the code inside fails.
* :func:`launch_chromium` starts Debian's Chromium (``/usr/bin/chromium``) headless through
  Playwright for Python; no browser is ever downloaded (never ``playwright install``).
* :func:`open_notebook`, :func:`run_all_cells` (menu Run > Run All Cells) and
  :func:`wait_for_kernel_idle` work a notebook like a student does.
* :func:`widget_problems` says which widgets did not render ("Error displaying widget",
  "Loading widget...", a missing widget extension, no widget view at all); an empty list
  means every widget rendered.

Example:
    >>> with running_jupyterlab(tmp_path) as lab, sync_playwright() as pw:  # doctest: +SKIP
    ...     browser = launch_chromium(pw)
    ...     page = browser.new_page()
    ...     notebook = open_notebook(page, lab, "demo.ipynb")
    ...     run_all_cells(page, notebook)  # and waits until every cell ran
    ...     assert widget_problems(notebook, {".widget-slider": 1}) == []
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
SCREENSHOT_DIR = REPO / "build" / "screenshots"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
VIEWPORT = {"width": 1400, "height": 1000}

WIDGET_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
# JupyterLab plugins that would reach the internet or cover the page with a news toast.
QUIET_PLUGINS = ("@jupyterlab/apputils-extension:announcements",)

# Text the widget manager (@jupyter-widgets/jupyterlab-manager 5) shows in place of a view it
# could not make, and what each one means.
BROKEN_WIDGET_TEXT = {
    "Error displaying widget": "the widget manager failed to create the view",
    "Loading widget...": "the view never finished loading (missing model or extension)",
    "Failed to load model class": "the widget's JavaScript is missing (extension not installed)",
}
# What an output shows instead of a widget when no widget renderer exists: its Python repr.
WIDGET_REPR = re.compile(
    r"\b(IntSlider|FloatSlider|SelectionSlider|VBox|HBox|Box|Label|Output|FileUpload|Button|"
    r"Dropdown|Image|HTML|IntProgress|FloatProgress|Checkbox|ToggleButtons|Tab|Accordion)\("
)
# JupyterLab menus and status: visible names, kept in one place.
RUN_MENU = "Run"
RUN_ALL_CELLS = "Run All Cells"
EXECUTED = re.compile(r"^\[\d+\]:$")  # a code cell's prompt once it ran: "[3]:"


# --------------------------------------------------------------------------- JupyterLab


@dataclass
class JupyterLab:
    """A running JupyterLab server started by :func:`running_jupyterlab`.

    Attributes:
        base_url: ``http://127.0.0.1:<port>/``.
        token: the random token the server accepts.
        root: the folder the server serves (notebooks go here).
        process: the ``jupyter lab`` process (leader of its own process group).
        log: the file holding the server's stdout and stderr.
        config_dir: its private Jupyter config dir (``JUPYTER_CONFIG_DIR``).
    """

    base_url: str
    token: str
    root: Path
    process: subprocess.Popen
    log: Path
    config_dir: Path

    def url(self, path: str = "lab", query: str = "") -> str:
        """Return the URL of ``path`` on this server, token (and ``query``) included.

        Example:
            >>> lab.url("lab/tree/demo.ipynb")  # doctest: +SKIP
            'http://127.0.0.1:40123/lab/tree/demo.ipynb?token=...'
        """
        extra = f"&{query}" if query else ""
        return f"{self.base_url}{quote(path)}?token={self.token}{extra}"

    def api(
        self, path: str, method: str = "GET", body: object = None, timeout: float = 5.0
    ) -> object:
        """Call the server's REST API (``api/...``) and return the decoded JSON (or None).

        Example:
            >>> lab.api("kernels", method="POST", body={"name": "python3"})["id"]  # doctest: +SKIP
            'a1b2...'
        """
        request = urllib.request.Request(
            f"{self.base_url}api/{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    @property
    def port(self) -> int:
        """The TCP port the server listens on (127.0.0.1 only)."""
        return int(self.base_url.rstrip("/").rsplit(":", 1)[1])

    @contextlib.contextmanager
    def extensions_disabled(self, names: Sequence[str]) -> Iterator[None]:
        """Disable lab extensions for pages loaded inside the ``with`` block, then restore.

        Writes them to ``labconfig/page_config.json`` in this server's private Jupyter config
        dir, which is what ``jupyter labextension disable`` does; JupyterLab reads that file
        on every page load, so no restart is needed. The file is restored also on errors.

        Example:
            >>> with lab.extensions_disabled([WIDGET_EXTENSION]):  # doctest: +SKIP
            ...     page.goto(lab.url("lab"))  # JupyterLab without the widget manager
        """
        path = self.config_dir / "labconfig" / "page_config.json"
        saved = path.read_text()
        config = json.loads(saved)
        config.setdefault("disabledExtensions", {}).update({name: True for name in names})
        path.write_text(json.dumps(config, indent=2))
        try:
            yield
        finally:
            path.write_text(saved)

    def log_tail(self, lines: int = 40) -> str:
        """Return the last ``lines`` lines of the server log (for error messages)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now (the OS picks it at random)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_open(port: int) -> bool:
    """Return True if something accepts connections on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _write_json(path: Path, data: Mapping) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))


def _private_dirs(base: Path, disabled_extensions: Sequence[str]) -> dict[str, Path]:
    """Make the server's throw-away folders under ``base``; return them by purpose."""
    dirs = {
        name: base / name
        for name in ("root", "config", "data", "runtime", "user-settings", "workspaces", "ipython")
    }
    for folder in dirs.values():
        folder.mkdir(parents=True, exist_ok=True)
    # labconfig/page_config.json in the (private) Jupyter config dir disables extensions
    # and plugins for this server only, exactly as `jupyter labextension disable` would.
    disabled = {name: True for name in (*QUIET_PLUGINS, *disabled_extensions)}
    _write_json(dirs["config"] / "labconfig" / "page_config.json", {"disabledExtensions": disabled})
    # Render every cell (no virtual scrolling) so widgets far down a notebook exist in the DOM.
    _write_json(
        dirs["user-settings"] / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings",
        {"windowingMode": "none"},
    )
    return dirs


def stop_process_group(process: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop ``process`` and its process group: SIGTERM, wait ``grace`` seconds, then SIGKILL."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def processes_mentioning(text: str) -> list[int]:
    """Return the ids of live processes whose command line contains ``text`` (Linux /proc).

    Used to prove that a server and its kernels are gone: both carry the server's private
    folders in their command lines (``--ServerApp.root_dir=...``, the kernel's connection file).
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if text in cmdline and state != "Z":  # zombies are dead, only not yet reaped
                found.append(int(entry.name))
    return found


def _shutdown_kernels(lab: JupyterLab) -> None:
    """Ask the server to shut its kernels down (they live in their own sessions)."""
    with contextlib.suppress(OSError, ValueError, urllib.error.URLError):
        for kernel in lab.api("kernels") or []:
            lab.api(f"kernels/{kernel['id']}", method="DELETE", timeout=10.0)


@contextlib.contextmanager
def running_jupyterlab(
    base: Path,
    disabled_extensions: Sequence[str] = (),
    startup_timeout: float = 90.0,
) -> Iterator[JupyterLab]:
    """Run ``jupyter lab`` on 127.0.0.1 for the duration of a ``with`` block.

    The server gets a free random port, a random token, ``--no-browser``, and private
    config/data/runtime/settings/workspace folders under ``base``, so nothing of the user's
    is read or touched. It is stopped (kernels shut down, then SIGTERM and if needed SIGKILL
    to its process group) when the block ends, also when it ends with an exception.

    Args:
        base: an empty temporary folder for the server's files; notebooks go in ``lab.root``.
        disabled_extensions: lab extensions to disable for this server only, e.g.
            ``[WIDGET_EXTENSION]`` to show what students see without the widget manager.
        startup_timeout: seconds to wait for the server to answer.

    Yields:
        The running :class:`JupyterLab`.

    Raises:
        RuntimeError: the server exited or did not answer in time (the message holds the
            end of its log).
    """
    dirs = _private_dirs(Path(base), disabled_extensions)
    port, token = free_port(), secrets.token_hex(24)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["user-settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "IPYTHONDIR": str(dirs["ipython"]),
        "JUPYTER_TOKEN": token,  # in the environment, not on the command line (ps shows that)
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
    }
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={dirs['root']}",
        "--ServerApp.terminals_enabled=False",
        f"--LabApp.user_settings_dir={dirs['user-settings']}",
        f"--LabApp.workspaces_dir={dirs['workspaces']}",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    ]  # fmt: skip
    if os.geteuid() == 0:  # containers and CI often run as root; jupyter refuses without this
        command.append("--allow-root")
    log = Path(base) / "jupyterlab.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=dirs["root"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so we can stop all of it
        )
    lab = JupyterLab(
        f"http://127.0.0.1:{port}/", token, dirs["root"], process, log, dirs["config"]
    )
    try:
        _wait_until_answering(lab, startup_timeout)
        yield lab
    finally:
        _shutdown_kernels(lab)
        stop_process_group(process)


def _wait_until_answering(lab: JupyterLab, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(
                f"jupyter lab exited with code {lab.process.returncode} before answering; "
                f"end of its log:\n{lab.log_tail()}"
            )
        with contextlib.suppress(OSError, ValueError):
            if lab.api("status", timeout=2.0) is not None:
                return
        time.sleep(0.25)
    raise RuntimeError(f"jupyter lab did not answer on {lab.base_url} within {timeout:.0f} s; "
                       f"end of its log:\n{lab.log_tail()}")


# --------------------------------------------------------------------------- browser


def launch_chromium(playwright):  # -> playwright.sync_api.Browser
    """Launch Debian's Chromium headless through Playwright (no downloaded browser).

    Raises:
        FileNotFoundError: ``/usr/bin/chromium`` is missing; ``make browser`` installs it.
    """
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} not found; install it with `make browser`")
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
    )


def write_notebook(path: Path, sources: Sequence[str]) -> Path:
    """Write a notebook of code cells (kernel ``python3``) to ``path`` and return the path."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def course_notebook(
    name: str, until: str | None = None, keep: tuple[str, ...] | None = None, setup: str = ""
) -> Callable[[Path], Path]:
    """Return a writer that copies ``notebooks/<name>`` of this repo to a given path.

    Tests open a copy inside the server's root, so that JupyterLab's autosave never writes
    outputs into the committed notebook.

    Args:
        name: the lesson notebook's file name in ``notebooks/``.
        until: text of the widget's code cell (e.g. ``"UploadPredictor("``, the last code
            cell holding it); the copy then ends with that cell, so Run All runs the lesson
            up to and including its widget and skips the (slow) cells after it.
        keep: ids of the cells before the widget's to keep (default: all of them); the
            others are left out, so the copy runs only what the widget needs.
        setup: code run just before the widget's cell, for what the left-out cells defined.

    Raises (when the writer runs):
        FileNotFoundError: the notebook is missing (the message lists those present).
        LookupError: no code cell contains ``until``, or a ``keep`` id is not in the notebook.

    Example:
        >>> course_notebook("02_preprocessing.ipynb")(lab.root / "02.ipynb")  # doctest: +SKIP
    """
    source = REPO / "notebooks" / name

    def copy_to(path: Path) -> Path:
        if not source.exists():
            available = ", ".join(sorted(p.name for p in source.parent.glob("*.ipynb"))) or "none"
            raise FileNotFoundError(f"notebook {name!r} not in notebooks/; available: {available}")
        if until is None:
            shutil.copy2(source, path)
            return path
        import nbformat

        nb = nbformat.read(source, as_version=4)
        found = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and until in c.source]
        if not found:
            raise LookupError(f"no code cell of notebooks/{name} contains {until!r}")
        *before, widget = nb.cells[: found[-1] + 1]
        if keep is not None:
            missing = set(keep) - {c.get("id") for c in before}
            if missing:
                raise LookupError(f"no cell with id {sorted(missing)} before the widget in notebooks/{name}")
            before = [c for c in before if c.get("id") in keep]
        nb.cells = [*before, *([nbformat.v4.new_code_cell(setup)] if setup else []), widget]
        nbformat.write(nb, path)
        return path

    return copy_to


def open_notebook(page, lab: JupyterLab, relpath: str, timeout: float = 90.0):
    """Open ``relpath`` (relative to ``lab.root``) in JupyterLab; return its notebook panel.

    Each call uses a new, empty workspace (``/lab/workspaces/<random>/tree/...?reset``), so
    JupyterLab does not also reopen notebooks an earlier test left open. Waits until the
    notebook is shown and its kernel is idle. The returned locator is pinned to this
    notebook's panel (by its DOM id), never to "the first notebook on the page".
    """
    workspace = f"test-{secrets.token_hex(4)}"
    page.goto(lab.url(f"lab/workspaces/{workspace}/tree/{relpath}", "reset"), timeout=timeout * 1000)
    # the tab of our notebook carries "Path: <relpath>" in its title and the panel's id
    handle = page.wait_for_function(
        """path => {
            const tab = [...document.querySelectorAll('.lm-DockPanel-tabBar .lm-TabBar-tab')]
                .find(t => (t.title || '').split('\\n').includes('Path: ' + path));
            const id = tab && tab.dataset.id;
            const panel = id && document.getElementById(id);
            return panel && panel.querySelector('.jp-Notebook .jp-Cell') ? id : null;
        }""",
        arg=relpath,
        timeout=timeout * 1000,
    )
    notebook = page.locator(f"[id='{handle.json_value()}']")
    notebook.wait_for(state="visible", timeout=timeout * 1000)
    wait_for_kernel_idle(page, notebook, timeout=timeout)
    return notebook


def run_all_cells(page, notebook, timeout: float = 300.0, start_timeout: float = 60.0) -> None:
    """Run every cell the way a student does (menu Run > Run All Cells) and wait for the end.

    Raises:
        RuntimeError: the menu item was disabled, or no cell started within ``start_timeout``.
        TimeoutError: the cells did not all finish within ``timeout`` seconds.
    """
    notebook.locator(".jp-Cell .jp-InputPrompt").first.click()  # make it the current widget
    page.locator(".lm-MenuBar-item", has_text=re.compile(rf"^{RUN_MENU}$")).click()
    item = page.get_by_role("menuitem", name=RUN_ALL_CELLS, exact=True)
    if "lm-mod-disabled" in (item.get_attribute("class") or ""):
        raise RuntimeError(f"menu {RUN_MENU} > {RUN_ALL_CELLS} is disabled")
    item.click()
    prompts = notebook.locator(".jp-CodeCell .jp-InputPrompt")
    deadline = time.monotonic() + start_timeout
    while not any(t.strip() not in ("[ ]:", "") for t in prompts.all_inner_texts()):
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{RUN_MENU} > {RUN_ALL_CELLS} started no cell within {start_timeout:.0f} s"
            )
        page.wait_for_timeout(200)
    wait_for_kernel_idle(page, notebook, timeout=timeout, all_executed=True)


def wait_for_kernel_idle(
    page, notebook, timeout: float = 120.0, all_executed: bool = False, steady: float = 1.0
) -> None:
    """Wait until the notebook's kernel is idle with no cell queued (``[*]``).

    Args:
        page: the Playwright page.
        notebook: the notebook panel (from :func:`open_notebook`).
        timeout: seconds to wait at most.
        all_executed: then also require every code cell to show an execution count ``[n]:``
            (after Run All: a cell that raised stops the run and leaves later cells ``[ ]:``).
        steady: seconds the idle state must hold (idle shows briefly while a kernel starts).

    Raises:
        TimeoutError: still busy after ``timeout`` seconds (the message has the status and
            the cells' prompts).
        AssertionError: ``all_executed`` and the run stopped early (the message has the
            tracebacks shown).
    """
    deadline = time.monotonic() + timeout
    indicator = notebook.locator(".jp-Notebook-ExecutionIndicator")
    prompts = notebook.locator(".jp-CodeCell .jp-InputPrompt")
    idle_since = None
    status, texts = None, []
    while time.monotonic() < deadline:
        status = indicator.first.get_attribute("data-status") if indicator.count() else None
        texts = [t.strip() for t in prompts.all_inner_texts()]
        if status != "idle" or any("*" in t for t in texts):
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= steady:
            not_run = [i for i, t in enumerate(texts) if not EXECUTED.match(t)]
            if all_executed and not_run:
                raise AssertionError(
                    f"the run stopped: code cells {not_run} did not run; tracebacks shown:\n"
                    + ("\n\n".join(cell_errors(notebook)) or "none")
                )
            return
        page.wait_for_timeout(200)
    raise TimeoutError(
        f"kernel not idle after {timeout:.0f} s: status {status!r}, cell prompts {texts}"
    )


def cell_errors(notebook) -> list[str]:
    """Return the tracebacks the notebook shows (the end of each), if any."""
    stderr = notebook.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    return [text.strip()[-800:] for text in stderr.all_inner_texts()
            if "Traceback (most recent call last)" in text]


def widget_problems(notebook, expected: Mapping[str, int], settle: float = 5.0) -> list[str]:
    """Say why widgets in ``notebook`` did not render; an empty list means all rendered.

    Waits up to ``settle`` seconds for every CSS selector in ``expected`` to match at least
    the given number of visible elements (e.g. ``{".widget-slider": 1}``), then reports
    each selector that falls short, any text of :data:`BROKEN_WIDGET_TEXT`, and any widget
    shown as its Python repr (what JupyterLab shows when no widget renderer exists).

    Example:
        >>> widget_problems(notebook, {".jupyter-widgets": 1, ".widget-slider": 1})  # doctest: +SKIP
        []
    """
    page = notebook.page
    deadline = time.monotonic() + settle
    while True:
        missing = {sel: n for sel, n in expected.items() if _visible_count(notebook, sel) < n}
        text = notebook.inner_text()
        broken = [t for t in BROKEN_WIDGET_TEXT if t in text]
        if (not missing and not broken) or time.monotonic() >= deadline:
            break
        page.wait_for_timeout(250)
    problems = [
        f"widget not rendered: expected at least {n} visible {sel!r}, found "
        f"{_visible_count(notebook, sel)}"
        for sel, n in missing.items()
    ]
    problems += [f"page shows {t!r}: {why}" for t, why in BROKEN_WIDGET_TEXT.items() if t in text]
    # only plain-text results: a widget without a renderer falls back to text/plain
    fallback = notebook.locator('.jp-OutputArea-output[data-mime-type="text/plain"]')
    outputs = " ".join(fallback.all_inner_texts())
    problems += [f"widget shown as plain text instead of a view: {m.group(0)}..."
                 for m in WIDGET_REPR.finditer(outputs)]
    return problems


def _visible_count(notebook, selector: str) -> int:
    items = notebook.locator(selector)
    return sum(1 for i in range(items.count()) if items.nth(i).is_visible())


def screenshot(locator, name: str) -> Path:
    """Save a PNG of ``locator`` to ``build/screenshots/<name>.png`` and return its path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(path))
    return path


def page_screenshot(page, name: str) -> Path:
    """Save a PNG of the whole browser page to ``build/screenshots/<name>.png``."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), timeout=15_000)
    return path
