"""A student's kernel starts TensorFlow without error-looking text; real errors still show.

The lessons run in Jupyter kernels, which show whatever reaches stderr in red under the
cell. This starts a real kernel of this environment, with the environment a student has
(no ``TF_CPP_MIN_LOG_LEVEL``: the Makefile exports it, a plain ``jupyter lab`` does not,
and conftest.py sets it for the tests), on a notebook in a temporary folder. The CUDA build
of TensorFlow on a machine without a GPU, a kernel that loads TensorFlow before
``TF_CPP_MIN_LOG_LEVEL`` is set, or one without the output stream that hides the INFO lines
TensorFlow logs before it reads the variable (tlhelpers/kernel_stream.py), fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from tlhelpers import quiet
from tlhelpers.kernel_stream import QuietLogOutStream
from tlhelpers.notebook_client import notebook_client

CELLS = {
    "prefix": "import os, sys\nprint(sys.prefix)\nprint(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))",
    "tensorflow": "import keras, tensorflow as tf\ntf.zeros(1)",
    "tlhelpers": "import tlhelpers",
    "print_to_stderr": "import sys\nprint('boom', file=sys.stderr)",
    # TensorFlow's C++ log writes to file descriptor 2; the kernel forwards it from a thread
    "cpp_error": "import os, time\nos.write(2, b'E0000 boom from C++\\n')\ntime.sleep(0.5)",
    # an INFO line as absl writes it before TensorFlow reads the level (oneDNN's, on some CPUs)
    "cpp_early_info": "os.write(2, b'I0000 00:00:1796479179.431707   16874 port.cc:153] early info\\n')\n"
                      "time.sleep(0.5)",
    "exception": "raise ValueError('a real error')",
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    """Each cell's outputs, run in one fresh kernel of this environment as a student's would be."""
    folder = tmp_path_factory.mktemp("startup")
    path = folder / "startup.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in CELLS.values()]), path)
    nb = nbformat.read(path, as_version=4)
    # Without PYTEST_CURRENT_TEST too: ipykernel does not forward what C++ code writes to the
    # process's stderr (file descriptor 2) into cell outputs when it sees that variable.
    env = {key: value for key, value in os.environ.items() if key not in ("TF_CPP_MIN_LOG_LEVEL", "PYTEST_CURRENT_TEST")}
    env["IPYTHONDIR"] = str(folder / "ipython")  # a new student's empty IPython profile
    client = notebook_client(nb, kernel_name="python3", timeout=180, allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    client.execute(env=env)
    return {name: cell.outputs for name, cell in zip(CELLS, nb.cells)}


def _stderr(outputs: list[dict]) -> str:
    return "".join(out["text"] for out in outputs if out["output_type"] == "stream" and out["name"] == "stderr")


@pytest.mark.system  # a real Jupyter kernel
def test_the_kernel_is_this_environment_without_the_makefile_setting(outputs) -> None:
    prefix, level = outputs["prefix"][0]["text"].splitlines()
    assert Path(prefix) == Path(sys.prefix)
    assert level == quiet.LEVEL, (
        f"this environment's kernels do not set TF_CPP_MIN_LOG_LEVEL (got {level}): "
        "run `make setup` or `python -m tlhelpers.quiet`")


@pytest.mark.system  # a real Jupyter kernel
def test_tensorflow_starts_without_writing_to_stderr(outputs) -> None:
    for name in ("prefix", "tensorflow", "tlhelpers"):
        text = _stderr(outputs[name])
        hint = (" (CUDA probing: the CUDA build of TensorFlow is installed; `make setup` installs tensorflow-cpu)"
                if "cuda" in text.lower() else "")
        assert text == "", f"cell {name!r} wrote to stderr{hint}:\n{text}"
        assert not [out for out in outputs[name] if out["output_type"] == "error"]
    result = outputs["tensorflow"][-1]
    assert result["output_type"] == "execute_result" and "tf.Tensor" in result["data"]["text/plain"]


@pytest.mark.system  # a real Jupyter kernel
def test_real_errors_still_show(outputs) -> None:
    assert _stderr(outputs["print_to_stderr"]) == "boom\n"
    assert "E0000 boom from C++" in _stderr(outputs["cpp_error"])
    assert _stderr(outputs["cpp_early_info"]) == ""
    error = outputs["exception"][-1]
    assert error["output_type"] == "error" and error["ename"] == "ValueError"


def test_install_is_idempotent_and_keeps_other_settings(tmp_path: Path) -> None:
    path = quiet.kernel_config_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("c.InteractiveShell.colors = 'nocolor'")  # a setting of the user's own
    assert not quiet.is_installed(tmp_path)
    assert quiet.install(tmp_path) is True
    assert quiet.install(tmp_path) is False
    text = path.read_text()
    assert text.startswith("c.InteractiveShell.colors = 'nocolor'\n") and text.count(quiet.BLOCK) == 1
    assert quiet.is_installed(tmp_path)
    config = {"c": Config()}
    saved = os.environ.pop(quiet.VARIABLE, None)
    try:
        exec(compile(text, str(path), "exec"), config)  # what IPython does with the file
        assert os.environ[quiet.VARIABLE] == quiet.LEVEL
        assert import_item(config["c"].IPKernelApp.outstream_class) is QuietLogOutStream
        os.environ[quiet.VARIABLE] = "0"  # a user's own setting wins
        exec(compile(text, str(path), "exec"), config)
        assert os.environ[quiet.VARIABLE] == "0"
    finally:
        os.environ.pop(quiet.VARIABLE, None)
        if saved is not None:
            os.environ[quiet.VARIABLE] = saved


def test_importing_quiet_loads_neither_tensorflow_nor_the_translations() -> None:
    """Every kernel imports tlhelpers.quiet at start-up (the config block): it must stay light."""
    code = ("import sys, tlhelpers.quiet\n"
            "print(sorted(m for m in ('tensorflow', 'keras', 'numpy', 'tlhelpers.i18n') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_stderr_as_notes_shows_warnings_and_stderr_on_stdout(capfd) -> None:
    with quiet.stderr_as_notes():
        print("python stderr", file=sys.stderr)
        os.write(2, b"C++ stderr\n")
    out, err = capfd.readouterr()
    assert err == "" and "note: python stderr" in out and "C++ stderr" in out
