"""Assignment 4 (``a4_own_images``): fine-tuning on the student's own image folder.

The folder must hold the student's own images (:func:`check_own_folder` compares every
image, pixel for pixel, with the track's dataset, where :func:`make_demo_folder` takes its
practice images from); the task, the fine-tuned model and the predictions are checked
like the other assignments'. The grader judges the evidence again (:data:`JUDGES`) against
the files handed in, as it listed them before the notebook ran.

Example:
    >>> class_files({"imgs/b/1.png": None, "imgs/b/more/2.png": None, "imgs/c/": None}, "imgs")
    {'b': ['1.png', 'more/2.png'], 'c': []}
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from tlhelpers import evidence
from tlhelpers.checks import Feedback, expect
from tlhelpers.config import Track, current_track
from tlhelpers.evaluation import label_accuracy
from tlhelpers.exercises.assignment_common import (
    Judge,
    backbone_facts,
    call_student,
    fail,
    layers_facts,
    not_a_model,
    not_the_backbone,
    one_probability_per_class,
    predictions_evidence,
    predictions_form,
)
from tlhelpers.i18n import _
from tlhelpers.quiet import stderr_as_notes

__all__ = [
    "DEMO_CLASSES", "DEMO_SOURCES", "JUDGES", "check_folder_task", "check_own_folder", "check_own_model",
    "check_predict", "check_predict_file", "class_files", "dataset_digests", "folder_task_evidence",
    "judge_folder_task", "judge_own_folder", "judge_own_model", "judge_predict", "judge_predict_file",
    "make_demo_folder", "own_model_evidence",
]


def _keep_batchnorm_frozen(name: str) -> Feedback:
    """A BatchNorm layer's weights changed."""
    return fail(_("BatchNorm layer {name!r} changed during training: keep BatchNorm layers frozen "
                  "(trainable = False).").format(name=name))


DEMO_CLASSES = {"offline": ("Pullover", "Sneaker", "Bag"), "imagenet": ("airplane", "cat", "ship")}


def make_demo_folder(folder: str | Path, per_class: int = 24, track: Track | None = None) -> Path:
    """Write a small image folder (one sub-folder per class, PNG files) to practise with.

    Images come from the track's dataset (Fashion-MNIST offline, CIFAR-10 imagenet), so
    :func:`check_own_folder` recognises them: the demo folder is for practice, and the
    point for using your own images needs a folder of your own.

    Raises:
        FileExistsError: ``folder`` exists and is not empty (your images are never touched).

    Example:
        >>> make_demo_folder("my_images")  # doctest: +SKIP
        PosixPath('my_images')
    """
    from PIL import Image

    from tlhelpers.data import FASHION_MNIST_CLASSES, load_dataset

    track = track or current_track()
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(_("{folder!r} exists and is not empty; the demo folder is written only into a new or empty "
                                "folder").format(folder=str(folder)))
    dataset = "fashion_mnist" if track.name == "offline" else track.dataset
    (_train, (x, y)), names = load_dataset(dataset)
    if dataset == "fashion_mnist":
        names = FASHION_MNIST_CLASSES
    rng = np.random.default_rng(0)
    for name in DEMO_CLASSES[track.name]:
        target = folder / name.replace("/", "_").replace(" ", "_").lower()
        target.mkdir(parents=True, exist_ok=True)
        picks = rng.choice(np.flatnonzero(y == names.index(name)), per_class, replace=False)
        for i, index in enumerate(picks):
            Image.fromarray(x[index].squeeze()).save(target / f"{i:03d}.png")
    return folder


DEMO_SOURCES = {"offline": ("fashion_mnist", "fashion_mnist_clean"), "imagenet": ("cifar10",)}


@lru_cache(maxsize=2)
def dataset_digests(names: tuple[str, ...]) -> frozenset[str]:
    """:func:`tlhelpers.evidence.digest` of every image of the named datasets (both splits), as an image file reads back.

    Example:
        >>> len(dataset_digests(("fashion_mnist",)))  # doctest: +SKIP
        70000
    """
    from tlhelpers.data import load_dataset

    found: set[str] = set()
    for name in names:
        ((x, _y), (x_test, _y_test)), _names = load_dataset(name)
        for images in (x, x_test):
            images = np.ascontiguousarray(images, dtype=np.uint8)
            if images.shape[-1] == 1:
                images = images[..., 0]  # a gray PNG reads back without the channel axis
            found.update(evidence.digest(image) for image in images)
    return frozenset(found)


def _relative(folder: str | Path) -> str:
    """``folder`` relative to the working folder (the notebook's), ``/``-separated; absolute if outside it."""
    path = Path(folder).resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()  # outside the notebook's folder: never among the files handed in


def _under(folder: str) -> str:
    """The prefix of the paths inside ``folder`` (a path from :func:`_relative`) in a listing."""
    return "" if folder in ("", ".") else f"{folder}/"


def _listing(folder: str | Path, images: bool = False) -> dict[str, str | None]:
    """:func:`tlhelpers.evidence.files` of ``folder`` as the grader holds them: paths from the working folder."""
    prefix = _under(_relative(folder))
    found = {prefix + path: digest for path, digest in evidence.files(folder, images=images).items()}
    return {prefix: None, **found} if prefix and Path(folder).is_dir() else found


def class_files(listing: dict[str, str | None], folder: str) -> dict[str, list[str]]:
    """The files of the image folder ``folder`` in ``listing``, by class (:func:`tlhelpers.data.class_folders`).

    The grader judges a folder by the listing it made before the notebook ran
    (:func:`tlhelpers.evidence.files`: ``/``-separated paths, folders ending in ``/``), not
    by the files on disk: the same rules as Keras' loader, applied to that listing.

    Example:
        >>> class_files({"imgs/b/2.png": None, "imgs/b/1.png": None, "imgs/c/": None, "imgs/notes.txt": None}, "imgs")
        {'b': ['1.png', '2.png'], 'c': []}
    """
    from tlhelpers.data import class_folders

    prefix = _under(folder)
    return class_folders(path[len(prefix):] for path in listing if path.startswith(prefix))


def judge_own_folder(found: dict[str, Any], listing: dict[str, str | None], track: Track) -> Feedback:
    """The verdict of :func:`check_own_folder` on its evidence and the folder's files (``listing``, images digested).

    Example:
        >>> judge_own_folder({"folder": "imgs"}, {}, current_track("offline")).correct
        False
    """
    from tlhelpers.data import IMAGE_EXTENSIONS

    folder = found["folder"]
    if folder is None:
        return fail(_("set the image folder (a path to my_images/, one sub-folder per class)."))
    if not any(path.startswith(_under(folder)) for path in listing):
        return fail(_("there is no folder {folder!r}: put your images in it, one sub-folder per class (and hand "
                      "it in with the notebook).").format(folder=folder))
    classes = class_files(listing, folder)
    files = [f"{_under(folder)}{c}/{name}" for c, names in classes.items() for name in names
             if Path(name).suffix.lower() in IMAGE_EXTENSIONS]
    if not files:
        return fail(_("{folder!r} has no image files in its class sub-folders.").format(folder=folder))
    sources = DEMO_SOURCES.get(track.name, (track.dataset,))
    try:
        with stderr_as_notes():  # a first load may render and cache the dataset: nothing of it on stderr in a graded cell
            digests = dataset_digests(sources)
    except Exception as err:  # the dataset is not on this machine: nothing to compare with
        return Feedback(True, _("{n} images; not compared with the track's dataset, which this machine "
                                "cannot load ({error}).").format(n=len(files), error=type(err).__name__))
    from_dataset = sum(listing[path] in digests for path in files if listing[path])
    if from_dataset:
        return fail(_(
            "{n} of the {total} images in {folder!r} are images of the track's dataset "
            "({sources}): that is the demo folder, or part of it. The demo folder is for practice: "
            "every question runs and is checked on it, but this point needs a folder of your own images. Replace "
            "them with images of your own ({folder!r}, one sub-folder per class) and run all cells again."
        ).format(n=from_dataset, total=len(files), folder=folder, sources=", ".join(sources)))
    return Feedback(True, _("{n} images of your own in {classes} classes ({names}): none "
                            "comes from the track's dataset.").format(n=len(files), classes=len(classes),
                                                                      names=", ".join(classes)))


def check_own_folder(folder: str | Path, track: Track | None = None) -> Feedback:
    """The image folder holds the student's own images, not the demo folder's.

    Every image file in its class sub-folders (nested folders included, as Keras' loader
    reads them: :func:`class_files`) is compared, pixel for pixel (by
    :func:`tlhelpers.evidence.digest`), with the images of the track's dataset, which is
    where :func:`make_demo_folder` takes its images from (renaming or moving the files does
    not change that). A folder that mixes in
    dataset images does not count either. Publishes the folder it checked: the grader judges
    the files that were handed in there, as it listed them before the notebook ran.

    Example:
        >>> check_own_folder("my_images")  # doctest: +SKIP
        ✅ Correct: 40 images of your own in 2 classes (horizontal, vertical): none comes from the track's dataset.
    """
    track = track or current_track()
    found = {"folder": None if folder is None else _relative(folder)}
    evidence.publish("own_folder", {}, found)
    return judge_own_folder(found, {} if folder is None else _listing(folder, images=True), track)


def folder_task_evidence(task: Any, folder: str | Path) -> dict[str, Any]:
    """What :func:`check_folder_task` reads from the task: its classes, images per class and split, test images seen in training.

    Example:
        >>> folder_task_evidence(None, "my_images")
        {'not a task': 'NoneType'}
    """
    from tlhelpers.data import Task
    from tlhelpers.evaluation import image_hashes

    if not isinstance(task, Task):
        return {"not a task": type(task).__name__}
    train = set(image_hashes(np.concatenate([task.x_train, task.x_val])))
    return {
        "folder": _relative(folder), "class_names": list(task.class_names),
        "sizes": {split: len(getattr(task, f"y_{split}")) for split in ("train", "val", "test")},
        "counts": {split: [int(np.sum(np.asarray(getattr(task, f"y_{split}")) == c)) for c in range(task.num_classes)]
                   for split in ("train", "val", "test")},
        "leaked": sum(h in train for h in image_hashes(task.x_test)),
    }


def judge_folder_task(found: dict[str, Any], listing: dict[str, str | None]) -> Feedback:
    """The verdict of :func:`check_folder_task` on its evidence; the classes must be the folder's (``listing``).

    Example:
        >>> judge_folder_task({"not a task": "dict"}, {}).correct
        False
    """
    if "not a task" in found:
        return fail(_("task should be a tlhelpers.data.Task (e.g. from data.load_folder_task), got {got}.").format(
            got=found["not a task"]))
    folder, names = found["folder"], found["class_names"]
    classes = list(class_files(listing, folder))
    if names != classes:
        return fail(_("the task's classes {names} should be the sub-folders of {folder!r}: {classes}.").format(
            names=names, folder=folder, classes=classes))
    for split in ("train", "val", "test"):
        missing = [name for name, count in zip(names, found["counts"][split]) if not count]
        if split != "val" and missing:
            return fail(_("the {split} split has no image of {missing}; every class needs examples in train and "
                          "test.").format(split=split, missing=missing))
    if found["leaked"]:
        return fail(_("{n} test image(s) also appear in the training or validation split: the test images must be "
                      "held out.").format(n=found["leaked"]))
    sizes = found["sizes"]
    return Feedback(
        True, _("{n} classes ({names}): {train} training, {val} validation and {test} held-out test images.").format(
            n=len(names), names=", ".join(names), train=sizes["train"], val=sizes["val"], test=sizes["test"]),
    )


def check_folder_task(task: Any, folder: str | Path) -> Feedback:
    """A task from the folder: its classes, each class in train and test, no test image in train; publishes its evidence.

    Example:
        >>> check_folder_task(task, "my_images")  # doctest: +SKIP
    """
    found = folder_task_evidence(task, folder)
    evidence.publish("folder_task", {}, found)
    return judge_folder_task(found, _listing(folder))


def own_model_evidence(model: Any, num_classes: int) -> dict[str, Any]:
    """What :func:`check_own_model` reads: the output shape and the digests of each backbone layer's weights.

    Example:
        >>> own_model_evidence(None, 3)
        {'not a model': 'NoneType'}
    """
    import keras

    from tlhelpers.transfer import find_backbone

    if not isinstance(model, keras.Model):
        return {"not a model": type(model).__name__}
    try:
        base, spec = find_backbone(model)
    except ValueError as err:
        return {"failed": str(err)}
    return {"backbone": spec.name, "input_size": base.input_shape[1], "num_classes": num_classes,
            "output_shape": list(model.output_shape),
            "layers": [[layer.name, type(layer).__name__, [evidence.digest(v.numpy()) for v in layer.weights]]
                       for layer in base.layers if layer.weights]}


def judge_own_model(found: dict[str, Any]) -> Feedback:
    """The verdict of :func:`check_own_model`: the weights against the pretrained ones (:func:`backbone_facts`).

    Example:
        >>> judge_own_model({"failed": "model 'm' has no backbone from the registry"}).correct
        False
    """
    if "not a model" in found:
        return not_a_model(found, variable=True)
    if "failed" in found:
        return fail(str(found["failed"]))
    num_classes = found["num_classes"]
    if tuple(found["output_shape"]) != (None, num_classes):
        return one_probability_per_class(num_classes, tuple(found["output_shape"]))
    try:
        spec, facts = layers_facts(found, found["layers"])
        pretrained = backbone_facts(spec.name, found["input_size"], pretrained=True)
    except ValueError as err:
        return not_the_backbone(err)
    changed = []
    for block in spec.block_names:
        layers = [(name, digests) for name, _, digests in found["layers"] if name in pretrained and facts[name].block == block]
        for name, digests in layers:
            if facts[name].batchnorm and tuple(digests) != pretrained[name].digests:
                return _keep_batchnorm_frozen(name)
        if any(tuple(digests) != pretrained[name].digests for name, digests in layers):
            changed.append(block)
    if not changed:
        return fail(_("the backbone is exactly the pretrained one: after training the head, unfreeze the top block(s) "
                      "and fine-tune them."))
    if spec.block_names[0] in changed:
        return fail(_("the lowest block ({block}) changed: with a few labels keep the lower blocks frozen, fine-tune only "
                      "the top.").format(block=spec.block_names[0]))
    return Feedback(True, _("fine-tuned {blocks} of the pretrained {backbone}; lower blocks and BatchNorm untouched.").format(
        blocks=", ".join(changed), backbone=spec.name))


def check_own_model(model: Any, num_classes: int) -> Feedback:
    """Fine-tuned from the pretrained backbone: top block(s) changed, the lowest block and BatchNorm not.

    The model's backbone is compared, block by block, with a freshly loaded pretrained copy
    (weight by weight, by :func:`tlhelpers.evidence.digest`). Publishes its evidence.

    Example:
        >>> check_own_model(model, task.num_classes)  # doctest: +SKIP
    """
    found = own_model_evidence(model, num_classes)
    evidence.publish("own_model", {}, found)
    return judge_own_model(found)


def judge_predict(found: dict[str, Any], margin: float) -> Feedback:
    """The verdict of :func:`check_predict` on its evidence (the predictions and the task's test labels).

    Example:
        >>> judge_predict({**predictions_evidence(np.array([0, 1])), "labels": [0, 1], "num_classes": 2}, 0.1).correct
        True
    """
    if "failed" in found:
        return fail(str(found["failed"]))
    y = np.asarray(found["labels"], int)
    form = predictions_form(found, len(y), found["num_classes"], what="predict(images)")
    if not form:
        return form
    accuracy = label_accuracy(y, found["predictions"])
    baseline = float(np.bincount(y, minlength=found["num_classes"]).max() / len(y))
    return expect(
        accuracy >= baseline + margin,
        _("held-out test accuracy {accuracy:.3f}; always guessing the largest class gives {baseline:.3f}.").format(
            accuracy=accuracy, baseline=baseline),
        _("held-out test accuracy {accuracy:.3f} is not clearly better than always guessing the largest class "
          "({baseline:.3f}). Hint: prepare test images exactly as the training images (size, channels, "
          "preprocessing).").format(accuracy=accuracy, baseline=baseline),
    )


def check_predict(predict: Any, task, margin: float = 0.1) -> Feedback:
    """``predict(images)`` beats always guessing the largest class by ``margin`` on the held-out test; publishes its evidence.

    Example:
        >>> check_predict(predict, task)  # doctest: +SKIP
    """
    predictions, failed = call_student(predict, task.x_test.copy(), what="predict")
    found: dict[str, Any] = {"failed": failed.message} if failed else {
        **predictions_evidence(predictions), "labels": np.asarray(task.y_test).tolist(), "num_classes": task.num_classes}
    evidence.publish("predict", {"margin": margin}, found)
    return judge_predict(found, margin)


def judge_predict_file(found: dict[str, Any], per_class: int) -> Feedback:
    """The verdict of :func:`check_predict_file` on its evidence: each file asked about, and the answer.

    A file's class is the folder it is in: answers that only read the path name it right,
    and so pass this check whether the grader or the kernel judges them.

    Example:
        >>> judge_predict_file({"folder": "imgs", "class_names": ["a", "b"], "answers": [["imgs/a/1.png", "a"]]}, 3).correct
        True
    """
    if "failed" in found:
        return fail(str(found["failed"]))
    folder, names, answers = found["folder"], list(found["class_names"]), found["answers"]
    for path, answer in answers:
        if not isinstance(answer, str) or answer not in names:
            shown = repr(answer) if isinstance(answer, str) else str(answer.get("repr"))
            return fail(_("predict_file({path!r}) should return a class name, one of {names}; got {shown}.").format(
                path=path, names=names, shown=shown))
    if not answers:
        return fail(_("there are no files in the class folders of {folder!r} to ask predict_file about.").format(
            folder=folder))
    classes = [path[len(_under(folder)):].split("/")[0] if path.startswith(_under(folder)) else None for path, _ in answers]
    if any(c not in names or classes.count(c) > per_class for c in classes):
        return fail(_("the answers are not for files the test picks (at most {per_class} of each class folder of "
                      "{folder!r}): was the test changed?").format(per_class=per_class, folder=folder))
    right = sum(c == answer for c, (_, answer) in zip(classes, answers))
    baseline = 1 / len(names)
    return expect(
        right / len(answers) > baseline,
        _("predict_file named {right} of {total} images right.").format(right=right, total=len(answers)),
        _("predict_file named only {right} of {total} images right (guessing gives {baseline:.2f}). Hint: load "
          "the file at the size, channels and preprocessing the model was trained with.").format(
            right=right, total=len(answers), baseline=baseline),
    )


def check_predict_file(predict_file: Any, folder: str | Path, class_names: tuple[str, ...], per_class: int = 3) -> Feedback:
    """``predict_file(path)`` names a class for image files, mostly the right one; publishes its evidence.

    Tried on the first ``per_class`` files of each class folder, nested folders included
    (:func:`tlhelpers.data.image_files`; hidden files left out).

    Example:
        >>> check_predict_file(predict_file, "my_images", task.class_names)  # doctest: +SKIP
    """
    from tlhelpers.data import image_files

    folder, rel = Path(folder), _relative(folder)
    files = image_files(folder)
    asked = [path for name in class_names for path in [p for p in files[name] if not p.name.startswith(".")][:per_class]]
    found: dict[str, Any] = {"folder": rel, "class_names": list(class_names), "answers": []}
    for path in asked:
        answer, failed = call_student(predict_file, path, what=f"predict_file({str(path)!r})")
        if failed:
            found = {"failed": failed.message}
            break
        found["answers"].append([_under(rel) + path.relative_to(folder).as_posix(),
                                 answer if isinstance(answer, str) else {"repr": repr(answer)}])
        if answer not in class_names:
            break
    evidence.publish("predict_file", {"per_class": per_class}, found)
    return judge_predict_file(found, per_class)


#: The judges of this assignment's checks, by the name they publish their evidence under
#: (see :data:`tlhelpers.exercises.assignment_checks.JUDGES`).
JUDGES: dict[str, Judge] = {
    "own_folder": lambda found, key, facts: judge_own_folder(found, facts["files"], current_track()),
    "folder_task": lambda found, key, facts: judge_folder_task(found, facts["files"]),
    "own_model": lambda found, key, facts: judge_own_model(found),
    "predict": lambda found, key, facts: judge_predict(found, key["margin"]),
    "predict_file": lambda found, key, facts: judge_predict_file(found, key["per_class"]),
}
