"""Lineage: runs as a tree by parent (config.json's run.parent), and a child's metric change against its parent."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import LOSSES, OPTIMIZERS, RunConfig
from ..errors import ConfigError, KeraslabError, SpecError
from ..model.keras_import import import_model
from ..rundir.reader import load_run
from ..tfevents import read_keras_model_json
from .summary import RunSummary

# the metric a child is compared on: the first both runs have; (name, short name, in points)
_METRICS = (("val_accuracy", "val_acc", True), ("accuracy", "acc", True),
            ("val_loss", "val_loss", False), ("loss", "loss", False))  # fmt: skip


@dataclass(frozen=True)
class TreeRow:
    """One run in tree order: its depth and its parent among the runs (None for a root)."""

    run: RunSummary
    depth: int
    parent: RunSummary | None
    last: bool = True  # the last child of its parent (a tree draws └─ for it, ├─ for the others)
    guides: tuple[bool, ...] = ()  # per ancestor below the root: whether its later siblings follow (│)


def parent_ref(run: RunSummary, logdir: Path) -> str:
    """What a child trained into ``logdir`` records as its parent: the run's name when the run
    is one of ``logdir``'s (that is how lineage finds it again), else its path."""
    try:
        return run.path.resolve().relative_to(Path(logdir).resolve()).as_posix()
    except ValueError:
        return str(run.path.resolve())


def _keys(run: RunSummary) -> list[str]:
    keys = [run.name, str(run.path)]
    if run.logdir is not None:
        try:
            keys.append(run.path.relative_to(run.logdir).as_posix())
        except ValueError:
            pass
    return keys


def find_parent(run: RunSummary, runs: Sequence[RunSummary]) -> RunSummary | None:
    """The run ``run.parent`` names among ``runs`` (matched by name or path, never opened)."""
    if not run.parent:
        return None
    for other in runs:
        if other is not run and run.parent in _keys(other):
            return other
    return None


def lineage_tree(runs: Sequence[RunSummary]) -> list[TreeRow]:
    """The runs depth first, each child under its parent in the order given; a run whose parent
    is not among them is a root. Every run appears once, whatever loops the files claim."""
    named: dict[str, list[RunSummary]] = {}  # each key of find_parent's -> the runs it names, in order
    for other in runs:
        for key in _keys(other):
            named.setdefault(key, []).append(other)
    parents = {id(r): next((o for o in named.get(r.parent, ()) if o is not r), None) if r.parent else None
               for r in runs}  # (find_parent's answer, without a walk of every run for each)
    children: dict[int, list[RunSummary]] = {}
    for r in runs:
        p = parents[id(r)]
        if p is not None:
            children.setdefault(id(p), []).append(r)
    out: list[TreeRow] = []
    seen: set[int] = set()

    def walk(run: RunSummary) -> None:
        stack = [(run, 0, None, True, ())]
        while stack:
            r, d, p, last, guides = stack.pop()
            if id(r) in seen:
                continue
            seen.add(id(r))
            out.append(TreeRow(r, d, p, last, guides))
            kids = [c for c in children.get(id(r), []) if id(c) not in seen]
            below = (*guides, not last) if d else guides
            stack += [(c, d + 1, r, i == len(kids) - 1, below) for i, c in reversed(list(enumerate(kids)))]

    for r in runs:
        if parents[id(r)] is None:
            walk(r)
    for r in runs:  # runs in a loop of parents: each loop shown from its first run
        if id(r) not in seen:
            walk(r)
    return out


def metric_change(child: RunSummary, parent: RunSummary) -> str | None:
    """The child's best value against the parent's, on the first metric both have:
    ``val_acc +0.8 pt`` (accuracies in percentage points), ``val_loss -0.0123``."""
    for name, short, points in _METRICS:
        a, b = parent.metric(name), child.metric(name)
        if a is None or b is None:
            continue
        if points:
            return f"{short} {(b - a) * 100:+.1f} pt"
        return f"{short} {b - a:+.4g}"
    return None


def config_of(run: RunSummary) -> RunConfig:
    """The whole setup of a run, ready to edit as a new run's: a keraslab run's own config, or a
    plain Keras run's model (from the graph Keras' TensorBoard callback wrote) and compile settings.
    Without a name of its own, it takes the run's (``mnist-cnn-3`` -> ``mnist-cnn``), so that a
    child is ``mnist-cnn-4``. KeraslabError in one line when the run has none, or has layers
    keraslab cannot express."""
    if run.kind == "keraslab":
        data = dict(load_run(run.path).run_config)
        for key in ("parent", "diff", "sweep"):  # the child is a run of its own, in no sweep
            data.pop(key, None)
        config = RunConfig.from_dict(data).validate()
        config.name = config.name or name_family(run.path.name)
        return config
    text = read_keras_model_json(run.path)
    if text is None:
        raise KeraslabError(f"{run.name}: no model recorded (neither a keraslab run nor a Keras "
                            "run whose TensorBoard callback wrote its graph)")
    try:
        model = import_model(json.loads(text))
    except ValueError:
        raise SpecError(f"{run.name}: its model graph is not JSON") from None
    if model.unsupported:
        names = ", ".join(f"{name} ({cls})" for _, name, cls, _ in model.unsupported[:5])
        raise SpecError(f"{run.name}: layers keraslab cannot express: {names}")
    if not model.stack:
        raise SpecError(f"{run.name}: its model graph has no layers")
    config = RunConfig(dataset=_dataset_for(model.input_shape), model=model.notation,
                       name=name_family(run.path.name))
    for key, choices in (("optimizer", OPTIMIZERS), ("loss", LOSSES)):
        if run.hparams.get(key) in choices:
            setattr(config, key, run.hparams[key])
    lr = run.hparams.get("learning_rate")
    if isinstance(lr, float):
        config.learning_rate = lr
    try:
        return config.validate()
    except ConfigError:
        return RunConfig(dataset=config.dataset, model=config.model, name=config.name)


def name_family(dir_name: str) -> str | None:
    """The name a run directory ``<name>-<N>`` was made from; None when it is not a usable name."""
    name = re.sub(r"-\d+$", "", dir_name)
    try:
        return RunConfig(name=name).validate().name
    except ConfigError:
        return None


def _dataset_for(shape: tuple | None) -> str:
    """The built-in dataset whose images a model's input fits (digits when none does)."""
    from ..data.datasets import list_datasets

    for info in list_datasets():
        if shape is not None and tuple(info.input_shape) == tuple(shape):
            return info.name
    return "digits"
