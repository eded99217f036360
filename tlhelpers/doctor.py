"""``python -m tlhelpers doctor``: is this machine ready for the course?

Prints which tracks are ready (data and weights present or cached, what is missing and
the one command that fetches it), the versions that matter, and the CPU threads
TensorFlow will use.

Example:
    >>> from tlhelpers.doctor import track_status
    >>> ready, lines = track_status("offline")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.metadata
import os
import platform

from tlhelpers import backbones, config, prefetch

PACKAGES = ("tensorflow", "keras", "keras-tuner", "jupyterlab", "ipywidgets", "nbval", "numpy")


def track_status(track: str) -> tuple[bool, list[str]]:
    """Return ``(ready, report lines)`` for one track.

    Example:
        >>> track_status("offline")[0] in (True, False)
        True
    """
    lines, ready = [], True
    for item in prefetch.plan(track):
        ok = item.cached
        ready &= ok
        lines.append(f"  {'ok     ' if ok else 'MISSING'}  {item.label:<42} {item.path}")
    if track == "offline":
        try:
            backbones.verify_bundled()
            accuracy = backbones.bundled_manifest()["source_test_accuracy"]
            lines.append(f"  ok       {'fashion_cnn (bundled backbone)':<42} sha256 verified, source-test accuracy {accuracy:.3f}")
        except (OSError, backbones.ChecksumError) as err:
            ready = False
            lines.append(f"  BROKEN   fashion_cnn (bundled backbone): {err}")
    if not ready:
        fetch = "make data" if track == "offline" else f"python -m tlhelpers prefetch --track {track}"
        lines.append(f"  fetch what is missing with: {fetch}")
    return ready, lines


def essentials_ready(track: str) -> tuple[bool, str]:
    """Whether what the lessons of ``track`` need is on this machine, and one line saying so.

    The lessons need the track's dataset and its backbone's weights: offline, Fashion-MNIST
    and the bundled backbone (sha256 verified); imagenet, CIFAR-10 and the track backbone's
    no-top ImageNet weights at the track's input size, in the Keras cache. Lesson 01's
    ImageNet classifier and the other backbones are optional (lessons say when they are
    missing and go on). ``python -m tlhelpers ready`` prints the line; ``make test-imagenet``
    uses its exit status.

    Raises:
        ValueError: unknown track.

    Example:
        >>> ready, line = essentials_ready("imagenet")  # doctest: +SKIP
        >>> line                                        # doctest: +SKIP
        'imagenet track: missing CIFAR-10; fetch with: python -m tlhelpers prefetch --track imagenet'
    """
    if track == "offline":
        missing = [item.label for item in prefetch.plan(track) if not item.cached]
        try:
            backbones.verify_bundled()
        except (OSError, backbones.ChecksumError) as err:
            missing.append(f"a valid fashion_cnn (bundled backbone: {err})")
    elif track == "imagenet":
        backbone = config.current_track("imagenet").backbone
        optional = {item.label for item in prefetch.classifier_items(backbone)}
        missing = [item.label for item in prefetch.plan(track, (backbone,)) if item.label not in optional
                   and not item.cached]
    else:
        raise ValueError(f"unknown track {track!r}; choose one of: {', '.join(config.TRACKS)}")
    if not missing:
        return True, f"{track} track: what the lessons need is on this machine"
    fetch = "make data" if track == "offline" else f"python -m tlhelpers prefetch --track {track}"
    return False, f"{track} track: missing {'; '.join(missing)}; fetch with: {fetch}"


def versions() -> list[str]:
    """``name version`` lines for Python and the course's key packages.

    Example:
        >>> versions()[0].startswith("python")
        True
    """
    lines = [f"python       {platform.python_version()}"]
    for name in PACKAGES:
        version = "not installed"
        # TensorFlow is installed as `tensorflow-cpu` on a machine without a GPU (see the Makefile)
        for dist in (name, "tensorflow-cpu") if name == "tensorflow" else (name,):
            try:
                version = importlib.metadata.version(dist) + (f" ({dist})" if dist != name else "")
                break
            except importlib.metadata.PackageNotFoundError:
                pass
        lines.append(f"{name:<12} {version}")
    return lines


def cpu_lines() -> list[str]:
    """How many CPU threads this process may use, and what TensorFlow will use.

    Example:
        >>> "CPU" in cpu_lines()[0]
        True
    """
    import tensorflow as tf

    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    intra = tf.config.threading.get_intra_op_parallelism_threads()
    inter = tf.config.threading.get_inter_op_parallelism_threads()
    show = lambda n: f"{n}" if n else f"auto (= {available})"  # noqa: E731  0 means: all it sees
    gpus = tf.config.list_physical_devices("GPU")
    return [
        f"CPU threads available: {available}",
        f"TensorFlow threads: intra-op {show(intra)}, inter-op {show(inter)}",
        f"GPUs: {len(gpus)}" + ("" if gpus else " (training runs on the CPU; the laptop profile suits it)"),
    ]


def report() -> tuple[bool, str]:
    """The whole doctor report; ``ready`` is True when the active track is ready.

    Example:
        >>> ok, text = report()  # doctest: +SKIP
    """
    active = config.current_track()
    out = [f"Active track: {active.name} ({active.profile} profile; change it in course.toml or with TL_TRACK)"]
    active_ready = True
    for track in config.TRACKS:
        ready, lines = track_status(track)
        if track == active.name:
            active_ready = ready
        out.append(f"\n{track} track: {'READY' if ready else 'NOT READY'}")
        out.extend(lines)
    out.append("\nVersions")
    out.extend(f"  {line}" for line in versions())
    out.append("\nCompute")
    out.extend(f"  {line}" for line in cpu_lines())
    return active_ready, "\n".join(out)
