"""A person types a layer stack in one line; keraslab parses it, writes it back and stores it as JSON."""

import json
import subprocess
import sys

import pytest
from keraslab.core.errors import SpecError
from keraslab.core.model.layers import (
    CLASSES,
    LAYER_TYPES,
    WORDS,
    LayerSpec,
    layer_help,
    output_activation,
    output_is_probabilities,
)
from keraslab.core.model.notation import (
    format_stack,
    parse_stack,
    parse_token,
    stack_from_json,
    stack_from_text,
    stack_to_json,
)

EXAMPLES = [
    "conv16k3-bn-relu-conv16k3-bn-relu-maxpool2 | conv32k3-bn-relu-gap | out-softmax",
    "flatten-dense256-relu-dense256-relu-out-softmax",
    "flip:hv-rotate0.05-zoom0.1-translate0.1-contrast0.2 | conv8k3x5s2:valid:gelu:init=he_normal:l2=1e-4"
    "-avgpool3s2:same | dropout0.25-flatten-dense32:swish-out:softmax",
    "conv4k3:init=zeros-lrelu-maxpool2x3-elu-tanh-sigmoid-gap-dense7:tanh:init=normal0.1-out",
]


@pytest.mark.parametrize("text", EXAMPLES)
def test_notation_and_json_round_trip_exactly(text):
    stack = parse_stack(text)
    assert parse_stack(format_stack(stack)) == stack
    assert format_stack(parse_stack(format_stack(stack))) == format_stack(stack)
    data = json.loads(json.dumps(stack_to_json(stack)))
    assert stack_from_json(data) == stack
    assert stack_to_json(stack_from_json(data)) == data


def test_a_typed_stack_reads_as_expected():
    stack = parse_stack("Conv32k3s2:VALID:relu - maxpool3s2 | gap-out-softmax")
    conv = stack[0]
    assert conv.type == "conv2d"
    assert dict(conv.params) == {"filters": 32, "kernel": 3, "strides": 2, "padding": "valid",
                                 "activation": "relu", "init": "glorot_uniform", "l2": None}
    assert stack[1].params == {"pool": 3, "strides": 2, "padding": "valid"}
    assert stack[3].params["units"] == CLASSES
    assert format_stack(stack) == "conv32k3s2:valid:relu-maxpool3s2 | gap-out-softmax"


def test_defaults_are_canonical_so_equal_specs_compare_equal():
    assert parse_stack("maxpool2s2") == parse_stack("maxpool2")
    assert parse_stack("conv8k3x3") == parse_stack("conv8k3")
    assert parse_stack("drop.5-lrelu-batchnorm") == parse_stack("dropout0.5-leaky_relu-bn")
    assert parse_stack("conv8k3:init=random_normal") == parse_stack("conv8k3:init=normal0.05")
    assert LayerSpec("dense", {"units": 4}) == LayerSpec.from_dict({"type": "dense", "units": 4})
    assert hash(parse_stack("conv8k3")[0]) == hash(parse_stack("conv8k3:same")[0])


def test_json_of_a_layer_lists_every_parameter():
    spec = parse_token("conv8k3x5")
    assert spec.to_dict() == {"type": "conv2d", "filters": 8, "kernel": [3, 5], "strides": 1,
                              "padding": "same", "activation": None, "init": "glorot_uniform", "l2": None}
    assert stack_from_json({"layers": [{"type": "flatten"}, {"type": "dense", "units": "classes"}]}) \
        == parse_stack("flatten-out")


def test_every_registered_type_has_a_word_an_example_and_builds_from_its_example():
    for key, lt in LAYER_TYPES.items():
        spec = parse_token(lt.example)
        assert spec.type == key
        assert WORDS[lt.word] is lt
    assert len(layer_help()) == len(LAYER_TYPES)


@pytest.mark.parametrize(("text", "position", "fragment"), [
    ("convv16k3", 0, "did you mean 'conv'"),
    ("conv16k3-relu-dens10", 14, "unknown layer 'dens'"),
    ("conv16-relu", 0, "conv<filters>k<kernel>"),
    ("dense", 0, "dense<units>"),
    ("dropout", 0, "dropout<rate>"),
    ("dropout1.5", 0, "rate must be"),
    ("conv0k3", 0, "filters must be"),
    ("conv16k3:foo", 9, "unknown option ':foo'"),
    ("conv16k3:l2=x", 9, "l2 must be a number"),
    ("conv16k3:init=zeroes", 9, "unknown initializer"),
    ("relu:tanh", 5, "given twice"),
    ("conv16k3--relu", 9, "empty layer"),
    ("conv16k3 relu", 8, "missing '-'"),
    ("-relu", 0, "starts with"),
    ("relu |", 5, "ends with"),
    ("", 0, "empty layer stack"),
    ("16k3", 0, "starts with a name"),
    ("conv" + "9" * 5000 + "k3", 0, "filters must be"),
    ("rotate1e999", 0, "finite"),
])
def test_bad_notation_gives_one_line_pointing_at_the_token(text, position, fragment):
    with pytest.raises(SpecError) as info:
        parse_stack(text)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert info.value.position == position


def test_bad_json_names_the_layer():
    with pytest.raises(SpecError, match=r"layer 2 \(conv2d\): conv2d needs 'kernel'") as info:
        stack_from_json([{"type": "flatten"}, {"type": "conv2d", "filters": 3}])
    assert info.value.layer == 1
    for data, fragment in [
        ([{"type": "dense", "units": "10"}], "whole number"),
        ([{"type": "dense", "units": 10, "unit": 3}], "no parameter 'unit'"),
        ([{"type": "conv3d"}], "unknown layer type"),
        ([{"units": 3}], "needs a \"type\""),
        ([3], "JSON object"),
        ({"type": "dense"}, "must be a list"),
        ([], "empty"),
        ([{"type": "dropout", "rate": True}], "must be a number"),
    ]:
        with pytest.raises(SpecError, match=fragment):
            stack_from_json(data)


def test_model_files_may_hold_json_or_notation():
    assert stack_from_text('[{"type": "flatten"}, {"type": "dense", "units": 10}]') == \
        parse_stack("flatten-dense10")
    assert stack_from_text("  flatten-out  \n") == parse_stack("flatten-out")
    with pytest.raises(SpecError, match="invalid JSON"):
        stack_from_text("[{")


def test_output_is_probabilities_tells_which_loss_flag_to_use():
    assert output_is_probabilities(parse_stack("flatten-out-softmax"))
    assert output_is_probabilities(parse_stack("flatten-out:softmax-dropout0.5"))
    assert output_is_probabilities(parse_stack("gap-out-sigmoid"))
    assert not output_is_probabilities(parse_stack("flatten-dense8-softmax-out"))
    assert not output_is_probabilities(parse_stack("flatten"))
    assert output_activation(parse_stack("conv8k3-relu-gap")) == "relu"


def test_parsing_previewing_and_linting_never_import_tensorflow():
    code = (
        "import sys\n"
        "import keraslab.core.model.preview, keraslab.core.model.lint, keraslab.core.model.presets, keraslab.core.train.build\n"
        "from keraslab.core.model.presets import PRESETS\n"
        "from keraslab.core.model.lint import lint_stack\n"
        "from keraslab.core.model.preview import preview_stack\n"
        "for p in PRESETS.values():\n"
        "    preview_stack(p.stack, p.input_shape, p.num_classes)\n"
        "    lint_stack(p.stack, p.input_shape, p.num_classes, loss=p.loss)\n"
        "bad = [m for m in ('tensorflow', 'keras', 'jax', 'torch', 'textual') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
