"""Benchmark: on a GPU, keraslab's app against plain `model.fit` (cnn, fancy; MNIST, batch 128), and time to 99%.

For each preset, plain `model.fit` and the real app (`KeraslabApp` under `run_test()`, its live
curves, progress and system panel updating) train the same model on the same data, alternating
round by round in one process (bench_app_throughput.py's `run_fit` and `run_app`). Samples/s is
the median over epochs 2..N of train samples / epoch wall time; the ratio app / fit is printed
against the goal (>= 0.97). Then the best preset (default fancy) trains with plain `fit` until
its MNIST test accuracy reaches 99%: the wall time to that epoch (test evaluations excluded).

Works with either backend; on a GPU node without TensorFlow:

    KERAS_BACKEND=jax KERASLAB_DATA_DIR=/path/to/mnist python benchmarks/bench_gpu.py

On a CPU it runs as a smoke check of the script (`--smoke`: digits, 3 epochs, one round; its
figures say nothing about a GPU).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_app_throughput import (  # noqa: E402
    make_npz,
    run_app,
    run_fit,
    samples_per_second,
    train_size,
    warm_tensorflow_niced,
)
from keraslab import core  # noqa: E402

GOAL = 0.97  # app / plain fit throughput
TARGET = 0.99  # test accuracy for the time-to-accuracy figure


def device_name() -> str:
    from keraslab.core.train.backend import describe_device, import_keras

    keras = import_keras()
    return f"{describe_device()} ({keras.backend.backend()})"


def time_to_accuracy(config: core.RunConfig, target: float, max_epochs: int) -> tuple[float | None, int, float]:
    """Plain fit of keraslab's model for ``config`` until test accuracy >= target:
    (seconds of training to that epoch or None, epochs, the best test accuracy)."""
    from keraslab.core.model.layers import output_is_probabilities
    from keraslab.core.train.backend import import_keras
    from keraslab.core.train.build import build_model
    from keraslab.core.train.optim import make_loss, make_optimizer
    from keraslab.core.train.pipeline import fit_data

    keras = import_keras()
    data = core.load_dataset(config.dataset, validation_split=0.0, seed=config.seed)
    stack = core.resolve_stack(config)
    keras.utils.set_random_seed(config.seed)
    model = build_model(stack, data.info.input_shape, data.info.num_classes,
                        input_scaling=data.input_scaling(config.normalization))  # fmt: skip
    steps = -(-int(data.x_train.shape[0]) // config.batch_size)
    model.compile(optimizer=make_optimizer(keras, config, steps),
                  loss=make_loss(keras, config, not output_is_probabilities(stack)), metrics=["accuracy"])
    state = {"train": 0.0, "t": 0.0, "best": 0.0, "hit": None, "epochs": 0}

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            state["t"] = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            state["train"] += time.perf_counter() - state["t"]
            state["epochs"] = epoch + 1
            _, acc = self.model.evaluate(data.x_test, data.y_test, batch_size=512, verbose=0)
            state["best"] = max(state["best"], acc)
            if acc >= target:
                state["hit"] = state["train"]
                self.model.stop_training = True

    inputs = fit_data(keras.backend.backend(), data.x_train, data.y_train, None, config.batch_size, config.seed)
    model.fit(**inputs, epochs=max_epochs, callbacks=[Clock()], verbose=0)
    return state["hit"], state["epochs"], state["best"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist", help="dataset name (default mnist) or .npz")
    parser.add_argument("--presets", nargs="+", default=["cnn", "fancy"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--best", default="fancy", help="the preset timed to 99%% test accuracy")
    parser.add_argument("--max-epochs", type=int, default=30, help="give up on 99%% after this many")
    parser.add_argument("--smoke", action="store_true", help="digits, 3 epochs, 1 round (a CPU check)")
    args = parser.parse_args()
    if args.smoke:
        args.dataset, args.epochs, args.rounds, args.max_epochs = "digits", 3, 1, 2
    if args.epochs < 3:
        parser.error("--epochs must be at least 3 (epoch 1 is excluded)")

    tmp = Path(tempfile.mkdtemp(prefix="keraslab-bench-gpu-"))
    logdir = tmp / "runs"
    npz = make_npz(args.dataset, 1, None, tmp)
    warm_tensorflow_niced()
    import keras

    print(f"device: {device_name()}; data: {args.dataset}, batch {args.batch_size}, "
          f"{args.epochs} epochs, {args.rounds} rounds; {os.cpu_count()} CPUs", flush=True)
    t_start = time.perf_counter()
    for preset in args.presets:
        config = core.RunConfig(dataset=str(npz), model=preset, epochs=args.epochs,
                                batch_size=args.batch_size).validate()  # fmt: skip
        n_train = train_size(config)
        rates: dict[str, list[float]] = {"fit": [], "app": []}
        for r in range(args.rounds):
            for variant, runner in (("fit", run_fit), ("app", run_app)):
                keras.backend.clear_session()
                gc.collect()
                out = runner(config, logdir)
                rate = statistics.median(samples_per_second(n_train, out["ends"]))
                rates[variant].append(rate)
                print(f"  {preset:<6} round {r + 1} {variant:<4} {rate:9.0f} samples/s ({out['wall']:.1f}s)",
                      flush=True)
        ratio = statistics.median(rates["app"]) / statistics.median(rates["fit"])
        paired = statistics.median(a / f for a, f in zip(rates["app"], rates["fit"], strict=True))
        verdict = "OK" if ratio >= GOAL else "BELOW"
        print(f"{preset}: app / fit = {ratio:.3f} (paired rounds {paired:.3f}); goal >= {GOAL}: {verdict}",
              flush=True)

    keras.backend.clear_session()
    config = core.RunConfig(dataset=str(npz), model=args.best, batch_size=args.batch_size).validate()
    seconds, epochs, best = time_to_accuracy(config, TARGET, args.max_epochs)
    if seconds is None:
        print(f"{args.best}: test accuracy {best:.4f} after {epochs} epochs: {TARGET:.0%} not reached")
    else:
        print(f"{args.best}: {TARGET:.0%} test accuracy after {epochs} epochs, {seconds:.1f}s of training")
    print(f"total {time.perf_counter() - t_start:.0f}s")


if __name__ == "__main__":
    main()
