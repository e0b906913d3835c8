"""Training losses: cross-entropy with label smoothing, or an ordinal-aware variant.

The ordinal-aware loss adds the expected squared count error under the predicted distribution,
sum_k p_k (k - y)^2, to cross-entropy: putting probability on 4 for a true 5 costs little, on 1 a
lot. The head stays a softmax over counts, so serving reports one probability per count either way.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

LOSSES = ("ce", "ordinal")
ORDINAL_WEIGHT = 0.1


class OrdinalAwareLoss(nn.Module):
    """Cross-entropy plus `weight` times the expected squared distance to the true count."""

    def __init__(
        self, class_counts: torch.Tensor, label_smoothing: float, weight: float = ORDINAL_WEIGHT
    ) -> None:
        super().__init__()
        self.register_buffer("class_counts", class_counts.float())
        self.label_smoothing = label_smoothing
        self.weight = weight

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        cross_entropy = functional.cross_entropy(logits, targets, label_smoothing=self.label_smoothing)
        probabilities = logits.float().softmax(dim=1)
        distance = (self.class_counts.unsqueeze(0) - self.class_counts[targets].unsqueeze(1)) ** 2
        return cross_entropy + self.weight * (probabilities * distance).sum(dim=1).mean()


def make_loss(kind: str, class_counts: list[int], label_smoothing: float) -> nn.Module:
    """`ce` or `ordinal`; `class_counts[i]` is the item count class i stands for."""
    if kind == "ce":
        return nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    if kind == "ordinal":
        return OrdinalAwareLoss(torch.tensor(class_counts), label_smoothing)
    raise ValueError(f"unknown loss {kind!r}; choose one of {LOSSES}")


def same_bin_pairs(targets: torch.Tensor, groups: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """(fewer, more): batch rows of photos of one bin holding different counts, the smaller count first."""
    fewer, more = [], []
    classes = targets.tolist()
    for i in range(len(groups)):
        for j in range(i + 1, len(groups)):
            if groups[i] == groups[j] and classes[i] != classes[j]:
                low, high = (i, j) if classes[i] < classes[j] else (j, i)
                fewer.append(low)
                more.append(high)
    return torch.tensor(fewer, dtype=torch.long), torch.tensor(more, dtype=torch.long)


def bin_pair_contrast(logits: torch.Tensor, targets: torch.Tensor, groups: list[str]) -> torch.Tensor | None:
    """How often the photo of a bin holding more items fails to favour the larger count more than the same
    bin's photo holding fewer: softplus(-d), d = (l_more[b] - l_more[a]) - (l_fewer[b] - l_fewer[a]) for
    counts a < b. Two photos of one bin a stow or a pick apart differ in one item and little else, so this
    is the contrast the reconciliation needs: which of two neighbouring counts a photo supports.
    None when the batch holds no such pair."""
    fewer, more = same_bin_pairs(targets, groups)
    if not len(fewer):
        return None
    small, large = targets[fewer], targets[more]

    def log_odds(rows: torch.Tensor) -> torch.Tensor:
        return logits[rows].gather(1, large.unsqueeze(1)) - logits[rows].gather(1, small.unsqueeze(1))

    return functional.softplus(-(log_odds(more) - log_odds(fewer))).mean()
