"""`keraslab labs`: train the 003 MNIST lab's table end to end and print the lab's figure beside keraslab's."""

from __future__ import annotations

import argparse
import json
import sys
import time

from keraslab import core

from . import fmt
from .cli_runs import _add_logdir


def register(sub) -> None:
    """Add `labs` to the CLI's sub-parsers."""
    p = sub.add_parser(
        "labs",
        help="reproduce the MNIST lab's results table (cnn, dropout, fancy, augmentation, ensemble)",
        description="Train each model of the 003 MNIST lab with its recipe (the preset's lab "
        "recipe, as 'train --recipe') and print the lab's test accuracy beside keraslab's, one "
        "row per claim. The full table trains seven models for 20 epochs each: hours on a CPU. "
        "A row whose run is already in the log directory (completed, same settings) is taken "
        "from there, so an interrupted table goes on where it stopped; --fresh trains every row.",
        epilog="examples:\n  keraslab labs --quick          (one epoch of each row on digits: a smoke test)\n"
        "  nice -n 19 keraslab labs --logdir runs-labs > labs.txt &\n  keraslab labs --recipes",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="one epoch of every row on digits (offline, about a minute)")
    p.add_argument("--only", metavar="ROW", action="append", choices=[c.key for c in core.LAB_CLAIMS],
                   help="train only this row (repeatable): " + ", ".join(c.key for c in core.LAB_CLAIMS))
    p.add_argument("--fresh", action="store_true", help="train every row, even those already in the log directory")
    p.add_argument("--recipes", action="store_true", help="list the presets' lab recipes and exit")
    p.add_argument("--data-dir", metavar="DIR", help="folder with the MNIST files (also $KERASLAB_DATA_DIR)")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    _add_logdir(p)


def _train(config, logdir) -> core.Finished:
    """One run to its end, a line per epoch on stderr; Ctrl+C stops it as `train` does."""
    session = core.TrainingSession(config, logdir)
    session.start()
    while True:
        try:
            for ev in session.poll(timeout=0.5):
                if isinstance(ev, core.EpochEnd):
                    acc = ev.logs.get("val_accuracy", ev.logs.get("accuracy"))
                    print(f"    epoch {ev.epoch}/{ev.epochs}  val_accuracy {fmt.metric(acc)}  "
                          f"[{fmt.duration(ev.elapsed)}]", file=sys.stderr, flush=True)
                elif isinstance(ev, core.Finished):
                    return ev
        except KeyboardInterrupt:
            session.stop()
            print("    stopping after this batch ...", file=sys.stderr)


def _run_of(config, args, logdir, step: str, what: str) -> tuple[str, str, float | None, bool]:
    """(run dir, status, test accuracy, reused) of ``config``: a completed run of the same
    settings already in ``logdir`` (unless --fresh), else a new one trained now."""
    found = None if args.fresh else core.find_lab_run(logdir, config)
    if found is not None:
        path, accuracy = found
        print(f"{step} {what}: {fmt.visible(path.name)} is already in the log directory "
              f"(test accuracy {fmt.metric(accuracy)}); --fresh trains it again", file=sys.stderr, flush=True)
        return str(path), "completed", accuracy, True
    print(f"{step} {what}: {config.epochs} epochs on {config.dataset} ({fmt.visible(config.model)})",
          file=sys.stderr, flush=True)
    result = _train(config, logdir)
    if result.status != "completed":
        print(f"    {result.status}: {fmt.visible(result.reason or '')}; the table stops here", file=sys.stderr)
    return str(result.run_dir), result.status, (result.test or {}).get("accuracy"), False


def cmd_labs(args: argparse.Namespace) -> int:
    if args.recipes:
        print("\n".join(core.lab_recipe_lines()))
        return 0
    logdir = core.default_logdir(args.logdir)
    claims = [c for c in core.LAB_CLAIMS if not args.only or c.key in args.only]
    rows, done = [], {}
    for i, claim in enumerate(claims, start=1):
        row = {"row": claim.key, "claim": claim.claim, "lab": claim.lab_accuracy, "keraslab": None, "runs": []}
        rows.append(row)
        if claim.members:
            if not _ensemble_row(row, claim, done, args, logdir, f"[{i}/{len(claims)}]"):
                break
            continue
        config = core.lab_claim_config(claim, quick=args.quick, data_dir=args.data_dir)
        t0 = time.monotonic()
        run, row["status"], accuracy, reused = _run_of(config, args, logdir, f"[{i}/{len(claims)}]", claim.claim)
        row["runs"].append(run)
        row["seconds"] = None if reused else round(time.monotonic() - t0, 1)
        if row["status"] == "completed":
            row["keraslab"] = accuracy
        done[claim.key] = row
        if row["status"] != "completed":
            break
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if args.quick:
        print("(--quick: one epoch on digits, not the lab's setting: the figures are not comparable)")
    table = [[r["claim"], f"{100 * r['lab']:.2f}%", "-" if r["keraslab"] is None else f"{100 * r['keraslab']:.2f}%",
              _time_cell(r), fmt.visible(r.get("note") or (r["runs"][0].rsplit("/", 1)[-1] if r["runs"] else "-"))]
             for r in rows]  # fmt: skip
    print(fmt.table(["claim", "lab", "keraslab", "time", "run"], table, right=(1, 2, 3)))
    return 0 if all(r.get("status", "completed") == "completed" for r in rows) else 1


def _time_cell(row: dict) -> str:
    if row.get("seconds") is None and row.get("status") == "completed":
        return "reused"
    return fmt.duration(row.get("seconds"))


def _ensemble_row(row: dict, claim, done: dict, args, logdir, step: str) -> bool:
    """Train the members of an ensemble row (seeds 0..N-1; seed 0 is the row above's run when
    this call trained it), then average their test probabilities. False when a member failed."""
    same = (claim.preset, claim.model, claim.augment)
    above = next((done[c.key] for c in core.LAB_CLAIMS
                  if c.key in done and not c.members and (c.preset, c.model, c.augment) == same), None)
    members = [above["runs"][0]] if above else []
    t0, trained = time.monotonic(), False
    for seed in range(len(members), claim.members):
        config = core.lab_claim_config(claim, seed=seed, quick=args.quick, data_dir=args.data_dir)
        run, status, _, reused = _run_of(config, args, logdir, step, f"{claim.claim}: member {seed + 1}/{claim.members} (seed {seed})")
        if status != "completed":
            row["status"] = status
            return False
        members.append(run)
        trained = trained or not reused
    row["runs"], row["status"] = members, "completed"
    row["seconds"] = round(time.monotonic() - t0, 1) if trained else None  # (None: "reused")
    row["keraslab"] = core.ensemble_runs(members).evaluation.accuracy
    row["note"] = f"average of {len(members)} runs"
    return True


LABS_COMMANDS = {"labs": cmd_labs}
