"""Named layer stacks reproducing the architectures of the classic labs (shared/labs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from ..errors import SpecError
from .layers import LayerSpec
from .notation import parse_stack, stack_from_text

MNIST = (28, 28, 1)
CIFAR = (32, 32, 3)
# The 003 lab's ImageDataGenerator(rotation_range=10., zoom_range=0.1, shear_range=0.3) as
# Keras preprocessing layers: 10 degrees is 0.028 of a turn; shear has no such layer (left out).
LAB_AUGMENTATION = "rotate0.028-zoom0.1"


@dataclass(frozen=True)
class Recipe:
    """How a preset's lab trained it: the RunConfig values it used and the augmentation layers
    it put in front of the stack (notation, "" for none)."""

    epochs: int
    batch_size: int
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"
    validation_split: float = 0.1
    augmentation: str = ""
    note: str = ""                        # where it comes from, and what keraslab does differently

    def settings(self) -> dict:
        """The RunConfig fields the recipe sets (augmentation goes into the stack instead)."""
        return {"epochs": self.epochs, "batch_size": self.batch_size, "optimizer": self.optimizer,
                "learning_rate": self.learning_rate, "lr_schedule": self.lr_schedule,
                "validation_split": self.validation_split}

    def describe(self) -> str:
        """One line: the recipe's values."""
        text = (f"{self.optimizer} lr {self.learning_rate:g} ({self.lr_schedule}), batch {self.batch_size}, "
                f"{self.epochs} epochs, {self.validation_split:.0%} validation")
        return text + (f", augmentation {self.augmentation}" if self.augmentation else "")


# 003 J. Fix MNIST lab: model.fit(batch_size=128, epochs=20, validation_split=0.1) with adam
LAB003 = Recipe(20, 128, note="003 MNIST lab: adam, batch 128, 20 epochs, 10% held out for validation")


@dataclass(frozen=True)
class Preset:
    """A named stack; ``out`` in its notation adapts the output layer to any dataset's class count."""

    name: str
    description: str                      # one line
    dataset: str                          # the dataset it was designed for
    notation: str                         # canonical notation (format_stack(stack) == notation)
    source: str                           # which lab it comes from
    input_shape: tuple[int, ...] = MNIST  # shape of the dataset it was designed for
    num_classes: int = 10
    loss: str = "sparse_categorical_crossentropy"
    lab_params: Mapping[str, int] = field(default_factory=dict)  # counts the lab reports
    teaching: bool = False                # deliberately bad: the linter must object
    recipe: Recipe | None = None          # how its lab trained it (train --recipe)

    def recipe_stack(self) -> list[LayerSpec]:
        """The stack as its recipe trains it: the recipe's augmentation layers first."""
        aug = self.recipe.augmentation if self.recipe else ""
        return parse_stack(aug) + self.stack if aug else self.stack

    @property
    def stack(self) -> list[LayerSpec]:
        """A new list of the preset's (immutable) layers: parsed once, then copied."""
        return list(self._stack)

    @cached_property
    def _stack(self) -> tuple[LayerSpec, ...]:
        return tuple(parse_stack(self.notation))


_LIST = [
    Preset(
        "linear", "Linear classifier (logistic regression) on the raw pixels",
        "mnist", "flatten-out-softmax", "003 J. Fix MNIST lab: a linear classifier",
        lab_params={"total": 7850}, recipe=LAB003,
    ),
    Preset(
        "mlp", "Two hidden layers of 256 ReLU units (MLP 256-256)",
        "mnist", "flatten-dense256-relu-dense256-relu-out-softmax",
        "003 J. Fix MNIST lab: a fully connected 2 hidden layers classifier", recipe=LAB003,
    ),
    Preset(
        "cnn", "Vanilla CNN: three conv5x5-ReLU-maxpool blocks 16/32/64, dense 128-64",
        "mnist",
        "conv16k5-relu-maxpool2 | conv32k5-relu-maxpool2 | conv64k5-relu-maxpool2 | "
        "flatten-dense128-relu-dense64-relu-out-softmax",
        "003 J. Fix MNIST lab: a vanilla convolutional neural network", recipe=LAB003,
    ),
    Preset(
        "fancy", "All-conv net: (conv3x3-BN-ReLU)x2 per block 16/32/64, global average pooling",
        "mnist",
        "conv16k3-bn-relu-conv16k3-bn-relu-maxpool2 | conv32k3-bn-relu-conv32k3-bn-relu-maxpool2 | "
        "conv64k3-bn-relu-conv64k3-bn-relu | gap-out-softmax",
        "003 J. Fix MNIST lab: small kernels, no fully connected layers",
        lab_params={"trainable": 72890},
        recipe=Recipe(20, 128, augmentation=LAB_AUGMENTATION,
                      note="003 MNIST lab, with dataset augmentation: adam, batch 128, 20 epochs; "
                      "rotation 10 degrees and zoom 0.1 (the lab's shear 0.3 has no layer here)"),
    ),
    Preset(
        "avgpool", "Small conv net with average pooling: two conv32 3x3 ReLU + avgpool2 blocks",
        "mnist", "conv32k3:relu-avgpool2 | conv32k3:relu-avgpool2 | flatten-out-softmax",
        "002 optimizer Q&A: useful layers (the lab's conv part has 9,568 params; output added)",
        lab_params={"conv_part": 9568},
    ),
    Preset(
        "mnist99", "Worked MNIST solution that reached 99.1%: conv8-conv16-BN-pool, dense100 ELU",
        "mnist",
        "conv8k3:valid:relu:init=normal0.1-conv16k5:valid:relu:init=normal0.1-bn-maxpool2 | "
        "dropout0.2-flatten-dense100:elu:init=normal0.1-bn-dropout0.2-out:softmax",
        "001 assignment: the worked MNIST 99% solution",
        recipe=Recipe(20, 500, note="001 assignment: adam, batch 500, 20 epochs (the lab validated on "
                      "the test set; keraslab holds out 10% of the training set)"),
    ),
    Preset(
        "cifar_dense", "CIFAR-10 dense net: flatten, dense 200-150 ReLU",
        "cifar10", "flatten-dense200-relu-dense150-relu-out-softmax",
        "004 CIFAR-10: simple non-convolutional model", input_shape=CIFAR,
        lab_params={"total": 646260},
        recipe=Recipe(10, 32, learning_rate=0.005, note="004 CIFAR-10 lab: adam 0.005, batch 32, 10 epochs "
                      "(its first fit; the lab then goes on with batches of 256 and 2048)"),
    ),
    Preset(
        "cifar_conv1", "CIFAR-10 conv take #1: two strided convs (no activations) and a dense output",
        "cifar10", "conv10k4s2-conv20k3s2 | flatten-out-softmax",
        "004 CIFAR-10: convolution model take #1", input_shape=CIFAR,
        lab_params={"total": 15120},
    ),
    Preset(
        "cifar_conv2", "CIFAR-10 conv take #2: conv-BN-LeakyReLU x4 (strided), dense128-BN-dropout",
        "cifar10",
        "conv32k3-bn-leaky_relu-conv32k3s2-bn-leaky_relu-conv64k3-bn-leaky_relu-conv64k3s2-bn-leaky_relu | "
        "flatten-dense128-bn-leaky_relu-dropout0.5-out-softmax",
        "004 CIFAR-10: convolution model take #2", input_shape=CIFAR,
    ),
    Preset(
        "bad100", "The deliberately bad 100x100 RGB network from the warm-up (teaching example)",
        "bad100",
        "conv512k3:valid:init=zeros-relu-conv128k3:valid:init=zeros-relu-conv32k3:valid:init=zeros-relu-"
        "maxpool6 | conv8k10:init=normal0.05-relu-conv8k10:init=normal0.05-relu-maxpool3 | "
        "flatten-dense512-softmax-dropout0.5-dense512-softmax-out-sigmoid-dropout0.5",
        "000/001 warm-up: the network and its book of grudges", input_shape=(100, 100, 3),
        loss="categorical_crossentropy", teaching=True,
    ),
]

PRESETS: dict[str, Preset] = {p.name: p for p in _LIST}
DEFAULT_PRESET = "cnn"


def get_preset(name: str) -> Preset:
    """The preset called ``name``; SpecError listing the known names when unknown."""
    try:
        return PRESETS[name]
    except KeyError:
        raise SpecError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None


def recipe_of(model: str) -> tuple[Preset, Recipe]:
    """The preset named ``model`` and its recipe; SpecError when it is no preset or has none."""
    preset = get_preset(model.strip() if isinstance(model, str) else model)
    if preset.recipe is None:
        have = ", ".join(p.name for p in _LIST if p.recipe)
        raise SpecError(f"preset {preset.name!r} has no lab recipe; presets with one: {have}")
    return preset, preset.recipe


def resolve_model(model: str) -> list[LayerSpec]:
    """A preset name, else notation (or JSON text) parsed into a stack."""
    key = model.strip() if isinstance(model, str) else model
    if key in PRESETS:
        return PRESETS[key].stack
    return stack_from_text(model)
