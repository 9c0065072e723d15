"""AutoencoderPretrainer: phase 1 of the recipe, as a scikit-learn transformer."""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from torch import nn

from ._data import (
    ArrayDataset,
    apply_in_chunks,
    as_training_rows,
    is_memmap,
    scan_in_chunks,
)
from ._layerwise import fit_layerwise
from ._modules import ACTIVATIONS, AutoencoderLoss, StackedAutoencoder
from ._torch_utils import draw_seed, fitting_torch, resolve_device
from ._training import build_net, train_module
from ._validation import check_layer_sizes

__all__ = ["AutoencoderPretrainer"]

FLOAT_DTYPES = (np.float64, np.float32)

# Parameters shared with the classifier's phase 2; both validate them alike.
TRAINING_PARAMETER_CONSTRAINTS = {
    "alpha": [Interval(Real, 0, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "device": [str, torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def split_validation(n_rows: int, validation_fraction: float, seed: int, stratify=None):
    """Return (train, validation) row indices for early stopping.

    ``stratify`` (labels) is used when a stratified split is possible.
    """
    if n_rows < 2:
        raise ValueError(
            f"early_stopping needs at least 2 training rows to hold out a "
            f"validation set; got {n_rows}. Set early_stopping=False."
        )
    if stratify is not None:
        # Stratifying needs two rows of every class, and a row of every class
        # on both sides of the split; otherwise the split is drawn unstratified.
        n_valid = math.ceil(validation_fraction * n_rows)
        _, class_counts = np.unique(stratify, return_counts=True)
        if class_counts.min() < 2 or min(n_valid, n_rows - n_valid) < len(class_counts):
            stratify = None
    return train_test_split(
        np.arange(n_rows),
        test_size=validation_fraction,
        random_state=seed,
        stratify=stratify,
    )


class AutoencoderPretrainer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Stacked autoencoder trained on unlabeled rows; transforms rows to codings.

    Phase 1 of unsupervised pretraining: a symmetric stacked autoencoder learns
    to reconstruct its input through the ``hidden_layer_sizes`` bottleneck. Its
    encoder then serves as a feature extractor (:meth:`transform`) or as the
    lower layers of a :class:`~sae_sklearn.PretrainedClassifier`.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(256, 128)
        Units of the encoder's layers, from the input upwards; the last one is
        the number of codings. The decoder mirrors the encoder. 128 codings
        were chosen because a linear softmax on 64 frozen codings was below
        logistic regression on the raw pixels (MNIST, 5% of labels); under
        the default head, 64 and 128 codings are within a point of each other
        (``benchmarks/results/defaults_*.md``).
    activation : {"relu", "selu", "elu", "tanh", "sigmoid"}, default="elu"
        Activation of every hidden layer, codings included. ELU is the default
        because it behaves like ReLU without ReLU's dead units: a third of the
        ReLU codings measured on MNIST and digits were always zero, which ruins
        a frozen encoder.
    output_activation : {"linear", "sigmoid"}, default="linear"
        Activation of the reconstruction. "linear" trains with the mean
        squared error and suits standardized data; "sigmoid" trains with binary
        cross-entropy and needs features in [0, 1] (e.g. after MinMaxScaler).
    noise : {"gaussian", "dropout", "swap"} or None, default="gaussian"
        Corruption of the input during training (a denoising autoencoder):
        Gaussian noise of standard deviation ``noise_level``, input dropout
        with rate ``noise_level``, or swap noise replacing each entry with
        probability ``noise_level`` by the same column's value in another row
        of the batch (every column keeps its marginal values). The
        reconstruction target stays the clean input, and :meth:`transform` and
        :meth:`inverse_transform` never corrupt.
    noise_level : float, default=0.3
        Strength of ``noise`` (see above). The default denoising (Gaussian
        noise of standard deviation 0.3, for features in [0, 1] or
        standardized) is for frozen encoders: with 5% of labels it raised a
        frozen encoder's accuracy on MNIST from 0.864 to 0.877 (digits: 0.927
        without, 0.922 with), while fine-tuned accuracy was level on digits
        and a point lower on MNIST (``benchmarks/results/defaults_*.md``).
    tied_weights : bool, default=False
        Each decoder layer uses the transpose of its mirror encoder layer's
        weight (with a bias of its own), halving the number of weights.
    layerwise : bool or "joint", default=False
        Greedy layer-wise pretraining: one shallow autoencoder per hidden
        layer, each trained (up to ``max_iter`` epochs) on the codings of the
        layers below, then stacked. Stages above the first reconstruct
        activations, with the hidden activation and the mean squared error.
        "joint" then trains the whole stack for up to ``max_iter`` more
        epochs. ``history_`` marks each epoch's ``stage`` (1, 2, ... or
        "joint").
    sparsity : float, default=0.0
        Weight of a sparsity penalty on the top-layer codings, added to the
        reconstruction loss: the KL divergence from ``sparsity_target`` to
        each coding's mean activation when ``activation="sigmoid"``, the mean
        absolute coding (L1) for every other activation.
    sparsity_target : float, default=0.05
        Target mean activation of sigmoid codings for the KL penalty.
    alpha : float, default=0.0
        L2 penalty (Adam's weight decay).
    batch_size : int, default=256
        Rows per minibatch (capped at the number of training rows).
    learning_rate_init : float, default=1e-3
        Adam's learning rate.
    max_iter : int, default=100
        Maximum number of epochs.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, stop when their
        reconstruction loss stops improving and keep the best weights.
    validation_fraction : float, default=0.1
        Share of rows held out when ``early_stopping`` is True.
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.
    tol : float, default=1e-4
        Minimum decrease of the monitored loss that counts as an improvement.
    device : str or torch.device, default="cpu"
        Torch device to train and infer on, e.g. "cuda".
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation and shuffling. The caller's global torch
        random state is left untouched.
    verbose : int, default=0
        Print one line per epoch when positive.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` is the whole autoencoder.
    encoder_ : torch.nn.Sequential
        The trained encoder, one ``Sequential(Linear, activation)`` per layer.
    history_ : skorch.History
        Per-epoch training (and validation) losses.
    loss_curve_ : list of float
        Training loss per epoch.
    n_iter_ : int
        Number of epochs run.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    PretrainedClassifier : Fine-tunes this encoder under a softmax head.
    sklearn.decomposition.PCA : The linear counterpart of an autoencoder.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sae_sklearn import AutoencoderPretrainer
    >>> X = load_digits().data / 16
    >>> ae = AutoencoderPretrainer(hidden_layer_sizes=(32, 8), max_iter=5,
    ...                            random_state=0).fit(X)
    >>> ae.transform(X).shape
    (1797, 8)
    >>> ae.inverse_transform(ae.transform(X)).shape
    (1797, 64)
    """

    _parameter_constraints = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "output_activation": [StrOptions({"linear", "sigmoid"})],
        "noise": [StrOptions({"gaussian", "dropout", "swap"}), None],
        "noise_level": [Interval(Real, 0, None, closed="left")],
        "tied_weights": ["boolean"],
        "layerwise": ["boolean", StrOptions({"joint"})],
        "sparsity": [Interval(Real, 0, None, closed="left")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
        **TRAINING_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 128),
        activation="elu",
        output_activation="linear",
        *,
        noise="gaussian",
        noise_level=0.3,
        tied_weights=False,
        layerwise=False,
        sparsity=0.0,
        sparsity_target=0.05,
        alpha=0.0,
        batch_size=256,
        learning_rate_init=1e-3,
        max_iter=100,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output_activation = output_activation
        self.noise = noise
        self.noise_level = noise_level
        self.tied_weights = tied_weights
        self.layerwise = layerwise
        self.sparsity = sparsity
        self.sparsity_target = sparsity_target
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder to reconstruct ``X``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training rows, labeled or not. A ``numpy.memmap`` (or a sparse
            matrix) is read one batch at a time, never copied whole.
        y : Ignored
            Present for API consistency; rows marked ``y == -1`` are data too.

        Returns
        -------
        self : AutoencoderPretrainer
            The fitted transformer.
        """
        X = self._validate_rows(X, reset=True, training=True)
        device = resolve_device(self.device)
        seed = self._seed = draw_seed(self.random_state)  # partial_fit continues
        train_data, valid_data = ArrayDataset(as_training_rows(X, device)), None
        if self.early_stopping:
            train_index, valid_index = split_validation(
                len(train_data), self.validation_fraction, seed
            )
            train_data, valid_data = (
                train_data.subset(train_index),
                train_data.subset(valid_index),
            )
        with fitting_torch(seed, device):
            if self.layerwise:
                self.net_ = fit_layerwise(
                    self, train_data, valid_data, seed=seed, device=device
                )
            else:
                self.net_ = train_module(
                    self,
                    self._build_module(X.shape[1]),
                    self._criterion(),
                    train_data,
                    valid_data,
                    seed=seed,
                    device=device,
                )
        self._record_history()
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train one more epoch on the chunk ``X`` (out-of-core learning).

        The first call builds the autoencoder; later calls continue training
        it, with the optimizer's state kept between chunks.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            A chunk of training rows (a ``numpy.memmap`` works too).
        y : Ignored
            Present for API consistency.

        Returns
        -------
        self : AutoencoderPretrainer
            The updated transformer.
        """
        if self.layerwise:
            raise ValueError(
                "partial_fit trains the whole stack one chunk at a time; greedy "
                "layer-wise pretraining (layerwise=True) needs fit."
            )
        first_call = not hasattr(self, "net_")
        X = self._validate_rows(X, reset=first_call, training=True)
        device = resolve_device(self.device)
        if first_call:
            self._seed = draw_seed(self.random_state)
            with fitting_torch(self._seed, device):
                module = self._build_module(X.shape[1])
                self.net_ = build_net(
                    self,
                    module,
                    self._criterion(),
                    valid_data=None,
                    seed=self._seed,
                    device=device,
                ).initialize()
        # A different seed per chunk, so that dropout-style noise differs.
        with fitting_torch(self._seed + len(self.net_.history), device):
            self.net_.partial_fit(ArrayDataset(as_training_rows(X, device)), epochs=1)
        self._record_history()
        return self

    def _validate_rows(self, X, reset: bool, training: bool = False):
        """Validate ``X`` once, without ever paging a whole memmap into memory.

        Training rows must also lie in [0, 1] for a sigmoid output, whose
        cross-entropy loss treats them as targets.
        """
        on_disk = is_memmap(X)
        X = validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=FLOAT_DTYPES,
            reset=reset,
            ensure_all_finite=not on_disk,
        )
        check_range = training and self.output_activation == "sigmoid"
        if on_disk:
            low, high = scan_in_chunks(X)  # the finiteness check, chunk by chunk
        elif check_range:
            low, high = X.min(), X.max()
        if check_range and (low < 0 or high > 1):
            raise ValueError(
                "output_activation='sigmoid' reconstructs values in [0, 1], but X "
                f"ranges over [{low:.3g}, {high:.3g}]. Scale X with "
                "MinMaxScaler or use output_activation='linear'."
            )
        return X

    def _record_history(self):
        self.history_ = self.net_.history
        self.loss_curve_ = list(self.history_[:, "train_loss"])
        self.n_iter_ = len(self.history_)

    def _build_module(self, n_features: int) -> StackedAutoencoder:
        """Return a freshly initialised autoencoder for ``n_features`` inputs."""
        return StackedAutoencoder(
            n_features, self._layer_sizes(), self.activation, **self._module_options()
        )

    def _layer_sizes(self) -> tuple[int, ...]:
        return check_layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")

    def _module_options(self) -> dict:
        return {
            "noise": self.noise,
            "noise_level": self.noise_level,
            "tied_weights": self.tied_weights,
        }

    def _criterion(self, reconstructs_input=True, penalises_codings=True):
        """Return the loss: of the input reconstruction, or of an inner stage's."""
        bce = reconstructs_input and self.output_activation == "sigmoid"
        return AutoencoderLoss(
            reconstruction="bce" if bce else "mse",
            sparsity=self.sparsity if penalises_codings else 0.0,
            sparsity_kind="kl" if self.activation == "sigmoid" else "l1",
            sparsity_target=self.sparsity_target,
        )

    @property
    def encoder_(self) -> nn.Sequential:
        """The trained encoder (a view of ``net_.module_.encoder``)."""
        # A property, not a copy: the net alone holds torch state, so pickling
        # maps it to the CPU when the model was trained on a GPU.
        check_is_fitted(self)
        return self.net_.module_.encoder

    @property
    def _device(self) -> torch.device:
        return next(self.net_.module_.parameters()).device

    @property
    def _n_features_out(self) -> int:
        return self.encoder_[-1][0].out_features

    def _decode(self, codings: torch.Tensor) -> torch.Tensor:
        output = self.net_.module_.decoder(codings)
        return torch.sigmoid(output) if self.output_activation == "sigmoid" else output

    def transform(self, X):
        """Return the codings of ``X``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Rows to encode.

        Returns
        -------
        codings : ndarray of shape (n_samples, n_codings)
            Top encoder layer's activations, in X's float dtype.
        """
        check_is_fitted(self)
        X = self._validate_rows(X, reset=False)
        encoder = self.encoder_.eval()
        return apply_in_chunks(encoder, X, self._device).astype(X.dtype, copy=False)

    def inverse_transform(self, X):
        """Return the reconstructions decoded from codings ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_codings)
            Codings, as returned by :meth:`transform`.

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features_in_)
            Decoded rows (after the output activation), in the codings' dtype.
        """
        check_is_fitted(self)
        codings = check_array(X, accept_sparse="csr", dtype=FLOAT_DTYPES)
        if codings.shape[1] != self._n_features_out:
            raise ValueError(
                f"inverse_transform expects codings with {self._n_features_out} "
                f"columns (the size of the top encoder layer); got "
                f"{codings.shape[1]}."
            )
        self.net_.module_.eval()
        reconstructed = apply_in_chunks(self._decode, codings, self._device)
        return reconstructed.astype(codings.dtype, copy=False)

    def score_samples(self, X):
        """Return the negative mean squared reconstruction error of each row.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Rows to reconstruct.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher is better; unusual rows score low.
        """
        check_is_fitted(self)
        X = self._validate_rows(X, reset=False)
        module = self.net_.module_.eval()

        def squared_errors(rows):
            return ((rows - self._decode(module.encoder(rows))) ** 2).mean(dim=1)

        return -apply_in_chunks(squared_errors, X, self._device).astype(np.float64)

    def score(self, X, y=None):
        """Return the negative mean squared reconstruction error of ``X``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Rows to reconstruct.
        y : Ignored
            Present for API consistency.

        Returns
        -------
        score : float
            Higher is better (0 is a perfect reconstruction).
        """
        return float(np.mean(self.score_samples(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True
        return tags
