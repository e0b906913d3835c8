"""When the int8 model may replace fp32, and the bias correction that keeps it faithful."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from countnet.bias_correction import output_shift
from countnet.quantization import MIN_AGREEMENT, Int8Check


def _check(
    only_fp32: int, only_int8: int, both: int, other_disagreements: int, images: int = 400
) -> Int8Check:
    """Photos where exactly one runtime is right always disagree; `other_disagreements` are both wrong."""
    return Int8Check(
        only_fp32_right=only_fp32,
        only_int8_right=only_int8,
        both_right=both,
        disagreements=only_fp32 + only_int8 + other_disagreements,
        images=images,
    )


def test_counts_come_from_the_two_runtimes_answers_photo_by_photo() -> None:
    check = Int8Check.compare(fp32=[0, 1, 2, 3, 4], int8=[0, 2, 2, 1, 3], targets=[0, 1, 1, 3, 3])
    assert (check.both_right, check.only_fp32_right, check.only_int8_right) == (1, 2, 1)
    assert check.disagreements == 3
    assert (check.fp32_accuracy, check.int8_accuracy, check.agreement) == (0.6, 0.4, 0.4)


def test_int8_is_refused_only_when_its_accuracy_loss_is_beyond_noise() -> None:
    # Both lose 1.75 points on 400 photos (7 photos); what differs is how many photos the runtimes split.
    significant = _check(only_fp32=10, only_int8=3, both=150, other_disagreements=5)
    noise = _check(only_fp32=17, only_int8=10, both=143, other_disagreements=0)
    assert significant.fp32_accuracy - significant.int8_accuracy == pytest.approx(0.0175)
    assert noise.fp32_accuracy - noise.int8_accuracy == pytest.approx(0.0175)
    assert significant.worse_by_z == pytest.approx(7 / np.sqrt(13))  # 1.94: beyond one-sided 5%
    assert not significant.acceptable
    assert noise.worse_by_z == pytest.approx(7 / np.sqrt(27))  # 1.35
    assert noise.acceptable


def test_int8_that_disagrees_with_fp32_too_often_is_refused_even_at_equal_accuracy() -> None:
    broken = _check(only_fp32=35, only_int8=33, both=127, other_disagreements=42, images=401)  # seen on ABID
    assert broken.agreement < MIN_AGREEMENT
    assert broken.worse_by_z < 1 and not broken.acceptable


def test_identical_answers_are_accepted() -> None:
    assert _check(only_fp32=0, only_int8=0, both=160, other_disagreements=0).acceptable


@pytest.mark.parametrize(("groups", "stride", "kernel"), [(1, 1, 3), (8, 2, 5)])
def test_output_shift_is_the_mean_output_change_the_weight_error_makes(
    groups: int, stride: int, kernel: int
) -> None:
    # given inputs whose mean differs from position to position, a padded (strided, depthwise) conv
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(64, 8, 11, 11, generator=generator, dtype=torch.float64) + torch.linspace(0, 3, 11)
    weight_error = torch.randn(8, 8 // groups, kernel, kernel, generator=generator, dtype=torch.float64)
    pad = kernel // 2
    node = onnx.helper.make_node(
        "Conv", ["x", "w", "b"], ["y"], name="conv", group=groups, strides=[stride] * 2, pads=[pad] * 4
    )

    # when the shift is computed from the mean input map
    shift = output_shift(node, weight_error.numpy(), inputs.mean(dim=0).numpy())

    # then it is exactly the mean over images and positions of what the weight error adds to the output
    added = torch.nn.functional.conv2d(inputs, weight_error, stride=stride, padding=pad, groups=groups)
    np.testing.assert_allclose(shift, added.mean(dim=(0, 2, 3)).numpy(), rtol=1e-10)
    # while a per-channel mean alone, blind to the taps that read padding, misses it
    flat = inputs.mean(dim=(0, 2, 3)).view(1, 8, 1, 1).expand(1, 8, 11, 11)
    blind = torch.nn.functional.conv2d(flat, weight_error, stride=stride, padding=pad, groups=groups)
    assert not np.allclose(blind.mean(dim=(0, 2, 3)).numpy(), shift, rtol=1e-3)


def test_output_shift_of_a_gemm_follows_its_transposition() -> None:
    rng = np.random.default_rng(0)
    weight_error, means = rng.normal(size=(6, 10)), rng.normal(size=10)
    transposed = onnx.helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc", transB=1)
    plain = onnx.helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc")
    np.testing.assert_allclose(output_shift(transposed, weight_error, means), weight_error @ means)
    np.testing.assert_allclose(output_shift(plain, weight_error.T, means), weight_error @ means)
