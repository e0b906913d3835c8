"""One invocation of a handler the way Lambda's python3.12 runtime makes it, for a subprocess test.

Run as `python -I -S lambda_bootstrap.py ASSET_DIR RUNTIME_DIR MODULE.FUNCTION` with the SQS event on
stdin: the path holds the function's asset, then the runtime's and layer's packages, then the standard
library, and nothing else (no site-packages, no working directory, no PYTHON* variables). Prints one
result line: the handler's answer, the Python version, and any module loaded from anywhere else.
"""

import importlib
import json
import sys
import uuid

RESULT_MARKER = "LAMBDA-RESULT "


class Context:
    """The fields of Lambda's context object the handler (and Powertools) read."""

    function_name = "binventory-test-counter"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:binventory-test-counter"
    log_group_name = "/aws/lambda/binventory-test-counter"
    log_stream_name = "2026/11/21/[$LATEST]0123456789abcdef"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def main() -> None:
    asset, runtime, handler = sys.argv[1:4]
    standard_library = [entry for entry in sys.path if "site-packages" not in entry]
    sys.path[:] = [asset, runtime, *standard_library]
    module_name, function_name = handler.rsplit(".", 1)
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(json.load(sys.stdin), Context())
    roots = tuple(sys.path)
    outside = sorted(
        name
        for name, module in list(sys.modules.items())
        if getattr(module, "__file__", None)
        and module.__file__ != __file__  # this bootstrap, standing in for Lambda's own
        and not module.__file__.startswith(roots)
    )
    report = {"result": result, "python": list(sys.version_info[:2]), "outside": outside}
    print(RESULT_MARKER + json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
