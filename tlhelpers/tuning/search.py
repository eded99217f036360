"""Searching lesson 06's space: the tuners and their budgets, a guarded resumable project, the best tested once.

:func:`open_search` creates a RandomSearch, BayesianOptimization or Hyperband tuner
(:data:`TUNERS`) in ``build/tuner/<project>`` and guards the project: the same project with
the same setup resumes (finished trials are not run again); a project that holds a
*different* search is refused with a message (:class:`~tlhelpers.errors.SearchChangedError`),
and nothing is deleted unless ``overwrite=True``. :class:`Budget` says how many trials and
fine-tuning epochs a setting costs; :meth:`Search.evaluate_best` retrains the winner and
measures it once on the test split, next to the probe and the default recipe.

Example:
    >>> Budget.of("hyperband", max_trials=6, epochs=3).trials
    6
    >>> search = open_search(hypermodel, "random", max_trials=6, epochs=3)  # doctest: +SKIP
    >>> print(search.run())                                                  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import keras
import keras_tuner
import numpy as np

from tlhelpers.config import DEFAULT_SEED, build_dir, set_seed
from tlhelpers.errors import SearchChangedError
from tlhelpers.i18n import N_, LazyText, _
from tlhelpers.recipe import Recipe, default_recipe, fine_tune
from tlhelpers.tables import shown_frame
from tlhelpers.training import accuracy
from tlhelpers.tuning.hypermodel import (
    OBJECTIVE,
    TrialProgress,
    TrialRecord,
    TwoPhaseHyperModel,
    _expected_noise_silenced,
)
from tlhelpers.tuning.plots import plot_results
from tlhelpers.tuning.space import HYPERPARAMETERS

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["FINGERPRINT_FILE", "HYPERBAND_KEYS", "SEARCHED_BOOLEAN", "TUNERS", "BestResult", "Budget", "RunSummary",
           "Search", "SearchChangedError", "TunerKind", "default_directory", "fingerprint_differences",
           "hyperband_schedule", "open_search"]

FINGERPRINT_FILE = "tlhelpers_search.json"
HYPERBAND_KEYS = ("tuner/epochs", "tuner/initial_epoch", "tuner/bracket", "tuner/round", "tuner/trial_id")


# ---- tuners and their budgets ----------------------------------------------------------------


@dataclass(frozen=True)
class TunerKind:
    """One row of :data:`TUNERS`."""

    name: str
    cls: type
    budget: str  # how the number of trials is set
    description: str  # shown translated (a LazyText)


TUNERS: dict[str, TunerKind] = {
    kind.name: kind
    for kind in (
        TunerKind("random", keras_tuner.RandomSearch, "max_trials", LazyText(N_(
                  "independent random draws; a strong baseline that needs no tuning itself"))),
        TunerKind("bayesian", keras_tuner.BayesianOptimization, "max_trials", LazyText(N_(
                  "a Gaussian process models score vs hyperparameters and proposes promising points "
                  "(the first few trials are random)"))),
        TunerKind("hyperband", keras_tuner.Hyperband, "max_epochs", LazyText(N_(
                  "many short trials, the best continued for longer (successive halving); "
                  "epochs sets the longest trial and the schedule sets the number of trials"))),
    )
}


def hyperband_schedule(max_epochs: int, factor: int = 3) -> list[dict[str, int]]:
    """The rounds one Hyperband iteration runs (Keras Tuner's arithmetic), in order.

    Each row: ``bracket``, ``round``, ``trials``, ``epochs`` (a trial's last epoch) and
    ``initial_epoch`` (where continued trials start).

    Example:
        >>> [(r["trials"], r["epochs"]) for r in hyperband_schedule(3, 3)]
        [(3, 1), (1, 3), (2, 3)]
    """
    if max_epochs < 1 or factor < 2:
        raise ValueError(_("Hyperband needs max_epochs >= 1 and factor >= 2, got {max_epochs} and {factor}").format(
            max_epochs=max_epochs, factor=factor))
    brackets, epochs = 0, float(max_epochs)
    while epochs >= 1:
        epochs, brackets = epochs / factor, brackets + 1
    end_size = math.ceil(1 + math.log(max_epochs, factor))
    rows = []
    for bracket in reversed(range(brackets)):
        for rnd in range(bracket + 1):
            size = math.ceil(end_size / (bracket + 1) * factor ** (bracket - rnd))
            last = math.ceil(max_epochs / factor ** (bracket - rnd))
            first = math.ceil(max_epochs / factor ** (bracket - rnd + 1)) if rnd else 0
            rows.append({"bracket": bracket, "round": rnd, "trials": size, "epochs": last, "initial_epoch": first})
    return rows


@dataclass(frozen=True)
class Budget:
    """How many trials and fine-tuning epochs a search will run.

    Example:
        >>> Budget.of("random", max_trials=6, epochs=3).fine_epochs
        18
    """

    kind: str
    trials: int
    fine_epochs: int

    @classmethod
    def of(cls, kind: str, max_trials: int, epochs: int, factor: int = 3) -> Budget:
        """The budget of ``kind`` with these settings (Hyperband ignores ``max_trials``)."""
        _kind(kind)
        if kind == "hyperband":
            rows = hyperband_schedule(epochs, factor)
            return cls(kind, sum(r["trials"] for r in rows), sum(r["trials"] * (r["epochs"] - r["initial_epoch"]) for r in rows))
        return cls(kind, max_trials, max_trials * epochs)

    def __str__(self) -> str:
        return _("{kind}: {trials} trials, {epochs} fine-tuning epochs in all (plus the probe, fitted once)").format(
            kind=self.kind, trials=self.trials, epochs=self.fine_epochs)


def _kind(kind: str) -> TunerKind:
    if kind not in TUNERS:
        raise ValueError(_("unknown tuner {name!r}; choose one of: {choices}").format(name=kind, choices=", ".join(TUNERS)))
    return TUNERS[kind]


# ---- a guarded, resumable search --------------------------------------------------------------


def default_directory() -> Path:
    """Where tuner projects go unless told otherwise: ``build/tuner`` (git-ignored).

    Example:
        >>> default_directory().parts[-2:]
        ('build', 'tuner')
    """
    return build_dir() / "tuner"


SEARCHED_BOOLEAN = N_("searched (False or True)")  # shown translated


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in d.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, dict):  # in the space, a Boolean: Keras Tuner's config names no values
            flat[f"{prefix}{key}"] = SEARCHED_BOOLEAN if prefix == "space." else value
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def fingerprint_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable differences between two fingerprints.

    Example:
        >>> fingerprint_differences({"epochs": 2}, {"epochs": 3})
        ['epochs: was 2, now 3']
    """
    a, b = _flatten(old), _flatten(new)
    def shown(value: Any) -> str:
        return _("(absent)") if value is _ABSENT else _(SEARCHED_BOOLEAN) if value == SEARCHED_BOOLEAN else repr(value)

    return [_("{key}: was {old}, now {new}").format(key=key, old=shown(a.get(key, _ABSENT)), new=shown(b.get(key, _ABSENT)))
            for key in sorted(set(a) | set(b)) if a.get(key, _ABSENT) != b.get(key, _ABSENT)]


_ABSENT = object()


def _fingerprint(hypermodel: TwoPhaseHyperModel, kind: str, epochs: int, factor: int, options: dict[str, Any]) -> dict[str, Any]:
    tuner: dict[str, Any] = {"kind": kind, "objective": OBJECTIVE, "options": options}
    tuner.update({"max_epochs": epochs, "factor": factor} if kind == "hyperband" else {"epochs": epochs})
    return json.loads(json.dumps({"tuner": tuner, "space": hypermodel.space_config(), "setup": hypermodel.setup()}))


@dataclass
class BestResult:
    """The best configuration retrained once, and measured once on the test split next to the
    probe and the default recipe trained on the same labels.

    Attributes:
        trial_id, hyperparameters: the best trial.
        search_val_accuracy: its validation accuracy in the search.
        retrain_val_accuracy, test_accuracy: the retrained model's.
        kept_epoch: the epoch the retrain kept (0: no epoch beat the probe on validation).
        epochs: fine epochs of the retrain.
        probe_val_accuracy, probe_test_accuracy: the linear probe's (the head phase).
        default_recipe: the recipe the lessons recommend for this track.
        default_val_accuracy, default_test_accuracy, default_kept_epoch: that recipe's run.
        model: the retrained best model.
    """

    trial_id: str
    hyperparameters: dict[str, Any]
    search_val_accuracy: float
    retrain_val_accuracy: float
    test_accuracy: float
    kept_epoch: int
    epochs: int
    probe_val_accuracy: float
    probe_test_accuracy: float
    default_recipe: Recipe
    default_val_accuracy: float
    default_test_accuracy: float
    default_kept_epoch: int
    model: keras.Model = field(repr=False)

    def table(self) -> pd.DataFrame:
        """One row each for the probe, the default recipe and the tuner's best: validation and test accuracy."""
        d, hp = self.default_recipe, self.hyperparameters
        rows = [
            (_("linear probe (the head phase)"), "-", self.probe_val_accuracy, self.probe_test_accuracy),
            (_("default recipe"), _("{blocks} blocks, peak {rate}, up to {epochs} epochs").format(
                blocks=d.blocks, rate=f"{d.learning_rate:g}", epochs=d.max_epochs),
             self.default_val_accuracy, self.default_test_accuracy),
            (_("tuner's best (trial {trial})").format(trial=self.trial_id),
             _("{blocks} blocks, peak {rate}, {epochs} epochs").format(
                 blocks=hp["blocks"], rate=_fmt(hp["fine_lr"]), epochs=self.epochs)
             + (_(", augmented") if hp.get("augment") else ""), self.retrain_val_accuracy, self.test_accuracy),
        ]
        return shown_frame(rows, columns=["model", "settings", "val_accuracy", "test_accuracy"]).set_index("model")

    def __str__(self) -> str:
        hp = ", ".join(f"{k}={_fmt(v)}" for k, v in self.hyperparameters.items())
        return _(
            "best trial {trial}: {hp}\n"
            "  validation accuracy in the search: {search_val:.3f}\n"
            "  retrained ({epochs} fine epochs, kept epoch {kept}), validation accuracy: {retrain_val:.3f}\n"
            "  test accuracy (measured once): {test:.3f}; the probe {probe_test:.3f}, "
            "the default recipe {default_test:.3f}"
        ).format(trial=self.trial_id, hp=hp, search_val=self.search_val_accuracy, epochs=self.epochs,
                 kept=self.kept_epoch, retrain_val=self.retrain_val_accuracy, test=self.test_accuracy,
                 probe_test=self.probe_test_accuracy, default_test=self.default_test_accuracy)


def _fmt(value: Any) -> str:
    return f"{value:.2g}" if isinstance(value, float) and value < 0.01 else str(value)


@dataclass
class RunSummary:
    """What :meth:`Search.run` did: which trials it ran and which it found finished."""

    project: str
    reused: list[str]
    ran: list[str]
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = _("project {project}: reused {reused} finished trial(s), ran {ran} new").format(
            project=self.project, reused=len(self.reused), ran=len(self.ran))
        return text + (_(", {failed} failed (their errors are in search.tuner.oracle.trials)").format(
            failed=len(self.failed)) if self.failed else "")


class Search:
    """A tuner, its hypermodel and its project folder; made by :func:`open_search`.

    Attributes:
        tuner: the Keras Tuner object (``RandomSearch``, ``BayesianOptimization``, ``Hyperband``).
        hypermodel: the :class:`TwoPhaseHyperModel`.
        kind, epochs, max_trials, factor: the settings.
        project_dir: where trials, checkpoints and the fingerprint live.
        resumed: the project existed and was reloaded.
    """

    def __init__(self, tuner: keras_tuner.Tuner, hypermodel: TwoPhaseHyperModel, kind: str, epochs: int,
                 max_trials: int, factor: int, project_dir: Path, resumed: bool) -> None:
        self.tuner, self.hypermodel, self.kind = tuner, hypermodel, kind
        self.epochs, self.max_trials, self.factor = epochs, max_trials, factor
        self.project_dir, self.resumed = project_dir, resumed
        self._tested: BestResult | None = None

    @property
    def budget(self) -> Budget:
        """Trials and fine epochs this search runs in all (finished ones included)."""
        return Budget.of(self.kind, self.max_trials, self.epochs, self.factor)

    def finished_trials(self) -> list[str]:
        """Ids of the trials that completed."""
        return [t.trial_id for t in self.tuner.oracle.trials.values() if t.status == "COMPLETED"]

    def remaining_trials(self) -> int:
        """Trials still to run within the budget (an interrupted trial counts: it is run again)."""
        ended = [t for t in self.tuner.oracle.trials.values() if t.status in ("COMPLETED", "FAILED", "INVALID", "STOPPED")]
        return max(self.budget.trials - len(ended), 0)

    def run(self, progress: bool | Callable[[TrialRecord, int, int], None] = True) -> RunSummary:
        """Run the trials still missing from the budget; finished trials are never run again.

        Args:
            progress: ``True`` shows a tqdm bar; a callable gets ``(record, done, total)``
                after each new trial; ``False`` is quiet.

        Example:
            >>> print(search.run())  # doctest: +SKIP
            project build/tuner/lesson06: reused 0 finished trial(s), ran 6 new
        """
        reused = self.finished_trials()
        failed_before = set(self._failed())
        total = self.remaining_trials()
        bar = None
        if progress is True:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, desc=_("{kind} search").format(kind=self.kind), unit=_("trial"))
        done = 0

        def on_trial(record: TrialRecord) -> None:
            nonlocal done
            done += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f"K={record.values['blocks']}, fine_lr={record.values['fine_lr']:.1e}, val_acc={record.val_accuracy:.3f}")
            elif callable(progress):
                progress(record, done, total)

        first = len(self.hypermodel.records)
        try:
            with _expected_noise_silenced():
                self.tuner.search(epochs=self.epochs, verbose=0, callbacks=[TrialProgress(on_trial)])
        finally:
            if bar is not None:
                bar.close()
        ran = [r.trial_id for r in self.hypermodel.records[first:]]
        return RunSummary(str(self.project_dir), reused, ran, [t for t in self._failed() if t not in failed_before])

    def _failed(self) -> list[str]:
        return [t.trial_id for t in self.tuner.oracle.trials.values() if t.status == "FAILED"]

    def results(self) -> pd.DataFrame:
        """One row per trial: hyperparameters, validation accuracy, epochs used; best first.

        Columns: ``trial``, ``fine_lr``, ``blocks``, ``dropout``, ``augment``,
        ``val_accuracy`` (best epoch), ``fine_epochs``, ``status``, and for
        Hyperband ``continued_from``.
        """
        rows = []
        for trial in self.tuner.oracle.trials.values():
            values = trial.hyperparameters.values
            metrics = trial.metrics
            get = lambda name: metrics.get_best_value(name) if metrics.exists(name) else np.nan  # noqa: E731
            row = {"trial": trial.trial_id, **{k: values.get(k) for k in HYPERPARAMETERS},
                   "val_accuracy": get(OBJECTIVE), "fine_epochs": get("fine_epochs"),
                   "status": trial.status}
            if self.kind == "hyperband":
                row["continued_from"] = values.get("tuner/trial_id")
            rows.append(row)
        table = shown_frame(rows, columns=["trial", *HYPERPARAMETERS, "val_accuracy",
                                            "fine_epochs", "status"] + (["continued_from"] if self.kind == "hyperband" else []))
        table["fine_epochs"] = table["fine_epochs"].astype("Int64")
        return table.sort_values("val_accuracy", ascending=False, na_position="last", kind="stable").reset_index(drop=True)

    def plot(self) -> Figure:
        """Validation accuracy over the fine-tuning learning rate (log axis), one colour per depth."""
        return plot_results(self.results(), self.hypermodel.spec.block_names, self.hypermodel.space.fine_lr)

    def best_trial(self) -> keras_tuner.engine.trial.Trial:
        """The finished trial with the highest validation accuracy.

        Raises:
            RuntimeError: no trial has finished yet.
        """
        trials = self.tuner.oracle.get_best_trials(1)
        if not trials:
            raise RuntimeError(_("no finished trial in {folder} yet: run the search first (search.run())").format(
                folder=self.project_dir))
        return trials[0]

    def evaluate_best(self, x_test: Any, y_test: Any, epochs: int | None = None, recipe: Recipe | None = None,
                      progress: bool = False) -> BestResult:
        """Retrain the best configuration once and measure it once on test, next to the probe and the default recipe.

        The retrain runs the trial's recipe (:meth:`TwoPhaseHyperModel.trial_recipe`: the
        probe's head, then ``epochs`` fine epochs on its schedule) and keeps the epoch with
        the best validation accuracy, the probe itself included, as the course's recipe does
        (:func:`tlhelpers.recipe.fine_tune`). The default recipe trains on the same labels.
        ``x_test`` are raw images; they are converted for the backbone in chunks. A second call
        for the same configuration returns the first measurement instead of looking at the
        test split again.

        Args:
            x_test, y_test: the task's untouched test split.
            epochs: fine epochs (default: the search's ``epochs``; Hyperband's ``max_epochs``).
            recipe: the recipe to compare with (default: the active track's,
                :func:`tlhelpers.recipe.default_recipe`).
            progress: show a bar over the epochs of each of the two trainings.
        """
        trial = self.best_trial()
        hp = self.hypermodel.hyperparameters(
            **{k: v for k, v in trial.hyperparameters.values.items() if k not in HYPERBAND_KEYS})
        values = dict(hp.values)
        if self._tested is not None:
            if self._tested.hyperparameters == values:
                return self._tested
            warnings.warn(_(
                "the test split was already used once in this search; every further look at it makes "
                "the test accuracy a less honest estimate"), stacklevel=2,
            )
        h, recipe = self.hypermodel, recipe or default_recipe()
        with _expected_noise_silenced():
            def run(chosen: Recipe, dropout: float) -> tuple[keras.Model, Any]:
                set_seed(h.seed)
                model = h.probe_model(dropout)
                return model, fine_tune(model, h.x_train, h.y_train, validation_data=(h.x_val, h.y_val), recipe=chosen,
                                        seed=h.seed, progress=progress)

            def test_of(model: keras.Model) -> float:
                return _test_accuracy(model, x_test, y_test, h.backbone, h.input_size)

            epochs = epochs or self.epochs
            model, best = run(h.trial_recipe(hp, epochs), values["dropout"])
            default_model, default = run(recipe, 0.2)
            probe = h.probe_model(0.2)
        self._tested = BestResult(
            trial_id=trial.trial_id, hyperparameters=values, search_val_accuracy=float(trial.score),
            retrain_val_accuracy=best.val_accuracy, test_accuracy=test_of(model), kept_epoch=best.best_epoch,
            epochs=epochs, probe_val_accuracy=best.start_val_accuracy, probe_test_accuracy=test_of(probe),
            default_recipe=recipe, default_val_accuracy=default.val_accuracy,
            default_test_accuracy=test_of(default_model), default_kept_epoch=default.best_epoch, model=model,
        )
        return self._tested


def _test_accuracy(model: keras.Model, images: Any, labels: Any, backbone: str, input_size: int,
                   chunk: int = 1000) -> float:
    """:func:`tlhelpers.training.accuracy` on raw ``images``, converted for ``backbone`` ``chunk`` at a time.

    Converting a chunk at a time bounds the memory a large test split takes at the
    backbone's input size; each chunk is predicted in batches of 256, as ``accuracy`` does.
    """
    from tlhelpers.pipeline import to_model_input

    labels = np.asarray(labels)
    if len(images) != len(labels) or len(labels) == 0:
        raise ValueError(_("{images} images but {labels} labels; both must match and be non-empty").format(
            images=len(images), labels=len(labels)))
    correct = 0
    for start in range(0, len(labels), chunk):
        part = labels[start:start + chunk]
        share = accuracy(model, to_model_input(images[start:start + chunk], backbone, input_size), part)
        correct += round(share * len(part))  # the chunk's count of right answers, exactly
    return correct / len(labels)


def open_search(
    hypermodel: TwoPhaseHyperModel,
    tuner: str = "random",
    *,
    max_trials: int = 6,
    epochs: int = 3,
    project_name: str = "lesson06",
    directory: str | os.PathLike | None = None,
    overwrite: bool = False,
    factor: int = 3,
    seed: int = DEFAULT_SEED,
    tuner_options: dict[str, Any] | None = None,
) -> Search:
    """Create a tuner, or reopen its project: the same setup resumes, a different one is refused.

    The project folder gets a fingerprint (:data:`FINGERPRINT_FILE`) of the tuner settings,
    the search space and the setup (backbone, weights, data, head phase, seed). Reopening
    with the same fingerprint reuses every finished trial (raise ``max_trials`` to run
    more); a different fingerprint raises :class:`SearchChangedError` listing what
    changed, and deletes nothing.

    Args:
        hypermodel: the :class:`TwoPhaseHyperModel`.
        tuner: ``"random"``, ``"bayesian"`` or ``"hyperband"`` (see :data:`TUNERS`).
        max_trials: trials in all (random, bayesian); Hyperband's schedule sets its own.
        epochs: fine-tuning epochs per trial; Hyperband's ``max_epochs``.
        project_name: folder name under ``directory``.
        directory: default :func:`default_directory` (``build/tuner``).
        overwrite: delete the project's trials and start over.
        factor: Hyperband's reduction factor.
        seed: the tuner's seed (which configurations are drawn).
        tuner_options: further arguments of the tuner class, e.g. ``{"num_initial_points": 2}``
            for BayesianOptimization (part of the fingerprint).

    Raises:
        ValueError: unknown tuner, or a budget below 1.
        SearchChangedError: the project holds a different search.

    Example:
        >>> search = open_search(hypermodel, "hyperband", epochs=3)  # doctest: +SKIP
    """
    kind = _kind(tuner)
    if max_trials < 1 or epochs < 1:
        raise ValueError(_("max_trials and epochs must be at least 1, got max_trials={max_trials}, epochs={epochs}").format(
            max_trials=max_trials, epochs=epochs))
    if not project_name or Path(project_name).name != project_name:
        raise ValueError(_("project_name must be a plain folder name, got {name!r}").format(name=project_name))
    directory = Path(directory) if directory is not None else default_directory()
    project_dir = directory / project_name
    options = dict(tuner_options or {})
    fingerprint = _fingerprint(hypermodel, kind.name, epochs, factor, options)
    stamp = project_dir / FINGERPRINT_FILE
    existing = project_dir.is_dir() and any(project_dir.iterdir())
    if existing and not overwrite:
        _refuse_if_different(project_dir, stamp, fingerprint)

    arguments: dict[str, Any] = dict(hypermodel=hypermodel, objective=keras_tuner.Objective(OBJECTIVE, "max"), seed=seed,
                                     directory=str(directory), project_name=project_name, overwrite=overwrite)
    if kind.name == "hyperband":
        arguments.update(max_epochs=epochs, factor=factor)
    else:
        arguments.update(max_trials=max_trials)
    clash = set(options) & set(arguments)
    if clash:
        raise ValueError(_("tuner_options may not set {names}: open_search sets them from its own arguments").format(
            names=sorted(clash)))
    arguments.update(options)
    resumed = not overwrite and _tuner_state_file(project_dir).is_file()  # what makes Keras Tuner reload
    with contextlib.redirect_stdout(io.StringIO()):  # its "Reloading Tuner from ...": search.resumed says it
        instance = kind.cls(**arguments)
    if not resumed:
        project_dir.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps({
            "what": "tlhelpers.tuning search fingerprint: open_search refuses a different search in this folder",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "fingerprint": fingerprint,
        }, indent=2))
    return Search(instance, hypermodel, kind.name, epochs, max_trials, factor, project_dir, resumed)


def _refuse_if_different(project_dir: Path, stamp: Path, fingerprint: dict[str, Any]) -> None:
    finished = len(list(project_dir.glob("trial_*/trial.json")))
    keep = _("Nothing was changed or deleted ({finished} trial(s) kept in {folder}). To keep them, choose a new "
             "project_name (e.g. {name!r}); to delete them and start over, pass overwrite=True.").format(
        finished=finished, folder=project_dir, name=project_dir.name + "_2")
    if not stamp.is_file():
        raise SearchChangedError(_(
            "{folder} is not empty but holds no tlhelpers search fingerprint ({file}), so "
            "whether its trials match this search is unknown. {keep}"
        ).format(folder=project_dir, file=FINGERPRINT_FILE, keep=keep))
    try:
        old = json.loads(stamp.read_text())["fingerprint"]
    except (ValueError, KeyError) as err:
        raise SearchChangedError(_("{file} cannot be read ({error}). {keep}").format(file=stamp, error=err, keep=keep)) from err
    changes = fingerprint_differences(old, fingerprint)
    if changes:
        raise SearchChangedError(_(
            "{folder} holds a different search; reusing its trials would mix results that "
            "cannot be compared. What changed:\n  {changes}\n{keep}"
        ).format(folder=project_dir, changes="\n  ".join(changes), keep=keep))


def _tuner_state_file(project_dir: str | os.PathLike) -> Path:
    """Keras Tuner's own state file in a project folder: while it exists, a new tuner resumes the project.

    A tuner created without ``overwrite`` reloads the project (``BaseTuner.__init__``) when
    the folder holds ``<tuner id>.json`` (``tuner0.json`` unless ``$KERASTUNER_TUNER_ID``
    names another), which it saves, with ``oracle.json``, each time a trial ends; else it
    starts afresh. ``oracle.json`` alone is no sign: it is written as a trial begins.
    :func:`open_search` looks for this file before it creates the tuner.

    Example:
        >>> _tuner_state_file("build/tuner/lesson06").name
        'tuner0.json'
    """
    return Path(project_dir) / f"{os.environ.get('KERASTUNER_TUNER_ID', 'tuner0')}.json"
