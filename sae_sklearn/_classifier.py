"""PretrainedClassifier: phase 2 of the recipe under a softmax head."""

import numpy as np
import torch
from scipy.special import softmax
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, column_or_1d
from torch import nn

from ._data import unlabeled_mask
from ._finetuning import BasePretrainedEstimator, fill_shared_docs

__all__ = ["PretrainedClassifier"]


class PretrainedClassifier(ClassifierMixin, BasePretrainedEstimator):
    """Classifier on top of a pretrained autoencoder's encoder.

    ``fit(X, y)`` runs both phases of unsupervised pretraining: the
    ``pretrainer`` (an autoencoder) is fitted on all rows, labeled or not; its
    encoder is then copied under a new softmax head and trained on the labeled
    rows with the cross-entropy loss, the ``freeze`` lowest encoder layers kept
    as pretrained. Rows with ``y == -1`` are unlabeled (scikit-learn's
    semi-supervised convention): they serve pretraining only.

    Parameters
    ----------
    %(parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen among the labeled rows (any type, strings included).
    %(attributes)s

    See Also
    --------
    AutoencoderPretrainer : The autoencoder of phase 1.
    PretrainedRegressor : The same recipe with a regression head.
    sklearn.semi_supervised.SelfTrainingClassifier : Also reads ``y == -1``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sae_sklearn import AutoencoderPretrainer, PretrainedClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> y_partial = np.where(np.arange(len(y)) % 10 == 0, y, -1)  # 10% labeled
    >>> clf = PretrainedClassifier(
    ...     AutoencoderPretrainer((32, 16), max_iter=5, random_state=0),
    ...     freeze="all", max_iter=20, random_state=0,
    ... ).fit(X, y_partial)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _unlabeled_marker = "y == -1"

    def _validate_targets(self, X, y) -> np.ndarray:
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        return y

    def _labeled_mask(self, y) -> np.ndarray:
        return ~unlabeled_mask(y)

    def _fit_targets(self, y_labeled):
        """Return class indices, the number of classes and ``classes_``."""
        check_classification_targets(y_labeled)
        encoder = LabelEncoder().fit(y_labeled)
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs labeled rows of at least 2 classes; "
                f"got one class ({encoder.classes_[0]!r}) in {len(y_labeled)} "
                "labeled rows."
            )
        indices = torch.as_tensor(encoder.transform(y_labeled), dtype=torch.int64)
        return indices, len(encoder.classes_), {"classes_": encoder.classes_}

    def _loss(self) -> nn.Module:
        return nn.CrossEntropyLoss()

    def _stratify(self, targets: torch.Tensor):
        classes = targets.cpu().numpy()
        return classes if np.bincount(classes).min() >= 2 else None

    def predict_proba(self, X):
        """Return class probabilities.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in ``classes_`` order.
        """
        return softmax(self._outputs(X), axis=1)

    def predict(self, X):
        """Return the most probable class of each row.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, from ``classes_``.
        """
        logits = self._outputs(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Return the accuracy on the labeled rows; rows with ``y == -1`` are skipped.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Rows to classify.
        y : array-like of shape (n_samples,)
            True labels; ``-1`` marks an unlabeled row, which is not scored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows.

        Returns
        -------
        score : float
            Accuracy over the labeled rows.
        """
        y = np.asarray(y)
        labeled = ~unlabeled_mask(y)
        return self._score_labeled(X, y, labeled, accuracy_score, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


fill_shared_docs(PretrainedClassifier)
