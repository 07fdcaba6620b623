"""One schema for a run's config, wherever it comes from (config.json, --config, the app):
every field is checked by type and range up front, with one line naming the field."""

from __future__ import annotations

import json
import string

import pytest
from conftest import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from keraslab.core import ConfigError, RunConfig

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
FIELDS = [f for f in RunConfig.__dataclass_fields__]


@settings(max_examples=400, deadline=None)
@given(field=st.sampled_from(FIELDS), value=JSON)
def test_any_json_value_in_any_field_is_taken_or_refused_in_one_line(field, value):
    try:
        config = RunConfig.from_dict({field: value}).validate()
    except ConfigError as err:
        assert "\n" not in str(err) and str(err)
        return
    # taken: then it has the field's type, and the config's derived values work
    kept = getattr(config, field)
    assert kept == value or kept is value
    assert config.default_name() and config.model_label


@settings(max_examples=100, deadline=None)
@given(data=JSON)
def test_any_json_document_as_a_config_is_taken_or_refused(data):
    try:
        RunConfig.from_dict(data).validate()
    except ConfigError as err:
        assert "\n" not in str(err)


@pytest.mark.parametrize(("field", "value", "said"), [
    ("model", 5, "model:"),
    ("name", 5, "name:"),
    ("from_logits", "yes", "from_logits:"),
    ("seed", 10**30, "seed:"),
    ("epochs", 10**12, "epochs:"),
    ("batch_size", 1.5, "batch_size:"),
    ("layers", "conv", "layers:"),
    ("layers", [{"type": "flatten"}] * 1001, "layers:"),
    ("data_dir", 3, "data_dir:"),
    ("learning_rate", float("inf"), "learning_rate:"),
    ("extra", [], "extra:"),
])  # fmt: skip
def test_bad_values_name_their_field(field, value, said):
    with pytest.raises(ConfigError, match=said):
        RunConfig.from_dict({field: value}).validate()


def test_a_non_object_config_is_refused():
    for data in (None, [], "cnn", 3):
        with pytest.raises(ConfigError, match="must be a JSON object"):
            RunConfig.from_dict(data)


@given(st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=400))
def test_default_names_stay_short_and_distinct(model):
    name = RunConfig(model=model).default_name()
    assert len(name) <= 60
    if len(f"digits-{model}") > 60:  # shortened: the hash keeps different models apart
        assert name != RunConfig(model=model + "x").default_name()


@pytest.mark.parametrize("document", ["null", "[]", '{"run": null}', '{"model": 5}', '{"seed": 1e30}'])
def test_train_refuses_a_bad_config_file_in_one_line(tmp_path, document):
    path = tmp_path / "config.json"
    path.write_text(document)
    proc = run_cli("train", "--config", str(path), "--logdir", str(tmp_path / "runs"))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_long_notation_trains_under_a_short_run_name(tmp_path):
    stack = "-".join(["dense8-relu"] * 20) + "-out-softmax"
    stack = "flatten-" + stack
    proc = run_cli("train", "--model", stack, "--epochs", "1", "--limit", "100",
                   "--logdir", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(run_dir.name) <= 64 and json.loads((run_dir / "status.json").read_text())["status"] == "completed"


def test_a_model_that_cannot_fit_is_refused_before_it_is_built(tmp_path):
    # ~20 billion parameters: the linter counts them in pure Python; nothing is allocated
    stack = "flatten-dense100000-dense100000-dense100000-out-softmax"
    proc = run_cli("train", "--model", stack, "--epochs", "1", "--logdir", str(tmp_path))
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert "20,007,700,010 parameters" in out and "parameters" in out and "GB" in out and "Traceback" not in out
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "failed" and "parameters" in status["reason"]
