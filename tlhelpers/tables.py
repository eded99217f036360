"""Tables and labels a lesson shows, in the course's language, while code keeps reading English names.

:func:`tlhelpers.strategies.compare`, :func:`tlhelpers.challenges.measure_cost` and the other
experiments return DataFrames whose column names lessons, tests and benchmarks index
(``results.test_accuracy``, ``gains.loc["none"].gain``): those names stay English
identifiers. They return a :class:`ShownFrame`, a DataFrame that only *shows* its headers
translated (:data:`HEADERS`) when the language is not English, in a notebook and when printed;
in English it is shown exactly as a plain DataFrame.

Labels kept in module constants that lessons print themselves are
:class:`tlhelpers.i18n.LazyText`.

Example:
    >>> frame = shown_frame({"test_accuracy": [0.5]})
    >>> list(frame.columns), list(frame.shown("en").columns)
    (['test_accuracy'], ['test_accuracy'])
    >>> list(frame.shown("zh").columns) in (["test accuracy"], ["测试准确率"])
    True
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tlhelpers.i18n import N_, SOURCE_LANGUAGE, current_language, translations

# column and index names of the tables lessons show -> the header a student reads
HEADERS: dict[str, str] = {
    # strategies.compare, widgets.label_budget.budget_experiment
    "strategy": N_("strategy"),
    "labels_per_class": N_("labels per class"),
    "seed": N_("seed"),
    "test_accuracy": N_("test accuracy"),
    "val_accuracy": N_("validation accuracy"),
    "epochs": N_("epochs"),
    "seconds": N_("seconds"),
    "labels": N_("labels"),
    "at_chance": N_("at chance"),
    "kept_epoch": N_("kept epoch"),
    # tuning: Search.results, BestResult.table, TrainPanel.runs_table
    "trial": N_("trial"),
    "fine_lr": N_("fine-tuning learning rate"),
    "blocks": N_("unfrozen blocks"),
    "dropout": N_("dropout"),
    "augment": N_("augmentation"),
    "fine_epochs": N_("fine-tuning epochs"),
    "status": N_("status"),
    "continued_from": N_("continued from trial"),
    "model": N_("model"),
    "settings": N_("settings"),
    "learning_rate": N_("learning rate"),
    "loss": N_("loss"),
    "val_loss": N_("validation loss"),
    "accuracy": N_("accuracy"),
    # challenges: measure_cost, backbone_speed
    "method": N_("method"),
    "train_images": N_("training images"),
    "input_size": N_("input size (px)"),
    "policy": N_("dtype policy"),
    "backbone": N_("backbone"),
    "params": N_("parameters"),
    "images_per_second": N_("images per second"),
    "pretrained_on": N_("pretrained on"),
    "weights_offline": N_("weights offline"),
    # challenges: pretraining_checks, check_warnings, shift_gains
    "shift": N_("shift"),
    "similarity": N_("centroid similarity"),
    "domain_accuracy": N_("domain classifier accuracy"),
    "probe_features": N_("probe on features"),
    "probe_pixels": N_("probe on pixels"),
    "probe_advantage": N_("advantage of the features"),
    "check": N_("check"),
    "warns_when": N_("warns when"),
    "warned": N_("warned"),
    "scratch": N_("from scratch"),
    "scratch_epochs": N_("epochs from scratch"),
    "probe": N_("linear probe"),
    "gain": N_("gain"),
    # inspection: registry_table, blocks_table
    "parameters": N_("parameters"),
    "features": N_("features"),
    "input size": N_("input size"),
    "channels": N_("channels"),
    "preprocessing built in": N_("preprocessing built in"),
    "pretrained on": N_("pretrained on"),
    "block": N_("block"),
    "layers": N_("layers"),
    "last layer": N_("last layer"),
    "output shape": N_("output shape"),
    "role": N_("role"),
    # evaluation: per_class_metrics, top_losses
    "class": N_("class"),
    "precision": N_("precision"),
    "recall": N_("recall"),
    "f1": N_("F1"),
    "support": N_("support"),
    "macro average": N_("macro average"),
    "index": N_("index"),
    "true": N_("true class"),
    "predicted": N_("predicted class"),
    "p_predicted": N_("p(predicted)"),
    "p_true": N_("p(true)"),
    # measured.crossover_table
    "target": N_("target"),
    "fine_tune": N_("fine-tuned"),
    "fine_tune_gain": N_("fine-tuning gain (points)"),
    "fine_tuned_runs": N_("seeds where an epoch beat the probe"),
    # challenges: forgetting_table
    "setting": N_("setting"),
    "target_accuracy": N_("target accuracy"),
    "source_before": N_("source accuracy before"),
    "source_after": N_("source accuracy after"),
    "feature_similarity": N_("feature similarity"),
    "forgotten": N_("forgotten"),
}

# cell values shown translated, per column (the frame keeps the English values)
VALUES: dict[str, dict[Any, str]] = {
    "warns_when": {"lower": N_("lower"), "higher": N_("higher")},
    "preprocessing built in": {"yes": N_("yes"), "no": N_("no")},
    "role": {"generic": N_("generic"), "in between": N_("in between"), "specific": N_("specific")},
}


def header(name: Any, language: str | None = None, headers: dict[str, str] | None = None) -> Any:
    """The header a student reads for a column ``name``: ``name`` itself in English, else its translation.

    ``headers`` takes precedence over :data:`HEADERS` (a table whose column means something else).

    Example:
        >>> header("val_loss", "en")
        'val_loss'
        >>> header("val_loss", "zh") in ("validation loss", "验证损失")
        True
    """
    found = {**HEADERS, **(headers or {})}
    if current_language(language) == SOURCE_LANGUAGE or not isinstance(name, str) or name not in found:
        return name
    return translations(language).gettext(found[name])


class ShownFrame(pd.DataFrame):
    """A DataFrame that shows its headers (and a few values) in the course's language.

    The data, column names and index are the English ones code reads; only ``repr`` (what
    ``print`` and a notebook's text output show) and ``_repr_html_`` (a notebook's table)
    translate. Operations such as ``round``, ``assign`` or ``set_index`` keep the class.
    """

    @property
    def _constructor(self) -> type[ShownFrame]:
        return ShownFrame

    def shown(self, language: str | None = None) -> pd.DataFrame:
        """A plain DataFrame with the headers a student reads (this frame's own in English)."""
        plain = pd.DataFrame(self)
        if current_language(language) == SOURCE_LANGUAGE:
            return plain
        gettext = translations(language).gettext

        def shown_header(name: Any) -> Any:
            return header(name, language, self.attrs.get("headers"))

        plain = plain.copy()
        for column, values in VALUES.items():
            if column in plain.columns:
                plain[column] = plain[column].map(lambda v, values=values: gettext(values[v]) if v in values else v)
        plain = plain.rename(columns=shown_header, index=shown_header)
        plain.columns = plain.columns.set_names([shown_header(n) for n in plain.columns.names])
        plain.index = plain.index.set_names([shown_header(n) for n in plain.index.names])
        return plain

    def __repr__(self) -> str:
        if current_language() == SOURCE_LANGUAGE:
            return super().__repr__()
        with pd.option_context("display.unicode.east_asian_width", True):  # Chinese headers stay aligned
            return repr(self.shown())

    def to_string(self, *args: Any, **kwargs: Any) -> str:
        if current_language() == SOURCE_LANGUAGE:
            return super().to_string(*args, **kwargs)
        with pd.option_context("display.unicode.east_asian_width", True):
            return self.shown().to_string(*args, **kwargs)

    def _repr_html_(self) -> str | None:
        if current_language() == SOURCE_LANGUAGE:
            return super()._repr_html_()
        return self.shown()._repr_html_()


def shown_frame(*args: Any, headers: dict[str, str] | None = None, **kwargs: Any) -> ShownFrame:
    """``pandas.DataFrame(...)`` as a :class:`ShownFrame` (or an existing frame turned into one).

    ``headers``: this table's own headers for some columns (``N_``-marked), over :data:`HEADERS`.

    Example:
        >>> type(shown_frame({"seed": [0]})).__name__
        'ShownFrame'
    """
    frame = ShownFrame(*args, **kwargs)
    if headers:
        frame.attrs["headers"] = headers
    return frame
