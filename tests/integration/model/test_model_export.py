"""The ONNX export and its int8 quantization keep the network's padding what PyTorch computes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from countnet.model import create_network
from countnet.onnx_export import StaticSamePadConv, export_onnx, same_padding, with_static_padding
from countnet.quantization import quantize_static_int8

ODD_SIZE = 97  # not a multiple of any stride: every stride-2 "same" convolution pads unevenly


@pytest.fixture(scope="module")
def lite0() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_network("tf_efficientnet_lite0", num_classes=6).eval()


def _ancestors(graph: onnx.GraphProto, tensor: str) -> list[onnx.NodeProto]:
    producer = {output: node for node in graph.node for output in node.output}
    found: dict[str, onnx.NodeProto] = {}
    pending = [tensor]
    while pending:
        node = producer.get(pending.pop())
        if node is not None and node.name not in found:
            found[node.name] = node
            pending.extend(node.input)
    return list(found.values())


def test_tensorflow_same_padding_puts_the_odd_pixel_after() -> None:
    assert same_padding(160, kernel=3, stride=2, dilation=1) == (0, 1)
    assert same_padding(97, kernel=3, stride=2, dilation=1) == (1, 1)
    assert same_padding(80, kernel=5, stride=2, dilation=1) == (1, 2)
    assert same_padding(20, kernel=3, stride=1, dilation=1) == (1, 1)


def test_frozen_padding_answers_exactly_like_the_dynamic_network(lite0: torch.nn.Module) -> None:
    frozen = with_static_padding(lite0, ODD_SIZE)
    batch = torch.randn(3, 3, ODD_SIZE, ODD_SIZE, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        torch.testing.assert_close(frozen(batch), lite0(batch), rtol=0, atol=1e-6)
    dynamic = [module for module in lite0.modules() if type(module).__name__ == "Conv2dSame"]
    frozen_convs = [module for module in frozen.modules() if isinstance(module, StaticSamePadConv)]
    assert len(frozen_convs) == len(dynamic) == 5  # the stem and four stride-2 depthwise convolutions
    assert not any(isinstance(module, StaticSamePadConv) for module in lite0.modules())  # original untouched


def test_exported_graph_pads_by_constants_not_by_shape_arithmetic(
    lite0: torch.nn.Module, tmp_path: Path
) -> None:
    path = tmp_path / "model.onnx"
    assert export_onnx(lite0, ODD_SIZE, path)  # export_onnx itself checks the answers against PyTorch
    graph = onnx.load(str(path)).graph
    operators = {node.op_type for node in graph.node}
    assert not operators & {"Shape", "Ceil", "Div"}, operators
    # batches of any size still run
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"image": np.zeros((3, 3, ODD_SIZE, ODD_SIZE), dtype=np.float32)})[0]
    assert logits.shape == (3, 6)


def test_int8_quantization_leaves_the_padding_amounts_in_full_precision(
    lite0: torch.nn.Module, tmp_path: Path
) -> None:
    # The quantizer used to calibrate the float arithmetic that computes each Pad's amounts as if it were
    # image data; rounding it moved the padding, and int8 agreed with fp32 on 73% of ABID photos.
    fp32, int8 = tmp_path / "model.onnx", tmp_path / "model.int8.onnx"
    assert export_onnx(lite0, ODD_SIZE, fp32)
    rng = np.random.default_rng(0)
    calibration = [rng.uniform(-1, 1, (1, 3, ODD_SIZE, ODD_SIZE)).astype(np.float32) for _ in range(4)]
    quantize_static_int8(fp32, int8, calibration)
    graph = onnx.load(str(int8)).graph
    pads = [node for node in graph.node if node.op_type == "Pad"]
    assert pads, "the network's same padding disappeared from the int8 graph"
    for pad in pads:
        feeding = {node.op_type for node in _ancestors(graph, pad.input[1])}
        assert not feeding & {"QuantizeLinear", "DequantizeLinear"}, (pad.name, feeding)


def test_bias_correction_cancels_the_shift_that_rounding_int8_weights_causes(tmp_path: Path) -> None:
    # Every output channel has one large weight (it sets the int8 step, 1/127) and 26 weights of 0.45
    # steps, which all round to zero: a systematic shift of the output mean that noise does not cancel.
    layer = torch.nn.Conv2d(3, 8, 3)
    with torch.no_grad():
        layer.weight.fill_(0.45 / 127)
        layer.weight[:, 0, 0, 0] = 1.0
        layer.bias.zero_()
    fp32, plain, corrected = (tmp_path / f"{name}.onnx" for name in ("fp32", "plain", "fixed"))
    assert export_onnx(layer, 16, fp32)
    rng = np.random.default_rng(0)
    images = [rng.uniform(0.5, 1.5, (1, 3, 16, 16)).astype(np.float32) for _ in range(16)]
    quantize_static_int8(fp32, plain, images, bias_correction=False)
    quantize_static_int8(fp32, corrected, images)

    def mean_shift(path: Path) -> float:
        reference = onnxruntime.InferenceSession(str(fp32), providers=["CPUExecutionProvider"])
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        differences = [
            session.run(None, {"image": x})[0] - reference.run(None, {"image": x})[0] for x in images
        ]
        return float(np.abs(np.mean(differences, axis=(0, 1, 3, 4))).mean())

    plain_shift, corrected_shift = mean_shift(plain), mean_shift(corrected)
    assert plain_shift > 0.05  # 26 weights x 0.0035 x mean input 1.0: about 0.09
    assert corrected_shift < 0.2 * plain_shift, (corrected_shift, plain_shift)
