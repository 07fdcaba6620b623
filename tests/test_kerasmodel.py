"""The model graph Keras' TensorBoard callback writes (model.to_json()), read without Keras."""

from __future__ import annotations

import json

import pytest
from keraslab.core.tfevents.kerasgraph import parse_keras_model


def model_json(layers=None, compile_config=None, **extra) -> str:
    data = {"class_name": "Sequential", "config": {"name": "seq", "layers": layers or []}, **extra}
    if compile_config is not None:
        data["compile_config"] = compile_config
    return json.dumps(data)


@pytest.mark.parametrize(
    ("loss", "expected"),
    [
        ("mse", "mse"),
        ({"class_name": "function", "config": "mean_squared_error", "module": "keras.losses"}, "mean_squared_error"),
        ({"class_name": "MeanSquaredError", "config": {"name": "mean_squared_error"}}, "mean_squared_error"),
        ({"class_name": "MyLoss", "config": None}, "MyLoss"),
        ({"out_a": "mse", "out_b": {"class_name": "function", "config": "mae"}}, "out_a:mse, out_b:mae"),
        (["mse", "binary_crossentropy"], "mse, binary_crossentropy"),
    ],
)
def test_the_loss_however_keras_saved_it(loss, expected):
    model = parse_keras_model(model_json(compile_config={"optimizer": "adam", "loss": loss}))
    assert model.hparams == {"optimizer": "adam", "loss": expected}


def test_odd_configs_give_what_they_can_and_never_raise():
    weird = [
        {"class_name": "Sequential", "config": {"name": "x", "layers": 5}},
        {"class_name": "Sequential", "config": {"layers": [1, "a", {"class_name": "Dense", "config": "x"}]}},
        {"class_name": "M", "config": {}, "compile_config": {"optimizer": {"class_name": "SGD", "config": "x"}}},
        {"class_name": "M", "config": {}, "compile_config": {"optimizer": {"class_name": "SGD",
                                                                          "config": {"learning_rate": 10**400}}}},
    ]  # fmt: skip
    described = [parse_keras_model(json.dumps(w)) for w in weird]
    assert described[0].layers == [] and described[1].layers == [("", "Dense", "")]
    assert described[2].hparams == {"optimizer": "sgd"} and "learning_rate" not in described[3].hparams
    assert parse_keras_model("[1, 2]") is None and parse_keras_model("not json") is None
    assert parse_keras_model(json.dumps({"config": []})) is None


def test_input_shapes_and_nested_models():
    tf2 = model_json([{"class_name": "Dense", "config": {"name": "d", "units": 4, "batch_input_shape": [None, 3]}}])
    assert parse_keras_model(tf2).input_shape == [None, 3]  # tf.keras 2 kept it on the first layer
    nested = model_json([
        {"class_name": "Sequential", "config": {"name": "inner", "layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 2]}},
            {"class_name": "Dense", "config": {"units": 1}},
        ]}},
    ])  # fmt: skip
    model = parse_keras_model(nested)
    assert model.layers == [("inner", "Sequential", "1 layers")]
    assert model.describe().startswith("Sequential 'seq': 1 layers")
