"""Before training, the linter reviews a stack the way the warm-up lab's "book of grudges" does."""

import pytest
from keraslab.core.model.lint import CODES, SEVERITIES, Finding, has_errors, lint_stack
from keraslab.core.model.notation import parse_stack
from keraslab.core.model.params import CLASSES
from keraslab.core.model.presets import PRESETS

MNIST = (28, 28, 1)


def codes(findings):
    return {f.code for f in findings}


def lint(text, shape=MNIST, classes=10, **kwargs):
    return lint_stack(parse_stack(text), shape, classes, **kwargs)


def at(findings, code):
    return sorted(f.layer for f in findings if f.code == code)


def test_the_bad_network_produces_every_grudge():
    bad = PRESETS["bad100"]
    findings = lint_stack(bad.stack, (100, 100, 3), 10, loss="categorical_crossentropy")
    # layer indices (0-based) in the warm-up network
    assert at(findings, "zero-init") == [0, 2, 4]            # zero init: symmetry
    assert at(findings, "first-layer-filters") == [0]        # 512 filters on 3x3 patches: overkill
    assert at(findings, "filters-shrink") == [2, 4, 7]       # the further you go, the more filters
    assert at(findings, "large-kernel") == [7, 9]            # 10x10 kernels, and only 8 of them
    assert at(findings, "kernel-covers-input") == [9]        # the second 10x10 conv cannot fit its input
    assert at(findings, "hidden-softmax") == [14, 17]        # softmax in 512-unit hidden layers
    assert at(findings, "dropout-after-output") == [20]      # dropout after the probabilities
    assert at(findings, "sigmoid-categorical") == [18]       # and more: sigmoid + categorical CE
    assert has_errors(findings)
    large = next(f for f in findings if f.code == "large-kernel")
    assert "only 8 filters" in large.message
    for f in findings:
        assert f.severity in SEVERITIES and f.code in CODES
        assert "\n" not in f.message and "\n" not in f.suggestion and f.suggestion
        assert str(f).startswith(f.severity)


@pytest.mark.parametrize("name", [n for n, p in PRESETS.items() if not p.teaching])
def test_good_presets_produce_no_errors_or_warnings(name):
    preset = PRESETS[name]
    findings = lint_stack(preset.stack, preset.input_shape, preset.num_classes, loss=preset.loss)
    assert [f for f in findings if f.severity != "hint"] == []


def test_the_linear_conv_take_gets_hints_only():
    preset = PRESETS["cifar_conv1"]
    findings = lint_stack(preset.stack, preset.input_shape, 10)
    assert codes(findings) == {"linear-conv-stack", "linear-network"}
    assert {f.severity for f in findings} == {"hint"}


@pytest.mark.parametrize(("text", "kwargs", "code", "layer", "severity"), [
    ("conv8k3:init=ones-relu-gap-out-softmax", {}, "constant-init", 0, "error"),
    ("flatten-out:init=zeros-softmax", {}, "zero-init-output", 1, "hint"),
    ("flatten-dense32-sigmoid-out-softmax", {}, "hidden-sigmoid", 2, "warning"),
    ("flatten-dense32:softmax-out-softmax", {}, "hidden-softmax", 1, "warning"),
    ("flatten-out-softmax", {"from_logits": True}, "softmax-from-logits", 1, "error"),
    ("flatten-out", {}, "logits-without-flag", 1, "error"),
    ("flatten-out-sigmoid", {"loss": "sparse_categorical_crossentropy"}, "sigmoid-categorical", 1, "warning"),
    ("flatten-dense5-softmax", {}, "output-units", 1, "error"),
    ("flatten-dense64-dropout0.5-bn-dense32-relu-out-softmax", {}, "linear-dense-stack", 4, "warning"),
    ("conv8k3-bn-conv8k3-relu-gap-out-softmax", {}, "linear-conv-stack", 2, "hint"),
    ("conv8k9-relu-gap-out-softmax", {}, "large-kernel", 0, "warning"),
    ("maxpool4-conv16k9-relu-gap-out-softmax", {}, "kernel-covers-input", 1, "warning"),
    ("conv32k3-relu-conv16k3-relu-gap-out-softmax", {}, "filters-shrink", 2, "warning"),
    ("conv200k3-relu-gap-out-softmax", {}, "first-layer-filters", 0, "warning"),
    ("flatten-dense2048-relu-out-softmax", {}, "flatten-explosion", 1, "warning"),
    ("flatten-dense64-relu-out-softmax", {"normalized_input": False}, "unnormalized-input", None, "warning"),
    ("conv8k3-relu-flip-gap-out-softmax", {}, "augment-late", 2, "hint"),
    ("conv8k3:relu-relu-gap-out-softmax", {}, "double-activation", 1, "hint"),
    ("flatten-conv8k3-out-softmax", {}, "rank-mismatch", 1, "error"),
    ("conv8k3-dense8-out-softmax", {}, "rank-mismatch", 1, "error"),
    ("maxpool8-conv8k5:valid-relu-gap-out-softmax", {}, "kernel-too-large", 1, "error"),
    ("maxpool8-maxpool4-gap-out-softmax", {}, "pool-too-large", 1, "error"),
    ("conv8k3-relu", {}, "no-output", 1, "error"),
])
def test_each_rule(text, kwargs, code, layer, severity):
    findings = lint(text, **kwargs)
    hits = [f for f in findings if f.code == code]
    assert hits, findings
    assert hits[0].severity == severity
    if layer is not None:
        assert hits[0].layer == layer


def test_output_units_point_at_the_last_dense():
    findings = lint("flatten-dense5-softmax")
    hit = next(f for f in findings if f.code == "output-units")
    assert hit.layer == 1 and "5 units" in hit.message and "10 classes" in hit.message


def test_a_last_conv_with_one_filter_per_class_is_not_shrinking():
    assert "filters-shrink" not in codes(lint("conv32k3-relu-conv10k1-gap-softmax"))


def test_bn_first_counts_as_input_normalization():
    assert "unnormalized-input" not in codes(lint("bn-flatten-out-softmax", normalized_input=False))


def test_a_stack_that_breaks_early_still_gets_reviewed_without_raising():
    findings = lint("conv8k3:init=zeros-flatten-conv4k3-dense8:softmax-dense8-dropout0.5")
    assert {"rank-mismatch", "zero-init"} <= codes(findings)
    assert all(isinstance(f, Finding) for f in findings)


def test_out_is_the_class_count_placeholder():
    stack = parse_stack("flatten-out-softmax")
    assert stack[1].params["units"] == CLASSES
    assert lint_stack(stack, (8, 8, 1), 3) == []
    assert lint_stack(stack, (32, 32, 3), 100) == []
