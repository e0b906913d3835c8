"""Export the trained model to ONNX for faster CPU serving, and check that it answers like PyTorch.

ONNX Runtime runs lite0 at batch 1 about twice as fast as eager PyTorch on CPU (see bench/RESULTS.md).
The export uses the TorchScript-based exporter: the newer dynamo exporter needs `onnxscript`, which
is not a dependency here. A model whose ONNX answers differ from PyTorch's is not shipped as ONNX.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch
from torch import nn

logger = logging.getLogger(__name__)

INPUT_NAME = "image"
OUTPUT_NAME = "logits"
OPSET = 17
MAX_PROBABILITY_DIFFERENCE = 1e-3


def export_onnx(model: nn.Module, image_size: int, path: Path) -> bool:
    """Write `path` and verify it against `model`; False (and no file) when either step fails."""
    path = Path(path)
    model = model.eval().to("cpu")
    example = torch.randn(2, 3, image_size, image_size, generator=torch.Generator().manual_seed(0))
    try:
        import onnxruntime

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model,
                (example,),
                str(path),
                dynamo=False,
                opset_version=OPSET,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            )
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
