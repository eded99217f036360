"""Past one device, and cheaper arithmetic: logical CPU devices, ``MirroredStrategy``, mixed precision.

Part of :mod:`tlhelpers.challenges` (lesson 07).
"""

from __future__ import annotations

import contextlib
import platform
from pathlib import Path
from typing import Iterator, Sequence

import keras
import tensorflow as tf

from tlhelpers.backbones import BUNDLED_TOP_LAYER, build_fashion_cnn, get_spec, load_backbone

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
        raise ValueError(f"count must be an integer of at least 1, got {count!r}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:  # TensorFlow already started: its devices are fixed
        have = tf.config.list_logical_devices("CPU")
        if len(have) != count:
            print(f"This kernel already started TensorFlow (with {len(have)} CPU device(s), not {count}): restart "
                  "the kernel (Kernel > Restart Kernel) and run this notebook from the top.")
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
    return tf.distribute.MirroredStrategy(list(devices))


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
        return "mixed_float16", f"{gpus} GPU(s): float16 runs on their tensor cores"
    flags = cpu_flags() if flags is None else flags
    found = [f for f in BF16_CPU_FLAGS if f in flags]
    if found:
        return "mixed_bfloat16", f"the CPU has {', '.join(found)}: bfloat16 runs natively"
    return None, (
        f"no GPU and this CPU ({platform.machine()}) lacks {' and '.join(BF16_CPU_FLAGS)}: 16-bit math "
        "would be emulated, slower than float32"
    )


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


def backbone_variant(name: str, input_size: int | None = None, policy: str | None = None):  # -> keras.Model
    """A pretrained backbone at another input size and/or dtype policy, weights unchanged.

    Convolutions do not care about the image size, so the same weights run on smaller
    images. The keras.applications rows are rebuilt by their builder; the bundled
    backbone is rebuilt from its architecture and given the bundled weights (its registry
    row only loads the 32 px file as saved).

    Example:
        >>> small = backbone_variant("fashion_cnn", input_size=16)  # doctest: +SKIP
        >>> small.input_shape                                      # doctest: +SKIP
        (None, 16, 16, 1)
    """
    spec = get_spec(name)
    size = spec.input_size if input_size is None else int(input_size)
    if spec.weights != "bundled":
        with dtype_policy(policy):
            return load_backbone(name, input_size=size)
    if size < 8:
        raise ValueError(f"input_size {size} is too small for {name}: its three poolings need 8 px or more")
    source = load_backbone(name, include_top=True)
    with dtype_policy(policy):
        full = build_fashion_cnn(num_classes=int(source.output.shape[-1]), input_size=size)
    full.set_weights(source.get_weights())
    return keras.Model(full.inputs, full.get_layer(BUNDLED_TOP_LAYER).output, name=name)
