"""CLI commands of sweeps: `sweep` (a grid of runs, locally or as a SLURM job array), `sweep show`, `sweep list`."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import sys
import time
from pathlib import Path

from keraslab import core
from keraslab.core import ConfigError, RunConfig

from . import cli_start, fmt
from .argtypes import positive_int
from .fmt import visible
from .sweepview import sweep_strips, sweep_table

VALUES = "VALUES"
_FLAGS = {"learning_rate": ("--lr", "--learning-rate")}  # fields whose train option is not --<field>


def register(sub) -> None:
    """Add `sweep` (with `sweep show` and `sweep list`) to the CLI's sub-parsers."""
    d = RunConfig()
    s = sub.add_parser(
        "sweep",
        help="train a grid of runs (lists, ranges, several models), locally or as a SLURM job array",
        description="Train every point of a grid of `train` options. Any option below takes a list\n"
        "(--lr 1e-3,3e-4), whole-number options a range A..B[:STEP] (--seed 0..2), --model several\n"
        "models (--model cnn,\"conv32k3-bn-relu-maxpool2 | gap-out-softmax\": a notation never holds\n"
        "a comma, so ',' always separates models). Every point starts from train's defaults, or from\n"
        "--config FILE or --from RUN (whose values then stand for the defaults shown below).\n"
        "The sweep is kept in <logdir>/sweeps/<id>.json (its point configs, script and logs in\n"
        "<logdir>/sweeps/<id>/); each run records its sweep and point in config.json.",
        epilog="examples:\n"
        "  keraslab sweep --lr 1e-3,3e-4 --seed 0..2 --epochs 3 --dry-run\n"
        "  keraslab sweep --model cnn,mlp --lr 1e-3,1e-2 --local 2\n"
        "  keraslab sweep --config runs/mnist-cnn-1/config.json --lr 1e-3,3e-4 --seed 0..2\n"
        "  keraslab sweep --lr 1e-3,3e-4 --seed 0..4 --slurm --partition gpu --gpus 1 --time 1:00:00\n"
        "  keraslab sweep show            (the newest sweep, ranked by val_accuracy)\n"
        "  keraslab runs --sweep ID\n\n"
        "Ctrl+C stops a local sweep: no new point starts, each running one stops after its batch "
        "and is kept as 'stopped'. scancel does the same to SLURM tasks.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--config", metavar="FILE", help="the base of every point: a run's config.json or a RunConfig "
                   "JSON (as 'train --config' reads it); the options below vary on top of it")
    s.add_argument("--from", dest="from_run", metavar="RUN", help="the base of every point: a past run's whole setup "
                   "(as 'train --from'); its points record RUN as their parent")
    for key, kind in core.AXES.items():
        flags = _FLAGS.get(key, ("--" + key.replace("_", "-"),))
        default = getattr(d, key)
        what = f"one of {', '.join(kind)}" if isinstance(kind, tuple) else \
            {"int": "whole numbers or ranges A..B[:STEP]", "float": "numbers", "text": "names"}[kind]  # fmt: skip
        s.add_argument(*flags, dest=key, metavar=VALUES,
                       help=f"{key.replace('_', ' ')}: {what}, comma-separated (default: {default})")  # fmt: skip
    s.add_argument("--from-logits", dest="from_logits", action="store_true", default=None, help="the models output logits")
    s.add_argument("--name", help="run names are <name>-p<point> (default: <dataset>-<model>-p<point>)")
    s.add_argument("--data-dir", metavar="DIR", help="folder with dataset files")
    s.add_argument("--random", type=positive_int, metavar="N", help="train N points drawn at random from the grid instead of all")
    s.add_argument("--random-seed", type=int, default=0, metavar="S", help="seed of the --random draw (default: 0)")
    s.add_argument("--dry-run", action="store_true", help="print the points (and with --slurm the script) and start nothing")
    s.add_argument("--local", type=positive_int, metavar="N", help="train on this machine, N points at a time (the default, with N=1)")
    s.add_argument("--logdir", metavar="DIR", help="log directory (default: $KERASLAB_LOGDIR or ./runs)")
    g = s.add_argument_group("SLURM (--slurm: submit one job array, task i trains point i)")
    g.add_argument("--slurm", action="store_true", help="write <logdir>/sweeps/<id>/sweep.sbatch and submit it with sbatch")
    g.add_argument("--partition", help="sbatch --partition")
    g.add_argument("--time", help="sbatch --time, per task (e.g. 2:00:00)")
    g.add_argument("--gpus", type=positive_int, metavar="N", help="sbatch --gres=gpu:N per task")
    g.add_argument("--cpus-per-task", type=positive_int, metavar="N", help="sbatch --cpus-per-task")
    g.add_argument("--mem", help="sbatch --mem per task (e.g. 8G)")
    g.add_argument("--max-parallel", type=positive_int, metavar="M", help="at most M tasks at once (the array's %%M)")
    g.add_argument("--job-name", help="sbatch --job-name (default: keraslab-<sweep id>)")
    g.add_argument("--requeue", action="store_true", help="sbatch --requeue: a preempted task, restarted, resumes its run from its last checkpoint")
    g.add_argument("--sbatch-arg", action="append", default=[], metavar="ARG", help="any other sbatch option, e.g. --sbatch-arg=--qos=long (repeatable)")

    actions = s.add_subparsers(dest="sweep_action", metavar="ACTION", parser_class=type(s))
    sh = actions.add_parser("show", help="rank a sweep's points by a metric",
                            description="The points of a sweep, best first, with the options that vary, "
                            "each point's state and the command line of the best.")  # fmt: skip
    sh.add_argument("sweep", nargs="?", metavar="ID", help="sweep id or a unique prefix (default: the newest)")
    sh.add_argument("--metric", help="rank by this metric's best value (default: val_accuracy)")
    sh.add_argument("--logdir", dest="show_logdir", metavar="DIR", help="log directory (default: $KERASLAB_LOGDIR or ./runs)")
    rn = actions.add_parser("run", help="train the points of a saved sweep that have no run yet, on this machine",
                            description="Train, N at a time, the points of a sweep that have no run directory "
                            "yet (the rest of a sweep stopped with Ctrl+C, or one the app made).")  # fmt: skip
    rn.add_argument("sweep", nargs="?", metavar="ID", help="sweep id or a unique prefix (default: the newest)")
    rn.add_argument("--local", dest="run_local", type=positive_int, default=1, metavar="N", help="N points at a time (default: 1)")
    rn.add_argument("--logdir", dest="show_logdir", metavar="DIR", help="log directory (default: $KERASLAB_LOGDIR or ./runs)")
    st = actions.add_parser("stop", help="stop a running sweep (each running point kept as 'stopped')",
                            description="Stop a sweep: scancel of its SLURM job array, or SIGTERM to the local "
                            "process running it. No new point starts; each running one stops after its batch.")  # fmt: skip
    st.add_argument("sweep", nargs="?", metavar="ID", help="sweep id or a unique prefix (default: the newest)")
    st.add_argument("--logdir", dest="show_logdir", metavar="DIR", help="log directory (default: $KERASLAB_LOGDIR or ./runs)")
    ls = actions.add_parser("list", help="list the sweeps of a log directory", description="The sweeps of a log directory, oldest first.")
    ls.add_argument("--logdir", dest="show_logdir", metavar="DIR", help="log directory (default: $KERASLAB_LOGDIR or ./runs)")


def keraslab_command() -> list[str]:
    """How a subprocess or a SLURM task runs this keraslab: its console script when that is
    what runs now, else this Python with the CLI module."""
    script = Path(sys.argv[0])
    if script.name == "keraslab" and script.is_file():
        return [str(script.resolve())]
    return [sys.executable, "-m", "keraslab.tui.cli"]


def _base(args: argparse.Namespace) -> tuple[RunConfig, str | None, RunConfig | None]:
    """The config every point starts from (--config FILE, --from RUN or the defaults, as `train`
    reads them), the run name it suggests and the --from run's config. The base's own lineage
    and sweep mark are dropped: its points are runs of this sweep (with --from, children of RUN)."""
    base, parent = cli_start.start_config(args)
    source = f"--config {args.config}" if args.config else f"--from {args.from_run}" if parent else None
    if source is not None:
        try:
            base.validate()
            if base.layers is not None:
                core.stack_from_json(base.layers)  # (a bad stack fails now, not in every point's run)
        except core.KeraslabError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    name = base.name if base.sweep is None else None  # (a point's own name would make <name>-p3-p0)
    base.name, base.parent, base.diff, base.sweep = None, None, None, None
    if parent is not None:
        base.parent = core.parent_ref(parent[0], core.default_logdir(args.logdir))
    return base, name, parent[1] if parent is not None else None


def _plan(args: argparse.Namespace) -> core.Sweep:
    base, name, parent = _base(args)
    for key in ("from_logits", "data_dir"):
        if getattr(args, key) is not None:
            setattr(base, key, getattr(args, key))
    options = {key: getattr(args, key) for key in core.AXES if getattr(args, key) is not None}
    grid = core.make_grid(base, options)
    if "model" in grid.axes or "dataset" in grid.axes:
        name = None  # (the base's name would name every model's points alike)
    positions = grid.positions(args.random, args.random_seed)
    sample = {"n": args.random, "seed": args.random_seed} if args.random else None
    sweep = core.plan_sweep(core.default_logdir(args.logdir), grid, positions, shlex.join(["keraslab", *sys.argv[1:]]),
                            name=args.name or name, sample=sample)  # fmt: skip
    sweep.parent = parent
    return sweep


def _points_table(sweep: core.Sweep) -> str:
    varying = sweep.grid.varying
    rows = [[str(p.index), *(fmt.hp_text(p.values.get(k)) for k in varying), visible(p.name)] for p in sweep.points]
    return fmt.table(["point", *(visible(k) for k in varying), "run name"], rows, right=(0,))


def _fixed(sweep: core.Sweep) -> str:
    default = RunConfig().to_dict()
    base = sweep.grid.base
    stack = isinstance(base.get("layers"), list) and "model" not in sweep.grid.axes  # (its model name means nothing)
    shown = [f"{k} {fmt.hp_text(v)}" for k, v in base.items() if k not in sweep.grid.axes and v != default.get(k)
             and k not in ("layers", "extra", "parent") and not (stack and k == "model")]  # fmt: skip
    if stack:
        shown.append(f"layers {visible(core.format_stack(core.stack_from_json(base['layers'])))}")
    return "fixed: " + (", ".join(shown) if shown else "all defaults")


def _source(args: argparse.Namespace) -> str:
    """The dry run's line naming the base of the points."""
    if args.config:
        return f"base: --config {visible(args.config)}, with the sweep's options on top"
    if args.from_run:
        return f"base: the setup of run {visible(args.from_run)} (--from: each point records it as its parent)"
    return "base: the defaults of 'keraslab train'"


def _slurm_options(args: argparse.Namespace) -> core.SlurmOptions:
    return core.SlurmOptions(
        partition=args.partition, time=args.time, gpus=args.gpus, cpus_per_task=args.cpus_per_task,
        mem=args.mem, max_parallel=args.max_parallel, job_name=args.job_name, requeue=args.requeue,
        extra=tuple(args.sbatch_arg),
    )  # fmt: skip


def cmd_sweep(args: argparse.Namespace) -> int:
    if args.sweep_action == "show":
        return cmd_sweep_show(args)
    if args.sweep_action == "list":
        return cmd_sweep_list(args)
    if args.sweep_action == "stop":
        logdir = _logdir(args)
        print(core.stop_sweep(core.load_sweep(logdir, core.find_sweep(logdir, args.sweep), _warn)))
        return 0
    if args.sweep_action == "run":
        logdir = _logdir(args)
        sweep = core.load_sweep(logdir, core.find_sweep(logdir, args.sweep), _warn)
        todo = [p for p in sweep.points if core.point_run(sweep, p) is None]
        if not todo:
            print(f"sweep {visible(sweep.id)}: every point has a run (see 'keraslab sweep show {visible(sweep.id)}')")
            return 0
        return _run_local(sweep, args.run_local, todo)
    if args.slurm and args.local:
        raise ConfigError("choose one of --local N and --slurm")
    slurm_only = [f"--{k.replace('_', '-')}" for k in ("partition", "time", "gpus", "cpus_per_task", "mem",
                  "max_parallel", "job_name") if getattr(args, k) is not None]  # fmt: skip
    slurm_only += ["--requeue"] * args.requeue + ["--sbatch-arg"] * bool(args.sbatch_arg)
    if slurm_only and not args.slurm:
        raise ConfigError(f"{slurm_only[0]} is an sbatch option: add --slurm")
    sweep = _plan(args)
    sample = f", {len(sweep.points)} drawn at random (seed {args.random_seed})" if args.random else ""
    print(f"sweep: {core.describe_grid(sweep.grid)}{sample}")
    if args.dry_run:
        print(_source(args))
        print(_points_table(sweep))
        print(_fixed(sweep))
        print(f"{len(sweep.points)} run(s) would be made in {visible(sweep.logdir)}")
        if args.slurm:
            print("\n" + core.sbatch_script(sweep, _slurm_options(args), keraslab_command()), end="")
        return 0
    if args.slurm:
        options = _slurm_options(args)
        core.sbatch_script(sweep, options, keraslab_command())  # (a bad option fails before anything is written)
        if not core.slurm_available():
            raise core.SlurmError("sbatch is not installed here (is this a SLURM login node?)")
        core.create_sweep(sweep)
        script = core.write_script(sweep, core.sbatch_script(sweep, options, keraslab_command()))
        job = core.submit(script)
        sweep.launcher = {"kind": "slurm", "job_id": job, "script": os.path.relpath(script, sweep.logdir)}
        sweep.save()
        print(f"sweep {sweep.id}: submitted job array {job} ({len(sweep.points)} tasks), script {visible(script)}")
        print(f"follow it with: keraslab sweep show {sweep.id}   (or squeue -j {job})")
        return 0
    core.create_sweep(sweep)
    return _run_local(sweep, args.local or 1)


def _run_local(sweep: core.Sweep, parallel: int, points=None) -> int:
    sweep.launcher = core.local_launcher(parallel)
    sweep.save()
    count = len(sweep.points if points is None else points)
    print(f"sweep {sweep.id}: {count} points, {parallel} at a time; logs in {visible(sweep.dir / 'logs')}", flush=True)
    pool = core.LocalPool(sweep, parallel, keraslab_command(), points=points)
    signals = {"count": 0}

    def on_signal(signum, _frame):  # SIGTERM only ever asks for the stop, as in `train`
        signals["count"] = signals["count"] + 1 if signum == signal.SIGINT else max(signals["count"], 1)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    tty = sys.stdout.isatty()
    last, told = "", 0
    try:
        while True:
            asked = signals["count"]
            if asked > told:
                told = asked
                pool.stop(abort=asked >= 2)
                _line(tty, "stopping: no new points; running ones stop after their batch (Ctrl+C again aborts them)"
                      if asked == 1 else "aborting the running points", last_open=bool(last))  # fmt: skip
                last = ""
            busy = pool.poll()
            text = f"sweep {sweep.id}: {pool.counts().line()}"
            if text != last:
                if tty:
                    sys.stdout.write("\r\x1b[2K" + text)
                    sys.stdout.flush()
                else:
                    print(text, flush=True)
                last = text
            if not busy:
                break
            time.sleep(0.5)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if tty:
        print()
    for index, log in pool.failed_logs():
        print(f"point {index} failed: see {visible(log)}")
    print(f"rank the points: keraslab sweep show {sweep.id}")
    counts = pool.counts()
    return 1 if counts.failed else 130 if counts.stopped or pool.stopping else 0


def _line(tty: bool, text: str, last_open: bool) -> None:
    print(("\r\x1b[2K" if tty and last_open else "") + text, flush=True)


def _logdir(args: argparse.Namespace) -> Path:
    return core.default_logdir(getattr(args, "show_logdir", None) or args.logdir)


def cmd_sweep_show(args: argparse.Namespace) -> int:
    logdir = _logdir(args)
    sweep = core.load_sweep(logdir, core.find_sweep(logdir, args.sweep), _warn)
    rows, metric = core.point_rows(sweep, args.metric)
    varying = sweep.grid.varying
    print(f"sweep {visible(sweep.id)}  created {visible(sweep.created)}  {visible(core.describe_grid(sweep.grid))}")
    launcher = sweep.launcher
    if launcher.get("kind") == "slurm":
        print(f"SLURM job array {visible(launcher.get('job_id'))}")
    headers, table = sweep_table(rows, varying, metric)
    print(fmt.table(headers, table, right=(0, 1, len(varying) + 3, len(varying) + 4)))
    states = {s: sum(1 for r in rows if r.state == s) for s in core.SWEEP_STATES}
    print("states: " + ", ".join(f"{n} {s}" for s, n in states.items() if n))
    width = min(60, shutil.get_terminal_size((100, 24)).columns - 20)
    for line in sweep_strips(sweep, rows, metric, width):
        print(line)
    shown = visible(metric)
    best = rows[0] if rows and rows[0].value is not None else None
    if best is not None:
        print(f"\nbest: point {best.point.index} ({shown} {fmt.metric(best.value)})")
        if best.reproduce:
            print(f"  {visible(best.reproduce)}")
    return 0


def cmd_sweep_list(args: argparse.Namespace) -> int:
    logdir = _logdir(args)
    ids = core.list_sweeps(logdir)
    if not ids:
        print(f"no sweeps in {visible(logdir)} (start one with 'keraslab sweep')")
        return 0
    rows = []
    for sweep_id in ids:
        try:
            sweep = core.load_sweep(logdir, sweep_id, _warn)
        except core.KeraslabError as exc:
            print(f"warning: {visible(exc)}", file=sys.stderr)
            continue
        where = sweep.launcher.get("kind", "-")
        if sweep.launcher.get("job_id"):
            where += f" job {sweep.launcher['job_id']}"
        rows.append([visible(sweep.id), visible(sweep.created[:16].replace("T", " ")), str(len(sweep.points)),
                     visible(where), visible(sweep.command)])  # fmt: skip
    print(fmt.table(["sweep", "created", "points", "where", "command"], rows, right=(2,)))
    return 0


def existing_point_session(config: RunConfig, args: argparse.Namespace):
    """`train --config POINT --resume-existing`: a session resuming the point's stopped or
    interrupted run when it has one (SLURM restarted a preempted task), else None."""
    mark = config.sweep
    if not mark:
        raise ConfigError("--resume-existing needs --config of a sweep point (its config names the sweep)")
    logdir = core.default_logdir(args.logdir)
    run = core.find_point_run(logdir, config.name or config.default_name(), mark["id"], mark["point"])
    if run is None:
        return None
    try:
        point = core.resume_point(run)
    except core.KeraslabError as exc:
        print(f"note: not resuming {visible(run.name)}: {visible(exc)}; starting a new run", flush=True)
        return None
    print(f"resuming {visible(run.name)} after epoch {point.epoch}", flush=True)
    return core.TrainingSession(point.config, run.parent, resume_from=run)


def _warn(text: str) -> None:
    print(f"warning: {visible(text)}", file=sys.stderr)


SWEEP_COMMANDS = {"sweep": cmd_sweep}
