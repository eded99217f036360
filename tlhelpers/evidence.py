"""What a graded check sends out of the kernel, so the grader can judge the answer itself.

A test cell runs in the student's kernel, where the student's code ran first: it may have
replaced the checks, their expected values, or the kernel's way of reporting errors. So a
check that supports it also *publishes* its evidence: what the student's answer did on the
check's inputs (numbers, shapes, the letters given), keyed by the check's name and
arguments. It travels in the cell's outputs as a display item of type :data:`MIME`. The
grader, outside the sandbox, re-runs the judgement on that evidence with its own copy of
the check, and compares the keys with those the teacher's reference solution published.

Evidence can be forged like any output of the kernel, but forging the evidence of a right
answer means computing the right answer.

Example:
    >>> out = {"output_type": "display_data", "metadata": {},
    ...        "data": {MIME: {"check": "letters", "key": {}, "data": {"answer": ["B"]}}}}
    >>> records([out])[0]["data"]
    {'answer': ['B']}
"""

from __future__ import annotations

import json
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
