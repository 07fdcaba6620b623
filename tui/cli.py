"""The `keraslab` command line: train, runs, show, datasets, presets, lint (and the app)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from keraslab import core
from keraslab.core import KeraslabError, RunConfig

from . import cli_diagnose, cli_gpu, cli_insight, cli_runs, cli_sweep, cli_tags, cli_tweak, fmt
from .argtypes import CliError, nonneg_int, number, positive_int
from .cli_start import start_config
from .textplot import line_chart

DESCRIPTION = """\
keraslab: a terminal experiment explorer for Keras.

Design layer stacks, train on the GPU (CPU fallback), and browse past runs
without TensorBoard's server. Runs are stored under --logdir (default ./runs,
or $KERASLAB_LOGDIR) in a form both keraslab and TensorBoard read."""

EPILOG = """\
examples:
  keraslab train --dataset digits --model cnn --epochs 5
  keraslab train --dataset mnist --model cnn --epochs 3
  keraslab train --dataset mnist --model "conv16k3-bn-relu-maxpool2-flatten-dense10-softmax"
  keraslab runs
  keraslab show digits-cnn-1
  keraslab datasets

Run 'keraslab COMMAND --help' for the options of each command."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise CliError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _add_logdir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--logdir",
        metavar="DIR",
        help="log directory holding the runs (default: $KERASLAB_LOGDIR or ./runs)",
    )


class _Version(argparse.Action):
    """``--version``: the version is looked up when asked for (importlib.metadata is slow
    enough to show in every start, the app's first paint included, with argparse's own)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show the version and exit")  # fmt: skip

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"keraslab {core.__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="keraslab",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version)
    parser.add_argument(
        "--logdir", dest="app_logdir", metavar="DIR", help="with no command: the log directory the app uses"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    d = RunConfig()
    t = sub.add_parser(
        "train",
        help="train a model and record the run",
        description="Train a model headless (terminal or batch job) and record the run directory.",
        epilog="The run directory holds config.json, status.json, metrics.jsonl, TensorBoard "
        "events (train/, validation/), summary.txt, best_model.keras and results.json.\n"
        "Ctrl+C (or SIGTERM) stops after the current batch, evaluates and keeps the run as "
        "'stopped', with its last state in last.keras: 'keraslab train --resume RUN' goes on from "
        "there in the same directory. A second Ctrl+C aborts at once (the run is marked "
        "'interrupted'); more SIGTERMs change nothing: only a second Ctrl+C, or SIGKILL, aborts.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument("--dataset", help=f"dataset name or path to an .npz file (default: {d.dataset}; see 'keraslab datasets')")
    t.add_argument("--model", help=f"preset name or layer-stack notation (default: {d.model}; see 'keraslab presets')")
    t.add_argument("--model-file", metavar="FILE", help="JSON file with a layer stack (a list of layers, or {\"layers\": [...]})")
    t.add_argument("--recipe", action="store_true", help="train the --model preset as its lab did (epochs, batch size, optimizer, learning rate, schedule, augmentation; see 'keraslab labs --recipes'); other options override it")
    t.add_argument("--config", metavar="FILE", help="start from a config.json (of a run, or a plain RunConfig JSON); other options override it")
    t.add_argument("--epochs", type=positive_int, help=f"number of epochs (default: {d.epochs})")
    t.add_argument("--batch-size", type=positive_int, help=f"batch size (default: {d.batch_size})")
    t.add_argument("--optimizer", choices=core.OPTIMIZERS, help=f"optimizer (default: {d.optimizer})")
    t.add_argument("--lr", "--learning-rate", dest="learning_rate", type=number, help=f"learning rate (default: {d.learning_rate:g})")
    t.add_argument("--momentum", type=number, help="momentum for sgd and rmsprop (default: 0)")
    t.add_argument("--lr-schedule", choices=core.LR_SCHEDULES, help="learning-rate schedule (default: constant)")
    t.add_argument("--loss", choices=core.LOSSES, help=f"loss (default: {d.loss})")
    t.add_argument("--from-logits", dest="from_logits", action="store_true", default=None, help="the model outputs logits (default: decided from the last layer)")
    t.add_argument("--no-from-logits", dest="from_logits", action="store_false", help="the model outputs probabilities")
    t.add_argument("--validation-split", type=number, help=f"fraction of training data held out for validation (default: {d.validation_split})")
    t.add_argument("--seed", type=nonneg_int, help=f"random seed for data split, initialization and shuffling (default: {d.seed})")
    t.add_argument("--early-stopping", type=nonneg_int, metavar="PATIENCE", help="stop after this many epochs without val_loss improvement (default: 0 = off)")
    t.add_argument("--limit", type=positive_int, metavar="N", help="use at most N training and N test samples (quick experiments)")
    t.add_argument("--normalization", choices=core.NORMALIZATIONS, help=f"input scaling built into the model (default: {d.normalization})")
    t.add_argument("--l2", type=number, help="global L2 weight decay on conv/dense kernels (default: 0)")
    t.add_argument("--name", help="run name; the run directory is <logdir>/<name>-<N> (default: <dataset>-<model>)")
    t.add_argument("--data-dir", metavar="DIR", help="folder with dataset files (also $KERASLAB_DATA_DIR; the Keras cache is searched too)")
    t.add_argument("--offline", action="store_true", help="never try to download datasets (also KERASLAB_OFFLINE=1)")
    t.add_argument("--json", action="store_true", help="print the final result as JSON on stdout")
    t.add_argument("--resume", metavar="RUN", help="continue a stopped or interrupted run from its last checkpoint, in its own directory with its own config")
    t.add_argument("--resume-existing", action="store_true", help="with --config of a sweep point: resume that point's stopped or interrupted run when it has one (a requeued SLURM task)")
    cli_gpu.add_device_options(t)
    _add_logdir(t)
    cli_tweak.extend_train_parser(t)

    r = sub.add_parser("runs", help="list runs in a log directory", description="List recorded runs, oldest first.")
    _add_logdir(r)
    r.add_argument("--json", action="store_true", help="print the runs as JSON")
    cli_runs.extend_runs_parser(r)
    cli_tweak.extend_runs_parser(r)

    s = sub.add_parser("show", help="show one run: config, metrics and curves", description="Print a run's configuration, final metrics and loss/accuracy curves.")
    s.add_argument("run", metavar="RUN", help="run directory, run name, or a unique prefix of one")
    _add_logdir(s)
    s.add_argument("--no-plot", action="store_true", help="skip the curves")
    s.add_argument("--summary", action="store_true", help="also print the model summary (a Keras TensorBoard run: its model graph)")

    ds = sub.add_parser("datasets", help="list datasets and whether they are available offline", description="List datasets with shape, classes and whether their files are here.")
    ds.add_argument("--data-dir", metavar="DIR", help="extra folder with dataset files")

    p = sub.add_parser("presets", help="list layer-stack presets with parameter counts", description="List the presets (architectures from the classic Keras labs).")
    p.add_argument("--dataset", action="append", metavar="D", help="count parameters for this dataset (repeatable; default: digits, mnist, cifar10)")

    lt = sub.add_parser("lint", help="preview shapes/parameters and review a layer stack", description="Print each layer's output shape and parameter count, then design findings. Exit status 1 when there are errors.")
    lt.add_argument("spec", metavar="SPEC", help="preset name, layer-stack notation, or a .json stack file")
    lt.add_argument("--dataset", help="dataset whose input shape and classes to use (default: the preset's own, else digits)")
    lt.add_argument("--loss", choices=core.LOSSES, help=f"loss the model will train with (default: the preset's own, else {d.loss})")
    lt.add_argument("--from-logits", action="store_true", help="the loss expects logits")
    lt.add_argument("--normalization", choices=core.NORMALIZATIONS, default=d.normalization, help="input normalization that will be used")
    cli_gpu.add_device_options(lt, train=False)
    cli_runs.add_browse_commands(sub)
    cli_diagnose.register(sub)
    cli_tweak.register(sub)
    cli_sweep.register(sub)
    cli_insight.register(sub)
    cli_tags.register(parser, sub)
    return parser


# --- train ------------------------------------------------------------------------------


# train's options that set one RunConfig field of the same name
_CONFIG_OPTIONS = (
    "epochs", "batch_size", "optimizer", "learning_rate", "momentum", "lr_schedule", "loss",
    "from_logits", "validation_split", "seed", "early_stopping", "limit", "normalization", "l2",
    "name", "data_dir", *cli_gpu.DEVICE_OPTIONS,
)  # fmt: skip


def _config_from_args(args: argparse.Namespace) -> RunConfig:
    config, parent = start_config(args)  # --config FILE or --from RUN
    if args.dataset is not None:
        config.dataset = args.dataset
    if args.model is not None:
        config.model, config.layers = args.model, None
    if args.recipe:  # the preset's lab recipe first, so that explicit options override it
        config = config.with_recipe()
    explicit = {
        key: getattr(args, key)
        for key in _CONFIG_OPTIONS
        if getattr(args, key) is not None
    }  # fmt: skip
    for key, value in explicit.items():
        setattr(config, key, value)
    if args.model_file:
        try:
            data = json.loads(Path(args.model_file).read_text())
        except (OSError, ValueError) as exc:
            raise CliError(f"--model-file {args.model_file}: cannot read JSON ({exc})") from None
        layers = data.get("layers") if isinstance(data, dict) else data
        config.layers = core.stack_to_json(core.stack_from_json(layers))
    config.validate()
    if config.layers is None:
        core.resolve_model(config.model)  # fail fast on a bad preset name or notation
    if parent is not None:
        cli_tweak.record_lineage(config, *parent, args.logdir)
    return config


_TRAIN_OPTIONS = ("dataset", "model", "model_file", "config", "from_run", "recipe", *_CONFIG_OPTIONS)


def _resume_session(args: argparse.Namespace):
    """`train --resume RUN`: the run found as every command finds one, checked resumable."""
    given = [f"--{k.replace('_', '-')}" for k in _TRAIN_OPTIONS if getattr(args, k) not in (None, False)]
    if given:
        raise CliError(f"keraslab train: --resume takes the run's own config; drop {' '.join(given)}")
    (run,) = core.resolve_runs([args.resume], [core.default_logdir(args.logdir)])
    if run.kind != "keraslab":
        raise KeraslabError(f"{run.name} is a {run.kind} run: only keraslab runs can be resumed")
    point = core.resume_point(run.path)
    return core.TrainingSession(point.config, run.path.parent, resume_from=run.path)


def _ordered(logs: dict[str, float]) -> list[tuple[str, float]]:
    """Metrics in reading order: loss, other train metrics, then val_loss and val_*."""

    def rank(key: str) -> tuple:
        val = key.startswith("val_")
        base = key[4:] if val else key
        return (val, base != "loss", base)

    return sorted(((k, v) for k, v in logs.items() if k != "learning_rate"), key=lambda kv: rank(kv[0]))


class _Printer:
    """Prints session events: a live line on a terminal, plain lines in a batch job."""

    def __init__(self, stream=sys.stdout, tty: bool | None = None):
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.last_plain = time.monotonic()  # plain progress lines every 30 s, not at once
        self.open_line = False

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def line(self, text: str) -> None:
        if self.open_line:
            self._write("\r\x1b[2K")
            self.open_line = False
        self._write(fmt.visible(text) + "\n")  # (run names, paths and reasons come from files)

    def event(self, ev) -> None:
        if isinstance(ev, (core.Phase, core.Started)):  # (the lines an app run's output.log keeps too)
            self.line(core.event_line(ev))
        elif isinstance(ev, core.BatchProgress):
            self._batch(ev)
        elif isinstance(ev, core.EpochEnd):
            metrics = "  ".join(f"{k} {v:.4f}" for k, v in _ordered(ev.logs))
            mark = "  *" if ev.improved else ""
            self.line(f"epoch {ev.epoch}/{ev.epochs}  {metrics}  [{fmt.duration(ev.elapsed)}]{mark}")

    def _batch(self, ev) -> None:
        done = ev.batch / max(1, ev.batches)
        eta = ""
        if ev.position > 0 and ev.elapsed > 0:
            remaining = ev.elapsed / ev.position * (ev.epochs - ev.position)
            eta = f"  ETA {fmt.duration(remaining)}"
        loss = ev.logs.get("loss")
        acc = ev.logs.get("accuracy")
        text = (
            f"epoch {ev.epoch + 1}/{ev.epochs}  batch {ev.batch}/{ev.batches}  "
            f"loss {fmt.metric(loss)}  accuracy {fmt.metric(acc)}  "
            f"{ev.samples_per_second:,.0f} samples/s{eta}"
        )
        if self.tty:
            width = shutil.get_terminal_size((100, 24)).columns
            bar_w = 20
            filled = int(done * bar_w)
            bar = "[" + "#" * filled + "." * (bar_w - filled) + "] "
            self._write("\r\x1b[2K" + (bar + text)[: width - 1])
            self.open_line = True
        elif time.monotonic() - self.last_plain >= 30:
            self.last_plain = time.monotonic()
            self.line(text)


def cmd_train(args: argparse.Namespace) -> int:
    if args.offline:
        os.environ["KERASLAB_OFFLINE"] = "1"
    if args.resume is not None:
        session = _resume_session(args)
    else:
        config = _config_from_args(args)
        session = cli_sweep.existing_point_session(config, args) if args.resume_existing else None
        session = session or core.TrainingSession(config, args.logdir)
    session.capture_output = False  # (the whole process is: its lines, Keras' and TensorFlow's native ones)
    printer = _Printer(sys.stderr if args.json else sys.stdout)
    ctrl_c = {"count": 0, "told": False, "training": False}
    with contextlib.ExitStack() as output:
        return _train_loop(args, session, printer, ctrl_c, output)


def _train_loop(args, session, printer, ctrl_c, output: contextlib.ExitStack) -> int:
    """cmd_train's run, its output kept in the run's output.log by ``output`` once the run exists."""

    def on_signal(signum, _frame):
        # SIGTERM only ever asks for the stop: `timeout` and schedulers send it to the process
        # and its group (two at once), and send SIGKILL when they mean it. A second Ctrl+C aborts.
        if signum == signal.SIGINT:
            ctrl_c["count"] += 1
        if ctrl_c["count"] < 2:
            session.stop()  # (the notice is printed by the loop below: no printing in a handler)
            return
        try:
            session.abort("aborted by a second Ctrl+C")
            output.close()  # (fds 1 and 2 are the terminal's again: the notice reaches it before _exit)
            lead = "\r\x1b[2K" if printer.open_line else ""
            os.write(printer.stream.fileno(), f"{lead}aborted; the run is marked interrupted\n".encode())
        finally:  # (exits even when the status or the notice cannot be written)
            os._exit(130)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        run_dir = session.start()
        output.enter_context(core.capture_process_output(run_dir))
        printer.line(f"run directory: {run_dir}")
        result = None
        while result is None:
            if session.stopping and not ctrl_c["told"]:
                ctrl_c["told"] = True
                when = "after the current batch" if ctrl_c["training"] else "before training begins"
                printer.line(f"stopping {when} (press Ctrl+C again to abort) ...")
            for ev in session.poll(timeout=0.25):
                printer.event(ev)
                ctrl_c["training"] |= isinstance(ev, core.Started)
                if isinstance(ev, core.Finished):
                    result = ev
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out = printer
    out.line(f"status: {result.status}" + (f" ({result.reason})" if result.reason else ""))
    if result.test:
        acc = result.test.get("accuracy")
        out.line(
            f"test accuracy: {fmt.metric(acc)}  test loss: {fmt.metric(result.test.get('loss'))}"
            + (f"  best epoch: {result.best_epoch}" if result.best_epoch else "")
        )
    out.line(f"run: {result.run_dir}")
    if result.checkpoint_error:  # (the last line: the run's model is not where it should be)
        out.line(f"error: {result.checkpoint_error}")
    if args.json:
        print(json.dumps(result.as_dict()))
    return {"completed": 0, "stopped": 130}.get(result.status, 1)


# --- runs / show ------------------------------------------------------------------------


def _show_keraslab(path: Path) -> None:
    """What only a keraslab run records: model, device, the command that reproduces it, config."""
    run = core.load_run(path)
    if run.status_info.get("reason"):
        print(f"reason    {fmt.visible(run.status_info['reason'])}")
    info = run.config.get("model_info") or {}
    if info:
        print(f"model     {fmt.visible(info.get('notation', run.model))}")
        print(f"params    {fmt.count(info.get('params'))}")
    for key in ("device", "reproduce"):
        if run.config.get(key):
            print(f"{key:<10}{fmt.visible(run.config[key])}")
    resumed = run.config.get("resumed")
    for entry in resumed if isinstance(resumed, list) else []:
        if isinstance(entry, dict):
            print(f"resumed   after epoch {fmt.visible(entry.get('at_epoch'))} at {fmt.visible(entry.get('time'))}")
    print("\nconfig")
    for key, value in run.run_config.items():
        if value not in (None, {}, []) and key not in ("layers", "diff"):
            print(f"  {fmt.visible(key):<18}{fmt.visible(value)}")
        elif key == "diff" and isinstance(value, dict):  # (made with train --from: its change)
            print(f"  {'change':<18}{fmt.visible(value.get('summary'))}")
    test = run.results.get("test") or {}
    if test:
        print("\ntest set (best epoch {})".format(fmt.visible(run.results.get("best_epoch", "-"))))
        for key, value in test.items():
            print(f"  {fmt.visible(key):<18}{fmt.metric(value)}")


def _chart_groups(curves) -> list[tuple[str, list[tuple[str, object]]]]:
    """The per-epoch curves of a run paired for charting: (metric, [("train", curve),
    ("validation", val_ curve)]), loss first, then accuracy, then the rest by name."""
    groups: dict[str, list] = {}
    for name, curve in curves.items():
        if name.startswith(("batch/", core.SYSTEM_PREFIX)):
            continue
        base, label = (name[4:], "validation") if name.startswith("val_") else (name, "train")
        groups.setdefault(base, []).append((label, curve))
    order = sorted(groups, key=lambda n: (n != "loss", n != "accuracy", n))
    return [(name, sorted(groups[name], key=lambda lc: lc[0] != "train")) for name in order]


def cmd_show(args: argparse.Namespace) -> int:
    """One run of either kind, found as every command finds one (path, name or unique prefix)."""
    (run,) = core.resolve_runs([args.run], [core.default_logdir(args.logdir)])
    print(f"run       {fmt.visible(run.name)}  ({fmt.visible(run.path)})")
    print(f"kind      {run.kind}")
    print(f"status    {fmt.visible(run.status)}")
    print(f"started   {run.started or '-'}   duration {fmt.duration(run.duration)}")
    if run.kind == "keraslab":
        _show_keraslab(run.path)
    elif run.hparams:
        print("\nhyperparameters")
        for key, value in sorted(run.hparams.items()):
            print(f"  {fmt.visible(key):<24}{fmt.visible(value)}")
    if run.metrics:
        rows = [[fmt.visible(name), fmt.metric(stats.last), fmt.metric(stats.best(name)), str(stats.count),
                 fmt.visible(run.metric_tags.get(name, ""))] for name, stats in run.metrics.items()]  # fmt: skip
        headers = ["metric", "last", "best", "points", "tag"][: 5 if run.metric_tags else 4]
        print("\n" + fmt.table(headers, rows, right=(1, 2, 3)))
    curves = core.load_curves(run.path)
    for warning in dict.fromkeys([*run.warnings, *curves.warnings]):
        print(f"warning: {fmt.visible(warning)}", file=sys.stderr)
    if args.summary:
        # a keraslab run's model summary; a Keras TensorBoard run's model graph, described
        texts = [t for tag, ts in curves.texts.items() if tag.rpartition("/")[2] in ("summary", "keras") for t in ts]
        if texts:
            print("\n" + "\n".join(fmt.visible(line) for line in texts[-1][1].splitlines()))
    cli_gpu.print_system(curves.curves)
    if not args.no_plot:
        width = min(100, shutil.get_terminal_size((100, 24)).columns)
        color = sys.stdout.isatty()
        for name, series in _chart_groups(curves.curves):
            chart = line_chart(
                fmt.visible(name),
                [(label, c.xs("epoch"), c.values) for label, c in series],
                width=width,
                height=14,
                color=color,
                xlabel=core.axis_label([c for _, c in series], "epoch"),
            )
            print("\n" + chart)
    return 0


# --- datasets / presets / lint ----------------------------------------------------------


def cmd_datasets(args: argparse.Namespace) -> int:
    rows = []
    notes = []
    for info in core.list_datasets():
        avail = core.availability(info.name, args.data_dir)
        shape = "x".join(str(s) for s in info.input_shape)
        state = "ready" if avail.ready else "missing"
        rows.append([info.name, shape, str(info.num_classes), f"{info.train_size:,}", f"{info.test_size:,}", state, info.description])
        if not avail.ready:
            notes.append(f"{info.name}: {avail.message}")
    print(fmt.table(["dataset", "shape", "classes", "train", "test", "offline", "description"], rows, right=(2, 3, 4)))
    print("\nAny .npz file with x_train, y_train, x_test, y_test also works: --dataset path/to/file.npz")
    if notes:
        print("\nto make the missing ones available offline:")
        for note in notes:
            print(f"  {note}")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    names = args.dataset or ["digits", "mnist", "cifar10"]
    infos = [core.get_dataset_info(n) for n in names]
    rows = []
    for preset in core.PRESETS.values():
        row = [preset.name, preset.dataset]
        for info in infos:
            try:
                preview = core.preview_stack(preset.stack, info.input_shape, info.num_classes)
                row.append(f"{preview.total_params:,}")
            except KeraslabError:
                row.append("n/a")
        row.append(preset.description)
        rows.append(row)
    headers = ["preset", "made for", *[f"params ({i.name})" for i in infos], "description"]
    print(fmt.table(headers, rows, right=tuple(range(2, 2 + len(infos)))))
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    stack = cli_diagnose.load_spec(args.spec)
    preset = core.PRESETS.get(args.spec)
    loss = args.loss or (preset.loss if preset else RunConfig().loss)
    if args.dataset is None and preset is not None:
        shape, classes, label = preset.input_shape, preset.num_classes, preset.dataset
    else:
        info = core.get_dataset_info(args.dataset or "digits")
        shape, classes, label = info.input_shape, info.num_classes, info.name
    findings = core.lint_stack(
        stack,
        shape,
        classes,
        loss=loss,
        from_logits=args.from_logits,
        normalized_input=args.normalization != "none",
        **core.device_lint_args(args.device, args.precision),
    )
    try:
        preview = core.preview_stack(stack, shape, classes)
    except KeraslabError:
        preview = None
    print(f"{core.format_stack(stack)}\n")
    print(f"input {'x'.join(map(str, shape))} ({label}), {classes} classes, loss {loss}\n")
    if preview is not None:
        rows = [
            [str(r.index + 1), r.name, r.token, "x".join("?" if s is None else str(s) for s in r.output_shape), f"{r.params:,}"]
            for r in preview.rows
        ]
        print(fmt.table(["#", "layer", "token", "output", "params"], rows, right=(0, 4)))
        print(
            f"\ntotal {preview.total_params:,} parameters "
            f"({preview.trainable_params:,} trainable, {preview.non_trainable_params:,} non-trainable)"
        )
    if not findings:
        print("\nno findings: the design looks sound")
        return 0
    print()
    for f in findings:
        where = f"layer {f.layer + 1}" if f.layer is not None else "model"
        print(f"{f.severity:<7} {where:<9} {f.message}")
        if f.suggestion:
            print(f"{'':<17} -> {f.suggestion}")
    return 1 if any(f.severity == "error" for f in findings) else 0


COMMANDS = {
    "train": cmd_train,
    "show": cmd_show,
    "datasets": cmd_datasets,
    "presets": cmd_presets,
    "lint": cmd_lint,
    **cli_runs.BROWSE_COMMANDS,  # compare, export, browse, and runs with sort/filter
    **cli_diagnose.DIAGNOSE_COMMANDS,  # diagnose, sketch, labs
    **cli_tweak.TWEAK_COMMANDS,  # import, and runs --tree
    **cli_sweep.SWEEP_COMMANDS,
    **cli_insight.INSIGHT_COMMANDS,  # evaluate, predict, ensemble
    **cli_tags.COMMANDS,  # metric-map
}


def main(argv: list[str] | None = None) -> int:
    fmt.tolerant_output()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        cli_tags.apply(args)
        if args.command is None:
            from .app import run_app

            return run_app(logdir=args.app_logdir)
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeraslabError as exc:
        print(f"keraslab: error: {fmt.visible(exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
