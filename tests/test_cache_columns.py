"""The summary cache's columns: keraslab runs saved as blocks of columns, read back the same, and a spoilt or old cache never trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browse_helpers import keras_tb_run, keraslab_run
from conftest import run_cli
from keraslab.core import RunWatcher, discover_runs
from keraslab.core.browse import cache
from keraslab.core.browse.cache import CACHE_NAME, CACHE_VERSION, load_cache
from keraslab.core.rundir.fileio import MAX_JSON_DEPTH


def _logdir(root: Path, runs: int = 3) -> Path:
    """``runs`` keraslab runs (one with a note and tags) and one TensorBoard run, by the real writers."""
    for i in range(runs):
        keraslab_run(root, f"kl{i}", epochs=2 + i, lr=10.0 ** -(i + 2))
    first = sorted(root.glob("kl0-*"))[0]
    (first / "notes.md").write_text("a note")
    (first / "tags.json").write_text('["baseline"]')
    keras_tb_run(root / "tb-1", epochs=3)
    return root


def _table(root: Path, **kw) -> dict:
    return {r.name: {k: v for k, v in r.to_dict().items() if k != "status"} for r in discover_runs(root, **kw)}


def _preloaded(root: Path) -> set[str]:
    """The runs a watcher takes from the cache as it is, reading no run."""
    watcher = RunWatcher(root)
    watcher.preload()
    return {r.name for r in watcher.summaries()}


def test_keraslab_runs_are_saved_as_columns_and_read_back_as_they_were(tmp_path):
    root = _logdir(tmp_path)
    fresh = _table(root, use_cache=False)
    discover_runs(root)  # (saves the cache)
    saved = json.loads((root / CACHE_NAME).read_text())
    assert saved["version"] == CACHE_VERSION
    [block] = saved["keraslab"]
    assert sorted(block["rel"]) == sorted(n for n in fresh if n.startswith("kl"))
    assert list(saved["runs"]) == ["tb-1"]  # (other kinds: an entry each)
    assert _preloaded(root) == set(fresh)
    assert _table(root) == fresh  # (from the cache: the same rows, notes and tags)
    assert _table(root)[sorted(n for n in fresh if n.startswith("kl0"))[0]]["tags"] == ["baseline"]


def test_many_blocks_round_trip_and_a_run_changed_since_is_read_again(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "BLOCK", 2)
    root = _logdir(tmp_path, runs=5)
    discover_runs(root)
    assert len(json.loads((root / CACHE_NAME).read_text())["keraslab"]) == 3  # (2 + 2 + 1 runs)
    assert len(_preloaded(root)) == 6
    changed = sorted(root.glob("kl4-*"))[0]
    (changed / "notes.md").write_text("changed later")
    notes = {r.name: r.notes for r in discover_runs(root)}
    assert notes[changed.name] == "changed later"


def _spoil_text(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


SPOILS = {
    "a name too few": lambda b: b["rel"].pop(),
    "a signature too few": lambda b: b["sigs"].pop(),
    "a str among the signatures": lambda b: b["sigs"].__setitem__(1, "12"),
    "a bool among the positions": lambda b: b["pos"].__setitem__(1, True),
    "a float offset": lambda b: b["pos"].__setitem__(0, 1.5),
    "a negative offset": lambda b: b["pos"].__setitem__(0, -1),
    "a negative mtime": lambda b: b["sigs"].__setitem__(1, -5),
    "a stats count that is no int": lambda b: b["stats"].__setitem__(4, 3.0),
    "a str among the stats": lambda b: b["stats"].__setitem__(0, "0.9"),
    "a stats value too few": lambda b: b["stats"].pop(),
    "a metric name that is no str": lambda b: b["keys"][0].__setitem__(0, 7),
    "epochs planned as text": lambda b: b["config"][0]["run"].__setitem__("epochs", "ten"),
    "params as a bool": lambda b: b["config"][0]["model_info"].__setitem__("params", True),
    "a status that is no str": lambda b: b["status"][1].__setitem__("status", ["completed"]),
    "a test accuracy as text": lambda b: b["results"][2]["test"].__setitem__("accuracy", "0.9"),
    "a config that is a list": lambda b: b["config"].__setitem__(0, []),
    "a tag that is no str": lambda b: b["tags"][0].append(1),
    "notes that are a number": lambda b: b["notes"].__setitem__(0, 3),
    "a column missing": lambda b: b.pop("warnings"),
    "a column too many": lambda b: b.__setitem__("extra", []),
    "a column that is no list": lambda b: b.__setitem__("notes", "x"),
    "a config nested too deeply": lambda b: b["config"][0]["run"].__setitem__(
        "extra", json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    ),
}


@pytest.mark.parametrize("spoil", list(SPOILS))
def test_a_spoilt_block_of_columns_is_refused_whole_and_the_runs_are_read_again(tmp_path, spoil):
    root = _logdir(tmp_path)
    fresh = _table(root, use_cache=False)
    discover_runs(root)
    saved = json.loads((root / CACHE_NAME).read_text())
    SPOILS[spoil](saved["keraslab"][0])
    (root / CACHE_NAME).write_text(json.dumps(saved))
    assert not any(n.startswith("kl") for n in _preloaded(root))
    assert _table(root) == fresh  # (read again from the runs, then saved whole again)
    assert _preloaded(root) == set(fresh)


@pytest.mark.parametrize(
    "old, new",
    [
        ('"heartbeat":', '"heartbeat":NaN,"x":'),  # (json reads NaN; a heartbeat must be finite)
        ('"params":12345', '"params":' + "9" * 5000),  # (a huge number: more digits than Python parses)
        ('"pos":[', '"pos":[' + "1" * 400 + ","),  # (a huge but valid int: the lengths no longer agree)
        ('"rel":["', '"rel":[["'),  # (a name that is no string)
        ('"keraslab":[{', '"keraslab":[{"extra":[],'),  # (a column keraslab does not write)
    ],
)
def test_hostile_cache_text_is_never_trusted(tmp_path, old, new):
    root = _logdir(tmp_path)
    fresh = _table(root, use_cache=False)
    discover_runs(root)
    path = root / CACHE_NAME
    path.write_text(_spoil_text(path.read_text(), old, new))
    assert not any(n.startswith("kl") for n in _preloaded(root))
    assert _table(root) == fresh


def test_a_second_block_spoilt_refuses_the_first_too(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "BLOCK", 2)
    root = _logdir(tmp_path, runs=4)
    discover_runs(root)
    saved = json.loads((root / CACHE_NAME).read_text())
    saved["keraslab"][1]["pos"][1] = -3
    (root / CACHE_NAME).write_text(json.dumps(saved, separators=(",", ":")))
    assert _preloaded(root) <= {"tb-1"}


def _as_version_6(root: Path) -> None:
    """The log directory's cache in the previous version's form: one object per run."""
    entries = load_cache(root)
    text = json.dumps({"version": 6, "metric_map": json.loads((root / CACHE_NAME).read_text())["metric_map"],
                       "runs": {rel: dict(e) for rel, e in entries.items()}}, separators=(",", ":"))  # fmt: skip
    (root / CACHE_NAME).write_text(text)


def test_an_old_version_cache_is_dropped_and_rebuilt(tmp_path):
    root = _logdir(tmp_path)
    fresh = _table(root, use_cache=False)
    discover_runs(root)
    _as_version_6(root)
    assert _preloaded(root) == set()  # (not taken)
    result = run_cli("runs", "--logdir", str(root))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert all(name in result.stdout for name in fresh)
    saved = json.loads((root / CACHE_NAME).read_text())
    assert saved["version"] == CACHE_VERSION and len(saved["keraslab"][0]["rel"]) == 3
    assert _table(root) == fresh


def test_a_hand_made_entry_beside_the_columns_is_checked_alone(tmp_path):
    root = _logdir(tmp_path)
    discover_runs(root)
    saved = json.loads((root / CACHE_NAME).read_text())
    block = saved["keraslab"][0]
    bad = {"kind": "keraslab", "sigs": {}, "config": {"run": {"epochs": "ten"}}, "status": {}, "results": {},
           "offset": 0, "head": None, "epochs": 0, "stats": {}, "warnings": [], "tags": [], "notes": ""}  # fmt: skip
    (root / "hand").mkdir()
    saved["runs"]["hand"] = bad
    (root / CACHE_NAME).write_text(json.dumps(saved))
    taken = _preloaded(root)
    assert set(block["rel"]) <= taken and "hand" not in taken  # (the bad entry alone is refused)


def test_cached_stats_come_back_field_for_field():
    from keraslab.core.browse.runstate import pack_stats, stats_of
    from keraslab.core.rundir.metricstats import MetricStats

    fields = list(MetricStats.__dataclass_fields__)
    stats = MetricStats(**{name: i + 0.5 if i != 4 else 7 for i, name in enumerate(fields)})  # (each its own value)
    assert stats_of(pack_stats({"loss": stats})) == {"loss": stats}
    with pytest.raises(ValueError):
        stats_of({"loss": pack_stats({"loss": stats})["loss"][:-1]})
