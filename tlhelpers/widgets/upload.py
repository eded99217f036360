"""Predict your own image: an upload button, the training preprocessing, top-k classes.

The uploaded file goes through exactly the steps the training images went through:
decoded with Pillow, turned to the backbone's channels (grayscale or RGB), padded to a
square and shrunk to the size of the training images, then
:func:`tlhelpers.pipeline.to_model_input` (resize to the backbone's input, its
``preprocess_input``). A file that is not an image, or an image too small or too large,
gets a message in the widget, never a traceback.

ipywidgets 8's ``FileUpload.value`` is a tuple of dicts with ``name``, ``type``, ``size``,
``content`` (a ``memoryview``) and ``last_modified``; :func:`as_upload` builds one, so
tests and the notebook can "upload" without a browser.

Example:
    >>> predictor = UploadPredictor(model, task.class_names, "fashion_cnn",
    ...                             reference_images=task.x_train)          # doctest: +SKIP
    >>> predictor                                                          # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import html
import io
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import ipywidgets as widgets
import numpy as np

from tlhelpers.display import finished, show
from tlhelpers.errors import UploadError
from tlhelpers.i18n import _
from tlhelpers.predictions import top_k

__all__ = ["UploadPredictor", "as_upload", "encode_image"]

MAX_BYTES = 20 * 1024 * 1024  # 20 MB: more than any phone photo
MAX_PIXELS = 50_000_000  # 50 megapixels
MIN_SIDE = 16
MAX_ASPECT = 5.0


def as_upload(content: bytes, name: str = "image.png", mime: str = "image/png") -> dict[str, Any]:
    """One entry of ipywidgets 8's ``FileUpload.value``, as the browser sends it.

    Example:
        >>> entry = as_upload(b"abc", "notes.txt", "text/plain")
        >>> entry["size"], type(entry["content"]).__name__
        (3, 'memoryview')
    """
    return {
        "name": name, "type": mime, "size": len(content), "content": memoryview(bytes(content)),
        "last_modified": dt.datetime.now(tz=dt.timezone.utc),
    }


def encode_image(image: np.ndarray, fmt: str = "PNG") -> bytes:
    """Encode a uint8 ``(H, W)`` / ``(H, W, 1)`` / ``(H, W, 3)`` array as PNG or JPEG bytes.

    Example:
        >>> encode_image(np.zeros((4, 4, 1), np.uint8))[:4]
        b'\\x89PNG'
    """
    from PIL import Image

    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, format=fmt)
    return buffer.getvalue()


def _border_means(images: np.ndarray) -> np.ndarray:
    """Mean brightness of each image's outermost pixels (its background, for centred objects)."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 3:
        x = x[None]
    x = x.mean(axis=-1)
    border = np.concatenate([x[:, 0, :], x[:, -1, :], x[:, :, 0], x[:, :, -1]], axis=1)
    return border.mean(axis=1)


def training_background(reference_images: np.ndarray | None, agreement: float = 0.9) -> str | None:
    """``"dark"`` or ``"light"`` if (nearly) all training images share that background, else None.

    Fashion-MNIST's objects sit on black; CIFAR-10's photos have every kind of background,
    so there is nothing to match and uploads are never inverted.

    Example:
        >>> training_background(np.zeros((10, 8, 8, 1), np.uint8))
        'dark'
        >>> training_background(np.arange(10, dtype=np.uint8)[:, None, None, None] * np.ones((1, 8, 8, 1), np.uint8) * 28)
    """
    if reference_images is None or len(reference_images) == 0:
        return None
    means = _border_means(np.asarray(reference_images)[:500])
    if np.mean(means < 64) >= agreement:
        return "dark"
    if np.mean(means > 191) >= agreement:
        return "light"
    return None


@dataclass
class PreparedUpload:
    """An upload after each preprocessing step."""

    original: np.ndarray  # decoded, in the backbone's channels, before resizing
    image: np.ndarray  # square, at the training images' size: what the model sees, in pixels
    model_input: Any  # after to_model_input: what the model is fed
    inverted: bool  # colours inverted to match the training images' background


def decode_image(
    content: bytes, channels: int, name: str = "upload", min_side: int = MIN_SIDE,
    max_pixels: int = MAX_PIXELS, max_aspect: float = MAX_ASPECT,
) -> np.ndarray:
    """Decode image bytes into a uint8 ``(H, W, channels)`` array, or raise :class:`UploadError`.

    Pillow reads the format from the bytes, not the file name; EXIF rotation (phone
    photos) is applied; transparency is put on white; 16-bit and palette images are
    converted.

    Example:
        >>> decode_image(encode_image(np.zeros((20, 30), np.uint8)), channels=3).shape
        (20, 30, 3)
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not content:
        raise UploadError(_("{name!r} is empty (0 bytes). Upload a PNG or JPEG image.").format(name=name))
    if len(content) > MAX_BYTES:
        raise UploadError(_("{name!r} is {size} MB; the limit is {limit} MB. Upload a smaller image.").format(
            name=name, size=f"{len(content) / 1e6:.1f}", limit=f"{MAX_BYTES / 1e6:.0f}"))
    try:
        with warnings.catch_warnings():  # huge images: our own limit below says it better
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content))
    except Image.DecompressionBombError:
        raise UploadError(_("{name!r} has too many pixels to open safely. Upload a smaller image.").format(
            name=name)) from None
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise UploadError(
            _("{name!r} is not an image Pillow can read ({kind}). Upload a PNG or JPEG image.").format(
                name=name, kind=type(err).__name__)
        ) from None
    width, height = image.size
    if min(width, height) < min_side:
        raise UploadError(_(
            "{name!r} is {width}x{height} pixels; it needs at least {min_side} pixels on each side. "
            "Upload a larger image."
        ).format(name=name, width=width, height=height, min_side=min_side))
    if width * height > max_pixels:
        raise UploadError(_(
            "{name!r} is {width}x{height} pixels ({megapixels} megapixels); the limit is "
            "{limit}. Upload a smaller image."
        ).format(name=name, width=width, height=height, megapixels=f"{width * height / 1e6:.0f}",
                 limit=f"{max_pixels / 1e6:.0f}"))
    if max(width, height) / min(width, height) > max_aspect:
        raise UploadError(_(
            "{name!r} is {width}x{height} pixels, more than {ratio} times as wide as high (or "
            "high as wide); crop it to the object first."
        ).format(name=name, width=width, height=height, ratio=f"{max_aspect:g}"))
    try:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            image = image.convert("RGBA")
            background = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, image)
        if image.mode.startswith("I;16") or image.mode in ("I", "F"):
            array = np.asarray(image, dtype=np.float64)
            span = array.max() - array.min()
            array = (array - array.min()) / span * 255 if span else np.zeros_like(array)
            image = Image.fromarray(array.astype(np.uint8))
        image = image.convert("L" if channels == 1 else "RGB")
        array = np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError) as err:  # truncated or corrupt data
        raise UploadError(_(
            "{name!r} looks like an image but its data is damaged ({kind}: {error}). Upload another file."
        ).format(name=name, kind=type(err).__name__, error=err)) from None
    return array[..., None] if array.ndim == 2 else array


def prepare_upload(
    content: bytes, backbone: str, input_size: int | None = None, image_size: int | None = None,
    reference_images: np.ndarray | None = None, match_background: bool = True, name: str = "upload",
) -> PreparedUpload:
    """Everything between uploaded bytes and the model's input, as in training.

    Args:
        content: the file's bytes.
        backbone: registry name: gives channels and ``preprocess_input``.
        input_size: the backbone's input side (default: the registry row's).
        image_size: side of the training images before :func:`to_model_input` (e.g. 28
            for Fashion-MNIST); default: from ``reference_images``, else ``input_size``.
        reference_images: some training images (raw pixels): their size, and their
            background to match.
        match_background: invert the upload when its background is light and the
            training images' is dark (or the other way round), as Fashion-MNIST's
            light-on-black pictures differ from photos on a white table. Only when the
            training images share one background (:func:`training_background`).
        name: the file name, for messages.

    Raises:
        UploadError: not an image, or too small / large / elongated.

    Example:
        >>> prepared = prepare_upload(png_bytes, "fashion_cnn", reference_images=task.x_train)  # doctest: +SKIP
    """
    from PIL import Image, ImageOps

    from tlhelpers.backbones import get_spec
    from tlhelpers.pipeline import to_model_input

    spec = get_spec(backbone)
    size = spec.input_size if input_size is None else int(input_size)
    if image_size is None:
        image_size = int(np.asarray(reference_images).shape[1]) if reference_images is not None else size
    original = decode_image(content, spec.channels, name)
    pil = Image.fromarray(original[..., 0] if spec.channels == 1 else original)
    # pad to a square with the border colour (a crop would cut the object), then shrink
    # with Pillow's antialiasing to the training images' size
    border = tuple(int(round(v)) for v in np.median(
        np.concatenate([original[0], original[-1], original[:, 0], original[:, -1]]), axis=0))
    fill = border[0] if spec.channels == 1 else border
    square = ImageOps.pad(pil, (image_size, image_size), method=Image.LANCZOS, color=fill)
    image = np.asarray(square, dtype=np.uint8)
    image = image[..., None] if image.ndim == 2 else image
    inverted = False
    background = training_background(reference_images) if match_background else None
    if background is not None:
        upload = "dark" if _border_means(image)[0] < 127.5 else "light"
        if upload != background:
            image, inverted = 255 - image, True
    return PreparedUpload(original, image, to_model_input(image[None], backbone, size), inverted)


class UploadPredictor:
    """Upload an image, see what the model sees and its top-k classes with probabilities.

    ``model`` takes what :func:`tlhelpers.pipeline.to_model_input` makes, or, with
    ``raw_input=True``, raw 0..255 pixels (a model from
    :func:`tlhelpers.serving.with_preprocessing`, which does the rest itself): the widget
    then hands it the upload decoded, padded and shrunk to the training images' size.

    Attributes:
        upload: the ``FileUpload`` button (accepts images, one at a time).
        match_background: checkbox: invert colours when the background differs from training
            (shown only when the training images share one background).
        message: HTML line with what happened (errors in red).
        result: HTML table of the top-k classes.
        output: the uploaded image and the model's view of it.
        predictions: the last top-k ``[(class, probability), ...]``; empty after an error.
        prepared: the last :class:`PreparedUpload`.
        widget: the whole dashboard (also shown when the object is the cell's last line).

    Example:
        >>> predictor = UploadPredictor(model, task.class_names, track.backbone, track.input_size,
        ...                             reference_images=task.x_train)  # doctest: +SKIP
        >>> predictor.upload.value = (as_upload(png_bytes, "shoe.png"),)  # doctest: +SKIP
        >>> predictor.predictions                                        # doctest: +SKIP
        [('Sneaker', 0.91), ('Ankle boot', 0.06), ('Sandal', 0.02)]
    """

    def __init__(
        self, model: Any, class_names: Sequence[str], backbone: str, input_size: int | None = None,
        k: int = 3, reference_images: np.ndarray | None = None, raw_input: bool = False,
    ) -> None:
        self.model = model
        self.raw_input = raw_input
        self.class_names = tuple(class_names)
        self.backbone = backbone
        self.input_size = input_size
        self.k = k
        self.reference_images = None if reference_images is None else np.asarray(reference_images)[:500]
        self.background = training_background(self.reference_images)
        self.predictions: list[tuple[str, float]] = []
        self.prepared: PreparedUpload | None = None
        self.figure = None
        self.upload = widgets.FileUpload(
            accept="image/*", multiple=False, description=_("Upload image"), layout=widgets.Layout(width="auto")
        )
        self.match_background = widgets.Checkbox(
            value=True, description=_("match the training images' background"), indent=False,
            layout=widgets.Layout(display="flex" if self.background else "none"),  # nothing to match
        )
        self.message = widgets.HTML(value=_("Upload a PNG or JPEG image."))
        self.result = widgets.HTML(value="")
        self.output = widgets.Output()
        self.upload.observe(self._on_upload, names="value")
        self.match_background.observe(lambda _: self._repredict(), names="value")
        self.widget = widgets.VBox(
            [widgets.HBox([self.upload, self.match_background]), self.message,
             widgets.HBox([self.output, self.result])]
        )
        self._last: tuple[bytes, str] | None = None

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def message_text(self) -> str:
        """The message without HTML tags (for tests and the browser check)."""
        import re

        return html.unescape(re.sub(r"<[^>]+>", "", self.message.value))

    def _on_upload(self, change: dict[str, Any]) -> None:
        self.handle(change["new"])

    def handle(self, value: Sequence[dict[str, Any]]) -> bool:
        """Predict the last file of a ``FileUpload.value``; any problem becomes a message.

        Returns:
            True when predictions were made.
        """
        if not value:
            return False
        entry = value[-1]
        name = str(entry.get("name", "upload")) if hasattr(entry, "get") else "upload"
        try:
            if not hasattr(entry, "get") or "content" not in entry:
                raise UploadError(_("unexpected upload value {kind}: expected ipywidgets 8 entries").format(
                    kind=type(entry).__name__))
            content = entry["content"]
            data = content.tobytes() if isinstance(content, memoryview) else bytes(content)
            self._last = (data, name)
            return self.predict_bytes(data, name)
        except UploadError as err:
            self._fail(str(err))
        except Exception as err:  # never a traceback in the widget: say what happened instead
            self._fail(_("Could not use {name!r}: {kind}: {error}").format(name=name, kind=type(err).__name__, error=err))
        return False

    def _repredict(self) -> None:
        if self._last is not None:
            try:
                self.predict_bytes(*self._last)
            except Exception as err:  # the same promise as handle()
                self._fail(_("Could not use {name!r}: {kind}: {error}").format(
                    name=self._last[1], kind=type(err).__name__, error=err))

    def _fail(self, text: str) -> None:
        self.predictions, self.prepared, self.figure = [], None, None
        self.result.value = ""
        self.output.clear_output()
        self.message.value = f'<span style="color:#b42318">⚠️ {html.escape(text)}</span>'

    def predict_bytes(self, content: bytes, name: str = "upload") -> bool:
        """Preprocess ``content`` as in training, predict, and show the result.

        Raises:
            UploadError: not an image, or a wrong size (``handle`` turns it into a message).
        """
        prepared = prepare_upload(
            content, self.backbone, self.input_size, reference_images=self.reference_images,
            match_background=self.match_background.value, name=name,
        )
        x = prepared.image[None].astype(np.float32) if self.raw_input else prepared.model_input
        probs = np.asarray(self.model(x, training=False))[0]
        if probs.shape != (len(self.class_names),):
            raise UploadError(_("the model outputs {outputs} values but there are {classes} class names").format(
                outputs=probs.shape[0], classes=len(self.class_names)))
        self.prepared, self.predictions = prepared, top_k(probs[None], self.class_names, self.k)[0]
        h, w = prepared.original.shape[:2]
        note = _(" Colours inverted to match the training images' background.") if prepared.inverted else ""
        self.message.value = html.escape(_("{name}: {w}x{h} pixels, shown to the model as below.{note}").format(
            name=name, w=w, h=h, note=note))
        rows = "".join(
            f"<tr><td>{i}.</td><td><b>{html.escape(label)}</b></td><td style='text-align:right'>{p:.1%}</td>"
            f"<td><div style='background:#4c78a8;height:10px;width:{max(1, round(120 * p))}px'></div></td></tr>"
            for i, (label, p) in enumerate(self.predictions, start=1)
        )
        caption = _("top {k}").format(k=len(self.predictions))
        self.result.value = f"<table class='tl-predictions'><caption>{caption}</caption>{rows}</table>"
        self._draw()
        return True

    def _draw(self) -> None:
        import matplotlib.pyplot as plt

        assert self.prepared is not None
        fig, axes = plt.subplots(1, 2, figsize=(4.2, 2.2))
        for ax, image, title in zip(
            axes, (self.prepared.original, self.prepared.image), (_("your image"), _("what the model sees"))
        ):
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray" if image.shape[-1] == 1 else None)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
        self.figure = finished(fig)
        show(self.output, fig)
