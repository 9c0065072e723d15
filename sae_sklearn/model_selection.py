"""Cross-validation on partly labeled data (``y == -1`` marks an unlabeled row)."""

import warnings
from numbers import Integral

import numpy as np
from sklearn.model_selection import BaseCrossValidator, KFold, StratifiedKFold
from sklearn.utils import indexable
from sklearn.utils._param_validation import Interval, validate_parameter_constraints
from sklearn.utils.validation import column_or_1d

from ._data import unlabeled_mask

__all__ = ["SemiSupervisedKFold"]


class SemiSupervisedKFold(BaseCrossValidator):
    """K-fold cross-validator whose test folds hold labeled rows only.

    The labeled rows are split into ``n_splits`` test folds, stratified by
    class with :class:`~sklearn.model_selection.StratifiedKFold` or in order
    with :class:`~sklearn.model_selection.KFold`. The unlabeled rows
    (``y == -1``, scikit-learn's semi-supervised convention) are never tested:
    they are in every training set, where a semi-supervised estimator such as
    :class:`~sae_sklearn.PretrainedClassifier` can pretrain on them. Each
    training set holds all the rows outside its test fold.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds. Must be at least 2, and at most the number of
        labeled rows.
    stratify : bool, default=True
        Keep the class proportions of the labeled rows in every test fold,
        as :class:`~sklearn.model_selection.StratifiedKFold` does (including
        its warning when a class has fewer than ``n_splits`` labeled rows).
        If False, split the labeled rows like
        :class:`~sklearn.model_selection.KFold`.
    shuffle : bool, default=False
        Shuffle the labeled rows (within each class when ``stratify`` is
        True) before splitting them into folds.
    random_state : int, RandomState instance or None, default=None
        Controls the shuffling when ``shuffle`` is True; must stay None
        otherwise. Pass an int for the same folds on every call of ``split``.

    See Also
    --------
    sklearn.model_selection.StratifiedKFold : Splits every row, labeled or not.
    sklearn.model_selection.KFold : Same, without stratification.

    Notes
    -----
    Scores then measure the labeled rows alone, and a fold's unlabeled rows
    are never held out: this matches the use of unlabeled data for
    pretraining, where all of it is available at training time.

    Examples
    --------
    >>> import numpy as np
    >>> from sae_sklearn.model_selection import SemiSupervisedKFold
    >>> X = np.zeros((8, 2))
    >>> y = np.array([0, -1, 1, 0, -1, 1, -1, -1])
    >>> cv = SemiSupervisedKFold(n_splits=2)
    >>> cv.get_n_splits()
    2
    >>> for train, test in cv.split(X, y):
    ...     print(f"train={train} test={test}")
    train=[1 3 4 5 6 7] test=[0 2]
    train=[0 1 2 4 6 7] test=[3 5]
    """

    _parameter_constraints = {
        "n_splits": [Interval(Integral, 2, None, closed="left")],
        "stratify": ["boolean"],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, n_splits=5, *, stratify=True, shuffle=False, random_state=None):
        # A splitter is not cloned like an estimator, so it fails early, at
        # construction, as scikit-learn's own splitters do.
        validate_parameter_constraints(
            self._parameter_constraints,
            {
                "n_splits": n_splits,
                "stratify": stratify,
                "shuffle": shuffle,
                "random_state": random_state,
            },
            caller_name=type(self).__name__,
        )
        if not shuffle and random_state is not None:
            raise ValueError(
                "Setting a random_state has no effect since shuffle is False: "
                "leave random_state=None, or set shuffle=True."
            )
        self.n_splits = n_splits
        self.stratify = stratify
        self.shuffle = shuffle
        self.random_state = random_state

    def split(self, X, y, groups=None):
        """Generate train and test indices; test indices are labeled rows only.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            All rows, labeled or not; only their number is used.
        y : array-like of shape (n_samples,)
            Class labels; ``-1`` marks an unlabeled row.
        groups : array-like of shape (n_samples,), default=None
            Always ignored, exists for API compatibility.

        Yields
        ------
        train : ndarray of int
            The sorted indices of the rows outside the test fold, including
            every unlabeled row.
        test : ndarray of int
            The sorted indices of the labeled rows of the test fold.
        """
        if groups is not None:
            warnings.warn(
                f"The groups parameter is ignored by {type(self).__name__}",
                UserWarning,
                stacklevel=2,
            )
        if y is None:
            raise ValueError(
                f"{type(self).__name__}.split needs the labels y, with -1 marking "
                "the unlabeled rows; got y=None."
            )
        X, y = indexable(X, y)
        y = column_or_1d(y, warn=True)
        self._check_n_labeled(y)
        return super().split(X, y)

    def _check_n_labeled(self, y):
        """Raise a ValueError if ``y`` has fewer labeled rows than test folds."""
        n_labeled = int(np.count_nonzero(~unlabeled_mask(y)))
        if n_labeled < self.n_splits:
            raise ValueError(
                f"{type(self).__name__} needs at least n_splits={self.n_splits} "
                f"labeled rows (y != -1), one per test fold; got {n_labeled} "
                f"labeled of {len(y)} rows. Label more rows or lower n_splits."
            )

    def _iter_test_indices(self, X, y, groups=None):
        labeled_rows = np.flatnonzero(~unlabeled_mask(y))
        folds_class = StratifiedKFold if self.stratify else KFold
        folds = folds_class(
            self.n_splits, shuffle=self.shuffle, random_state=self.random_state
        )
        for _, test in folds.split(labeled_rows, y[labeled_rows]):
            yield labeled_rows[test]

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splits, ``n_splits``.

        Parameters
        ----------
        X, y, groups : object, default=None
            Always ignored, exist for API compatibility.

        Returns
        -------
        n_splits : int
            The number of train/test splits.
        """
        return self.n_splits
