"""The 003 MNIST lab's results table: each claim, the lab's figure and the run config that reproduces it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..config import RunConfig

# The lab: "Introducing Dropout (after the standardizing layer and before the dense layers)";
# it names no rates: 0.2 on the input and 0.5 before each dense layer are keraslab's choice.
CNN_DROPOUT = (
    "dropout0.2 | conv16k5-relu-maxpool2 | conv32k5-relu-maxpool2 | conv64k5-relu-maxpool2 | "
    "flatten-dropout0.5-dense128-relu-dropout0.5-dense64-relu-dropout0.5-out-softmax"
)
QUICK = {"dataset": "digits", "epochs": 1}  # --quick: a smoke run of every row, offline, in seconds


@dataclass(frozen=True)
class LabClaim:
    """One row of the lab's table: what it claims, its figure, and how keraslab trains it."""

    key: str
    claim: str
    lab_accuracy: float            # test accuracy the lab states
    preset: str                    # whose recipe (and stack, unless ``model`` is given)
    model: str | None = None       # a stack other than the preset's own (notation)
    augment: bool = False          # with the recipe's augmentation
    members: int = 0               # an ensemble: the average of this many runs of the row above


CLAIMS = [
    LabClaim("cnn", "cnn: three conv5x5 blocks, dense 128-64", 0.989, "cnn"),
    LabClaim("cnn_dropout", "cnn + dropout", 0.992, "cnn", model=CNN_DROPOUT),
    LabClaim("fancy", "fancy: conv3x3-BN pairs, GAP (72,890 trainable)", 0.992, "fancy"),
    LabClaim("fancy_aug", "fancy + data augmentation", 0.995, "fancy", augment=True),
    LabClaim("ensemble", "average of four fancy + augmentation", 0.9968, "fancy", augment=True, members=4),
]


def claim_config(claim: LabClaim, *, dataset: str = "mnist", seed: int = 0, quick: bool = False,
                 data_dir: str | None = None) -> RunConfig:
    """The RunConfig of one training run of ``claim`` (an ensemble's member ``seed``): the
    preset's lab recipe, without its augmentation unless the claim has it."""
    config = RunConfig(dataset=dataset, model=claim.preset, seed=seed, data_dir=data_dir).with_recipe()
    if not claim.augment:
        config.model, config.name = claim.preset, None
    if claim.model is not None:
        config.model = claim.model
    config.name = f"lab-{claim.key}" + (f"-s{seed}" if claim.members else "")
    if quick:
        config = dataclasses.replace(config, **QUICK)
    return config.validate()


def recipe_lines() -> list[str]:
    """Every preset with a lab recipe: its values and where they come from."""
    from ..model.presets import PRESETS

    out = []
    for p in PRESETS.values():
        if p.recipe:
            out.append(f"{p.name:<12} {p.recipe.describe()}")
            out.append(f"{'':<12} {p.recipe.note}")
    return out
