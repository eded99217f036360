"""The search space of lesson 06: what a search varies, and how it is declared to Keras Tuner.

A :class:`SearchSpace` holds the peak fine-tuning learning rate (searched on a log scale),
the unfreeze depth ``K`` in blocks of the backbone registry, and optionally the dropout
before the head and augmentation. :meth:`SearchSpace.declare` registers them on a
``keras_tuner.HyperParameters``; :class:`tlhelpers.tuning.hypermodel.TwoPhaseHyperModel`
builds each trial from the values it returns.

Example:
    >>> space = SearchSpace(fine_lr=(1e-5, 1e-3), blocks=(1, 2), dropout=(0.0, 0.5))
    >>> space.validate(4).searched()
    ['fine_lr', 'blocks', 'dropout']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras_tuner
import numpy as np

from tlhelpers.i18n import _

__all__ = ["HYPERPARAMETERS", "Range", "SearchSpace"]

HYPERPARAMETERS = ("fine_lr", "blocks", "dropout", "augment")  # what SearchSpace declares
Range = tuple[float, float]


@dataclass(frozen=True)
class SearchSpace:
    """What a search varies. A pair ``(low, high)`` is searched; a single number is fixed.

    Attributes:
        fine_lr: peak learning rate of the fine phase, searched on a log scale.
        blocks: unfreeze depth ``K`` in backbone blocks, ``(lowest, highest)`` inclusive;
            ``None`` means ``0`` (base stays frozen, the head trains on) up to every block.
        dropout: dropout before the head in the fine phase: a fixed number or a range
            searched in steps of 0.1.
        augment: augmentation in the fine phase (:func:`tlhelpers.preprocessing.input_augmentation`):
            ``False``, ``True``, or ``(False, True)`` to let the search decide.

    Example:
        >>> SearchSpace(fine_lr=(1e-5, 1e-3), blocks=(1, 2)).searched()
        ['fine_lr', 'blocks']
    """

    fine_lr: Range = (1e-5, 1e-2)
    blocks: tuple[int, int] | None = None
    dropout: float | Range = 0.2
    augment: bool | tuple[bool, bool] = False

    def searched(self) -> list[str]:
        """Names of the hyperparameters that vary (the others are fixed)."""
        varies = {
            "fine_lr": True,
            "blocks": self.blocks is None or self.blocks[0] != self.blocks[1],
            "dropout": _is_range(self.dropout),
            "augment": isinstance(self.augment, tuple),
        }
        return [name for name, searched in varies.items() if searched]

    def block_range(self, num_blocks: int) -> tuple[int, int]:
        """``(lowest, highest)`` depth for a backbone with ``num_blocks`` blocks.

        Raises:
            ValueError: a depth outside ``0..num_blocks`` or ``lowest > highest``.

        Example:
            >>> SearchSpace().block_range(4)
            (0, 4)
        """
        low, high = (0, num_blocks) if self.blocks is None else self.blocks
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (low, high)) or not 0 <= low <= high <= num_blocks:
            raise ValueError(_(
                "blocks={blocks!r} is not a depth range for this backbone; give (lowest, highest) "
                "with 0 <= lowest <= highest <= {n} (its number of blocks), or None for 0..{n}"
            ).format(blocks=self.blocks, n=num_blocks))
        return int(low), int(high)

    def validate(self, num_blocks: int) -> SearchSpace:
        """Check every entry; return ``self``.

        Raises:
            ValueError: naming the bad entry and what is accepted.

        Example:
            >>> SearchSpace(fine_lr=(1e-2, 1e-5)).validate(4)
            Traceback (most recent call last):
            ...
            ValueError: fine_lr=(0.01, 1e-05) must be a pair (low, high) with 0 < low < high, e.g. (1e-5, 1e-2)
        """
        if not _is_range(self.fine_lr):
            raise ValueError(_("fine_lr={value!r} must be a pair (low, high) with 0 < low < high, e.g. (1e-5, 1e-2)").format(
                value=self.fine_lr))
        low, high = self.fine_lr
        if not 0 < low < high:
            raise ValueError(_("fine_lr={value!r} must be a pair (low, high) with 0 < low < high, e.g. (1e-5, 1e-2)").format(
                value=self.fine_lr))
        if _is_range(self.dropout):
            low, high = self.dropout
            if not 0 <= low < high < 1:
                raise ValueError(_(
                    "dropout={value!r} must be a pair (low, high) with 0 <= low < high < 1, e.g. (0.0, 0.5)"
                ).format(value=self.dropout))
        elif not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(_("dropout={value!r} must be a number in [0, 1) or a pair (low, high)").format(
                value=self.dropout))
        if not (isinstance(self.augment, bool) or self.augment == (False, True)):
            raise ValueError(_("augment={value!r} must be False, True, or (False, True) to search both").format(
                value=self.augment))
        self.block_range(num_blocks)
        return self

    def declare(self, hp: keras_tuner.HyperParameters, num_blocks: int) -> dict[str, float | int]:
        """Register the hyperparameters on ``hp``; return the values of this trial.

        Example:
            >>> hp = keras_tuner.HyperParameters()
            >>> SearchSpace().declare(hp, num_blocks=4)["blocks"]
            0
        """
        low, high = self.block_range(num_blocks)
        values: dict[str, float | int] = {
            "fine_lr": hp.Float("fine_lr", *map(float, self.fine_lr), sampling="log"),
            "blocks": hp.Int("blocks", low, high) if low < high else hp.Fixed("blocks", low),
        }
        if _is_range(self.dropout):
            values["dropout"] = hp.Float("dropout", *map(float, self.dropout), step=0.1)
        else:
            values["dropout"] = hp.Fixed("dropout", float(self.dropout))
        if isinstance(self.augment, tuple):
            values["augment"] = hp.Boolean("augment")
        else:
            values["augment"] = hp.Fixed("augment", bool(self.augment))
        return values


def _is_range(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and len(value) == 2
