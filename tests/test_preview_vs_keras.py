"""The pure-Python preview shows exactly the shapes and parameter counts that Keras reports."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import random  # noqa: E402

import pytest  # noqa: E402
from keraslab.core.errors import SpecError  # noqa: E402
from keraslab.core.model.layers import LayerSpec  # noqa: E402
from keraslab.core.model.notation import format_stack, parse_stack  # noqa: E402
from keraslab.core.model.params import ACTIVATIONS, ShapeError  # noqa: E402
from keraslab.core.model.presets import PRESETS  # noqa: E402
from keraslab.core.model.preview import format_table, preview_stack  # noqa: E402
from keraslab.core.train.build import build_model  # noqa: E402


@pytest.fixture(scope="module")
def keras():
    """Keras, imported when the first test here runs (collecting the suite stays fast)."""
    return pytest.importorskip("keras")


@pytest.fixture(autouse=True)
def _needs_keras(keras):
    return keras

RANDOM_STACKS = 300
SHAPES = [(8, 8, 1), (12, 12, 3), (9, 7, 2), (6, 6, 1), (10,)]
INITS = ["glorot_uniform", "he_normal", "zeros", "normal0.1", "uniform0.05", "constant0.5"]


def assert_preview_matches_keras(stack, input_shape, num_classes, **build_kwargs):
    preview = preview_stack(stack, input_shape, num_classes)
    model = build_model(stack, input_shape, num_classes, **build_kwargs)
    for row in preview.rows:
        layer = model.get_layer(row.name)
        where = f"{row.name} {row.token!r} in {format_stack(stack)!r} on {input_shape}"
        assert tuple(layer.output.shape[1:]) == row.output_shape, where
        assert layer.count_params() == row.params, where
        trainable = sum(int(w.numpy().size) for w in layer.trainable_weights)
        assert trainable == row.trainable, where
    assert model.count_params() == preview.total_params
    assert sum(int(w.numpy().size) for w in model.trainable_weights) == preview.trainable_params
    assert tuple(model.output.shape[1:]) == preview.output_shape == (num_classes,)
    return model


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_previews_what_keras_builds(name):
    preset = PRESETS[name]
    assert_preview_matches_keras(preset.stack, preset.input_shape, preset.num_classes)


@pytest.mark.parametrize(("name", "shape", "classes"), [
    ("cnn", (8, 8, 1), 10), ("fancy", (32, 32, 3), 100), ("mlp", (32, 32, 3), 100),
    ("cifar_conv2", (28, 28, 1), 3), ("linear", (8, 8, 1), 2),
])
def test_presets_adapt_to_other_datasets(name, shape, classes):
    assert_preview_matches_keras(PRESETS[name].stack, shape, classes)


def test_input_scaling_and_global_l2_add_no_parameters():
    stack = PRESETS["fancy"].stack
    model = assert_preview_matches_keras(stack, (28, 28, 1), 10, input_scaling=(1 / 255.0, -0.5), l2=1e-4)
    assert model.get_layer("rescaling").count_params() == 0
    assert model.get_layer("conv2d_1").kernel_regularizer is not None
    assert len(model.losses) == 7  # six convs and the output dense carry the global L2


def test_a_bad_stack_fails_with_a_spec_error_before_keras_is_asked():
    with pytest.raises(SpecError, match="layer 2 'conv8k5:valid'"):
        build_model(parse_stack("maxpool2-conv8k5:valid-gap-out"), (8, 8, 1), 10)


def _random_layer(rng, shape, num_classes):
    image = len(shape) == 3
    if image:
        kind = rng.choice(["conv", "conv", "conv", "pool", "bn", "dropout", "act", "aug", "to_flat"])
    else:
        kind = rng.choice(["dense", "dense", "bn", "dropout", "act", "flatten"])
    act = rng.choice([None, None, *ACTIVATIONS])
    if kind == "conv":
        k = rng.choice([1, 2, 3, 3, 4, 5, [2, 3], [3, 1]])
        return LayerSpec("conv2d", {
            "filters": rng.randint(1, 6), "kernel": k, "strides": rng.choice([1, 1, 2, 3]),
            "padding": rng.choice(["same", "valid"]), "activation": act, "init": rng.choice(INITS),
            "l2": rng.choice([None, 1e-4]),
        })
    if kind == "pool":
        return LayerSpec(rng.choice(["maxpool2d", "avgpool2d"]), {
            "pool": rng.choice([1, 2, 2, 3, [2, 1]]), "strides": rng.choice([None, None, 1, 2, 3]),
            "padding": rng.choice(["same", "valid"]),
        })
    if kind == "dense":
        return LayerSpec("dense", {"units": rng.randint(1, 9), "activation": act, "init": rng.choice(INITS)})
    if kind == "bn":
        return LayerSpec("bn")
    if kind == "dropout":
        return LayerSpec("dropout", {"rate": rng.choice([0.0, 0.1, 0.5])})
    if kind == "act":
        return LayerSpec("activation", {"activation": rng.choice(ACTIVATIONS)})
    if kind == "aug":
        return rng.choice([
            LayerSpec("random_flip", {"mode": rng.choice(["horizontal", "vertical", "horizontal_and_vertical"])}),
            LayerSpec("random_rotation", {"factor": 0.1}), LayerSpec("random_zoom", {"factor": 0.2}),
            LayerSpec("random_translation", {"factor": 0.1}), LayerSpec("random_contrast", {"factor": 0.3}),
        ])
    if kind == "flatten":
        return LayerSpec("flatten")
    return LayerSpec(rng.choice(["flatten", "gap"]))


def random_stack(rng):
    """A random stack that is valid for a random small input (the generator asks the preview rules)."""
    shape = rng.choice(SHAPES)
    num_classes = rng.randint(1, 5)
    stack, current = [], shape
    for _ in range(rng.randint(1, 9)):
        spec = _random_layer(rng, current, num_classes)
        try:
            current = spec.layer_type.shape(current, spec.params, num_classes)
        except ShapeError:
            continue
        stack.append(spec)
    if len(current) == 3:
        stack.append(LayerSpec(rng.choice(["flatten", "gap"])))
    stack.append(LayerSpec("dense", {"units": "classes", "activation": rng.choice([None, "softmax"])}))
    if rng.random() < 0.5:
        stack.append(LayerSpec("activation", {"activation": "softmax"}))
    return stack, shape, num_classes


def test_preview_equals_keras_on_a_few_hundred_random_stacks(keras):
    rng = random.Random(20240611)
    for n in range(RANDOM_STACKS):
        stack, shape, num_classes = random_stack(rng)
        assert parse_stack(format_stack(stack)) == stack
        assert_preview_matches_keras(stack, shape, num_classes)
        if n % 50 == 49:
            keras.backend.clear_session()


def test_the_table_shows_every_layer_and_the_totals():
    preview = preview_stack(PRESETS["cifar_conv1"].stack, (32, 32, 3), 10)
    table = format_table(preview)
    assert "conv2d_1" in table and "16x16x10" in table and "490" in table
    assert "total params: 15,120" in table
