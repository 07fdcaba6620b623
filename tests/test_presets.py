"""The classic lab architectures are one word away, with the parameter counts the labs report."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import math  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keraslab.core.errors import SpecError  # noqa: E402
from keraslab.core.model.layers import output_is_probabilities  # noqa: E402
from keraslab.core.model.notation import format_stack, parse_stack  # noqa: E402
from keraslab.core.model.presets import DEFAULT_PRESET, PRESETS, get_preset, resolve_model  # noqa: E402
from keraslab.core.model.preview import preview_stack  # noqa: E402

# total parameters on the dataset each preset was designed for (as Keras counts them)
EXPECTED_TOTAL = {
    "linear": 7_850, "mlp": 269_322, "cnn": 147_274, "fancy": 73_338, "avgpool": 25_258,
    "mnist99": 198_470, "cifar_dense": 646_260, "cifar_conv1": 15_120, "cifar_conv2": 592_554,
    "bad100": 1_043_898,
}


def test_the_labs_architectures_are_all_there():
    assert set(EXPECTED_TOTAL) == set(PRESETS)
    assert DEFAULT_PRESET == "cnn"
    for name, preset in PRESETS.items():
        assert preset.name == name
        assert preset.description and "\n" not in preset.description
        assert preset.dataset and preset.source
        assert format_stack(preset.stack) == preset.notation  # stored canonically
        assert output_is_probabilities(preset.stack)


@pytest.mark.parametrize("name", list(PRESETS))
def test_parameter_counts_match_the_labs(name):
    preset = PRESETS[name]
    preview = preview_stack(preset.stack, preset.input_shape, preset.num_classes)
    assert preview.total_params == EXPECTED_TOTAL[name]
    reported = preset.lab_params
    if "total" in reported:
        assert preview.total_params == reported["total"]
    if "trainable" in reported:
        assert preview.trainable_params == reported["trainable"]
    if "conv_part" in reported:  # the Q&A lab's model stops after its conv blocks
        conv_rows = preview.rows[: [r.token for r in preview.rows].index("flatten")]
        assert sum(r.params for r in conv_rows) == reported["conv_part"]


def test_specific_lab_numbers():
    assert PRESETS["fancy"].lab_params == {"trainable": 72_890}          # "72.890 trainable parameters"
    assert PRESETS["cifar_dense"].lab_params == {"total": 646_260}
    assert PRESETS["cifar_conv1"].lab_params == {"total": 15_120}
    mlp = preview_stack(PRESETS["mlp"].stack, (28, 28, 1), 10)
    assert abs(mlp.trainable_params - 270_000) < 1_000                    # "270.000 trainable parameters"
    first = preview_stack(PRESETS["mnist99"].stack, (28, 28, 1), 10).rows[:3]
    assert [r.params for r in first] == [80, 3216, 64]                    # the lab's model.summary()


def test_presets_adapt_their_output_to_the_class_count():
    for preset in PRESETS.values():
        preview = preview_stack(preset.stack, preset.input_shape, 100)
        assert preview.output_shape == (100,)


def test_unknown_presets_list_the_known_ones():
    with pytest.raises(SpecError, match="unknown preset 'cnnn'; known: linear, mlp, cnn"):
        get_preset("cnnn")


def test_resolve_model_takes_a_preset_name_notation_or_json():
    assert resolve_model("cnn") == PRESETS["cnn"].stack
    assert resolve_model(" mlp ") == PRESETS["mlp"].stack
    assert resolve_model("flatten-out-softmax") == PRESETS["linear"].stack
    assert resolve_model('[{"type": "flatten"}, {"type": "dense", "units": "classes"}]') == \
        parse_stack("flatten-out")
    with pytest.raises(SpecError, match="unknown layer 'cnnn'"):
        resolve_model("cnnn")


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds_and_trains_on_its_dataset_shape(name):
    keras = pytest.importorskip("keras")
    from keraslab.core.train.build import build_model

    preset = PRESETS[name]
    model = build_model(preset.stack, preset.input_shape, preset.num_classes, input_scaling=(1 / 255.0, 0.0))
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(4, *preset.input_shape)).astype("float32")
    y = rng.integers(0, preset.num_classes, size=(4,))
    if preset.loss == "categorical_crossentropy":
        y = keras.utils.to_categorical(y, preset.num_classes)
    model.compile(optimizer="adam", loss=preset.loss, jit_compile=False)
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert math.isfinite(history.history["loss"][-1])
