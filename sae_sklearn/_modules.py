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
    "ConfidentPseudoLabelLoss",
    "GaussianPerturbation",
    "SemiSupervisedLoss",
    "SemiSupervisedNet",
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


class GaussianPerturbation(nn.Module):
    """Gaussian noise with a standard deviation per feature, in training mode only.

    ``scale`` holds each feature's noise standard deviation; the estimators
    set it to a multiple of the feature's spread over the training rows, so
    that the perturbation does not depend on the features' units.
    """

    def __init__(self, scale: torch.Tensor):
        super().__init__()
        self.register_buffer("scale", scale)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return a perturbed copy of ``X`` in training mode, else ``X`` itself."""
        if not self.training:
            return X
        return X + self.scale * torch.randn_like(X)


class SemiSupervisedNet(EncoderHead):
    """An encoder + head that also returns what the unsupervised terms need.

    In training mode ``forward`` returns ``(outputs, perturbed_outputs,
    reconstruction, X)``: the head's outputs on the clean input; its outputs
    on a ``perturbation`` of the input (None without one), for a consistency
    term; and, when the pretrained ``decoder`` is kept, the reconstruction of
    the (``corruption``-corrupted) input with its codings (else None). In
    evaluation mode it returns the outputs only, like :class:`EncoderHead`.
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        perturbation: nn.Module | None = None,
        decoder: nn.Module | None = None,
        corruption: nn.Module | None = None,
        **head_options,
    ):
        super().__init__(encoder, **head_options)
        self.perturbation = perturbation
        self.decoder = decoder
        self.corruption = Corruption() if corruption is None else corruption

    def forward(self, X: torch.Tensor):
        """Return the outputs, and in training mode the unsupervised terms' inputs."""
        codings = self.encoder(X)
        outputs = self.head(codings)
        if not self.training:
            return outputs
        perturbed_outputs = None
        if self.perturbation is not None:
            perturbed_outputs = self.head(self.encoder(self.perturbation(X)))
        reconstruction = None
        if self.decoder is not None:
            corrupted = self.corruption(X)
            if corrupted is not X:
                codings = self.encoder(corrupted)
            reconstruction = (self.decoder(codings), codings)
        return outputs, perturbed_outputs, reconstruction, X


class ConfidentPseudoLabelLoss(nn.Module):
    """Cross-entropy against the confident predictions on the clean input.

    A row whose clean prediction's top probability reaches ``threshold``
    takes that class as its pseudo-label, and the prediction on the perturbed
    row is trained towards it; other rows count as zero, so the term grows as
    the classifier grows confident (the unlabeled loss of FixMatch).
    """

    def __init__(self, threshold: float):
        super().__init__()
        self.threshold = threshold

    def forward(self, perturbed_logits, clean_logits) -> torch.Tensor:
        """Return the mean masked cross-entropy over the rows."""
        confidence, pseudo_labels = F.softmax(clean_logits, dim=1).max(dim=1)
        losses = F.cross_entropy(perturbed_logits, pseudo_labels, reduction="none")
        return (losses * (confidence >= self.threshold)).mean()


class SemiSupervisedLoss(nn.Module):
    """Supervised loss on the labeled rows plus weighted unsupervised terms.

    Targets mark unlabeled rows with -1 (class indices) or NaN (regression
    values). The supervised term averages over the labeled rows of the batch
    (0 when there are none). The consistency term compares, on the unlabeled
    rows, the outputs for the perturbed input with the (fixed) outputs for the
    clean one; the reconstruction term covers every row. Given plain outputs
    (a module in evaluation mode), the loss is the supervised term alone.
    """

    def __init__(
        self,
        supervised: nn.Module,
        *,
        consistency: nn.Module | None = None,
        consistency_weight: float = 0.0,
        reconstruction: nn.Module | None = None,
        reconstruction_weight: float = 0.0,
    ):
        super().__init__()
        self.supervised = supervised
        self.consistency = consistency
        self.consistency_weight = consistency_weight
        self.reconstruction = reconstruction
        self.reconstruction_weight = reconstruction_weight

    def forward(self, prediction, target: torch.Tensor) -> torch.Tensor:
        """Return the loss of ``(outputs, perturbed_outputs, reconstruction, X)``."""
        if isinstance(prediction, torch.Tensor):
            return self.supervised(prediction, target)
        outputs, perturbed_outputs, reconstruction, inputs = prediction
        if target.is_floating_point():
            labeled = ~torch.isnan(target).reshape(len(target), -1).any(dim=1)
        else:
            labeled = target >= 0
        loss = outputs.new_zeros(())
        if labeled.any():
            loss = loss + self.supervised(outputs[labeled], target[labeled])
        unlabeled = ~labeled
        if perturbed_outputs is not None and unlabeled.any():
            loss = loss + self.consistency_weight * self.consistency(
                perturbed_outputs[unlabeled], outputs[unlabeled].detach()
            )
        if reconstruction is not None:
            loss = loss + self.reconstruction_weight * self.reconstruction(
                reconstruction, inputs
            )
        return loss
