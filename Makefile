# Binventory: one-command setup, demo, tests, synth and benchmarks.
# Every target sets up what it needs; setup is idempotent and does nothing when already current.

# Python 3.12: the Lambda runtime and the SageMaker DLCs (py312) run it, so the venv and CI do too.
# A plain `python3.12` on PATH, else a pyenv-installed 3.12 (pyenv's shim fails unless 3.12 is selected).
PYTHON ?= $(firstword $(shell command -v python3.12 >/dev/null 2>&1 && python3.12 -c 'import sys' 2>/dev/null && echo python3.12) $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov gets a venv of its own: it pins boto3==1.35.49, which requirements.txt cannot share.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# The counting Lambda's Python world: the runtime's boto3 and the pinned Powertools layer, nothing else.
LAMBDA_RUNTIME := .lambda-runtime
LAMBDA_RUNTIME_STAMP := $(LAMBDA_RUNTIME)/.installed
# SageMaker's PyTorch inference toolkit and TorchServe get a venv of their own: the toolkit needs setuptools<81
# (pkg_resources). It sees only the inference container's other packages, linked from .venv (no second torch).
SERVING_VENV := .venv-serving
SERVING_STAMP := $(SERVING_VENV)/.installed
# SageMaker's training toolkit (sagemaker-training and the PyTorch DLC's module) gets a venv of its own that sees
# .venv's packages after its own (a .pth file): train.py runs under it with the project's torch, and the toolkit's
# pip finds model_code/requirements.txt already satisfied. Only what .venv lacks is installed into it.
TRAINING_TOOLKIT_VENV := .venv-training-toolkit
TRAINING_TOOLKIT_STAMP := $(TRAINING_TOOLKIT_VENV)/.installed
# The PyTorch DLC's own torch, torchvision, numpy and Pillow (requirements-dlc.txt): the two toolkit venvs put
# them before .venv's, so train.py, the ONNX export and serving run under the container's versions.
DLC_VENV := .venv-dlc
DLC_STAMP := $(DLC_VENV)/.installed
CDK_ENV := CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

.PHONY: setup browser demo model-abid test test-fast lint synth bench screenshots clean

setup: $(STAMP) $(CHECKOV_STAMP) $(LAMBDA_RUNTIME_STAMP) $(DLC_STAMP) $(SERVING_STAMP) $(TRAINING_TOOLKIT_STAMP) node_modules/.package-lock.json browser

# The review page's browser test (tests/e2e/test_review_page.py) drives Debian's headless Chromium through its
# chromium-driver. Installed here when setup runs as root on Debian; elsewhere the test skips and says what to
# install. A failed install only warns: everything else works without a browser.
browser:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	      || echo "warning: could not install chromium and chromium-driver; tests/e2e/test_review_page.py will skip"; \
	  else \
	    echo "warning: headless Chromium not found; for the review page's browser test: sudo apt-get install chromium chromium-driver"; \
	  fi; }

$(STAMP): requirements.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: Python 3.12 not found (python3.12 on PATH or pyenv 3.12.x); install it or pass PYTHON=/path/to/python3.12"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' || { echo "error: $(PYTHON) is not Python 3.12"; exit 1; }
	test -x $(BIN)/python && $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(CHECKOV_STAMP): requirements-checkov.txt
	@test -n "$(PYTHON)" || { echo "error: Python 3.12 not found (python3.12 on PATH or pyenv 3.12.x); install it or pass PYTHON=/path/to/python3.12"; exit 1; }
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

# Installed fresh each time its pins change, so nothing from an older pin lingers on the Lambda's path.
$(LAMBDA_RUNTIME_STAMP): requirements-lambda-runtime.txt $(STAMP)
	rm -rf $(LAMBDA_RUNTIME)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-warn-conflicts --no-compile --target $(LAMBDA_RUNTIME) -r requirements-lambda-runtime.txt
	touch $@

# The links into .venv are rebuilt whenever .venv changes. PYTHONPATH: this checkout's code, even when .venv
# is shared with another checkout. TorchServe runs on Java 17: tests/integration/serving skip (saying so) without it.
# Installed fresh each time its pins change. About 3 GB (torch's CUDA libraries), downloaded once into pip's cache.
$(DLC_STAMP): requirements-dlc.txt
	@test -n "$(PYTHON)" || { echo "error: Python 3.12 not found (python3.12 on PATH or pyenv 3.12.x); install it or pass PYTHON=/path/to/python3.12"; exit 1; }
	rm -rf $(DLC_VENV)
	$(PYTHON) -m venv $(DLC_VENV)
	$(DLC_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dlc.txt
	touch $@

$(SERVING_STAMP): requirements-serving.txt $(STAMP) $(DLC_STAMP) binventory/toolkit/container_site.py model_code/countnet/vendoring.py
	test -x $(SERVING_VENV)/bin/python && $(SERVING_VENV)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' || { rm -rf $(SERVING_VENV); $(PYTHON) -m venv $(SERVING_VENV); }
	PYTHONPATH=.:model_code $(BIN)/python -m binventory.toolkit.container_site $(SERVING_VENV) --dlc-venv $(DLC_VENV)
	$(SERVING_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-serving.txt
	@command -v java >/dev/null 2>&1 || echo "warning: Java not found. TorchServe (tests/integration/serving, bench/bench_serving_cold_start.py) needs Java 17: sudo apt-get install openjdk-17-jre-headless"
	touch $@

# The .pth is written before pip runs, so pip counts .venv's distributions as installed and adds only the rest.
$(TRAINING_TOOLKIT_STAMP): requirements-training-toolkit.txt $(STAMP) $(DLC_STAMP)
	@command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || { echo "error: sagemaker-training builds a C extension and no C compiler was found: sudo apt-get install gcc"; exit 1; }
	test -x $(TRAINING_TOOLKIT_VENV)/bin/python && $(TRAINING_TOOLKIT_VENV)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' || { rm -rf $(TRAINING_TOOLKIT_VENV); $(PYTHON) -m venv $(TRAINING_TOOLKIT_VENV); }
	{ $(DLC_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; $(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; } > "$$($(TRAINING_TOOLKIT_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/project-site.pth"
	$(TRAINING_TOOLKIT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-training-toolkit.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# The README's main job: the whole pipeline on this machine, no AWS account needed.
demo: setup
	$(BIN)/binventory local demo $(ARGS)

# The shipped recipe trained on the real ABID photos in ../shared: .local/models/abid, ready to serve.
# Then: make demo ARGS="--model .local/models/abid --images ../shared/abid"
model-abid: setup
	$(BIN)/binventory local train --model-dir .local/models/abid

# The README's test command (and what CI runs): lint, then every tier (tests/unit, integration,
# infrastructure, e2e).
test: setup lint
	$(BIN)/pytest $(PYTEST_ARGS)

# The unit tier alone (pure logic: no moto, no training, no subprocess), in seconds; needs only the venv.
test-fast: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

# The README's picture of the review page, taken by the browser test (a plain test run leaves it alone).
screenshots: setup
	BINVENTORY_UPDATE_SCREENSHOTS=1 $(BIN)/pytest tests/e2e/test_review_page.py

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

synth: setup
	$(CDK_ENV) npx cdk synth --no-notices -q

bench: setup
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf cdk.out .pytest_cache .ruff_cache .local
