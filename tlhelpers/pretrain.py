"""Pretrain the bundled backbone on the Fashion-MNIST source classes, rendered in the wild.

Run ``python -m tlhelpers pretrain`` (add ``--force`` to replace the committed file). It
writes ``tlhelpers/assets/fashion_cnn.keras`` and a manifest with the sha256, the settings
and the measured source-test accuracy. A few minutes on 2 CPU cores.

Example:
    >>> from tlhelpers.pretrain import pretrain
    >>> manifest = pretrain(epochs=1, out_dir="/tmp/fashion_cnn")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tlhelpers import backbones, config, data
from tlhelpers.pipeline import prepare_images
from tlhelpers.render import IN_THE_WILD, render


def pretrain(
    *,
    epochs: int = 15,
    batch_size: int = 128,
    learning_rate: float = 2e-3,
    seed: int = config.DEFAULT_SEED,
    out_dir: str | os.PathLike = config.ASSETS_DIR,
    force: bool = False,
    verbose: int = 2,
) -> dict[str, Any]:
    """Train ``fashion_cnn`` on the source classes; write the model and its manifest.

    Args:
        epochs: passes over the 30,000 source training images.
        batch_size: images per step.
        learning_rate: Adam's learning rate (cosine-decayed to zero).
        seed: seeds weights, shuffling and dropout.
        out_dir: folder for ``fashion_cnn.keras`` and ``fashion_cnn.json``.
        force: replace existing files (otherwise refuse, so no trained model is lost).
        verbose: Keras ``fit`` verbosity.

    Returns:
        The manifest written.

    Raises:
        FileExistsError: the files exist and ``force`` is False.
    """
    out_dir = Path(out_dir)
    model_path = out_dir / backbones.BUNDLED_FILE.name
    manifest_path = out_dir / backbones.BUNDLED_MANIFEST.name
    if not force and (model_path.exists() or manifest_path.exists()):
        raise FileExistsError(
            f"{model_path} already exists; pass --force (force=True) to replace it"
        )
    config.set_seed(seed)
    # Items as photos show them: a fresh rendering of the clean source items every epoch
    # (augmentation, as ImageNet's variety teaches real backbones their invariances); the
    # source test images are the one fixed rendering every lesson sees.
    (train, _), names = data.load_dataset("fashion_mnist_source_clean")
    (_, test), _ = data.load_dataset("fashion_mnist_source")
    size = backbones.BUNDLED_INPUT_SIZE
    x_test = prepare_images(test[0], size, 1)
    model = backbones.build_fashion_cnn(num_classes=len(names))
    steps = epochs * int(np.ceil(len(train[1]) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    for epoch in range(epochs):
        x_epoch = prepare_images(render(train[0], seed=seed * 1000 + epoch), size, 1)
        model.fit(x_epoch, train[1], batch_size=batch_size, initial_epoch=epoch, epochs=epoch + 1,
                  shuffle=True, verbose=verbose)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, test[1], batch_size=512, verbose=0)

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:  # write, then move into place
        tmp_path = Path(tmp) / model_path.name
        model.save(tmp_path)
        os.replace(tmp_path, model_path)
    manifest = {
        "file": model_path.name,
        "sha256": backbones.sha256_of(model_path),
        "architecture": "tlhelpers.backbones.build_fashion_cnn",
        "input_shape": [size, size, 1],
        "source_classes": list(names),
        "source_train_images": int(len(train[1])),
        "rendering": f"{IN_THE_WILD}, a fresh rendering of the source training items each epoch",
        "source_test_images": int(len(test[1])),
        "source_test_accuracy": round(float(accuracy), 4),
        "seed": seed,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "optimizer": "Adam with cosine decay",
        "train_seconds": round(seconds, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU threads",
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
