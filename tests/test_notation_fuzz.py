"""Whatever a person types, the parser answers with a valid stack or one clear line, never a traceback."""

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keraslab.core.errors import SpecError
from keraslab.core.model.layers import LAYER_TYPES, LayerSpec
from keraslab.core.model.lint import lint_stack
from keraslab.core.model.notation import format_stack, parse_stack, stack_from_json, stack_to_json
from keraslab.core.model.params import ACTIVATIONS, FLIP_MODES
from keraslab.core.model.presets import PRESETS
from keraslab.core.model.preview import preview_stack

# KERASLAB_FUZZ_EXAMPLES=5000 for a deeper run
FUZZ = settings(max_examples=int(os.environ.get("KERASLAB_FUZZ_EXAMPLES", "300")), derandomize=True,
                deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOTATION_CHARS = "convdenseflatmaxpoolgaprelubsigmkxhtw_0123456789.:=-| e+"
VALID = [p.notation for p in PRESETS.values()] + [
    "flip:hv-rotate0.05-zoom0.1-translate0.1-contrast0.2 | conv8k3x5s2:valid:gelu:l2=1e-4-avgpool3s2:same"
    " | dropout0.25-flatten-dense32:swish:init=uniform0.05-out:softmax",
]


def check(text):
    """Parse; a success must round-trip and preview/lint without surprises, a failure is one line."""
    try:
        stack = parse_stack(text)
    except SpecError as err:
        message = str(err)
        assert message and "\n" not in message and "Traceback" not in message
        assert err.position is None or 0 <= err.position <= len(text)
        return None
    assert parse_stack(format_stack(stack)) == stack
    assert stack_from_json(json.loads(json.dumps(stack_to_json(stack)))) == stack
    for shape in ((8, 8, 1), (10,)):
        try:
            preview_stack(stack, shape, 3)
        except SpecError as err:
            assert "\n" not in str(err) and err.layer is not None
        for finding in lint_stack(stack, shape, 3):
            assert "\n" not in finding.message
    return stack


@FUZZ
@given(st.text(max_size=60))
def test_random_text(text):
    check(text)


@FUZZ
@given(st.text(alphabet=NOTATION_CHARS, max_size=60))
def test_random_notation_like_text(text):
    check(text)


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 6)))
        op = draw(st.sampled_from(["delete", "insert", "replace", "duplicate", "swap"]))
        piece = draw(st.text(alphabet=NOTATION_CHARS, min_size=1, max_size=4))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + piece + text[i:]
        elif op == "replace":
            text = text[:i] + piece + text[j:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            tokens = text.split("-")
            a, b = draw(st.integers(0, len(tokens) - 1)), draw(st.integers(0, len(tokens) - 1))
            tokens[a], tokens[b] = tokens[b], tokens[a]
            text = "-".join(tokens)
    return text


@FUZZ
@given(mutated())
def test_mutations_of_valid_notation(text):
    check(text)


_size = st.one_of(st.integers(1, 12), st.tuples(st.integers(1, 12), st.integers(1, 12)))
_small_float = st.floats(min_value=0.001, max_value=0.99, allow_nan=False)
_act = st.sampled_from([None, *ACTIVATIONS])
_init = st.sampled_from(["glorot_uniform", "he_normal", "zeros", "ones", "normal0.1", "uniform0.5",
                         "truncated_normal0.02", "constant0.25", "orthogonal"])
_l2 = st.one_of(st.none(), st.floats(min_value=0, max_value=1, allow_nan=False))
_LAYERS = {
    "conv2d": st.fixed_dictionaries({
        "filters": st.integers(1, 512), "kernel": _size, "strides": st.integers(1, 4),
        "padding": st.sampled_from(["same", "valid"]), "activation": _act, "init": _init, "l2": _l2}),
    "dense": st.fixed_dictionaries({
        "units": st.one_of(st.integers(1, 4096), st.just("classes")), "activation": _act, "init": _init,
        "l2": _l2}),
    "maxpool2d": st.fixed_dictionaries({"pool": _size, "strides": st.one_of(st.none(), st.integers(1, 4)),
                                        "padding": st.sampled_from(["same", "valid"])}),
    "avgpool2d": st.fixed_dictionaries({"pool": _size, "strides": st.one_of(st.none(), st.integers(1, 4)),
                                        "padding": st.sampled_from(["same", "valid"])}),
    "gap": st.just({}), "flatten": st.just({}), "bn": st.just({}),
    "dropout": st.fixed_dictionaries({"rate": st.floats(min_value=0, max_value=0.999, allow_nan=False)}),
    "activation": st.fixed_dictionaries({"activation": st.sampled_from(ACTIVATIONS)}),
    "random_flip": st.fixed_dictionaries({"mode": st.sampled_from(FLIP_MODES)}),
    "random_rotation": st.fixed_dictionaries({"factor": _small_float}),
    "random_zoom": st.fixed_dictionaries({"factor": _small_float}),
    "random_translation": st.fixed_dictionaries({"factor": _small_float}),
    "random_contrast": st.fixed_dictionaries({"factor": _small_float}),
}
assert set(_LAYERS) == set(LAYER_TYPES)  # a new layer type must join the fuzz test

layer_specs = st.sampled_from(sorted(_LAYERS)).flatmap(
    lambda key: _LAYERS[key].map(lambda params: LayerSpec(key, params)))


@FUZZ
@given(st.lists(layer_specs, min_size=1, max_size=12))
def test_any_stack_round_trips_through_notation_and_json(stack):
    text = format_stack(stack)
    assert parse_stack(text) == stack
    assert format_stack(parse_stack(text)) == text
    assert stack_from_json(json.loads(json.dumps(stack_to_json(stack)))) == stack
