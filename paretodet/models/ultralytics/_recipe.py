"""The Ultralytics trainer's recipe as data: what a fine-tuning run reads besides the model and the images.

A family's recipe (``UltralyticsFamily.recipe``, ``YoloV5Family.recipe``) is one :class:`FinetuneRecipe` with
the run's own settings (epochs, batch, seed, device) left at their defaults; :meth:`FinetuneRecipe.for_run`
fills them in for one run. The trainer (``_train.finetune``) reads every setting from the recipe, and a
trained stage's cache key hashes the family's recipe (``DetectorFamily.training_recipe``), so a changed
recipe trains again. Importing this module imports no torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paretodet.models._base import TrainRecipe

__all__ = ["FinetuneRecipe"]


@dataclass(frozen=True)
class FinetuneRecipe:
    """Fine-tuning with ``optimizer`` (AdamW) without mosaic; the learning rate rises over ``warmup_epochs``
    (fractions allowed), then decays linearly from ``lr`` to ``lr * lrf``.

    ``lr_fit``: ``(a, b)`` makes a family's default rate ``round(a / (b + nc), 6)`` for data of ``nc`` classes
    (Ultralytics' own fit for short runs is ``(0.002 * 5, 4)``) instead of ``lr``; :meth:`for_run` applies it.

    Example:
        >>> from paretodet.models import TrainRecipe
        >>> FinetuneRecipe(lr_fit=(0.01, 4.0)).for_run(TrainRecipe(epochs=2), nc=6).lr
        0.001
    """

    epochs: int = 1
    lr: float = 5e-4
    lrf: float = 0.1
    batch: int = 16
    seed: int = 0
    device: str = "cpu"  # cpu, cuda or cuda:N
    warmup_epochs: float = 0.0
    lr_fit: tuple[float, float] | None = None
    optimizer: str = "AdamW"
    momentum: float = 0.9
    warmup_bias_lr: float = 0.0  # AdamW: the bias learning rate rises from 0 like the others
    mosaic: float = 0.0
    close_mosaic: int = 0
    amp: bool = False

    def fitted_lr(self, nc: int) -> float | None:
        """The rate ``lr_fit`` gives for data of ``nc`` classes (None: this recipe has no fit).

        Example:
            >>> FinetuneRecipe(lr_fit=(0.01, 4.0)).fitted_lr(80), FinetuneRecipe().fitted_lr(80)
            (0.000119, None)
        """
        return None if self.lr_fit is None else round(self.lr_fit[0] / (self.lr_fit[1] + nc), 6)

    def for_run(self, run: TrainRecipe, *, nc: int) -> FinetuneRecipe:
        """This recipe for one run: ``run``'s epochs, batch, seed and device, and its learning rate (None: this
        recipe's, fitted to ``nc`` classes when it has an ``lr_fit``)."""
        fitted = self.fitted_lr(nc)
        lr = self.lr if fitted is None else fitted
        return dataclasses.replace(
            self,
            epochs=run.epochs,
            lr=lr if run.lr is None else run.lr,
            batch=run.batch,
            seed=run.seed,
            device=run.device,
            lr_fit=None,
        )
