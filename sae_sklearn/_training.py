"""The skorch net both estimators train with, and MLP-style stopping rules."""

import copy
import math
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.helper import predefined_split

from ._data import (
    ArrayDataset,
    BatchIterator,
    SemiSupervisedBatchIterator,
    SemiSupervisedDataset,
)
from ._torch_utils import rebalance_torch_threads

__all__ = ["SliceNet", "build_net", "train_module"]


class SliceNet(NeuralNet):
    """A skorch ``NeuralNet`` whose batches are index slices of whole tensors.

    Besides the fast batch path (and a leaner step than skorch's generic one)
    it keeps frozen parameters (``requires_grad`` is
    False) out of the optimizer, and lets callbacks end training early by
    setting ``stop_training_`` instead of raising ``KeyboardInterrupt``.
    """

    def __init__(self, module, *, shuffle_seed=0, **kwargs):
        super().__init__(module, **kwargs)
        self.shuffle_seed = shuffle_seed

    def initialize(self):
        """Initialise the net and its private shuffling generator."""
        super().initialize()
        self.shuffle_rng_ = np.random.default_rng(self.shuffle_seed)
        return self

    def get_iterator(self, dataset, training=False):
        """Return a :class:`BatchIterator`, shuffled when training."""
        if training and isinstance(dataset, SemiSupervisedDataset):
            return SemiSupervisedBatchIterator(
                dataset, self.batch_size, self.shuffle_rng_
            )
        return BatchIterator(
            dataset, self.batch_size, shuffle=training, rng=self.shuffle_rng_
        )

    def train_step(self, batch, **fit_params):
        """One optimizer step on ``batch``.

        Adam needs no closure and no callback listens to gradients, so the
        closure machinery of skorch's ``train_step`` is skipped: for small
        tabular batches its per-step cost is measurable.
        """
        self.optimizer_.zero_grad()
        step = self.train_step_single(batch, **fit_params)
        self.optimizer_.step()
        return step

    def train_step_single(self, batch, **fit_params):
        """Compute the loss of ``batch`` and its gradients (mode set per epoch)."""
        X_batch, y_batch = self._on_device(batch)
        y_pred = self.module_(X_batch)
        loss = self.criterion_(y_pred, y_batch)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def validation_step(self, batch, **fit_params):
        """Compute the loss of ``batch`` without gradients (mode set per epoch)."""
        X_batch, y_batch = self._on_device(batch)
        with torch.no_grad():
            y_pred = self.module_(X_batch)
            loss = self.criterion_(y_pred, y_batch)
        return {"loss": loss, "y_pred": y_pred}

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """Run one pass over ``iterator``, recording each batch's loss and size.

        No per-batch callback notifications: none of this package's callbacks
        acts per batch, and for small batches the notifications cost more than
        the bookkeeping they serve.
        """
        if iterator is None:
            return
        n_batches = 0
        for batch in iterator:
            self.history.new_batch()
            step = step_fn(batch, **fit_params)
            self.history.record_batch(prefix + "_loss", step["loss"].item())
            self.history.record_batch(prefix + "_batch_size", len(batch[0]))
            n_batches += 1
        self.history.record(prefix + "_batch_count", n_batches)

    def _on_device(self, batch):
        # In-memory batches are already there; memmap and sparse ones are not.
        X_batch, y_batch = batch
        return X_batch.to(self.device), y_batch.to(self.device)

    def get_all_learnable_params(self):
        """Yield the trainable parameters only, so frozen ones never move."""
        for name, parameter in self.module_.named_parameters():
            if parameter.requires_grad:
                yield name, parameter

    def fit_loop(self, X, y=None, epochs=None, _routing_method="fit", **fit_params):
        """Train for ``epochs`` epochs or until a callback sets ``stop_training_``."""
        self.check_training_readiness()
        epochs = self.max_epochs if epochs is None else epochs
        dataset_train, dataset_valid = self.get_split_datasets(X, y)
        epoch_kwargs = {"dataset_train": dataset_train, "dataset_valid": dataset_valid}
        iterator_train = self.get_iterator(dataset_train, training=True)
        iterator_valid = None
        if dataset_valid is not None:
            iterator_valid = self.get_iterator(dataset_valid, training=False)

        self.stop_training_ = False
        for _ in range(epochs):
            self.notify("on_epoch_begin", **epoch_kwargs)
            # Once per epoch rather than once per batch, as skorch would.
            self._set_training(True)
            self.run_single_epoch(
                iterator_train,
                training=True,
                prefix="train",
                step_fn=self.train_step,
                **fit_params,
            )
            self._set_training(False)
            self.run_single_epoch(
                iterator_valid,
                training=False,
                prefix="valid",
                step_fn=self.validation_step,
                **fit_params,
            )
            self.notify("on_epoch_end", **epoch_kwargs)
            if self.stop_training_:
                break
        return self


class ThreadSharing(Callback):
    """Re-split torch threads among concurrent fits at the start of each epoch."""

    def on_epoch_begin(self, net, **kwargs):
        rebalance_torch_threads()


class EpochPrinter(Callback):
    """Print one line per epoch, labelled by training phase."""

    def __init__(self, phase: str):
        self.phase = phase

    def on_epoch_end(self, net, **kwargs):
        epoch = net.history[-1]
        valid = (
            f"  valid loss {epoch['valid_loss']:.5f}" if "valid_loss" in epoch else ""
        )
        print(
            f"[{self.phase}] epoch {epoch['epoch']:>4}  "
            f"train loss {epoch['train_loss']:.5f}{valid}  {epoch['dur']:.2f} s",
            flush=True,
        )


class StoppingRule(Callback):
    """Stop like scikit-learn's MLP: no improvement above ``tol`` for a while.

    It watches the validation loss when there is a validation set (and then
    restores the best weights at the end), the training loss otherwise, and
    nothing when ``monitor`` is None (a fixed budget of epochs, which counts as
    converged). A loss that stops being finite ends training with a
    ``ValueError``.
    """

    def __init__(self, monitor, tol, n_iter_no_change, restore_best):
        self.monitor = monitor
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.restore_best = restore_best

    def on_train_begin(self, net, **kwargs):
        self.best_loss_ = math.inf
        self.n_epochs_without_improvement_ = 0
        self.best_state_ = None
        self.converged_ = self.monitor is None

    def on_epoch_end(self, net, **kwargs):
        epoch = net.history[-1]
        for key in ("train_loss", "valid_loss"):
            if key in epoch and not math.isfinite(epoch[key]):
                raise ValueError(
                    f"The {key.replace('_', ' ')} became {epoch[key]} at epoch "
                    f"{epoch['epoch']}: training diverged. Lower learning_rate_init, "
                    "or scale the features (e.g. StandardScaler or MinMaxScaler)."
                )
        if self.monitor is None:
            return
        loss = epoch[self.monitor]
        if loss < self.best_loss_ - self.tol:
            self.n_epochs_without_improvement_ = 0
        else:
            self.n_epochs_without_improvement_ += 1
        # As in MLP: any improvement is kept, only one above tol resets the count.
        if loss < self.best_loss_:
            self.best_loss_ = loss
            if self.restore_best:
                self.best_state_ = copy.deepcopy(net.module_.state_dict())
        if self.n_epochs_without_improvement_ >= self.n_iter_no_change:
            self.converged_ = True
            net.stop_training_ = True

    def on_train_end(self, net, **kwargs):
        if self.restore_best and self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)


def build_net(
    estimator,
    module,
    criterion,
    *,
    valid_data: ArrayDataset | None,
    seed: int,
    device: torch.device,
    max_epochs: int | None = None,
    phase: str = "pretraining",
    callbacks=(),
    param_groups=(),
    stop_on_train_loss: bool = True,
) -> SliceNet:
    """Return an uninitialised net with the estimator's training parameters.

    ``estimator`` supplies ``learning_rate_init``, ``alpha`` (L2 penalty, applied
    as Adam's weight decay), ``batch_size``, ``max_iter``, ``tol``,
    ``n_iter_no_change`` and ``verbose`` (one line per epoch, labelled
    ``phase``, when positive). ``callbacks`` are added to the
    stopping rule, and ``param_groups`` are skorch's optimizer parameter groups
    (``[("encoder.*", {"lr": ...})]``). Without a validation set and with
    ``stop_on_train_loss`` False, training runs ``max_epochs`` epochs.
    """
    monitor = "valid_loss" if valid_data is not None else None
    if valid_data is None and stop_on_train_loss:
        monitor = "train_loss"
    stopping = StoppingRule(
        monitor=monitor,
        tol=estimator.tol,
        n_iter_no_change=estimator.n_iter_no_change,
        restore_best=valid_data is not None,
    )
    return SliceNet(
        module,
        criterion=criterion,
        optimizer=torch.optim.Adam,
        optimizer__weight_decay=estimator.alpha,
        lr=estimator.learning_rate_init,
        max_epochs=estimator.max_iter if max_epochs is None else max_epochs,
        batch_size=estimator.batch_size,
        train_split=None if valid_data is None else predefined_split(valid_data),
        callbacks=[
            ("stopping", stopping),
            ("thread_sharing", ThreadSharing()),
            *([("epoch_printer", EpochPrinter(phase))] if estimator.verbose else []),
            *callbacks,
        ],
        optimizer__param_groups=list(param_groups),
        shuffle_seed=seed,
        verbose=0,  # EpochPrinter replaces skorch's table
        device=str(device),
    )


def train_module(
    estimator,
    module,
    criterion,
    train_data: ArrayDataset,
    valid_data: ArrayDataset | None,
    **net_options,
) -> SliceNet:
    """Train ``module`` with the estimator's training parameters; return the net.

    ``net_options`` go to :func:`build_net`. Warns ``ConvergenceWarning`` when
    ``max_iter`` ends training before the stopping rule does.
    """
    net = build_net(estimator, module, criterion, valid_data=valid_data, **net_options)
    net.fit(train_data, None)
    if not dict(net.callbacks_)["stopping"].converged_:
        warnings.warn(
            f"{type(estimator).__name__}: maximum iterations ({net.max_epochs}) "
            "reached and the optimization hasn't converged yet.",
            ConvergenceWarning,
            stacklevel=4,  # train_module < fit < sklearn's fit wrapper < caller
        )
    return net
