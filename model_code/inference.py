"""SageMaker PyTorch inference entry point: the four handler functions the serving container calls.

The container imports this file from `<model_dir>/code/` (with that folder on sys.path) and calls
model_fn(model_dir) once, then input_fn -> predict_fn -> output_fn per request. The logic lives in
`countnet.serving`; this module only adapts it to the container's calling convention.
Bad requests raise `countnet.errors` exceptions, which the container answers with their 4xx status.
Packages the container lacks (onnxruntime) ship in `code/lib` and go first on sys.path, so the
container installs nothing when it starts (`countnet.vendoring`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# Loaded by file path (importlib) the folder may not be on sys.path yet; countnet sits beside this file.
_CODE_DIR = Path(__file__).resolve().parent
if str(_CODE_DIR) not in sys.path:
    sys.path.insert(0, str(_CODE_DIR))

from countnet import vendoring  # noqa: E402

vendoring.activate(_CODE_DIR / vendoring.LIB_DIR)

from countnet.errors import answer_request_errors_without_traceback  # noqa: E402

# A bad image's 4xx says what was wrong, not where the container's code lives.
answer_request_errors_without_traceback()

from countnet.serving import (  # noqa: E402
    JSON_CONTENT_TYPE,
    CountModel,
    load_count_model,
    parse_request,
    predict,
    render_response,
)


def model_fn(model_dir: str) -> CountModel:
    return load_count_model(model_dir)


def input_fn(request_body: bytes | str, request_content_type: str) -> Any:
    return parse_request(request_body, request_content_type)


def predict_fn(input_data: Any, model: CountModel) -> dict[str, Any]:
    return predict(input_data, model)


def output_fn(prediction: dict[str, Any], accept: str) -> tuple[str, str]:
    # With the content type named, the response says application/json whatever Accept matched
    # (the toolkit would otherwise echo the Accept header, e.g. `application/*`).
    return render_response(prediction, accept), JSON_CONTENT_TYPE
