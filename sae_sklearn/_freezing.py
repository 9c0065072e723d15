"""Freeze settings: which encoder layers keep their pretrained weights."""

from skorch.callbacks import Callback
from torch import nn

__all__ = ["Unfreeze", "freeze_lowest_layers", "n_frozen_layers"]


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


class Unfreeze(Callback):
    """Release frozen parameters at the start of epoch ``epoch`` (1-based).

    They were kept out of the optimizer so far; from then on they train in a
    parameter group of their own with learning rate ``lr`` (gradual
    unfreezing).
    """

    def __init__(self, parameters, epoch: int, lr: float):
        self.parameters = list(parameters)
        self.epoch = epoch
        self.lr = lr

    def on_epoch_begin(self, net, **kwargs):
        if net.history[-1, "epoch"] != self.epoch:
            return
        for parameter in self.parameters:
            parameter.requires_grad_(True)
        net.optimizer_.add_param_group({"params": self.parameters, "lr": self.lr})
