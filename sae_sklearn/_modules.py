"""PyTorch modules: the stacked autoencoder and the encoder + head classifier.

Nothing here knows about scikit-learn; the estimators build these modules in
``fit`` and own their training.
"""

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ACTIVATIONS",
    "AutoencoderLoss",
    "Corruption",
    "EncoderHead",
    "EncoderHeadDecoder",
    "SemiSupervisedLoss",
    "StackedAutoencoder",
    "TiedLinear",
    "dense_block",
    "dense_stack",
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


class Corruption(nn.Module):
    """Input corruption of a denoising autoencoder, active in training mode only.

    ``kind`` is None, "gaussian" (add N(0, level^2) noise), "dropout" (zero
    entries with probability ``level``, scaling the others by 1 / (1 - level))
    or "swap" (replace each entry, with probability ``level``, by the same
    column's value in another random row of the batch).
    """

    def __init__(self, kind: str | None = None, level: float = 0.1):
        super().__init__()
        self.kind = kind
        self.level = level

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return a corrupted copy of ``X`` in training mode, else ``X`` itself."""
        if not self.training or self.kind is None or self.level == 0:
            return X
        if self.kind == "gaussian":
            return X + self.level * torch.randn_like(X)
        if self.kind == "dropout":
            return F.dropout(X, self.level, training=True)
        return self._swap(X)

    def _swap(self, X: torch.Tensor) -> torch.Tensor:
        n_rows = X.shape[0]
        if n_rows < 2:
            return X
        # Shifting by 1..n-1 rows (mod n) picks another row, never the same one.
        shift = torch.randint(1, n_rows, X.shape, device=X.device)
        rows = torch.arange(n_rows, device=X.device).unsqueeze(1)
        donors = X.gather(0, (rows + shift) % n_rows)
        swap = torch.rand(X.shape, device=X.device) < self.level
        return torch.where(swap, donors, X)


class TiedLinear(nn.Module):
    """A decoder layer using the transpose of an encoder layer's weight.

    Only the bias is its own; the weight stays tied through training, saving
    and copying, since it is the very same parameter.
    """

    def __init__(self, encoder_layer: nn.Linear):
        super().__init__()
        self.encoder_layer = encoder_layer
        self.bias = nn.Parameter(torch.zeros(encoder_layer.in_features))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return ``X @ W + b`` where ``W`` is the encoder layer's weight."""
        return F.linear(X, self.encoder_layer.weight.t(), self.bias)


def _decoder_block(
    encoder_layer: nn.Linear, activation: str | None, tied: bool
) -> nn.Sequential:
    """Return the decoder block mirroring ``encoder_layer``."""
    if not tied:
        return dense_block(
            encoder_layer.out_features, encoder_layer.in_features, activation
        )
    layers = [TiedLinear(encoder_layer)]
    if activation is not None:
        layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class StackedAutoencoder(nn.Module):
    """Symmetric stacked autoencoder, optionally denoising and with tied weights.

    The encoder maps ``n_features`` to ``hidden_layer_sizes[-1]`` codings through
    ``hidden_layer_sizes``; the decoder mirrors it. The decoder's last layer has
    ``output_activation`` (None: linear). The estimator keeps it None and puts a
    sigmoid output in the loss instead (``BCEWithLogitsLoss`` is more stable on
    logits); greedy layer-wise stages above the first reconstruct the previous
    layer's activations with that same activation, so that they stack into the
    very decoder of the full autoencoder.

    ``forward`` returns ``(reconstruction, codings)``, so that a loss can also
    penalise the codings.
    """

    def __init__(
        self,
        n_features: int,
        hidden_layer_sizes,
        activation: str,
        *,
        output_activation: str | None = None,
        noise: str | None = None,
        noise_level: float = 0.1,
        tied_weights: bool = False,
    ):
        super().__init__()
        sizes = [n_features, *hidden_layer_sizes]
        self.corruption = Corruption(noise, noise_level)
        self.encoder = dense_stack(sizes, activation)
        n_layers = len(hidden_layer_sizes)
        self.decoder = nn.Sequential(
            *(
                _decoder_block(
                    self.encoder[layer][0],
                    activation if layer > 0 else output_activation,
                    tied_weights,
                )
                for layer in reversed(range(n_layers))
            )
        )

    def forward(self, X: torch.Tensor):
        """Return the reconstruction of (corrupted) ``X`` and its codings."""
        codings = self.encoder(self.corruption(X))
        return self.decoder(codings), codings


class AutoencoderLoss(nn.Module):
    """Reconstruction loss plus an optional sparsity penalty on the codings.

    ``reconstruction`` is "mse" or "bce" (binary cross-entropy on logits).
    With ``sparsity`` > 0 the penalty is ``sparsity`` times the KL divergence
    between ``sparsity_target`` and the mean activation of each coding
    (``kl``, for sigmoid codings in (0, 1)), or times the mean absolute coding
    (``l1``, for any other activation).
    """

    def __init__(
        self,
        reconstruction: str = "mse",
        sparsity: float = 0.0,
        sparsity_kind: str = "l1",
        sparsity_target: float = 0.05,
    ):
        super().__init__()
        self.reconstruction = reconstruction
        self.sparsity = sparsity
        self.sparsity_kind = sparsity_kind
        self.sparsity_target = sparsity_target

    def forward(self, prediction, target: torch.Tensor) -> torch.Tensor:
        """Return the loss of ``prediction = (reconstruction, codings)``."""
        reconstruction, codings = prediction
        if self.reconstruction == "bce":
            loss = F.binary_cross_entropy_with_logits(reconstruction, target)
        else:
            loss = F.mse_loss(reconstruction, target)
        if self.sparsity > 0:
            loss = loss + self.sparsity * self._sparsity_penalty(codings)
        return loss

    def _sparsity_penalty(self, codings: torch.Tensor) -> torch.Tensor:
        if self.sparsity_kind == "l1":
            return codings.abs().mean()
        target = self.sparsity_target
        mean_activation = codings.mean(dim=0).clamp(1e-6, 1 - 1e-6)
        return (
            target * torch.log(target / mean_activation)
            + (1 - target) * torch.log((1 - target) / (1 - mean_activation))
        ).sum()


class EncoderHead(nn.Module):
    """An encoder with a new head on top: class logits or regression outputs."""

    def __init__(
        self,
        encoder: nn.Module,
        n_codings: int,
        n_outputs: int,
        head_hidden_layer_sizes=(),
        activation: str = "relu",
    ):
        super().__init__()
        self.encoder = encoder
        sizes = [n_codings, *head_hidden_layer_sizes]
        self.head = nn.Sequential(
            *dense_stack(sizes, activation),
            dense_block(sizes[-1], n_outputs, None),
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return the head's outputs (logits or values) for ``X``."""
        return self.head(self.encoder(X))


class EncoderHeadDecoder(EncoderHead):
    """An encoder shared by a new head and the pretrained decoder.

    Fine-tuning with a reconstruction term: ``forward`` returns the head's
    outputs on the clean input, the reconstruction (of the corrupted input
    when ``corruption`` is active) with its codings, and the clean input as the
    reconstruction target.
    """

    def __init__(self, autoencoder: StackedAutoencoder, **head_options):
        super().__init__(autoencoder.encoder, **head_options)
        self.corruption = autoencoder.corruption
        self.decoder = autoencoder.decoder

    def forward(self, X: torch.Tensor):
        """Return ``(outputs, (reconstruction, codings), X)``."""
        codings = self.encoder(X)
        outputs = self.head(codings)
        corrupted = self.corruption(X)
        if corrupted is not X:
            codings = self.encoder(corrupted)
        return outputs, (self.decoder(codings), codings), X


class SemiSupervisedLoss(nn.Module):
    """Supervised loss on the labeled rows plus a weighted reconstruction loss.

    Targets mark unlabeled rows with -1 (class indices) or NaN (regression
    values); the supervised term averages over the labeled rows of the batch
    and is 0 when there are none, the reconstruction term covers every row.
    """

    def __init__(self, supervised: nn.Module, reconstruction: nn.Module, weight: float):
        super().__init__()
        self.supervised = supervised
        self.reconstruction = reconstruction
        self.weight = weight

    def forward(self, prediction, target: torch.Tensor) -> torch.Tensor:
        """Return the loss of ``prediction = (outputs, reconstruction, inputs)``."""
        outputs, reconstruction, inputs = prediction
        if target.is_floating_point():
            labeled = ~torch.isnan(target).reshape(len(target), -1).any(dim=1)
        else:
            labeled = target >= 0
        loss = self.weight * self.reconstruction(reconstruction, inputs)
        if labeled.any():
            loss = loss + self.supervised(outputs[labeled], target[labeled])
        return loss
