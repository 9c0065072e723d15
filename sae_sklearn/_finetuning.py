"""Phase 2 of the recipe, shared by the classifier and the regressor.

``BasePretrainedEstimator.fit`` pretrains (or reuses a fitted pretrainer),
copies the encoder under a new head and fine-tunes it on the labeled rows. The
subclasses say which rows are labeled, how targets become tensors, the loss,
and how outputs become predictions.
"""

import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_memory, validate_data
from torch import nn

from ._data import (
    ArrayDataset,
    SemiSupervisedDataset,
    apply_in_chunks,
    as_training_rows,
    std_in_chunks,
    take_rows,
)
from ._freezing import Unfreeze, freeze_lowest_layers, n_frozen_layers
from ._modules import (
    EncoderHead,
    GaussianPerturbation,
    SemiSupervisedLoss,
    SemiSupervisedNet,
)
from ._pretrainer import (
    FLOAT_DTYPES,
    TRAINING_PARAMETER_CONSTRAINTS,
    AutoencoderPretrainer,
    split_validation,
)
from ._torch_utils import draw_seed, fitting_torch, resolve_device
from ._training import train_module
from ._validation import check_layer_sizes

__all__ = [
    "SHARED_ATTRIBUTES_DOC",
    "SHARED_PARAMETERS_DOC",
    "BasePretrainedEstimator",
    "fill_shared_docs",
]

SHARED_PARAMETERS_DOC = """
    pretrainer : AutoencoderPretrainer or None, default=None
        The autoencoder of phase 1; None means ``AutoencoderPretrainer()``. An
        unfitted pretrainer is cloned and fitted on all rows of ``X``; a
        fitted one, or one wrapped in ``sklearn.frozen.FrozenEstimator``, is
        reused as it is. The object passed in is never modified.
    pretrain : bool, default=True
        If False, skip phase 1 and train the same architecture from randomly
        initialised weights: the "does pretraining help?" baseline.
    freeze : {"none", "all"} or int, default="none"
        Encoder layers whose pretrained weights stay fixed during fine-tuning:
        none, all, or the k lowest. Frozen parameters are left out of the
        optimizer, so weight decay cannot move them either.
    unfreeze_at : int or None, default=None
        Gradual unfreezing: the layers named by ``freeze`` stay frozen for
        the first ``unfreeze_at`` epochs and train from the next one on. None
        keeps them frozen throughout.
    encoder_lr_scale : float, default=1.0
        The encoder's learning rate as a multiple of the head's
        (discriminative learning rates); 0 freezes the whole encoder, exactly
        like ``freeze="all"``.
    head_hidden_layer_sizes : array-like of int, default=(128,)
        Hidden layers of the head between the codings and the output layer,
        using the pretrainer's activation. The default hidden layer is what
        makes a frozen encoder useful: with 5% of labels a linear softmax on
        frozen codings reached 0.897 (digits) and 0.833 (MNIST), about logistic
        regression on the raw features, and one hidden layer 0.922 and 0.877
        (``benchmarks/results/defaults_*.md``). Empty: the output layer sits
        right on the codings.
    reconstruction_weight : float, default=0.0
        When positive, the pretrained decoder is kept and its reconstruction
        loss, with this weight, is added to the supervised loss: on every row
        of each batch (see the semi-supervised batches under ``max_iter``), so
        that the encoder keeps what it learned while it adapts to the labels.
%(consistency)s
    alpha : float, default=1e-4
        L2 penalty (Adam's weight decay) during fine-tuning. 1e-3 did no
        better (0.930 against 0.940 on digits, 0.902 against 0.905 on MNIST,
        5% of labels): the consistency term is what keeps few labels from
        being overfitted.
    batch_size : int, default=32
        Labeled rows per minibatch (capped at the number of labeled training
        rows); semi-supervised batches add four times as many rows of ``X``.
    learning_rate_init : float, default=3e-3
        Adam's learning rate during fine-tuning. With few labeled rows an epoch
        is only a few steps: at 1e-3 a softmax head on a frozen encoder had not
        converged after 200 epochs on digits with 70 labels.
    max_iter : int, default=100
        Maximum number of fine-tuning epochs. Supervised fine-tuning passes
        over the labeled rows each epoch and usually stops earlier, once the
        loss stops improving by ``tol``. Semi-supervised fine-tuning (a
        positive ``consistency_weight`` with unlabeled rows in ``y``, or a
        positive ``reconstruction_weight``) passes over all rows each epoch,
        ``4 * batch_size`` at a time, each batch joined by ``batch_size``
        labeled rows drawn in turn; its loss mixes terms whose balance shifts
        as pseudo-labels are adopted, so it runs all ``max_iter`` epochs
        unless ``early_stopping`` stops it.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the labeled rows (stratified by
        class for a classifier when both sides of the split can hold every
        class), stop when their loss stops improving and keep the best
        weights. Off by default: with the consistency term it stopped too
        early and cost accuracy even at 20% of labels (digits 0.946 against
        0.972, MNIST 0.912 against 0.931).
    validation_fraction : float, default=0.1
        Share of labeled rows held out when ``early_stopping`` is True.
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.
    tol : float, default=1e-4
        Minimum decrease of the monitored loss that counts as an improvement.
    memory : str, joblib.Memory or None, default=None
        Caches phase 1, like ``Pipeline(memory=...)``: a folder path or a
        ``joblib.Memory``. The key is the pretrainer's parameters (its
        ``random_state`` included) and the training rows, so a grid search
        over ``freeze`` or other fine-tuning parameters pretrains once per
        training set. Cached and uncached fits give the same model.
    device : str or torch.device, default="cpu"
        Torch device for fine-tuning and inference, e.g. "cuda".
    random_state : int, RandomState instance or None, default=None
        Seeds fine-tuning, and pretraining when the pretrainer has no
        ``random_state`` of its own. The caller's global torch random state is
        left untouched.
    verbose : int, default=0
        Print one line per epoch when positive.
"""

SHARED_ATTRIBUTES_DOC = """
    pretrainer_ : AutoencoderPretrainer, FrozenEstimator or None
        The fitted pretrainer whose encoder was copied (None when ``pretrain``
        is False).
    encoder_ : torch.nn.Sequential
        The fine-tuned copy of the encoder (``net_.module_.encoder``).
    net_ : skorch.NeuralNet
        The trained skorch net; its module holds ``encoder`` and ``head``.
    history_ : skorch.History
        Per-epoch fine-tuning losses.
    loss_curve_ : list of float
        Fine-tuning training loss per epoch.
    n_iter_ : int
        Number of fine-tuning epochs run.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.
"""


# Rows drawn from all of X per labeled row when the unsupervised terms are on:
# FixMatch draws 7; the defaults were chosen with 4, which costs less per epoch.
UNLABELED_RATIO = 4


def fill_shared_docs(estimator_class, consistency_doc: str) -> None:
    """Put the shared Parameters and Attributes entries into a class docstring.

    ``consistency_doc`` documents the consistency parameters, whose defaults
    and loss differ between the classifier and the regressor.
    """
    parameters = SHARED_PARAMETERS_DOC.replace(
        "%(consistency)s", consistency_doc.strip("\n")
    )
    estimator_class.__doc__ = estimator_class.__doc__.replace(
        "%(parameters)s", parameters.strip()
    ).replace("%(attributes)s", SHARED_ATTRIBUTES_DOC.strip())


def _is_fitted(estimator) -> bool:
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def _fit_estimator(estimator, X):
    """Return ``estimator`` fitted on ``X`` (module-level, so joblib can cache it)."""
    return estimator.fit(X)


def _architecture(pretrainer):
    """Return the estimator whose parameters define the encoder's architecture."""
    if pretrainer is None:
        return AutoencoderPretrainer()
    # FrozenEstimator and similar wrappers keep the pretrainer as ``estimator``.
    architecture = getattr(pretrainer, "estimator", pretrainer)
    if not hasattr(architecture, "_build_module"):
        raise ValueError(
            "pretrainer must be an AutoencoderPretrainer (or a FrozenEstimator "
            f"wrapping one); got {pretrainer!r}."
        )
    return architecture


class BasePretrainedEstimator(BaseEstimator):
    """Pretrain on all rows, fine-tune an encoder + head on the labeled rows.

    Subclasses implement ``_validate_targets``, ``_labeled_mask``,
    ``_fit_targets``, ``_loss`` and, optionally, ``_stratify``.
    """

    _parameter_constraints = {
        "pretrainer": [HasMethods(["fit", "transform"]), None],
        "pretrain": ["boolean"],
        "freeze": [
            StrOptions({"none", "all"}),
            Interval(Integral, 0, None, closed="left"),
        ],
        "unfreeze_at": [Interval(Integral, 0, None, closed="left"), None],
        "encoder_lr_scale": [Interval(Real, 0, None, closed="left")],
        "head_hidden_layer_sizes": ["array-like"],
        "reconstruction_weight": [Interval(Real, 0, None, closed="left")],
        "consistency_weight": [Interval(Real, 0, None, closed="left")],
        "consistency_noise": [Interval(Real, 0, None, closed="neither")],
        "memory": [None, str, HasMethods(["cache"])],
        **TRAINING_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        pretrainer=None,
        *,
        pretrain=True,
        freeze="none",
        unfreeze_at=None,
        encoder_lr_scale=1.0,
        head_hidden_layer_sizes=(128,),
        reconstruction_weight=0.0,
        consistency_weight=0.0,
        consistency_noise=1.0,
        alpha=1e-4,
        batch_size=32,
        learning_rate_init=3e-3,
        max_iter=100,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        memory=None,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.pretrainer = pretrainer
        self.pretrain = pretrain
        self.freeze = freeze
        self.unfreeze_at = unfreeze_at
        self.encoder_lr_scale = encoder_lr_scale
        self.head_hidden_layer_sizes = head_hidden_layer_sizes
        self.reconstruction_weight = reconstruction_weight
        self.consistency_weight = consistency_weight
        self.consistency_noise = consistency_noise
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.memory = memory
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # The pretrainer's own fit validates its parameters.
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Pretrain on all rows, then fine-tune on the labeled ones.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            All rows, labeled or not.
        y : array-like of shape (n_samples,)
            Targets; the unlabeled rows are marked as the subclass documents.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X = validate_data(self, X, accept_sparse="csr", dtype=FLOAT_DTYPES)
        y = self._validate_targets(X, y)
        labeled = self._labeled_mask(y)
        if not labeled.any():
            raise ValueError(
                f"{type(self).__name__} needs at least one labeled row "
                f"({self._unlabeled_marker} marks unlabeled rows); got 0 of {len(y)}."
            )
        targets, n_outputs, target_attributes = self._fit_targets(y[labeled])
        head_sizes = check_layer_sizes(
            self.head_hidden_layer_sizes, "head_hidden_layer_sizes", allow_empty=True
        )
        rng = check_random_state(self.random_state)
        pretrain_seed, finetune_seed = draw_seed(rng), draw_seed(rng)
        device = resolve_device(self.device)

        pretrainer = self._fit_pretrainer(X, pretrain_seed) if self.pretrain else None
        architecture = _architecture(
            self.pretrainer if pretrainer is None else pretrainer
        )
        with fitting_torch(finetune_seed, device):
            if pretrainer is None:
                # Same architecture, fresh weights: the no-pretraining baseline.
                autoencoder = architecture._build_module(X.shape[1])
            else:
                # A copy, so that fine-tuning never moves the pretrainer's weights.
                autoencoder = copy.deepcopy(_architecture(pretrainer).net_.module_)
            autoencoder = autoencoder.to(device)
            schedule = self._fine_tuning_schedule(autoencoder.encoder)
            head_options = {
                "n_codings": autoencoder.encoder[-1][0].out_features,
                "n_outputs": n_outputs,
                "head_hidden_layer_sizes": head_sizes,
                "activation": architecture.activation,
            }
            consistency = self.consistency_weight > 0 and not labeled.all()
            if consistency or self.reconstruction_weight > 0:
                module = SemiSupervisedNet(
                    autoencoder.encoder,
                    perturbation=self._perturbation(X) if consistency else None,
                    decoder=autoencoder.decoder if self.reconstruction_weight else None,
                    corruption=autoencoder.corruption,
                    **head_options,
                )
                loss = SemiSupervisedLoss(
                    self._loss(),
                    consistency=self._consistency_loss() if consistency else None,
                    consistency_weight=self.consistency_weight,
                    reconstruction=architecture._criterion(),
                    reconstruction_weight=self.reconstruction_weight,
                )
            else:
                module = EncoderHead(autoencoder.encoder, **head_options)
                loss = self._loss()
            semi_supervised = isinstance(module, SemiSupervisedNet)
            train_data, valid_data = self._fine_tuning_data(
                X, labeled, targets, finetune_seed, device, semi_supervised
            )
            net = train_module(
                self,
                module,
                loss,
                train_data,
                valid_data,
                seed=finetune_seed,
                device=device,
                phase="fine-tuning",
                # The loss flattens early while pseudo-labels are still being
                # adopted and accuracy climbs: it is no sign of convergence.
                stop_on_train_loss=not semi_supervised,
                **schedule,
            )
        for name, value in target_attributes.items():
            setattr(self, name, value)
        self.pretrainer_ = pretrainer
        self.net_ = net
        self.history_ = net.history
        self.loss_curve_ = list(self.history_[:, "train_loss"])
        self.n_iter_ = len(self.history_)
        return self

    def _fine_tuning_schedule(self, encoder) -> dict:
        """Freeze the encoder's lowest layers; return the matching net options.

        The encoder trains at ``encoder_lr_scale`` times the head's learning
        rate (0: frozen, like ``freeze="all"``), and frozen layers join it at
        epoch ``unfreeze_at + 1`` when ``unfreeze_at`` is set.
        """
        n_frozen = n_frozen_layers(self.freeze, len(encoder))
        if self.encoder_lr_scale == 0:
            n_frozen = len(encoder)
        freeze_lowest_layers(encoder, n_frozen)
        encoder_lr = self.learning_rate_init * self.encoder_lr_scale
        schedule = {}
        if self.encoder_lr_scale != 1:  # a second group costs time at every step
            schedule["param_groups"] = [("encoder.*", {"lr": encoder_lr})]
        if self.unfreeze_at is not None and n_frozen and encoder_lr > 0:
            frozen = [p for layer in encoder[:n_frozen] for p in layer.parameters()]
            unfreeze = Unfreeze(frozen, epoch=self.unfreeze_at + 1, lr=encoder_lr)
            schedule["callbacks"] = [("unfreeze", unfreeze)]
        return schedule

    def _fit_pretrainer(self, X, seed: int):
        """Return a fitted pretrainer: the one given if fitted, else a fitted clone."""
        pretrainer = self.pretrainer
        if pretrainer is None:
            pretrainer = AutoencoderPretrainer()
        if not _is_fitted(pretrainer):
            pretrainer = clone(pretrainer)
            if pretrainer.get_params().get("random_state", "absent") is None:
                pretrainer.set_params(random_state=seed)
            # The cache key is (pretrainer parameters, X): phase-2 parameters
            # such as freeze do not enter it, so a search over them pretrains
            # once per training set.
            fit_pretrainer = check_memory(self.memory).cache(_fit_estimator)
            pretrainer = fit_pretrainer(pretrainer, X)
        if not isinstance(getattr(pretrainer, "encoder_", None), nn.Module):
            raise ValueError(
                "pretrainer must be a transformer exposing a fitted torch encoder "
                f"as encoder_ (e.g. AutoencoderPretrainer); got {pretrainer!r}."
            )
        if pretrainer.n_features_in_ != X.shape[1]:
            raise ValueError(
                f"The fitted pretrainer expects {pretrainer.n_features_in_} "
                f"features but X has {X.shape[1]}."
            )
        return pretrainer

    def _fine_tuning_data(
        self, X, labeled, targets, seed, device, semi_supervised
    ) -> tuple:
        """Return the training and (early stopping) validation datasets.

        Validation rows are drawn from the labeled ones; the other labeled rows
        train. With ``semi_supervised``, each training batch is topped up with
        rows drawn from all of ``X``, labels hidden, for the unsupervised terms.
        """
        labeled_positions = np.flatnonzero(labeled)
        if semi_supervised:
            rows = as_training_rows(X, device)
            all_targets = self._unlabeled_targets(len(labeled), targets)
            all_targets[torch.from_numpy(labeled_positions)] = targets
            data = ArrayDataset(rows, all_targets.to(device)).subset(labeled_positions)
        else:
            labeled_rows = as_training_rows(take_rows(X, labeled_positions), device)
            data = ArrayDataset(labeled_rows, targets.to(device))
        train_data, valid_data = data, None
        if self.early_stopping:
            train_index, valid_index = split_validation(
                len(targets),
                self.validation_fraction,
                seed,
                stratify=self._stratify(targets),
            )
            train_data = data.subset(np.sort(train_index))
            valid_data = data.subset(np.sort(valid_index))
        if semi_supervised:
            unlabeled_target = self._unlabeled_targets(1, targets)[0].to(device)
            train_data = SemiSupervisedDataset(
                train_data, ArrayDataset(rows), UNLABELED_RATIO, unlabeled_target
            )
        return train_data, valid_data

    def _perturbation(self, X) -> GaussianPerturbation:
        """Return the consistency term's noise, scaled by each feature's spread."""
        return GaussianPerturbation(self.consistency_noise * std_in_chunks(X))

    def _unlabeled_targets(self, n_rows: int, targets: torch.Tensor) -> torch.Tensor:
        """Return ``n_rows`` targets shaped like ``targets``, all marked unlabeled."""
        fill = float("nan") if targets.is_floating_point() else -1
        return torch.full((n_rows, *targets.shape[1:]), fill, dtype=targets.dtype)

    def _stratify(self, targets: torch.Tensor):
        """Return labels to stratify the early-stopping split by, or None."""
        return None

    @property
    def encoder_(self) -> nn.Sequential:
        """The fine-tuned encoder (a view of ``net_.module_.encoder``)."""
        check_is_fitted(self)
        return self.net_.module_.encoder

    def _outputs(self, X) -> np.ndarray:
        """Return the head's raw outputs for ``X`` as float64."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=FLOAT_DTYPES, reset=False)
        module = self.net_.module_.eval()
        device = next(module.parameters()).device

        def head_outputs(rows):
            return module.head(module.encoder(rows))

        return apply_in_chunks(head_outputs, X, device).astype(np.float64)

    def _score_labeled(self, X, y, labeled, metric, sample_weight):
        """Return ``metric`` of the predictions on the ``labeled`` rows only."""
        if not labeled.any():
            raise ValueError(
                "score needs at least one labeled row "
                f"({self._unlabeled_marker} marks unlabeled rows)."
            )
        rows = np.flatnonzero(labeled)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)[rows]
        y_pred = self.predict(take_rows(X, rows))
        return metric(y[rows], y_pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
