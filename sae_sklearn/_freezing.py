"""Freeze settings: which encoder layers keep their pretrained weights."""

from torch import nn

__all__ = ["freeze_lowest_layers", "n_frozen_layers"]


def n_frozen_layers(freeze, n_layers: int) -> int:
    """Return how many of the ``n_layers`` lowest encoder layers ``freeze`` names.

    ``freeze`` is "none", "all" or an int k (the k lowest layers).
    """
    if freeze == "none":
        return 0
    if freeze == "all":
        return n_layers
    if freeze > n_layers:
        raise ValueError(
            f"freeze={freeze} asks to freeze more layers than the encoder has "
            f"({n_layers}); use an int between 0 and {n_layers}, 'none' or 'all'."
        )
    return int(freeze)


def freeze_lowest_layers(encoder: nn.Sequential, n_layers: int) -> None:
    """Stop gradients through the parameters of ``encoder``'s lowest layers."""
    for layer in encoder[:n_layers]:
        for parameter in layer.parameters():
            parameter.requires_grad_(False)
