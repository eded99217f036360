"""A Jupyter kernel's output stream that keeps TensorFlow's early INFO lines out of cells.

TensorFlow logs a few C++ lines while it loads, before it has read ``TF_CPP_MIN_LOG_LEVEL``
(on CPUs where oneDNN is on by default: "oneDNN custom operations are on ..."). A kernel
shows them in red under the lesson's first ``import keras``. ``python -m tlhelpers.quiet``
(run by ``make setup``) makes this environment's kernels use this stream, through
ipykernel's ``IPKernelApp.outstream_class`` setting: on stderr it leaves out the complete C++
log lines below the level (``quiet.hide_below_level``); everything else, and everything on
stdout, is the kernel's own stream unchanged. The terminal that started Jupyter still gets
every line.

Example:
    The line ``python -m tlhelpers.quiet`` writes into the environment's
    ``etc/ipython/ipython_kernel_config.py``::

        c.IPKernelApp.outstream_class = "tlhelpers.kernel_stream.QuietLogOutStream"
"""

from __future__ import annotations

from ipykernel.iostream import OutStream

from tlhelpers.quiet import hide_below_level, min_log_level


class QuietLogOutStream(OutStream):
    """ipykernel's ``OutStream`` whose stderr leaves out C++ log lines below ``TF_CPP_MIN_LOG_LEVEL``."""

    def write(self, string: str) -> int | None:
        """Write ``string`` as ``OutStream`` does, without the hidden log lines on stderr."""
        if self.name != "stderr" or not isinstance(string, str):
            return super().write(string)
        kept = hide_below_level(string, min_log_level())
        if kept:
            super().write(kept)
        return len(string)
