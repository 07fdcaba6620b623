"""Time parse + preview + lint of a 30-layer stack (the per-keystroke budget is 50 ms) against a Keras build.

Run: ``python benchmarks/bench_preview.py [--runs 500] [--no-keras]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

BUDGET_MS = 50.0
STACK = (
    "flip-rotate0.05-translate0.05-contrast0.1 | "
    "conv32k3-bn-relu-conv32k3-bn-relu-maxpool2 | "
    "conv64k3-bn-relu-conv64k3-bn-relu-maxpool2 | "
    "conv128k3-bn-relu-conv128k3:l2=1e-4-bn-relu | "
    "gap-dropout0.3-dense128:relu-dropout0.3-out-softmax"
)
INPUT_SHAPE, NUM_CLASSES = (32, 32, 3), 10


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--keras-runs", type=int, default=5)
    parser.add_argument("--no-keras", action="store_true", help="skip the Keras build timing")
    args = parser.parse_args()

    start = time.perf_counter()
    from keraslab.core.model.lint import lint_stack
    from keraslab.core.model.notation import parse_stack
    from keraslab.core.model.preview import preview_stack
    import_ms = (time.perf_counter() - start) * 1000

    stack = parse_stack(STACK)
    assert len(stack) == 30, len(stack)

    def keystroke() -> None:
        s = parse_stack(STACK)
        preview_stack(s, INPUT_SHAPE, NUM_CLASSES)
        lint_stack(s, INPUT_SHAPE, NUM_CLASSES)

    keystroke()  # warm up
    parse_ms = median_ms(lambda: parse_stack(STACK), args.runs)
    preview_ms = median_ms(lambda: preview_stack(stack, INPUT_SHAPE, NUM_CLASSES), args.runs)
    lint_ms = median_ms(lambda: lint_stack(stack, INPUT_SHAPE, NUM_CLASSES), args.runs)
    total_ms = median_ms(keystroke, args.runs)
    tf_loaded = any(m in sys.modules for m in ("tensorflow", "keras"))

    print(f"stack: {len(stack)} layers on {INPUT_SHAPE}, median of {args.runs} runs")
    print(f"import core (no TensorFlow: {not tf_loaded}): {import_ms:8.2f} ms (once)")
    print(f"parse                     : {parse_ms:8.3f} ms")
    print(f"preview                   : {preview_ms:8.3f} ms")
    print(f"lint                      : {lint_ms:8.3f} ms")
    print(f"parse + preview + lint    : {total_ms:8.3f} ms = {total_ms / BUDGET_MS:.1%} of the {BUDGET_MS:.0f} ms budget")
    if args.no_keras:
        return 0 if total_ms < BUDGET_MS else 1

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    start = time.perf_counter()
    import keras

    keras_import_ms = (time.perf_counter() - start) * 1000
    from keraslab.core.train.build import build_model

    build_model(stack, INPUT_SHAPE, NUM_CLASSES)  # warm up
    build_ms = median_ms(lambda: build_model(stack, INPUT_SHAPE, NUM_CLASSES), args.keras_runs)
    keras.backend.clear_session()
    print(f"import keras ({keras.backend.backend()})     : {keras_import_ms:8.2f} ms (once)")
    print(f"keras build_model         : {build_ms:8.3f} ms (median of {args.keras_runs})")
    print(f"preview is {build_ms / total_ms:.0f}x faster than building the Keras model "
          f"({(build_ms + keras_import_ms) / total_ms:.0f}x counting the first import)")
    return 0 if total_ms < BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
