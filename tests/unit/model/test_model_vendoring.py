"""What the model directory ships for the inference container, and what happens where it cannot."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
from countnet import vendoring
from countnet.packaging import copy_serving_code, serving_packages


def test_only_what_the_container_lacks_is_shipped() -> None:
    # numpy and packaging are in the container; timm's download helpers are never used in serving
    assert vendoring.distributions_to_ship(["onnxruntime"]) == ["flatbuffers", "onnxruntime", "protobuf"]
    assert vendoring.distributions_to_ship(["timm"]) == ["timm"]


@pytest.mark.parametrize(
    ("backbone", "runtime", "packages"),
    [
        ("tf_efficientnet_lite0", "onnx-int8", ["onnxruntime"]),
        ("tf_efficientnet_lite0", "onnx", ["onnxruntime"]),
        ("tf_efficientnet_lite0", "torch", ["timm"]),  # PyTorch needs timm's network definition
        ("resnet18", "onnx", ["onnxruntime"]),
        ("resnet18", "torch", []),  # torchvision is in the container
    ],
)
def test_serving_needs_onnxruntime_or_the_network_definition(
    backbone: str, runtime: str, packages: list[str]
) -> None:
    assert serving_packages(backbone, runtime) == packages


@pytest.mark.parametrize(
    ("tag", "runs"),
    [
        ("cp312-cp312-manylinux_2_28_x86_64", True),
        ("cp39-abi3-manylinux2014_x86_64", True),
        ("py3-none-any", True),
        ("cp311-cp311-manylinux_2_28_x86_64", False),  # another Python
        ("cp312-cp312-manylinux_2_39_x86_64", False),  # a newer glibc than Ubuntu 22.04's
        ("cp312-cp312-macosx_11_0_arm64", False),
        ("cp312-cp312-manylinux_2_28_aarch64", False),
        ("cp312-cp312-linux_x86_64", False),  # built on some machine, not a portable wheel
    ],
)
def test_wheels_are_checked_against_the_container(tag: str, runs: bool) -> None:
    assert (tag in vendoring.container_tags()) is runs


def test_packaging_where_wheels_do_not_fit_falls_back_to_requirements_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # given a machine whose installed wheels would not run in the container (a Mac, say)
    monkeypatch.setattr(vendoring, "container_tags", frozenset)
    # when the serving code is packaged
    with caplog.at_level(logging.WARNING):
        copy_serving_code(tmp_path / "code", ["onnxruntime"])
    # then nothing is shipped, the container is told to install the pinned package, and the log says why
    assert not (tmp_path / "code" / vendoring.LIB_DIR).exists()
    assert (tmp_path / "code" / "requirements.txt").read_text() == "onnxruntime==1.31.1\n"
    assert "NOT SHIPPING onnxruntime INSIDE THE MODEL" in caplog.text
    assert "onnxruntime 1.31.1 is built for cp312-cp312-manylinux_2_28_x86_64, not for the" in caplog.text


def _lib_with_manifest(tmp_path: Path) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    manifest = {"python": "3.12", "platform": "linux-x86_64", "distributions": {"onnxruntime": "1.31.1"}}
    (lib / vendoring.MANIFEST_FILE).write_text(json.dumps(manifest))
    return lib


def test_shipped_packages_go_first_on_the_path_where_they_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = _lib_with_manifest(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(vendoring, "runs_container_binaries", lambda: True)
    assert vendoring.activate(lib) and sys.path[0] == str(lib)


def test_elsewhere_the_installed_packages_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # a laptop serving a model trained in SageMaker: the Linux binaries in code/lib would not load there
    lib = _lib_with_manifest(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(vendoring, "runs_container_binaries", lambda: False)
    with caplog.at_level(logging.WARNING):
        assert not vendoring.activate(lib)
    assert str(lib) not in sys.path
    assert "the packages installed here are used instead" in caplog.text
