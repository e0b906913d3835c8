"""Export the trained model to ONNX for faster CPU serving, and check that it answers like PyTorch.

ONNX Runtime runs lite0 at batch 1 about twice as fast as eager PyTorch on CPU (see bench/RESULTS.md).
The export uses the TorchScript-based exporter: the newer dynamo exporter needs `onnxscript`, which
is not a dependency here. A model whose ONNX answers differ from PyTorch's is not shipped as ONNX.

TensorFlow-style "same" padding (timm's `Conv2dSame`, in every `tf_` backbone) is computed from the
input's shape at run time, which the exporter writes as ~200 small float nodes (Shape, Div, Ceil, ...)
feeding each Pad. The input size is fixed, so the export freezes those pads into constants first:
fewer nodes to run, and nothing for the int8 quantizer to mistake for image data (it quantized that
arithmetic as activations, which shifted the pads and cost a quarter of its agreement with fp32).
"""

from __future__ import annotations

import copy
import logging
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

logger = logging.getLogger(__name__)

INPUT_NAME = "image"
OUTPUT_NAME = "logits"
OPSET = 17
MAX_PROBABILITY_DIFFERENCE = 1e-3


class StaticSamePadConv(nn.Module):
    """A dynamic "same"-padding convolution with its padding worked out once for a fixed input size."""

    def __init__(self, conv: nn.Conv2d, padding: tuple[int, int, int, int]) -> None:
        super().__init__()
        self.conv = conv
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self.conv
        return F.conv2d(
            F.pad(x, self.padding), conv.weight, conv.bias, conv.stride, 0, conv.dilation, conv.groups
        )


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's SAME padding (before, after) of one dimension: the extra pixel goes after."""
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _is_dynamic_same_conv(module: nn.Module) -> bool:
    return isinstance(module, nn.Conv2d) and type(module).__name__ == "Conv2dSame"


def with_static_padding(model: nn.Module, image_size: int) -> nn.Module:
    """A copy of `model` whose dynamic "same" convolutions pad by constants for `image_size` inputs."""
    frozen = copy.deepcopy(model).eval()
    input_sizes: dict[str, tuple[int, int]] = {}

    def recorder(name: str) -> Callable[[nn.Module, tuple[torch.Tensor, ...]], None]:
        def record(_module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            input_sizes[name] = (int(inputs[0].shape[-2]), int(inputs[0].shape[-1]))

        return record

    hooks = [
        module.register_forward_pre_hook(recorder(name))
        for name, module in frozen.named_modules()
        if _is_dynamic_same_conv(module)
    ]
    with torch.inference_mode():
        frozen(torch.zeros(1, 3, image_size, image_size))
    for hook in hooks:
        hook.remove()
    for name, (height, width) in input_sizes.items():
        conv = frozen.get_submodule(name)
        top, bottom = same_padding(height, conv.kernel_size[0], conv.stride[0], conv.dilation[0])
        left, right = same_padding(width, conv.kernel_size[1], conv.stride[1], conv.dilation[1])
        parent_name, _, child = name.rpartition(".")
        parent = frozen.get_submodule(parent_name) if parent_name else frozen
        setattr(parent, child, StaticSamePadConv(conv, (left, right, top, bottom)))
    return frozen


def write_onnx(network: nn.Module, example: torch.Tensor, path: Path) -> None:
    """The graph as traced from `network` on `example`, any batch size; no check (see `export_onnx`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        # The exporter writes each constant padding's reversed order as a Slice with step -1, which its
        # own constant folding skips with this warning; ONNX Runtime folds it when the session loads.
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1", category=UserWarning)
        torch.onnx.export(
            network,
            (example,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        )


def export_onnx(model: nn.Module, image_size: int, path: Path) -> bool:
    """Write `path` and verify it against `model`; False (and no file) when either step fails."""
    path = Path(path)
    model = model.eval().to("cpu")
    exported = with_static_padding(model, image_size)
    example = torch.randn(2, 3, image_size, image_size, generator=torch.Generator().manual_seed(0))
    try:
        import onnxruntime

        write_onnx(exported, example, path)
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        onnx_logits = torch.from_numpy(session.run([OUTPUT_NAME], {INPUT_NAME: example.numpy()})[0])
        with torch.inference_mode():
            torch_logits = model(example)
        difference = float((onnx_logits.softmax(1) - torch_logits.softmax(1)).abs().max())
    # What the exporter and ONNX Runtime raise for an unsupported graph, a missing package or a write
    # failure: it only costs speed, serving falls back to PyTorch (the saved runtime records it).
    except (RuntimeError, ValueError, TypeError, ImportError, OSError) as error:
        logger.warning("ONNX export skipped, serving will use PyTorch: %s: %s", type(error).__name__, error)
        path.unlink(missing_ok=True)
        return False
    if difference > MAX_PROBABILITY_DIFFERENCE:
        logger.warning("ONNX export differs from PyTorch by %.2g in probability; not shipping it", difference)
        path.unlink(missing_ok=True)
        return False
    logger.info("exported %s (max probability difference to PyTorch %.1g)", path.name, difference)
    return True
