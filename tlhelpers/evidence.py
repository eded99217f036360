"""What a graded check sends out of the kernel, so the grader can judge the answer itself.

A test cell runs in the student's kernel, where the student's code ran first: it may have
replaced the checks, their expected values, or the kernel's way of reporting errors. So a
check that supports it also *publishes* its evidence: what the student's answer did on the
check's inputs (numbers, shapes, the letters given), keyed by the check's name and
arguments. It travels in the cell's outputs as a display item of type :data:`MIME`. The
grader, outside the sandbox, re-runs the judgement on that evidence with its own copy of
the check, and compares the keys with those the teacher's reference solution published.

Evidence can be forged like any output of the kernel. So it holds what the student's answer
*did* (numbers, weights' fingerprints, predictions), never a verdict, and the grader judges
it against what it holds itself (the pretrained weights, the test labels, the files handed
in, the time each cell took): forging the evidence of a right answer then means computing
what a right answer computes. Besides the records, the grader gives each judge *facts* it
measured outside the kernel: :func:`files` (every file of the submission, listed before any
student code ran) and the seconds each cell took.

Example:
    >>> out = {"output_type": "display_data", "metadata": {},
    ...        "data": {MIME: {"check": "letters", "key": {}, "data": {"answer": ["B"]}}}}
    >>> records([out])[0]["data"]
    {'answer': ['B']}
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

MIME = "application/vnd.tlhelpers.evidence+json"


def publish(check: str, key: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    """Send one record from a kernel (does nothing outside IPython).

    Args:
        check: the check's name in the grader's table of judges.
        key: the check's arguments, as JSON values: what makes this record the one expected.
        data: what the student's answer did, as JSON values.

    Example:
        >>> publish("letters", {}, {"answer": ["B"]})
    """
    try:
        from IPython import get_ipython
        from IPython.display import publish_display_data
    except ImportError:
        return
    if get_ipython() is None:
        return
    record = json.loads(json.dumps({"check": check, "key": dict(key), "data": dict(data)}))  # JSON values only
    publish_display_data({MIME: record})


def records(outputs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The well-formed evidence records among a cell's outputs, in order.

    Example:
        >>> records([{"output_type": "stream", "name": "stdout", "text": "hi"}])
        []
    """
    found = []
    for output in outputs:
        record = output.get("data", {}).get(MIME) if output.get("output_type") == "display_data" else None
        if isinstance(record, dict) and isinstance(record.get("check"), str) and isinstance(record.get("key"), dict):
            found.append({"check": record["check"], "key": record["key"], "data": record.get("data")})
    return found


def key_of(record: Mapping[str, Any]) -> str:
    """A record's identity (check and arguments) as one comparable string.

    Example:
        >>> key_of({"check": "prepare", "key": {"size": 32, "backbone": "resnet50"}})
        'prepare {"backbone": "resnet50", "size": 32}'
    """
    return f"{record['check']} {json.dumps(record['key'], sort_keys=True)}"


def digest(array: Any) -> str:
    """A short fingerprint of an array's type, shape and bytes: the same in every process.

    (Python's ``hash`` of bytes differs between processes; this one does not, so a grader
    can compare what a kernel saw with what it computes itself.)

    Example:
        >>> import numpy as np
        >>> digest(np.zeros((2, 2), np.uint8)) == digest(np.zeros((2, 2), np.uint8)) != digest(np.zeros(4, np.uint8))
        True
    """
    import numpy as np

    array = np.ascontiguousarray(array)
    header = f"{array.dtype.str}{array.shape}".encode()
    return hashlib.blake2b(header + array.tobytes(), digest_size=8).hexdigest()


def image_digest(path: str | os.PathLike) -> str | None:
    """:func:`digest` of an image file's pixels as Pillow reads them, or ``None`` if it is no image.

    Example:
        >>> image_digest(__file__) is None
        True
    """
    import numpy as np
    from PIL import Image

    try:
        with Image.open(path) as image:
            return digest(np.asarray(image))
    except Exception:  # not an image, or a broken one: the checks skip those too
        return None


def files(folder: str | os.PathLike, images: bool = True) -> dict[str, str | None]:
    """Every regular file under ``folder`` (relative, ``/``-separated), with :func:`image_digest` of images.

    Sub-folders are listed too, with a trailing ``/`` (and ``None``), so empty ones show.
    Symbolic links and other special files are left out (they are never read); with
    ``images=False`` nothing is read, every value is ``None``.

    Example:
        >>> listing = files(Path(__file__).parent)
        >>> listing["evidence.py"], listing["exercises/"]
        (None, None)
    """
    folder = Path(folder)
    found: dict[str, str | None] = {}
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(root, d)))
        found.update({(Path(root) / d).relative_to(folder).as_posix() + "/": None for d in dirs})
        for name in sorted(names):
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                found[path.relative_to(folder).as_posix()] = image_digest(path) if images else None
    return found
