"""Lesson 06's experiments: what makes transfer learning hard, measured on small runs.

* **Compute cost** as the data grows (:func:`measure_cost`): end-to-end fine-tuning,
  cached features, a smaller input resolution and mixed precision (where the hardware
  supports it, :func:`mixed_precision_support`).
* **Past one device** (:func:`configure_cpu_devices`, :func:`data_parallel_strategy`):
  ``tf.distribute.MirroredStrategy`` over two logical CPU devices; the same code spans GPUs.
* **Domain shift** (:data:`SHIFTS`, :func:`shift_task`, :func:`pretraining_checks`): a
  target moved away from what the backbone saw, and two checks that warn before training.
* **Forgetting** (:func:`forgetting_run`): the source accuracy of the backbone before and
  after fine-tuning at a given learning rate.
* **Choosing a backbone** (:func:`backbone_speed`): parameters and images per second of
  every registry architecture.

Every function measures; none returns a stored number. Plots are in
:mod:`tlhelpers.plots_challenges`.

Example:
    >>> from tlhelpers import challenges
    >>> sorted(challenges.SHIFTS)
    ['inverted', 'noisy', 'none', 'rotated']
"""

from __future__ import annotations

import contextlib
import json
import platform
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from tlhelpers.data import Task

COST_METHODS = ("fine_tune", "cached", "small_input", "mixed_precision")
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


# ---- devices ---------------------------------------------------------------------------


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
    import tensorflow as tf

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
    import tensorflow as tf

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
        import tensorflow as tf

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
    import keras

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
    import keras

    from tlhelpers.backbones import BUNDLED_TOP_LAYER, build_fashion_cnn, get_spec, load_backbone

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


# ---- compute cost as the data grows ----------------------------------------------------


def take_per_class(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` examples of each class, in class order (nested: k=5 is inside k=10).

    Raises:
        ValueError: ``k`` below 1 or above the smallest class.

    Example:
        >>> x, y = take_per_class(np.arange(6), np.array([0, 1, 0, 1, 0, 1]), 2)
        >>> x.tolist(), y.tolist()
        ([0, 2, 1, 3], [0, 0, 1, 1])
    """
    counts = np.bincount(y)
    if k < 1 or k > counts[counts > 0].min():
        raise ValueError(f"k must be between 1 and {counts[counts > 0].min()} (the smallest class), got {k}")
    idx = np.concatenate([np.flatnonzero(y == c)[:k] for c in np.unique(y)])
    return x[idx], y[idx]


def subsample_test(task: Task, n: int, seed: int = 0) -> Task:
    """The task with ``n`` test images drawn at random (stratified enough for accuracy).

    Example:
        >>> small = subsample_test(task, 500)  # doctest: +SKIP
    """
    if n >= len(task.y_test):
        return task
    idx = np.sort(np.random.default_rng(seed).choice(len(task.y_test), n, replace=False))
    return replace(task, x_test=task.x_test[idx], y_test=task.y_test[idx])


@dataclass
class CostResult:
    """One method trained on one data size, measured."""

    method: str
    train_images: int
    seconds: float
    test_accuracy: float
    input_size: int
    policy: str


@contextlib.contextmanager
def _quiet_tensorflow() -> Iterator[None]:
    """Silence TensorFlow's retracing warnings while many small models are measured."""
    import tensorflow as tf

    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)


class _Resettable:
    """A compiled model whose weights and optimizer state go back to their start before each run.

    Building and tracing a model costs the same whatever the data size, so it happens once
    (with a one-batch warm-up fit); each measured run then starts from the same state.
    """

    def __init__(self, model, warm_x, warm_y) -> None:
        self.model = model
        model.optimizer.build(model.trainable_variables)
        self._weights = [v.numpy() for v in model.variables]
        self._slots = [v.numpy() for v in model.optimizer.variables]
        # two batch shapes: TensorFlow then traces a shape-generic step, so no later run retraces
        model.fit(warm_x, warm_y, epochs=1, batch_size=len(warm_y) - 1, verbose=0)
        model.predict(warm_x, batch_size=len(warm_y) - 1, verbose=0)

    def reset(self):
        for variable, value in zip(self.model.variables, self._weights):
            variable.assign(value)
        for variable, value in zip(self.model.optimizer.variables, self._slots):
            variable.assign(value)
        return self.model


def _end_to_end(backbone: str, size: int, policy: str | None, lr: float, epochs: int, batch_size: int,
                task: Task) -> Callable[[np.ndarray, np.ndarray], Callable[[], float]]:
    """Images -> resized and preprocessed -> whole network trained (BatchNorm frozen)."""
    from tlhelpers.backbones import get_spec
    from tlhelpers.pipeline import to_model_input
    from tlhelpers.training import accuracy, compile_classifier
    from tlhelpers.transfer import build_classifier, unfreeze_top

    model = build_classifier(backbone_variant(backbone, size, policy), task.num_classes)
    unfreeze_top(model, get_spec(backbone).num_blocks)
    compile_classifier(model, lr)
    warm = slice(0, batch_size + 1)
    state = _Resettable(model, to_model_input(task.x_train[warm], backbone, size), task.y_train[warm])

    def train(x, y):
        state.reset().fit(to_model_input(x, backbone, size), y, epochs=epochs, batch_size=batch_size, verbose=0)
        return lambda: accuracy(model, to_model_input(task.x_test, backbone, size), task.y_test)

    return train


def _cached(backbone: str, size: int, task: Task) -> Callable[[np.ndarray, np.ndarray], Callable[[], float]]:
    """Images -> frozen base once -> features -> a linear probe (a logistic regression, no epochs)."""
    from tlhelpers.features import extract_features, linear_probe
    from tlhelpers.pipeline import to_model_input
    from tlhelpers.training import accuracy

    base = backbone_variant(backbone, size)
    extract_features(base, to_model_input(task.x_train[:2], backbone, size))  # warm-up: traces the graph

    def train(x, y):
        head = linear_probe(extract_features(base, to_model_input(x, backbone, size)), y, task.num_classes)
        return lambda: accuracy(head, extract_features(base, to_model_input(task.x_test, backbone, size)), task.y_test)

    return train


def measure_cost(
    task: Task,
    backbone: str,
    per_class: Iterable[int],
    methods: Iterable[str] = COST_METHODS,
    input_size: int | None = None,
    small_size: int | None = None,
    epochs: int = 3,
    fine_lr: float = 3e-4,
    batch_size: int = 32,
    seed: int = 0,
    progress: bool = False,
):  # -> pandas.DataFrame
    """Train each method on growing subsets of ``task``; time it and measure test accuracy.

    The time covers everything from images to a trained model (resizing, preprocessing,
    feature extraction, ``fit``), not the evaluation. Building and tracing each model is a
    one-off cost, the same whatever the data size: it happens once per method, untimed,
    and every run starts from the same weights and optimizer state. Methods:

    * ``fine_tune``: the whole backbone (BatchNorm frozen) and a new head, ``epochs`` epochs;
    * ``cached``: the frozen backbone run once, then a linear probe on the features
      (:func:`tlhelpers.features.linear_probe`: a logistic regression, no epochs);
    * ``small_input``: ``fine_tune`` at ``small_size`` pixels (default: half the size);
    * ``mixed_precision``: ``fine_tune`` with the backbone in 16-bit math; skipped with a
      warning where :func:`mixed_precision_support` says it would be emulated.

    Args:
        task: its training split must hold at least ``max(per_class)`` images per class;
            accuracy is measured on its test split (see :func:`subsample_test`).
        backbone: registry name.
        per_class: training images per class, one run each.
        progress: show a tqdm bar.

    Returns:
        A DataFrame with the fields of :class:`CostResult`, one row per method and size.

    Raises:
        ValueError: an unknown method, or a size larger than the training split allows.

    Example:
        >>> cost = measure_cost(task, "fashion_cnn", per_class=[10, 40])  # doctest: +SKIP
    """
    import pandas as pd

    from tlhelpers.backbones import get_spec
    from tlhelpers.config import set_seed

    methods, per_class = list(methods), sorted(int(k) for k in per_class)
    unknown = [m for m in methods if m not in COST_METHODS]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}; choose from: {', '.join(COST_METHODS)}")
    if not per_class:
        raise ValueError("per_class is empty; give sizes such as [10, 40, 160]")
    take_per_class(task.x_train, task.y_train, per_class[-1])  # validates the largest size first
    size = get_spec(backbone).input_size if input_size is None else int(input_size)
    small = max(8, size // 2) if small_size is None else int(small_size)
    policy, reason = mixed_precision_support()
    if "mixed_precision" in methods and policy is None:
        warnings.warn(f"mixed_precision skipped: {reason}", stacklevel=2)
        methods.remove("mixed_precision")
    builders = {
        "fine_tune": (lambda: _end_to_end(backbone, size, None, fine_lr, epochs, batch_size, task), size, "float32"),
        "cached": (lambda: _cached(backbone, size, task), size, "float32"),
        "small_input": (lambda: _end_to_end(backbone, small, None, fine_lr, epochs, batch_size, task), small, "float32"),
        "mixed_precision": (lambda: _end_to_end(backbone, size, policy, fine_lr, epochs, batch_size, task), size,
                            str(policy)),
    }
    runs = [(m, k) for m in methods for k in per_class]
    if progress:
        from tqdm.auto import tqdm

        runs = tqdm(runs, desc="cost runs")
    rows, trainers = [], {}
    with _quiet_tensorflow():
        for method, k in runs:
            if method not in trainers:  # build, compile and trace once per method: not timed
                set_seed(seed)
                trainers[method] = builders[method][0]()
            x, y = take_per_class(task.x_train, task.y_train, k)
            set_seed(seed)
            start = time.perf_counter()
            evaluate = trainers[method](x, y)
            seconds = time.perf_counter() - start
            _, px, pol = builders[method]
            rows.append(CostResult(method, len(y), seconds, evaluate(), px, pol))
    return pd.DataFrame([asdict(r) for r in rows])


def growth_exponent(frame, method: str) -> float:
    """How a method's time grows with data: the slope of log(seconds) on log(images).

    1 means proportional to the data; near 0 means a fixed cost dominates.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"method": ["a"] * 3, "train_images": [10, 100, 1000], "seconds": [1.0, 10.0, 100.0]})
        >>> round(growth_exponent(df, "a"), 3)
        1.0
    """
    rows = frame[frame["method"] == method]
    if len(rows) < 2:
        raise ValueError(f"method {method!r} has {len(rows)} row(s); the growth needs two sizes or more")
    return float(np.polyfit(np.log(rows["train_images"]), np.log(rows["seconds"]), 1)[0])


# ---- domain shift ----------------------------------------------------------------------


def _inverted(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return 255 - x


def _rotated(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(x, k=1, axes=(1, 2)))


def _noisy(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(x.astype(np.float32) + rng.normal(0, 80, x.shape), 0, 255).astype(np.uint8)


# name -> (transform of uint8 images (N, H, W, C), what it does)
SHIFTS: dict[str, tuple[Callable[[np.ndarray, np.random.Generator], np.ndarray], str]] = {
    "none": (lambda x, rng: x, "the target as it is"),
    "rotated": (_rotated, "every image turned 90 degrees: the same objects, lying on their side"),
    "noisy": (_noisy, "strong Gaussian pixel noise (sigma 80 of 255): a worse camera"),
    "inverted": (_inverted, "dark and light swapped (255 - pixel): a new domain of contrast"),
}


def shift_images(x: np.ndarray, shift: str, seed: int = 0) -> np.ndarray:
    """Apply a named domain shift to uint8 images ``(N, H, W, C)``.

    Raises:
        ValueError: an unknown shift.

    Example:
        >>> int(shift_images(np.zeros((1, 2, 2, 1), np.uint8), "inverted").max())
        255
    """
    if shift not in SHIFTS:
        raise ValueError(f"unknown shift {shift!r}; choose one of: {', '.join(SHIFTS)}")
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C), got {x.shape}")
    return SHIFTS[shift][0](x, np.random.default_rng(seed))


def shift_task(task: Task, shift: str, seed: int = 0) -> Task:
    """The whole task moved into another domain: train, validation and test alike.

    Example:
        >>> shifted = shift_task(task, "rotated")  # doctest: +SKIP
    """
    return replace(
        task,
        name=f"{task.name}[{shift}]",
        x_train=shift_images(task.x_train, shift, seed),
        x_val=shift_images(task.x_val, shift, seed + 1),
        x_test=shift_images(task.x_test, shift, seed + 2),
    )


def linear_probe_accuracy(
    f_train: np.ndarray, y_train: np.ndarray, f_eval: np.ndarray, y_eval: np.ndarray, C: float = 0.1
) -> float:
    """Accuracy of a standardized logistic regression trained on ``f_train`` (seconds, no GPU).

    Features of any shape (e.g. raw pixels) are flattened first; see
    :func:`tlhelpers.features.linear_probe`.

    Example:
        >>> f = np.r_[np.zeros((5, 2)), np.ones((5, 2))]; y = np.repeat([0, 1], 5)
        >>> linear_probe_accuracy(f, y, f, y)
        1.0
    """
    from tlhelpers.features import linear_probe
    from tlhelpers.training import accuracy

    flat = [np.reshape(f, (len(f), -1)) for f in (f_train, f_eval)]
    probe = linear_probe(flat[0], y_train, int(max(np.max(y_train), np.max(y_eval))) + 1, strengths=(C,))
    return accuracy(probe, flat[1], y_eval, batch_size=1024)


def centroid_similarity(f_a: np.ndarray, f_b: np.ndarray) -> float:
    """Cosine similarity of the mean feature vectors of two image sets (1 = same direction).

    Example:
        >>> round(centroid_similarity(np.ones((3, 4)), 2 * np.ones((5, 4))), 6)
        1.0
    """
    a, b = np.mean(f_a, axis=0), np.mean(f_b, axis=0)
    denominator = float(np.linalg.norm(a) * np.linalg.norm(b))
    if denominator == 0:
        raise ValueError("a feature set has a zero mean vector; cosine similarity is undefined")
    return float(a @ b / denominator)


def domain_classifier_accuracy(f_a: np.ndarray, f_b: np.ndarray, seed: int = 0) -> float:
    """How well a linear model tells set a from set b by their features (cross-validated).

    0.5: the backbone sees both as one domain; 1.0: two separate worlds. This is the idea
    behind the proxy A-distance of domain adaptation.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> domain_classifier_accuracy(rng.normal(size=(40, 3)), rng.normal(size=(40, 3))) < 0.75
        True
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from tlhelpers.features import single_threaded_blas

    n = min(len(f_a), len(f_b))
    x = np.concatenate([f_a[:n], f_b[:n]])
    y = np.repeat([0, 1], n)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    with single_threaded_blas():
        return float(np.mean(cross_val_score(model, x, y, cv=folds)))


def pretraining_checks(
    task: Task, base, backbone: str, source_images: np.ndarray | None, shifts: Iterable[str] = tuple(SHIFTS),
    input_size: int | None = None,
):  # -> pandas.DataFrame
    """Before any training: how far each shifted target is from the source, seen by ``base``.

    Per shift: the centroid cosine similarity and the domain-classifier accuracy between
    the source images' features and the shifted training images' features, and a linear
    probe trained on the task's training split, scored on its validation split, once on the
    backbone's features and once on raw pixels. ``probe_advantage`` is the difference: how
    much the pretrained features help on this target before any fine-tuning.

    Args:
        task: the target task (unshifted; every shift is applied here).
        base: the frozen backbone.
        backbone: its registry name (for resizing and preprocessing).
        source_images: uint8 images of the backbone's source domain (a few hundred), or
            ``None`` where the source is not available (ImageNet offline): the two
            similarity columns are then NaN and the probe check still runs.

    Example:
        >>> checks = pretraining_checks(task, base, "fashion_cnn", source_x[:300])  # doctest: +SKIP
    """
    import pandas as pd

    from tlhelpers.features import extract_features
    from tlhelpers.pipeline import prepare_images, to_model_input

    def features(x):
        return extract_features(base, to_model_input(x, backbone, input_size))

    def pixels(x):
        return prepare_images(x, 16, 1).numpy().reshape(len(x), -1) / 255.0  # small and gray: fair to both

    f_source = None if source_images is None else features(source_images)
    rows = []
    for shift in shifts:
        shifted = shift_task(task, shift)
        f_train, f_val = features(shifted.x_train), features(shifted.x_val)
        probe = linear_probe_accuracy(f_train, shifted.y_train, f_val, shifted.y_val)
        pixel = linear_probe_accuracy(pixels(shifted.x_train), shifted.y_train, pixels(shifted.x_val), shifted.y_val)
        rows.append({
            "shift": shift,
            "similarity": np.nan if f_source is None else centroid_similarity(f_source, f_val),
            "domain_accuracy": np.nan if f_source is None else domain_classifier_accuracy(
                f_source, np.concatenate([f_train, f_val])),
            "probe_features": probe,
            "probe_pixels": pixel,
            "probe_advantage": probe - pixel,
        })
    return pd.DataFrame(rows).set_index("shift")


# each check, and the direction in which it warns that the backbone will help less
CHECK_WARNS_WHEN = {"similarity": "lower", "domain_accuracy": "higher", "probe_advantage": "lower"}


def check_warnings(checks, shift: str, reference: str = "none"):  # -> pandas.DataFrame
    """Did each pre-training check warn that ``shift`` is further from the source than ``reference``?

    Returns one row per check of :data:`CHECK_WARNS_WHEN`: its value on ``reference`` and on
    ``shift``, and ``warned`` (True/False; None where the check could not be measured, e.g.
    without source images).

    Example:
        >>> import pandas as pd
        >>> checks = pd.DataFrame({"similarity": [0.9, 0.7], "domain_accuracy": [0.8, 0.99],
        ...                        "probe_advantage": [0.1, 0.1]}, index=["none", "inverted"])
        >>> check_warnings(checks, "inverted").warned.tolist()
        [True, True, False]
    """
    import pandas as pd

    for name in (shift, reference):
        if name not in checks.index:
            raise ValueError(f"shift {name!r} is not in the checks; checked: {', '.join(checks.index)}")
    rows = []
    for check, warns_when in CHECK_WARNS_WHEN.items():
        before, after = float(checks.loc[reference, check]), float(checks.loc[shift, check])
        warned = None if np.isnan(before) or np.isnan(after) else bool(after < before if warns_when == "lower" else after > before)
        rows.append({"check": check, reference: before, shift: after, "warns_when": warns_when, "warned": warned})
    return pd.DataFrame(rows).set_index("check")


def shift_gains(
    task: Task, backbone: str, shifts: Iterable[str] = tuple(SHIFTS), base=None, input_size: int | None = None,
    **compare_args: Any,
):  # -> pandas.DataFrame
    """Scratch against transfer on each shifted task: the gain transfer brings there.

    * ``scratch``: :func:`tlhelpers.strategies.compare`'s fair recipe (the same
      architecture from random weights, early stopping on validation accuracy, best
      weights kept); ``compare_args`` go to it (``max_epochs``, ``patience``, ``seeds``...).
    * ``probe``: transfer by feature extraction: a standardized logistic regression on the
      frozen backbone's features (:func:`linear_probe_accuracy`), trained on the same labels.

    Both are scored on the shifted test split. ``gain`` is probe minus scratch.

    Example:
        >>> gains = shift_gains(task, "fashion_cnn", ["none", "inverted"], max_epochs=12)  # doctest: +SKIP
    """
    import pandas as pd

    from tlhelpers.backbones import load_backbone
    from tlhelpers.features import extract_features
    from tlhelpers.pipeline import to_model_input
    from tlhelpers.strategies import compare

    base = load_backbone(backbone, input_size=input_size) if base is None else base
    rows = []
    with _quiet_tensorflow():
        for shift in shifts:
            shifted = shift_task(task, shift)
            runs = compare(shifted, backbone, strategies=("scratch",), input_size=input_size, **compare_args)
            f_train, f_test = (extract_features(base, to_model_input(x, backbone, input_size))
                               for x in (shifted.x_train, shifted.x_test))
            probe = linear_probe_accuracy(f_train, shifted.y_train, f_test, shifted.y_test)
            scratch = float(runs["test_accuracy"].median())
            rows.append({"shift": shift, "scratch": scratch, "scratch_epochs": int(runs["epochs"].median()),
                         "probe": probe, "gain": probe - scratch})
    return pd.DataFrame(rows).set_index("shift")


# ---- forgetting ------------------------------------------------------------------------


def source_data(backbone: str, test_images: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """Test images and labels of the backbone's source task, if they exist on this machine.

    The bundled backbone's source is five Fashion-MNIST classes (their test split); for
    ImageNet backbones the source (ImageNet itself) is not available offline, so ``None``.

    Example:
        >>> x, y = source_data("fashion_cnn")  # doctest: +SKIP
    """
    from tlhelpers.backbones import get_spec
    from tlhelpers.data import load_dataset

    if get_spec(backbone).weights != "bundled":
        return None
    (_, (x, y)), _ = load_dataset("fashion_mnist_source")
    idx = np.sort(np.random.default_rng(seed).choice(len(y), min(test_images, len(y)), replace=False))
    return x[idx], y[idx]


def source_model(backbone: str):  # -> keras.Model | None
    """The pretrained backbone with its original (source) classifier, or ``None`` if its
    source task cannot be measured here (see :func:`source_data`).

    Example:
        >>> source_model("fashion_cnn").output.shape  # doctest: +SKIP
        (None, 5)
    """
    from tlhelpers.backbones import get_spec, load_backbone

    if get_spec(backbone).weights != "bundled":
        return None
    return load_backbone(backbone, include_top=True)


def _split_source_model(full, backbone: str):
    """The backbone part of a source classifier, sharing its layers (so training one changes both)."""
    import keras

    from tlhelpers.backbones import get_spec

    top = get_spec(backbone).blocks[-1][1]
    return keras.Model(full.inputs, full.get_layer(top).output, name=backbone)


def feature_drift(before: np.ndarray, after: np.ndarray) -> float:
    """Mean cosine similarity between each image's features before and after (1 = unchanged).

    Example:
        >>> round(feature_drift(np.ones((2, 3)), np.ones((2, 3))), 6)
        1.0
    """
    before, after = np.reshape(before, (len(before), -1)), np.reshape(after, (len(after), -1))
    norms = np.linalg.norm(before, axis=1) * np.linalg.norm(after, axis=1)
    return float(np.mean(np.sum(before * after, axis=1) / np.maximum(norms, 1e-12)))


@dataclass
class ForgettingResult:
    """One fine-tuning setting: what the target gained, what the source lost."""

    setting: str
    fine_lr: float
    blocks: int
    target_accuracy: float
    source_before: float
    source_after: float
    feature_similarity: float

    @property
    def forgotten(self) -> float:
        """Source accuracy lost (NaN when the source cannot be measured)."""
        return self.source_before - self.source_after


def forgetting_run(
    task: Task,
    backbone: str,
    fine_lr: float,
    blocks: int | None = None,
    setting: str = "",
    head_epochs: int = 5,
    fine_epochs: int = 5,
    head_lr: float = 1e-3,
    source: tuple[np.ndarray, np.ndarray] | None = None,
    input_size: int | None = None,
    seed: int = 0,
) -> ForgettingResult:
    """Fine-tune a fresh copy of the pretrained backbone on ``task``; measure what it forgot.

    The two-phase recipe (:func:`tlhelpers.training.fine_tune`: head first, then the top
    ``blocks`` blocks at ``fine_lr``) runs on the backbone *inside* its source classifier,
    so afterwards the original source head, untouched, reads the changed features: its
    accuracy on the source test images shows how much the backbone forgot. Where the source
    cannot be measured (ImageNet offline), ``source_before``/``source_after`` are NaN and
    ``feature_similarity`` still says how far the features moved.

    Args:
        blocks: blocks unfrozen in phase 2 (default: all of them).
        source: ``(images, labels)`` of the source test split (default: :func:`source_data`).
        input_size: backbone input side (default: the registry's; the bundled backbone's
            source classifier only takes its native size).

    Example:
        >>> r = forgetting_run(task, "fashion_cnn", fine_lr=1e-2)  # doctest: +SKIP
        >>> r.source_before, r.source_after                        # doctest: +SKIP
    """
    from tlhelpers.backbones import get_spec, load_backbone
    from tlhelpers.config import set_seed
    from tlhelpers.features import extract_features
    from tlhelpers.pipeline import to_model_input
    from tlhelpers.training import accuracy, fine_tune
    from tlhelpers.transfer import build_classifier

    spec = get_spec(backbone)
    blocks = spec.num_blocks if blocks is None else blocks
    set_seed(seed)
    full = source_model(backbone)
    base = load_backbone(backbone, input_size=input_size) if full is None else _split_source_model(full, backbone)
    input_size = None if full is not None else input_size
    source = source_data(backbone) if source is None and full is not None else source
    x_src = None if source is None or full is None else to_model_input(source[0], backbone)
    x_train, x_test = (to_model_input(x, backbone, input_size) for x in (task.x_train, task.x_test))
    probe_images = x_test[:256]
    before_features = extract_features(base, probe_images)
    before = accuracy(full, x_src, source[1]) if x_src is not None else float("nan")
    model = build_classifier(base, task.num_classes)  # base.trainable = False; base(x, training=False)
    fine_tune(model, x_train, task.y_train, blocks=blocks,  # fixed epochs: no validation needed
              head_epochs=head_epochs, fine_epochs=fine_epochs, head_lr=head_lr, fine_lr=fine_lr, batch_size=16)
    after = accuracy(full, x_src, source[1]) if x_src is not None else float("nan")
    similarity = feature_drift(before_features, extract_features(base, probe_images))
    return ForgettingResult(setting or f"lr {fine_lr:g}, {blocks} block(s)", fine_lr, blocks,
                            accuracy(model, x_test, task.y_test), before, after, similarity)


def forgetting_table(results: Iterable[ForgettingResult]):  # -> pandas.DataFrame
    """The results as a DataFrame indexed by setting, with a ``forgotten`` column.

    Example:
        >>> forgetting_table([ForgettingResult("a", 1e-4, 4, 0.7, 0.98, 0.97, 0.99)]).loc["a", "forgotten"].round(2).item()
        0.01
    """
    import pandas as pd

    frame = pd.DataFrame([{**asdict(r), "forgotten": r.forgotten} for r in results])
    return frame.set_index("setting")


# ---- choosing a backbone ---------------------------------------------------------------


def backbone_speed(
    names: Iterable[str] | None = None, input_size: int = 32, batch_size: int = 32, repeats: int = 2,
):  # -> pandas.DataFrame
    """Parameters and inference speed of registry architectures, with random weights.

    Speed does not depend on the weights' values, so ``weights=None`` measures it without a
    download. Each architecture runs at ``input_size``, or at the nearest size it accepts
    (``min_input_size``/``max_input_size`` of its spec: the bundled backbone takes only 32).

    Returns:
        One row per backbone: ``input_size``, ``params``, ``images_per_second`` (the best of
        ``repeats`` timed batches after a warm-up), ``pretrained_on``, ``weights_offline``.

    Example:
        >>> backbone_speed(["fashion_cnn"], repeats=1).loc["fashion_cnn", "params"]  # doctest: +SKIP
        144981
    """
    import pandas as pd

    from tlhelpers.backbones import BACKBONES, get_spec, load_backbone

    rows = []
    for name in BACKBONES if names is None else names:
        spec = get_spec(name)
        size = spec.nearest_size(input_size)
        model = load_backbone(name, weights=None, input_size=size, pooling="avg")
        x = np.random.default_rng(0).uniform(0, 255, (batch_size, size, size, spec.channels)).astype(np.float32)
        x = np.asarray(spec.preprocess(x))
        model.predict(x[:2], verbose=0)  # warm-up: builds and traces the graph
        best = float("inf")
        for _ in range(max(1, repeats)):
            start = time.perf_counter()
            model.predict(x, batch_size=batch_size, verbose=0)
            best = min(best, time.perf_counter() - start)
        rows.append({
            "backbone": name, "input_size": size, "params": int(model.count_params()),
            "images_per_second": batch_size / best, "pretrained_on": spec.pretrained_on,
            "weights_offline": spec.weights == "bundled",
        })
    return pd.DataFrame(rows).set_index("backbone")


# ---- the benchmarks' results, if they are there -----------------------------------------


def benchmark_results(folder: str | Path | None = None) -> dict[str, Any]:
    """The JSON files the benchmarks wrote (``benchmarks/results/*.json``), by name; ``{}``
    if there are none.

    Example:
        >>> isinstance(benchmark_results(), dict)
        True
    """
    from tlhelpers.config import PACKAGE_DIR

    folder = PACKAGE_DIR.parent / "benchmarks" / "results" if folder is None else Path(folder)
    results = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            results[path.stem] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            warnings.warn(f"skipping {path}: {err}", stacklevel=2)
    return results
