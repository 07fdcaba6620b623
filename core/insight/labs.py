"""The 003 MNIST lab's results table: each claim, the lab's figure and the run config that reproduces it."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from ..config import RunConfig
from ..errors import KeraslabError
from ..rundir.reader import load_run

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


# where and under which name a run was trained, not how: a run that differs only here is the same training
_NOT_SETTINGS = ("name", "data_dir", "parent", "diff", "sweep")


def _settings(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in _NOT_SETTINGS}


def find_claim_run(logdir: str | os.PathLike, config: RunConfig) -> tuple[Path, float] | None:
    """The newest completed ``lab-*`` run in ``logdir`` trained with ``config``'s settings (its
    name and data folder aside) that has a test accuracy, with that accuracy: what ``labs``
    takes instead of training the row again. An ensemble's seed-0 member is thus the
    augmentation row's run. Damaged or foreign run directories are passed over."""
    want = _settings(config.to_dict())
    found = []
    for path in Path(logdir).glob("lab-*"):
        try:
            run = load_run(path)
            if run.status != "completed" or _settings(RunConfig.from_dict(dict(run.run_config)).to_dict()) != want:
                continue
            accuracy = (run.results.get("test") or {}).get("accuracy")
            if isinstance(accuracy, (int, float)) and not isinstance(accuracy, bool) and 0 <= accuracy <= 1:
                found.append((path.stat().st_mtime, path, float(accuracy)))
        except (KeraslabError, TypeError, AttributeError, OSError):
            continue
    return max(found)[1:] if found else None


def recipe_lines() -> list[str]:
    """Every preset with a lab recipe: its values and where they come from."""
    from ..model.presets import PRESETS

    out = []
    for p in PRESETS.values():
        if p.recipe:
            out.append(f"{p.name:<12} {p.recipe.describe()}")
            out.append(f"{'':<12} {p.recipe.note}")
    return out
