"""PyTorch modules: the stacked autoencoder and the encoder + head classifier.

Nothing here knows about scikit-learn; the estimators build these modules in
``fit`` and own their training.
"""

import torch
from torch import nn

__all__ = [
    "ACTIVATIONS",
    "EncoderClassifier",
    "StackedAutoencoder",
    "dense_stack",
    "linear_layers",
]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "selu": nn.SELU,
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


def _init_linear(layer: nn.Linear, activation: str | None) -> None:
    """Initialise a layer for the activation that follows it.

    He initialisation for the ReLU family and LeCun for SELU keep activations
    from dying or exploding in deep stacks (PyTorch's default is tuned for
    neither); Glorot suits the saturating activations and linear outputs.
    """
    if activation in ("relu", "elu"):
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    elif activation == "selu":
        nn.init.kaiming_normal_(layer.weight, nonlinearity="linear")
    else:
        nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)


def dense_block(n_in: int, n_out: int, activation: str | None) -> nn.Sequential:
    """Return ``Linear(n_in, n_out)`` followed by ``activation`` (if any)."""
    linear = nn.Linear(n_in, n_out)
    _init_linear(linear, activation)
    if activation is None:
        return nn.Sequential(linear)
    return nn.Sequential(linear, ACTIVATIONS[activation]())


def dense_stack(sizes, activation: str) -> nn.Sequential:
    """Return one :func:`dense_block` per consecutive pair of ``sizes``.

    Block ``i`` of the result is layer ``i`` of the stack, so freezing "the k
    lowest layers" is a matter of slicing.
    """
    return nn.Sequential(
        *(dense_block(n_in, n_out, activation) for n_in, n_out in zip(sizes, sizes[1:]))
    )


def linear_layers(module: nn.Module) -> list[nn.Linear]:
    """Return the ``nn.Linear`` layers of ``module`` from the input upwards."""
    return [layer for layer in module.modules() if isinstance(layer, nn.Linear)]


class StackedAutoencoder(nn.Module):
    """Symmetric stacked autoencoder.

    The encoder maps ``n_features`` to ``hidden_layer_sizes[-1]`` codings through
    ``hidden_layer_sizes``; the decoder mirrors it. The decoder's last layer is
    linear: the output activation (if any) belongs to the loss, which is more
    stable on logits (``BCEWithLogitsLoss``) than on probabilities.
    """

    def __init__(self, n_features: int, hidden_layer_sizes, activation: str):
        super().__init__()
        sizes = [n_features, *hidden_layer_sizes]
        self.encoder = dense_stack(sizes, activation)
        mirrored = sizes[::-1]
        self.decoder = nn.Sequential(
            *dense_stack(mirrored[:-1], activation),
            dense_block(mirrored[-2], mirrored[-1], None),
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return the reconstruction of ``X`` (before the output activation)."""
        return self.decoder(self.encoder(X))


class EncoderClassifier(nn.Module):
    """An encoder with a classification head on top; returns class logits."""

    def __init__(
        self,
        encoder: nn.Module,
        n_codings: int,
        n_classes: int,
        head_hidden_layer_sizes=(),
        activation: str = "relu",
    ):
        super().__init__()
        self.encoder = encoder
        sizes = [n_codings, *head_hidden_layer_sizes]
        self.head = nn.Sequential(
            *dense_stack(sizes, activation),
            dense_block(sizes[-1], n_classes, None),
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return class logits for ``X``."""
        return self.head(self.encoder(X))
