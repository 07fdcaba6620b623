"""A few small runs are read by the record loop without importing numpy (its import costs
more than their records), with the same results as the bulk decoder's."""

from __future__ import annotations

import json
import random
import subprocess
import sys

from keraslab.core.tfevents import fastpath, read_runs_scalars
from keraslab.core.tfevents import reader as event_reader
from test_event_writers import corpus, event_file  # noqa: F401 (fixture)
from writers_corpus import WRITERS, damaged_copies


def _results(dirs) -> list:
    fastpath.FAST_TAGS.clear()
    out = []
    for res in read_runs_scalars(dirs):
        scalars = {
            t: (s.steps, [repr(x) for x in s.wall_times], [repr(x) for x in s.values])
            for t, s in res.scalars.items()
        }
        out.append((scalars, list(scalars), res.texts, res.warnings))
    return out


def test_small_runs_read_by_the_loop_as_in_bulk(corpus, monkeypatch):  # noqa: F811
    dirs = [corpus / w for w in WRITERS]
    bulk = _results(dirs)
    monkeypatch.setattr(event_reader, "_bulk_pays", lambda size: False)
    assert _results(dirs) == bulk
    assert sum(len(s[0]) for r in bulk for s in r[0].values()) > 5000


def test_damaged_small_runs_read_by_the_loop_as_in_bulk(corpus, tmp_path, monkeypatch):  # noqa: F811
    data = event_file(corpus / "tensorboardX").read_bytes()
    dirs = []
    for i, (_, damaged) in enumerate(damaged_copies(data, random.Random(7), flips=12, cuts=4)):
        d = tmp_path / f"run{i}"
        d.mkdir()
        (d / "events.out.tfevents.1.h.1.0").write_bytes(damaged)
        dirs.append(d)
    bulk = _results(dirs)
    monkeypatch.setattr(event_reader, "_bulk_pays", lambda size: False)
    assert _results(dirs) == bulk
    assert any(r[3] for r in bulk)  # (damage reported, the same way)


def test_a_few_runs_need_no_numpy(corpus):  # noqa: F811
    """In a fresh process (a first `keraslab runs`), as when many are read after numpy loaded."""
    code = (
        "import json, sys\n"
        "from keraslab.core.tfevents import read_runs_scalars\n"
        "res = read_runs_scalars(json.loads(sys.argv[1]))\n"
        "every = [{t: [s.steps, list(map(repr, s.wall_times)), list(map(repr, s.values))]"
        " for t, s in r.scalars.items()} for r in res]\n"
        "print(json.dumps(['numpy' in sys.modules, every]))\n"
    )
    dirs = [str(corpus / w) for w in ("tensorboardX", "keraslab")]
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(dirs)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    numpy_loaded, tails = json.loads(out.stdout)  # (every point, as repr)
    assert numpy_loaded is False
    want = [
        {
            t: [s.steps, list(map(repr, s.wall_times)), list(map(repr, s.values))]
            for t, s in r.scalars.items()
        }
        for r in read_runs_scalars(dirs)
    ]
    assert tails == want and sum(len(x[0]) for r in want for x in r.values()) > 1000
