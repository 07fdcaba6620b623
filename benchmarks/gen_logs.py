"""Generate a browse benchmark log directory: N runs x E epochs, half keraslab runs, half plain Keras TensorBoard logs."""

from __future__ import annotations

import argparse
import math
import random
import time
from pathlib import Path

from keraslab.core.rundir.writer import RunWriter
from keraslab.core.tfevents import EventWriter


def keraslab_run(run: Path, r: int, epochs: int, rng: random.Random, t0: float) -> None:
    run.mkdir(parents=True)
    w = RunWriter(run)
    lr = rng.choice([1e-2, 3e-3, 1e-3, 3e-4])
    w.write_config(
        {
            "run": {"dataset": rng.choice(["mnist", "fashion_mnist", "cifar10"]), "model": "cnn",
                    "epochs": epochs, "learning_rate": lr, "batch_size": rng.choice([64, 128, 256]),
                    "optimizer": rng.choice(["adam", "sgd"]), "seed": r},
            "model_label": "cnn",
            "model_info": {"params": 100_000 + r, "notation": "conv32k3-relu-maxpool2-flatten-dense10-softmax"},
        }
    )  # fmt: skip
    w.start(epochs=epochs)
    loss = 2.0 + rng.random()
    for e in range(1, epochs + 1):
        loss *= 0.9 + 0.05 * rng.random()
        acc = 1 - math.exp(-e / 10) * rng.random()
        w.log_epoch(e, {"loss": loss, "accuracy": acc, "val_loss": loss * 1.1, "val_accuracy": acc * 0.97,
                        "learning_rate": lr}, wall_time=t0 + r * 100 + e)  # fmt: skip
    w.write_results({"test": {"accuracy": acc * 0.96, "loss": loss * 1.2}, "best_epoch": epochs})
    w.finish("completed")
    w.close()


def keras_tb_run(run: Path, r: int, epochs: int, rng: random.Random, t0: float) -> None:
    with EventWriter(run / "train") as tw, EventWriter(run / "validation") as vw:
        loss = 2.0 + rng.random()
        for e in range(epochs):
            wt = t0 + r * 100 + e
            loss *= 0.9 + 0.05 * rng.random()
            acc = 1 - math.exp(-(e + 1) / 10) * rng.random()
            tw.add_scalar("epoch_loss", loss, e, wall_time=wt)
            tw.add_scalar("epoch_accuracy", acc, e, wall_time=wt)
            tw.add_scalar("epoch_learning_rate", 1e-3, e, wall_time=wt)
            vw.add_scalar("epoch_loss", loss * 1.1, e, wall_time=wt)
            vw.add_scalar("epoch_accuracy", acc * 0.97, e, wall_time=wt)


def generate(root: Path, runs: int = 500, epochs: int = 50, seed: int = 0) -> Path:
    """Write ``runs`` runs under ``root`` (alternating keraslab / plain Keras TensorBoard)."""
    rng = random.Random(seed)
    t0 = time.time() - runs * 100 - 3600
    for r in range(runs):
        if r % 2 == 0:
            keraslab_run(root / f"kl-{r:04d}", r, epochs, rng, t0)
        else:
            keras_tb_run(root / "keras" / f"fit-{r:04d}", r, epochs, rng, t0)
    return root


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("root", type=Path)
    p.add_argument("--runs", type=int, default=500)
    p.add_argument("--epochs", type=int, default=50)
    args = p.parse_args()
    generate(args.root, args.runs, args.epochs)
    print(f"wrote {args.runs} runs x {args.epochs} epochs under {args.root}")


if __name__ == "__main__":
    main()
