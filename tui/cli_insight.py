"""CLI commands of insight: evaluate (per-class scores, confusion heat map, mistakes as
images), predict (image files) and ensemble (averaged runs)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys

from keraslab import core
from keraslab.core import KeraslabError, RunStoreError

from .fmt import visible

COLOR_CHOICES = ("auto", "always", "never")
MAX_MISTAKES = 1000


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= MAX_MISTAKES:
        raise argparse.ArgumentTypeError(f"{value} is not in 0..{MAX_MISTAKES}")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--color", choices=COLOR_CHOICES, default="auto",
                   help="colours and half-block images: auto (when printing to a terminal), always, never")  # fmt: skip
    p.add_argument("--logdir", metavar="DIR", help="log directory holding the runs (default: $KERASLAB_LOGDIR or ./runs)")


def register(sub) -> None:
    """Add `evaluate`, `predict` and `ensemble` to the CLI's sub-parsers."""
    e = sub.add_parser(
        "evaluate", help="per-class scores, confusion matrix and mistakes of a run on its test set",
        description="Evaluate a keraslab run's best model on its test set: per-class precision, recall "
        "and F1, the confusion matrix as a heat map, the most-confused classes and (--mistakes N) the "
        "misclassified samples as images, the most confident mistakes first. Uses the run's saved "
        "test predictions, else its best checkpoint (loaded in Keras' safe mode).",
    )  # fmt: skip
    e.add_argument("run", metavar="RUN", help="run directory, run name, or a unique prefix")
    e.add_argument("--mistakes", type=_count, default=0, metavar="N", help="show the N worst misclassified test samples as images")
    e.add_argument("--json", action="store_true", help="print the evaluation as JSON")
    _common(e)

    p = sub.add_parser(
        "predict", help="classify image files with a run's best model (top-3 classes)",
        description="Classify PNG/JPEG files with a run's best checkpoint: each image is converted to the "
        "model's input size and channels and to its dataset's value range (a greyscale image on light "
        "paper is inverted to light strokes on black, as MNIST draws them).",
    )  # fmt: skip
    p.add_argument("run", metavar="RUN", help="run directory, run name, or a unique prefix")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    inv = p.add_mutually_exclusive_group()
    inv.add_argument("--invert", dest="invert", action="store_const", const=True, default=None,
                     help="always invert greyscale images (default: when the background is light)")  # fmt: skip
    inv.add_argument("--no-invert", dest="invert", action="store_const", const=False, help="never invert images")
    p.add_argument("--top", type=int, default=3, choices=range(1, 11), metavar="K", help="classes shown per image (default: 3)")
    _common(p)

    s = sub.add_parser(
        "ensemble", help="average the predictions of runs on the same test set",
        description="Average the class probabilities of several runs on the same dataset and test set; "
        "print the ensemble's accuracy beside each member's and its confusion matrix.",
    )  # fmt: skip
    s.add_argument("runs", nargs="+", metavar="RUN", help="two or more runs: directory, name, or unique prefix")
    s.add_argument("--json", action="store_true", help="print the result as JSON")
    _common(s)


def _console(args):
    from rich.console import Console

    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    width = shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else 200
    return Console(force_terminal=color, no_color=not color, highlight=False, width=width,
                   color_system="truecolor" if color else None, emoji=False)  # fmt: skip


def _run_dirs(refs, args) -> list:
    runs = core.resolve_runs(refs, [core.default_logdir(args.logdir)])
    for r in runs:
        if r.kind != "keraslab":
            raise RunStoreError(f"{visible(r.name)} is a {r.kind} run; this needs a keraslab run (its test predictions or checkpoint)")
    return [r.path for r in runs]


def _eval_json(ev) -> dict:
    return {
        "accuracy": ev.accuracy, "samples": ev.samples, "errors": ev.errors, "macro_f1": ev.macro_f1,
        "classes": [{"class": s.name, "precision": s.precision, "recall": s.recall, "f1": s.f1,
                     "support": s.support} for s in ev.classes],
        "confusion": ev.confusion.tolist(),
        "most_confused": [{"a": ev.class_names[p.a], "b": ev.class_names[p.b], "a_as_b": p.a_as_b,
                           "b_as_a": p.b_as_a} for p in ev.pairs],
    }  # fmt: skip


def print_evaluation(console, ev) -> None:
    from . import insight_render as render  # (numpy and Rich tables: only when the command runs)

    console.print(render.class_table(ev))
    console.print(render.confusion_table(ev))
    console.print(render.pairs_text(ev), markup=False)


def print_mistakes(console, preds, n: int, color: bool) -> None:
    from rich.columns import Columns
    from rich.console import Group
    from rich.text import Text

    from . import insight_render as render

    idx = core.mistakes(preds)[:n]
    if not len(idx):
        console.print("no misclassified samples")
        return
    images = core.sample_images(preds, idx)
    draw = render.halfblock_image if color else render.text_image
    console.print(f"\nthe {len(idx)} most confident mistakes (of {int((preds.y_true != preds.y_pred).sum()):,}):")
    cells = [Group(draw(img), Text(render.caption(preds, int(i)), overflow="fold"))
             for i, img in zip(idx, images, strict=True)]  # fmt: skip
    console.print(Columns(cells, padding=(1, 3), width=max(34, images[0].shape[1] * render.scale_for(images[0]))))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from . import insight_render as render

    (run_dir,) = _run_dirs([args.run], args)
    preds = core.load_predictions(run_dir)
    ev = core.evaluate(preds)
    if args.json:
        print(json.dumps({"run": run_dir.name, "source": preds.source, **_eval_json(ev)}, indent=2))
        return 0
    console = _console(args)
    console.print(render.headline(ev, visible(run_dir.name)) + f"  [from {preds.source}]", markup=False)
    print_evaluation(console, ev)
    if args.mistakes:
        print_mistakes(console, preds, args.mistakes, console.is_terminal)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from . import insight_render as render

    (run_dir,) = _run_dirs([args.run], args)
    results = core.predict_files(run_dir, args.images, invert=args.invert, top=args.top)
    failed = 0
    for path, r in zip(args.images, results, strict=True):
        if isinstance(r, KeraslabError):
            failed += 1
            print(f"keraslab: error: {visible(r)}", file=sys.stderr)
            continue
        top = ", ".join(f"{visible(c)} {render.pct(p)}" for c, p in r.top)
        print(f"{visible(path)}: {top}" + ("  (inverted: light background)" if r.inverted else ""))
    return 1 if failed else 0


def cmd_ensemble(args: argparse.Namespace) -> int:
    from . import insight_render as render

    result = core.ensemble_runs(_run_dirs(args.runs, args))
    ev = result.evaluation
    if args.json:
        members = [{"run": m.run_dir.name, "accuracy": m.accuracy} for m in result.members]
        print(json.dumps({"members": members, "ensemble": _eval_json(ev)}, indent=2))
        return 0
    console = _console(args)
    console.print(render.ensemble_title(result), markup=False)
    console.print(render.ensemble_table(result))
    gain = 100 * (ev.accuracy - max(m.accuracy for m in result.members))
    console.print(f"the ensemble is {gain:+.2f} points from its best member")
    print_evaluation(console, ev)
    return 0


INSIGHT_COMMANDS = {"evaluate": cmd_evaluate, "predict": cmd_predict, "ensemble": cmd_ensemble}
