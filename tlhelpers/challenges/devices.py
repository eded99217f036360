"""Past one device, and cheaper arithmetic: logical CPU devices, ``MirroredStrategy``, mixed precision.

Part of :mod:`tlhelpers.challenges` (lesson 07).
"""

from __future__ import annotations

import contextlib
import logging
import platform
from pathlib import Path
from typing import Iterator, Sequence

import keras
import tensorflow as tf

from tlhelpers.backbones import (
    BUNDLED_TOP_LAYER,
    build_fashion_cnn,
    get_spec,
    load_backbone,
)
from tlhelpers.i18n import _

BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def configure_cpu_devices(count: int = 2) -> list[str]:
    """Split the CPU into ``count`` logical devices, so one machine can show data parallelism.

    TensorFlow fixes its devices when it runs its first operation, so call this first, in
    the first code cell of a notebook. Calling it again with the same count is harmless.
    In a kernel where TensorFlow has already started with another number of devices it
    cannot change them: it prints one line saying to restart the kernel and run the
    notebook from the top, and returns the devices there are. The logical devices share
    the same cores: this demonstrates the code, not a speed-up.

    Args:
        count: logical CPU devices to create (1 or more).

    Returns:
        The logical CPU device names, e.g. ``['/device:CPU:0', '/device:CPU:1']``.

    Raises:
        ValueError: ``count`` below 1.

    Example:
        >>> configure_cpu_devices(2)  # doctest: +SKIP
        ['/device:CPU:0', '/device:CPU:1']
    """
    if not isinstance(count, int) or count < 1:
        raise ValueError(_("count must be an integer of at least 1, got {count!r}").format(count=count))
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:  # TensorFlow already started: its devices are fixed
        have = tf.config.list_logical_devices("CPU")
        if len(have) != count:
            print(_("This kernel already started TensorFlow (with {have} CPU device(s), not {count}): restart "
                    "the kernel (Kernel > Restart Kernel) and run this notebook from the top.").format(
                have=len(have), count=count))
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def data_parallel_strategy(devices: Sequence[str] | None = None):  # -> tf.distribute.MirroredStrategy
    """A ``MirroredStrategy``: one model copy per device, gradients averaged every step.

    Args:
        devices: device names; default: every GPU if there is one, else every logical CPU
            (see :func:`configure_cpu_devices`).

    Example:
        >>> strategy = data_parallel_strategy()  # doctest: +SKIP
        >>> strategy.num_replicas_in_sync        # doctest: +SKIP
        2
    """
    if devices is None:
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
            d.name for d in tf.config.list_logical_devices("CPU")
        ]
    hide_distribute_notes()
    return tf.distribute.MirroredStrategy(list(devices))


_DISTRIBUTE_PATH = "tensorflow/python/distribute/"


class _DistributeNotes(logging.Filter):
    """Drops the INFO records of ``tf.distribute`` (warnings and errors pass)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or _DISTRIBUTE_PATH not in record.pathname.replace("\\", "/")


def hide_distribute_notes() -> None:
    """Keep ``tf.distribute``'s INFO notes out of a notebook's cell outputs.

    In an interactive session (a Jupyter kernel) TensorFlow sets its Python logger to INFO,
    printing to stdout, and ``MirroredStrategy`` then notes its devices when created and
    every reduction it sets up ("Reduce to ... then broadcast to ...", "Collective
    all_reduce tensors: ..."): a dozen lines under every ``fit``. Only those INFO records,
    from TensorFlow's ``distribute`` package, are dropped from the ``"tensorflow"`` logger;
    its warnings and errors, and every other record, still show.
    :func:`data_parallel_strategy` calls it; calling it again is harmless.

    Example:
        >>> hide_distribute_notes()
        >>> sum(isinstance(f, _DistributeNotes) for f in logging.getLogger("tensorflow").filters)
        1
    """
    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _DistributeNotes) for f in logger.filters):
        logger.addFilter(_DistributeNotes())


def cpu_flags() -> set[str]:
    """The CPU feature flags Linux reports (empty elsewhere).

    Example:
        >>> isinstance(cpu_flags(), set)
        True
    """
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


def mixed_precision_support(flags: set[str] | None = None, gpus: int | None = None) -> tuple[str | None, str]:
    """Which mixed-precision policy pays off here, and why: ``(policy or None, reason)``.

    A GPU computes float16 fast (``"mixed_float16"``); a CPU computes bfloat16 fast only with
    AVX512-BF16 or AMX instructions (``"mixed_bfloat16"``). Elsewhere the 16-bit numbers are
    emulated, which is slower than float32, so the lesson skips the run.

    Example:
        >>> mixed_precision_support(flags={"avx2"}, gpus=0)[0] is None
        True
        >>> mixed_precision_support(flags={"amx_bf16"}, gpus=0)[0]
        'mixed_bfloat16'
    """
    if gpus is None:
        gpus = len(tf.config.list_physical_devices("GPU"))
    if gpus:
        return "mixed_float16", _("{gpus} GPU(s): float16 runs on their tensor cores").format(gpus=gpus)
    flags = cpu_flags() if flags is None else flags
    found = [f for f in BF16_CPU_FLAGS if f in flags]
    if found:
        return "mixed_bfloat16", _("the CPU has {flags}: bfloat16 runs natively").format(flags=", ".join(found))
    return None, _(
        "no GPU and this CPU ({machine}) lacks {flags}: 16-bit math would be emulated, slower than float32"
    ).format(machine=platform.machine(), flags=_(" and ").join(BF16_CPU_FLAGS))


@contextlib.contextmanager
def dtype_policy(policy: str | None) -> Iterator[None]:
    """Layers built inside use the Keras dtype ``policy`` (``None``: leave it); restored after.

    Example:
        >>> with dtype_policy("mixed_bfloat16"):
        ...     import keras
        ...     keras.layers.Dense(2).dtype_policy.name
        'mixed_bfloat16'
    """
    if policy is None:
        yield
        return
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def backbone_variant(
    name: str, input_size: int | None = None, policy: str | None = None, weights_size: int | None = None,
) -> keras.Model:
    """A pretrained backbone at another input size and/or dtype policy, weights unchanged.

    Convolutions do not care about the image size, so the same weights run on smaller
    images. The keras.applications rows are rebuilt by their builder; the bundled
    backbone is rebuilt from its architecture and given the bundled weights (its registry
    row only loads the 32 px file as saved).

    Args:
        name: registry name.
        input_size: side in pixels (default: the registry's).
        policy: a Keras dtype policy such as ``"mixed_bfloat16"`` (default: leave it).
        weights_size: keras.applications rows only: the side whose pretrained weights to
            put on the model (default: ``input_size`` itself). Keras has MobileNetV2's
            ImageNet weights for 96, 128, 160, 192 and 224 px; at another size it loads
            the 224 px file and warns ("`input_shape` is undefined or non-square, or `rows`
            is not in [96, 128, 160, 192, 224]"). With ``weights_size``, the model is
            built at ``input_size`` with random weights and given those of the backbone at
            ``weights_size``: exactly the weights of the full-size model, on smaller images,
            and no warning.

    Example:
        >>> small = backbone_variant("fashion_cnn", input_size=16)  # doctest: +SKIP
        >>> small.input_shape                                      # doctest: +SKIP
        (None, 16, 16, 1)
        >>> backbone_variant("mobilenet_v2", 48, weights_size=96).input_shape  # doctest: +SKIP
        (None, 48, 48, 3)
    """
    spec = get_spec(name)
    size = spec.input_size if input_size is None else int(input_size)
    if spec.weights != "bundled":
        if weights_size is None or int(weights_size) == size:
            with dtype_policy(policy):
                return load_backbone(name, input_size=size)
        with dtype_policy(policy):
            model = load_backbone(name, weights=None, input_size=size)
        model.set_weights(load_backbone(name, input_size=int(weights_size)).get_weights())
        return model
    if size < 8:
        raise ValueError(_("input_size {size} is too small for {name}: its three poolings need 8 px or more").format(
            size=size, name=name))
    source = load_backbone(name, include_top=True)
    with dtype_policy(policy):
        full = build_fashion_cnn(num_classes=int(source.output.shape[-1]), input_size=size)
    full.set_weights(source.get_weights())
    return keras.Model(full.inputs, full.get_layer(BUNDLED_TOP_LAYER).output, name=name)
