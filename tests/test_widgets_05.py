"""Lesson 05's widgets, driven headlessly: upload -> predictions, confusion explorer, Grad-CAM."""

from __future__ import annotations

import datetime as dt
import io

import keras
import matplotlib
import numpy as np
import pytest
from PIL import Image

matplotlib.use("Agg")

from tlhelpers import backbones, transfer  # noqa: E402
from tlhelpers.evaluation import Evaluation  # noqa: E402
from tlhelpers.pipeline import to_model_input  # noqa: E402
from tlhelpers.widgets.confusion_explorer import ConfusionExplorer  # noqa: E402
from tlhelpers.widgets.gradcam import PREDICTED, GradCamExplorer  # noqa: E402
from tlhelpers.widgets.upload import UploadPredictor, as_upload, encode_image  # noqa: E402

NAMES = ("Pullover", "Coat", "Sneaker")


# ---- upload --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def classifier() -> keras.Model:
    keras.utils.set_random_seed(0)
    return transfer.build_classifier(backbones.load_backbone("fashion_cnn", weights=None), len(NAMES))


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """Fashion-MNIST-like training images: a light object on a black background, 28x28."""
    x = np.zeros((6, 28, 28, 1), np.uint8)
    x[:, 6:22, 8:20] = np.linspace(120, 230, 6, dtype=np.uint8)[:, None, None, None]
    return x


@pytest.fixture
def predictor(classifier, reference) -> UploadPredictor:
    return UploadPredictor(classifier, NAMES, "fashion_cnn", k=3, reference_images=reference)


def _png(array: np.ndarray, mode: str | None = None, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _expected(model: keras.Model, image: np.ndarray) -> np.ndarray:
    """What training's preprocessing gives for one training image."""
    return np.asarray(model(to_model_input(image[None], "fashion_cnn"), training=False))[0]


def test_png_upload_in_the_ipywidgets_8_format_is_predicted_like_a_training_image(predictor, classifier, reference) -> None:
    png = encode_image(reference[2])
    predictor.upload.value = (as_upload(png, "pullover.png"),)  # what the browser sets
    assert len(predictor.predictions) == 3
    names = [name for name, _ in predictor.predictions]
    probs = [p for _, p in predictor.predictions]
    assert sorted(names) == sorted(NAMES) and probs == sorted(probs, reverse=True)
    expected = _expected(classifier, reference[2])
    assert names[0] == NAMES[int(expected.argmax())]
    np.testing.assert_allclose(probs, np.sort(expected)[::-1], atol=1e-4)  # probabilities as shown: 4 decimals
    # the same pixels the training image had: same size, same background, nothing inverted
    np.testing.assert_array_equal(predictor.prepared.image, reference[2])
    assert predictor.prepared.model_input.shape == (1, 32, 32, 1)
    assert "pullover.png" in predictor.message_text and "28x28" in predictor.message_text
    assert names[0] in predictor.result.value and "%" in predictor.result.value
    assert predictor.figure is not None and [ax.get_title() for ax in predictor.figure.axes] == [
        "your image", "what the model sees"]


def test_a_model_of_raw_images_gets_the_raw_upload(classifier, reference) -> None:
    from tlhelpers.serving import with_preprocessing

    served = with_preprocessing(classifier, "fashion_cnn")
    raw = UploadPredictor(served, NAMES, "fashion_cnn", k=3, reference_images=reference, raw_input=True)
    raw.handle((as_upload(encode_image(reference[2]), "pullover.png"),))
    expected = _expected(classifier, reference[2])  # the pipeline's prediction, outside the model
    np.testing.assert_allclose([p for _, p in raw.predictions], np.sort(expected)[::-1], atol=1e-4)


def test_browser_serialised_value_is_accepted(predictor, reference) -> None:
    """The kernel side of a real upload: JSON from the browser, deserialised by ipywidgets."""
    png = encode_image(reference[1])
    predictor.upload.set_state({"value": [{
        "name": "coat.png", "type": "image/png", "size": len(png), "content": memoryview(png),
        "last_modified": int(dt.datetime(2024, 1, 1).timestamp() * 1000),
    }]})
    assert len(predictor.predictions) == 3 and "coat.png" in predictor.message_text


def test_jpeg_photo_in_colour_on_a_light_background(predictor, classifier) -> None:
    rng = np.random.default_rng(0)
    photo = np.full((120, 160, 3), 235, np.uint8)  # a white table
    photo[30:90, 40:120] = rng.integers(20, 90, (60, 80, 3))  # a dark shoe
    predictor.upload.value = (as_upload(_png(photo, fmt="JPEG"), "shoe.jpg", "image/jpeg"),)
    prepared = predictor.prepared
    assert prepared.original.shape == (120, 160, 1)  # converted to the backbone's grayscale
    assert prepared.image.shape == (28, 28, 1)  # padded to a square, shrunk to the training size
    assert prepared.inverted and "inverted" in predictor.message_text
    assert prepared.image[0].mean() < 40  # background now dark, like the training images
    np.testing.assert_allclose(
        [p for _, p in predictor.predictions], np.sort(_expected(classifier, prepared.image))[::-1], atol=1e-4)
    predictor.match_background.value = False  # the checkbox re-predicts the same upload
    assert not predictor.prepared.inverted and predictor.prepared.image[0].mean() > 200


def test_photos_with_mixed_backgrounds_are_never_inverted(classifier) -> None:
    """CIFAR-like training images have all kinds of backgrounds: nothing to match."""
    rng = np.random.default_rng(0)
    varied = rng.integers(0, 256, (50, 1, 1, 1), dtype=np.uint8) * np.ones((1, 28, 28, 1), np.uint8)
    predictor = UploadPredictor(classifier, NAMES, "fashion_cnn", reference_images=varied)
    assert predictor.background is None and predictor.match_background.layout.display == "none"
    white = np.full((40, 40), 240, np.uint8)
    assert predictor.handle((as_upload(_png(white), "white.png"),))
    assert not predictor.prepared.inverted and predictor.prepared.image.min() > 200


@pytest.mark.parametrize("mode", ["RGBA", "P", "I;16", "1", "CMYK"])
def test_other_image_modes_are_converted(predictor, mode) -> None:
    array = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    fmt = "JPEG" if mode == "CMYK" else ("TIFF" if mode == "I;16" else "PNG")
    image = Image.fromarray(array).convert("L").convert(mode) if mode == "I;16" else Image.fromarray(array).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    assert predictor.handle((as_upload(buffer.getvalue(), f"x.{fmt.lower()}"),))
    assert len(predictor.predictions) == 3


@pytest.mark.parametrize(
    "content,name,expected",
    [
        (b"%PDF-1.4 definitely not an image", "homework.pdf", "not an image"),
        (b"", "empty.png", "empty"),
        (None, "tiny.png", "at least 16 pixels"),
        (None, "strip.png", "crop it"),
        (None, "truncated.png", "damaged"),
    ],
)
def test_junk_and_wrong_sizes_get_a_message_not_a_traceback(predictor, reference, content, name, expected) -> None:
    if name == "tiny.png":
        content = _png(np.zeros((4, 4), np.uint8))
    elif name == "strip.png":
        content = _png(np.zeros((20, 400), np.uint8))
    elif name == "truncated.png":
        content = _png(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8))[:300]
    predictor.upload.value = (as_upload(encode_image(reference[0]), "ok.png"),)
    assert predictor.predictions  # a good upload first ...
    predictor.upload.value = (as_upload(content, name, "application/octet-stream"),)  # ... then junk
    assert predictor.predictions == [] and predictor.prepared is None
    assert expected in predictor.message_text and name in predictor.message_text
    assert "Traceback" not in predictor.message.value and predictor.result.value == ""


def test_a_failing_model_or_odd_value_is_reported_in_the_widget(reference) -> None:
    def broken(x, training=False):
        raise RuntimeError("out of memory")

    predictor = UploadPredictor(broken, NAMES, "fashion_cnn")
    assert predictor.handle((as_upload(encode_image(reference[0]), "a.png"),)) is False
    assert "RuntimeError: out of memory" in predictor.message_text
    assert predictor.handle(("not a dict",)) is False and "ipywidgets 8" in predictor.message_text
    assert predictor.handle(()) is False  # an emptied upload is ignored
    assert predictor.match_background.layout.display == "none"  # no reference images: no checkbox


@pytest.mark.slow
def test_imagenet_track_path_converts_to_rgb_and_preprocesses() -> None:
    keras.utils.set_random_seed(0)
    base = backbones.load_backbone("mobilenet_v2", weights=None, input_size=32)
    model = transfer.build_classifier(base, 10)
    names = tuple(f"class{i}" for i in range(10))
    predictor = UploadPredictor(model, names, "mobilenet_v2", input_size=32, k=5)
    gray = np.random.default_rng(0).integers(0, 256, (50, 50), dtype=np.uint8)
    assert predictor.handle((as_upload(_png(gray), "gray.png"),))
    x = np.asarray(predictor.prepared.model_input)
    assert x.shape == (1, 32, 32, 3) and -1.0 <= x.min() and x.max() <= 1.0
    assert len(predictor.predictions) == 5


# ---- confusion explorer -------------------------------------------------------------------


@pytest.fixture
def evaluation() -> Evaluation:
    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 2, 1, 1, 0, 2, 2, 2])
    confidence = np.array([0.9, 0.6, 0.8, 0.7, 0.9, 0.5, 0.55, 0.9, 0.8, 0.7])
    probs = np.full((10, 3), 0.0)
    probs[np.arange(10), y_pred] = confidence
    probs[np.arange(10), (y_pred + 1) % 3] = 1 - confidence
    return Evaluation(y_true, probs, NAMES)


def test_confusion_explorer_shows_the_images_of_the_chosen_cell(evaluation) -> None:
    images = np.arange(10, dtype=np.uint8)[:, None, None, None] * np.ones((1, 5, 5, 1), np.uint8)
    explorer = ConfusionExplorer(images, evaluation, max_images=4)
    # starts on the largest mistake: 2 Pullovers predicted Coat, most confident first
    assert (explorer.true_class.value, explorer.predicted_class.value) == (0, 1)
    assert explorer.indices.tolist() == [2, 1]
    assert explorer.summary.value.startswith("mistakes: <b>2</b> of 4 <b>Pullover</b> images (50.0%)")
    titles = [ax.get_title() for ax in explorer.figure.axes if ax.get_visible()]
    assert titles == ["#2  p=0.80", "#1  p=0.60"]
    explorer.true_class.value = 1
    explorer.predicted_class.value = 0
    assert explorer.indices.tolist() == [6]
    # the matrix's buttons show the counts and select their cell
    assert [[explorer.cells[(t, p)].description for p in range(3)] for t in range(3)] == [
        [str(v) for v in row] for row in evaluation.confusion.tolist()]
    explorer.cells[(2, 2)].click()
    assert (explorer.true_class.value, explorer.predicted_class.value) == (2, 2)
    assert explorer.indices.tolist() == [7, 8, 9] and explorer.summary.value.startswith("correct:")
    assert explorer.cells[(2, 2)].layout.border and not explorer.cells[(0, 1)].layout.border
    explorer.select(2, 0)  # an empty cell
    assert explorer.indices.tolist() == [] and explorer.figure is None
    assert "<b>0</b> of 3" in explorer.summary.value


def test_confusion_explorer_rejects_mismatched_images(evaluation) -> None:
    with pytest.raises(ValueError, match="got 3 images for an evaluation of 10"):
        ConfusionExplorer(np.zeros((3, 5, 5, 1)), evaluation)


# ---- Grad-CAM explorer ----------------------------------------------------------------------


def _detector() -> keras.Model:
    """Class k fires on brightness in input channel k (hand-set weights)."""
    inputs = keras.Input((12, 12, 2))
    conv = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="detector")
    dense = keras.layers.Dense(2, activation="softmax", name="head")
    outputs = dense(keras.layers.GlobalAveragePooling2D()(conv(inputs)))
    kernel = np.zeros((3, 3, 2, 2), np.float32)
    kernel[:, :, 0, 0] = kernel[:, :, 1, 1] = 1.0
    conv.set_weights([kernel, np.full(2, -0.5, np.float32)])
    dense.set_weights([np.eye(2, dtype=np.float32) * 4, np.zeros(2, np.float32)])
    return keras.Model(inputs, outputs)


def test_gradcam_explorer_follows_the_chosen_image_and_class() -> None:
    model = _detector()
    x = np.zeros((3, 12, 12, 2), np.float32)
    x[:, 1:4, 1:4, 0] = 1.0  # class-0 signal at the top left
    x[:, 8:11, 8:11, 1] = 1.0  # class-1 signal at the bottom right
    x[0, 8:11, 8:11, 1] = 0.0  # image 0 holds only the class-0 signal
    evaluation = Evaluation(np.array([0, 1, 1]), model.predict(x, verbose=0), ("left", "right"))
    viewer = GradCamExplorer(model, x[..., :1], x, evaluation, candidates=[0, 1], layer_name="detector")
    assert viewer.image.value == 0 and viewer.explained == 0  # the predicted class
    assert np.unravel_index(viewer.heatmap.argmax(), viewer.heatmap.shape) == (2, 2)
    viewer.image.value = 1
    viewer.target.value = 1
    assert viewer.explained == 1 and viewer.heatmap.shape == (12, 12)
    assert np.unravel_index(viewer.heatmap.argmax(), viewer.heatmap.shape) == (9, 9)
    assert "right" in viewer.summary.value
    before = viewer.heatmap
    viewer.alpha.value = 0.8  # only the overlay changes
    assert viewer.heatmap is before and viewer.figure is not None
    viewer.target.value = PREDICTED
    assert viewer.explained == int(evaluation.y_pred[1])
    with pytest.raises(ValueError, match="candidates must be positions"):
        GradCamExplorer(model, x, x, evaluation, candidates=[7], layer_name="detector")
