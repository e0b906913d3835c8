"""SageMaker PyTorch inference entry point: the four handler functions the serving container calls.

The container imports this file from `<model_dir>/code/` (with that folder on sys.path) and calls
model_fn(model_dir) once, then input_fn -> predict_fn -> output_fn per request. The logic lives in
`countnet.serving`; this module only adapts it to the container's calling convention.
Bad requests raise `countnet.errors` exceptions, which the container answers with their 4xx status.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# Loaded by file path (importlib) the folder may not be on sys.path yet; countnet sits beside this file.
_CODE_DIR = str(Path(__file__).resolve().parent)
if _CODE_DIR not in sys.path:
    sys.path.insert(0, _CODE_DIR)

from countnet.serving import CountModel, load_count_model, parse_request, predict, render_response  # noqa: E402


def model_fn(model_dir: str) -> CountModel:
    return load_count_model(model_dir)


def input_fn(request_body: bytes | str, request_content_type: str) -> Any:
    return parse_request(request_body, request_content_type)


def predict_fn(input_data: Any, model: CountModel) -> dict[str, Any]:
    return predict(input_data, model)


def output_fn(prediction: dict[str, Any], accept: str) -> str:
    return render_response(prediction, accept)
