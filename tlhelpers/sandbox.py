"""Run a command in a bubblewrap sandbox, with limits on memory and processes.

`bubblewrap <https://github.com/containers/bubblewrap>`_ (``bwrap``, the sandbox Flatpak
uses; Debian's ``bubblewrap`` package, which ``make setup`` installs) gives the command:

* the machine's file system **read-only**, except a fresh ``/tmp`` and the folders bound
  writable (``work``); the folders in ``hide`` (the teacher's home, the solutions, other
  submissions) are empty, and ``expose`` puts back, read-only, what the command needs
  from inside them (the Python environment, the ``tlhelpers`` package, the Keras cache);
* **no network**: its own network namespace, whose loopback is its own (a kernel and its
  client talk over it; the host's ``127.0.0.1`` services are out of reach);
* its own process namespace, killed whole when the command or the caller ends;
* per-process limits set inside it with ``prlimit``: address space (``RLIMIT_AS``, the
  memory limit: an allocation past it fails with ``MemoryError``) and processes plus
  threads (``RLIMIT_NPROC``, counted in the sandbox's own user namespace: a fork bomb
  stops at the limit).

What runs inside is an ordinary user without capabilities: the caller, or ``nobody`` when
the caller is root (root ignores ``RLIMIT_NPROC``, and root inside could remount what it
was given read-only). Then bwrap itself runs as root (it can reach ``/root/.keras`` to
expose it) and ``setpriv`` drops to ``nobody`` before the command starts; the process
limit then counts every ``nobody`` process on the machine, so grade one notebook at a
time. The memory limit is per process, not for the sandbox as a whole.

Example:
    >>> subprocess.run(command(["python3", "-c", "print(6 * 7)"], None, Limits()), capture_output=True, text=True).stdout
    '42\\n'
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from tlhelpers.errors import SandboxUnavailable

__all__ = ["Limits"]

#: The user a root caller's sandboxes run as (``nobody``).
NOBODY = 65534
#: Where the writable work folder appears inside the sandbox.
INSIDE_WORK = Path("/tmp/submission")
#: The sandbox's home folder (on its own ``/tmp``).
INSIDE_HOME = Path("/tmp/home")
INSTALL_HINT = "install bubblewrap (make setup does; by hand: sudo apt-get install bubblewrap)"


# Seconds a cell may run when grading, here as in nbgrader (Execute.timeout in
# assignments/nbgrader_config.py, which tests/test_assignments.py keeps equal).
CELL_TIMEOUT = 600


@dataclass(frozen=True)
class Limits:
    """What one sandboxed notebook may use.

    Attributes:
        cell_seconds: wall-clock seconds per cell.
        notebook_seconds: wall-clock seconds for the whole notebook, kernel start included.
        memory_bytes: address space per process (``RLIMIT_AS``); TensorFlow alone maps
            a few GiB of address space it never touches, so keep this well above that.
        processes: processes and threads in the sandbox (``RLIMIT_NPROC``).

    Example:
        >>> Limits(memory_bytes=4 << 30).memory_bytes
        4294967296
    """

    cell_seconds: int = CELL_TIMEOUT
    notebook_seconds: int = 1800
    memory_bytes: int = 8 << 30
    processes: int = 512

    def __post_init__(self) -> None:
        for name in ("cell_seconds", "notebook_seconds", "memory_bytes", "processes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive whole number, got {value!r}")


def sandbox_uid() -> int:
    """The user id sandboxes run as: the caller's own, or ``nobody`` for root.

    Example:
        >>> sandbox_uid() > 0
        True
    """
    return NOBODY if os.geteuid() == 0 else os.geteuid()


def _nested(paths: Iterable[Path], inside: Iterable[Path]) -> list[Path]:
    """The ``paths`` that lie strictly inside one of ``inside``."""
    inside = list(inside)
    return [p for p in paths if any(p != q and q in p.parents for q in inside)]


def command(
    argv: Sequence[str],
    work: Path | None,
    limits: Limits,
    hide: Iterable[Path] = (),
    expose: Iterable[Path] = (),
    binds: Iterable[tuple[Path, Path, bool]] = (),
    chdir: Path | None = None,
) -> list[str]:
    """The full command line that runs ``argv`` in the sandbox.

    Args:
        argv: the command, as inside the sandbox (its working folder is :data:`INSIDE_WORK`).
        work: a host folder, writable by :func:`sandbox_uid`, bound writable at
            :data:`INSIDE_WORK`; or ``None``.
        limits: memory and process limits (time limits are the caller's).
        hide: host folders that appear empty (on a throw-away tmpfs).
        expose: host paths put back read-only at the same place (inside ``hide`` or not);
            those that do not exist are left out.
        binds: ``(host path, path inside, writable)``, bound in this order after the rest
            (e.g. nbgrader's course folder: a writable staging folder, then its other
            entries read-only on top).
        chdir: the working folder inside, when there is no ``work``.

    Example:
        >>> cmd = command(["true"], None, Limits(), hide=[Path("/root")])
        >>> "--unshare-net" in cmd and cmd[cmd.index("--tmpfs") + 1]
        '/tmp'
    """
    hide, expose = [Path(p) for p in hide], [Path(p) for p in expose if Path(p).exists()]
    root = os.geteuid() == 0
    args = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--tmpfs", "/tmp",
            "--perms", "1777", "--tmpfs", "/dev/shm", "--perms", "1777", "--dir", str(INSIDE_HOME),
            *([] if root else ["--unshare-user"]), "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
            "--setenv", "HOME", str(INSIDE_HOME)]
    for path in hide:
        args += ["--tmpfs", str(path)]

    def bind(source: Path, inside: Path, writable: bool) -> list[str]:
        made = [p for p in reversed(inside.parents) if any(h in p.parents for h in hide)]
        return [*(arg for p in made for arg in ("--perms", "0755", "--dir", str(p))),  # bwrap's own are 0700
                "--bind" if writable else "--ro-bind", str(source), str(inside)]

    for path in expose:
        args += bind(path, path, False)
    for path in _nested(hide, expose):  # a hidden folder inside an exposed one (the solutions in the course)
        args += ["--tmpfs", str(path)]
    for source, inside, writable in binds:
        args += bind(Path(source), Path(inside), writable)
    if work is not None:
        args += ["--bind", str(work), str(INSIDE_WORK), "--chdir", str(INSIDE_WORK)]
    elif chdir is not None:
        args += ["--chdir", str(chdir)]
    args.append("--")
    if root:  # bwrap mounts as root; what runs inside is nobody, without capabilities
        args += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--no-new-privs",
                 "--inh-caps=-all", "--bounding-set=-all", "--"]
    return args + limited(argv, limits)


def limited(argv: Sequence[str], limits: Limits, processes: bool = True) -> list[str]:
    """``argv`` under ``prlimit``: the memory limit, no core dumps, and (unless ``processes`` is false) the process limit.

    Example:
        >>> limited(["true"], Limits(memory_bytes=1 << 30, processes=8))
        ['prlimit', '--as=1073741824', '--nproc=8', '--core=0', '--', 'true']
    """
    nproc = [f"--nproc={limits.processes}"] if processes else []
    return ["prlimit", f"--as={limits.memory_bytes}", *nproc, "--core=0", "--", *argv]


def why_unavailable() -> str | None:
    """Why no sandbox can run here (a sentence that says what to do), or ``None`` when one can.

    Tries a real one: ``bwrap`` must start a command with the namespaces it needs.

    Example:
        >>> why_unavailable() is None or "bubblewrap" in why_unavailable()
        True
    """
    for tool in ("bwrap", "prlimit", *(["setpriv"] if os.geteuid() == 0 else [])):
        if shutil.which(tool) is None:
            hint = INSTALL_HINT if tool == "bwrap" else "install util-linux"
            return f"{tool!r} is not on PATH: {hint}"
    try:
        probe = subprocess.run(command(["true"], None, Limits()), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bubblewrap could not start ({err})"
    if probe.returncode != 0:
        return (f"bubblewrap could not create a sandbox here ({probe.stderr.strip() or 'exit ' + str(probe.returncode)}); "
                "it needs user namespaces (in a container: run it with them allowed)")
    return None


def require() -> None:
    """Raise :class:`SandboxUnavailable` (saying why and what to do) when no sandbox can run.

    Example:
        >>> require()  # doctest: +SKIP
    """
    why = why_unavailable()
    if why is not None:
        raise SandboxUnavailable(
            f"grading needs a sandbox and none can run here: {why}. Without one, a submission runs with your "
            "account's rights (it can read your files and the solutions, use the network, fill the memory); "
            "pass --unsafe to grade like that anyway."
        )


def hand_to_sandbox_user(folder: Path) -> Path:
    """Make ``folder`` (and what is in it) the sandbox user's, so the sandbox can write there.

    Example:
        >>> hand_to_sandbox_user(Path("/tmp/x"))  # doctest: +SKIP
    """
    uid = sandbox_uid()
    if uid != os.geteuid():
        for path in [folder, *folder.rglob("*")]:
            os.lchown(path, uid, uid)
    return folder
