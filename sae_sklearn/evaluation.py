"""Does pretraining help on my data? Scores against the number of labels.

:func:`label_efficiency_curve` hides the labels of all but a fraction of the
training rows (``y == -1``, scikit-learn's semi-supervised convention), fits an
estimator and its baselines on the same partly labeled rows, and scores them on
the same held-out labeled rows: one paired comparison per fraction and repeat.
:func:`~sae_sklearn.plotting.plot_label_efficiency` draws the result.
"""

import time
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    MetaEstimatorMixin,
    _fit_context,
    clone,
    is_classifier,
)
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils import (
    Bunch,
    check_random_state,
    get_tags,
    indexable,
)
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from ._data import take_rows, unlabeled_mask

__all__ = ["LabeledOnly", "hide_labels", "label_efficiency_curve"]

DEFAULT_FRACTIONS = (0.01, 0.05, 0.1, 0.2, 1.0)


def hide_labels(y, fraction: float, random_state) -> np.ndarray:
    """Return a copy of ``y`` with all but ``fraction`` of the labels set to -1.

    The kept rows are stratified: ``max(1, round(fraction * n_class))`` rows of
    each class keep their label, drawn at random, so every class keeps at least
    one. Rows already marked ``-1`` stay unlabeled and belong to no class.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels; ``-1`` marks an unlabeled row.
    fraction : float
        Share of each class's labeled rows that keep their label, in (0, 1].
    random_state : int, numpy.random.Generator or None
        Seed of the draw (passed to ``numpy.random.default_rng``).

    Returns
    -------
    y_partial : ndarray of shape (n_samples,)
        ``y`` with the hidden labels replaced by ``-1``. String labels come back
        as an object array, the only kind that holds both strings and ``-1``.

    Examples
    --------
    >>> import numpy as np
    >>> from sae_sklearn.evaluation import hide_labels
    >>> y = np.repeat([0, 1], 10)
    >>> y_partial = hide_labels(y, 0.2, random_state=0)
    >>> np.bincount(y_partial[y_partial != -1])
    array([2, 2])
    """
    y = np.asarray(y)
    rng = np.random.default_rng(random_state)
    unlabeled = unlabeled_mask(y)
    keep = np.zeros(len(y), dtype=bool)
    for label in np.unique(y[~unlabeled]):
        rows = np.flatnonzero(~unlabeled & (y == label))
        n_keep = max(1, round(fraction * len(rows)))
        keep[rng.choice(rows, size=n_keep, replace=False)] = True
    if y.dtype.kind in "iuf":
        return np.where(keep, y, -1)
    y_partial = y.astype(object)
    y_partial[~keep] = -1
    return y_partial


def _estimator_has(method: str):
    """Check ``method`` on the fitted estimator if there is one, else the given one."""

    def check(self):
        getattr(
            self.estimator_ if hasattr(self, "estimator_") else self.estimator, method
        )
        return True

    return check


class LabeledOnly(MetaEstimatorMixin, BaseEstimator):
    """Fit an estimator on the labeled rows only, dropping the rows with ``y == -1``.

    Most supervised estimators would take ``-1`` for a class. Wrapped in
    ``LabeledOnly`` they can sit next to semi-supervised ones in
    :func:`label_efficiency_curve`: the unlabeled rows are dropped before
    ``fit``, and before ``score``. In a :class:`~sklearn.pipeline.Pipeline`,
    the steps before it still see every row, so an unsupervised transformer
    (PCA, an autoencoder) can learn from all rows while the final classifier
    learns from the labeled ones.

    Parameters
    ----------
    estimator : estimator object
        The estimator to fit on the labeled rows; it is cloned in ``fit``.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``.
    classes_ : ndarray of shape (n_classes,)
        The classes of ``estimator_``, when it is a classifier.
    n_features_in_ : int
        Number of features seen during fit (when ``estimator_`` records it).

    See Also
    --------
    label_efficiency_curve : Compares estimators on partly labeled data.
    sklearn.semi_supervised.SelfTrainingClassifier : Uses the unlabeled rows.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sae_sklearn.evaluation import LabeledOnly
    >>> X = np.array([[0.0], [0.1], [0.9], [1.0], [0.5]])
    >>> y = np.array([0, -1, 1, -1, -1])
    >>> model = LabeledOnly(LogisticRegression()).fit(X, y)
    >>> model.classes_
    array([0, 1])
    >>> model.predict([[0.05], [0.95]])
    array([0, 1])
    """

    _parameter_constraints = {"estimator": [HasMethods(["fit"])]}

    def __init__(self, estimator):
        self.estimator = estimator

    # The wrapped estimator validates its own parameters in its fit.
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit a clone of ``estimator`` on the rows with ``y != -1``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            All rows, labeled or not.
        y : array-like of shape (n_samples,)
            Targets; ``-1`` marks an unlabeled row, which is dropped.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, passed on (for the labeled rows) when given.

        Returns
        -------
        self : LabeledOnly
            The fitted estimator.
        """
        rows, y_labeled = self._labeled(X, y, "fit")
        params = self._row_params(sample_weight, X, rows)
        self.estimator_ = clone(self.estimator).fit(
            take_rows(X, rows), y_labeled, **params
        )
        return self

    def _labeled(self, X, y, method: str):
        """Return the indices and the targets of the labeled rows."""
        X, y = indexable(X, y)
        check_consistent_length(X, y)
        y = np.asarray(y)
        rows = np.flatnonzero(~unlabeled_mask(y))
        if len(rows) == 0:
            raise ValueError(
                f"{type(self).__name__}.{method} needs at least one labeled row "
                f"(y != -1); got 0 of {len(y)}."
            )
        return rows, y[rows]

    @staticmethod
    def _row_params(sample_weight, X, rows) -> dict:
        if sample_weight is None:
            return {}
        return {"sample_weight": _check_sample_weight(sample_weight, X)[rows]}

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Return the predictions of ``estimator_``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            ``estimator_.predict(X)``.
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Return the class probabilities of ``estimator_``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            ``estimator_.predict_proba(X)``.
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Return the log class probabilities of ``estimator_``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``estimator_.predict_log_proba(X)``.
        """
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Return the decision function of ``estimator_``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            ``estimator_.decision_function(X)``.
        """
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    @available_if(_estimator_has("transform"))
    def transform(self, X):
        """Transform ``X`` with ``estimator_`` (fitted on the labeled rows).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Rows to transform, labeled or not.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            ``estimator_.transform(X)``.
        """
        check_is_fitted(self)
        return self.estimator_.transform(X)

    @available_if(_estimator_has("score"))
    def score(self, X, y, sample_weight=None):
        """Return the score of ``estimator_`` on the rows with ``y != -1``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Rows to score.
        y : array-like of shape (n_samples,)
            True targets; ``-1`` marks an unlabeled row, which is not scored.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, passed on (for the labeled rows) when given.

        Returns
        -------
        score : float
            The score of ``estimator_`` (accuracy for a classifier).
        """
        check_is_fitted(self)
        rows, y_labeled = self._labeled(X, y, "score")
        params = self._row_params(sample_weight, X, rows)
        return self.estimator_.score(take_rows(X, rows), y_labeled, **params)

    @property
    def classes_(self):
        """The class labels of ``estimator_``."""
        check_is_fitted(self)
        return self.estimator_.classes_

    @property
    def n_features_in_(self):
        """Number of features seen by ``estimator_`` during fit."""
        check_is_fitted(self)
        return self.estimator_.n_features_in_

    def __sklearn_is_fitted__(self):
        return hasattr(self, "estimator_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.transformer_tags = inner.transformer_tags
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags


# Checked inside the function rather than with @validate_params, which would
# rename the invalid parameters of the models it fits after this function.
_CURVE_PARAMETER_CONSTRAINTS = {
    "estimator": [HasMethods(["fit", "get_params"])],
    "X": ["array-like", "sparse matrix"],
    "y": ["array-like"],
    "fractions": ["array-like"],
    "baselines": [dict, None],
    "n_repeats": [Interval(Integral, 1, None, closed="left")],
    "test_size": [
        Interval(RealNotInt, 0, 1, closed="neither"),
        Interval(Integral, 1, None, closed="left"),
    ],
    "scoring": [StrOptions(set(get_scorer_names())), callable, None],
    "random_state": ["random_state"],
    "n_jobs": [Integral, None],
}


def label_efficiency_curve(
    estimator,
    X,
    y,
    *,
    fractions=DEFAULT_FRACTIONS,
    baselines=None,
    n_repeats=3,
    test_size=0.25,
    scoring=None,
    random_state=None,
    n_jobs=None,
):
    """Score an estimator and baselines against the number of labeled rows.

    Answers "does pretraining help on my data, and from how many labels on?".
    Each repeat holds out a stratified test set of labeled rows (``test_size``)
    and draws its own seed. For each fraction, every class of the remaining
    training rows keeps ``max(1, round(fraction * n_class))`` labels, drawn with
    :func:`hide_labels`; the other labels become ``-1``. A clone of the
    estimator and of each baseline is fitted on all training rows with these
    partial labels and scored on the test rows. Within a repeat every model
    sees the same training rows, the same hidden labels and the same test
    rows, so differences between models are paired, not noise between splits.

    Parameters
    ----------
    estimator : estimator object
        The model to evaluate, e.g. a :class:`~sae_sklearn.PretrainedClassifier`
        or a :class:`~sklearn.pipeline.Pipeline` ending in one. It must accept
        ``y == -1`` for unlabeled rows.
    X : array-like or sparse matrix of shape (n_samples, n_features)
        All rows.
    y : array-like of shape (n_samples,)
        Class labels. Rows with ``y == -1`` are allowed: they are unlabeled
        extra rows, added to the training rows of every fit (still with
        ``y == -1``) and never tested. Fractions apply to the labeled rows.
    fractions : array-like of float, default=(0.01, 0.05, 0.1, 0.2, 1.0)
        Shares of the labeled training rows that keep their label, each in
        (0, 1]; sorted, duplicates rejected. Every class keeps at least one
        label, so a tiny fraction can label more rows than it says.
    baselines : dict of str to estimator, default=None
        Models to compare with, by name. Each gets ``y`` with ``-1`` for the
        hidden labels: wrap an estimator that would take ``-1`` for a class
        in :class:`LabeledOnly`, which drops those rows. None means:

        - ``"no pretraining"``: a clone of ``estimator`` with every parameter
          named ``pretrain`` (``pretrain``, or ``<step>__pretrain`` in a
          pipeline) set to False, when it has one: the same network and
          training without pretraining (the classifier's consistency term,
          when on, still learns from the unlabeled rows), which isolates what
          pretraining adds;
        - ``"logistic regression"``: ``LabeledOnly(LogisticRegression(
          max_iter=1000))``, preceded by clones of the pipeline's other steps
          when ``estimator`` is a Pipeline, so that it gets the same
          preprocessing.
    n_repeats : int, default=3
        Number of test splits and label draws; the spread over them is
        ``std``.
    test_size : float or int, default=0.25
        Share (float) or number (int) of the labeled rows held out for testing
        in each repeat, stratified by class.
    scoring : str, callable or None, default=None
        Scorer name or callable, as in :func:`sklearn.metrics.check_scoring`.
        None uses each model's ``score`` method (accuracy for classifiers).
    random_state : int, RandomState instance or None, default=None
        Draws the seed of each repeat, which fixes its split, its hidden
        labels and every parameter named ``random_state`` (nested ones
        included, e.g. ``pretrainedclassifier__random_state`` or
        ``pretrainer__random_state``) of every model in that repeat. Except
        under a :class:`~sklearn.frozen.FrozenEstimator`, the models' own
        ``random_state`` values are overridden: repeats differ from each other,
        and the same ``random_state`` gives the same result again.
    n_jobs : int, default=None
        Number of fits to run in parallel, one per (repeat, fraction, model);
        None means 1 unless in a :func:`joblib.parallel_backend` context, -1
        means all processors.

    Returns
    -------
    result : pandas.DataFrame or sklearn.utils.Bunch
        One row per (fraction, model), sorted by fraction, then in model order
        (``estimator`` first, then the baselines), with columns:

        - ``fraction``: the requested share of labels;
        - ``n_labeled``: the number of labeled training rows the models got,
          averaged over repeats (stratified splits may differ by a row per
          class between repeats);
        - ``model``: the estimator's class name (the last step's for a
          pipeline) or the baseline's name;
        - ``mean``, ``std``: mean and standard deviation (``ddof=0``) of the
          test score over the repeats;
        - ``scores``: the test score of each repeat, an array of length
          ``n_repeats`` (repeat ``r`` used the same data for every model);
        - ``fit_time``: mean seconds per fit.

        A DataFrame when pandas is installed, with ``result.attrs`` holding
        ``"scoring"`` (what was measured, e.g. ``"accuracy"``) and
        ``"n_repeats"``. Otherwise a Bunch of the same columns as arrays
        (``scores`` of shape ``(n_rows, n_repeats)``) plus the ``scoring`` and
        ``n_repeats`` entries.

    See Also
    --------
    sae_sklearn.plotting.plot_label_efficiency : Plots the result.
    LabeledOnly : Fits a supervised baseline on the labeled rows only.
    sklearn.model_selection.learning_curve : Scores against training set size,
        without unlabeled rows.

    Notes
    -----
    Every fit starts from a clone, so an unfitted pretrainer is fitted anew on
    each repeat's training rows. A pretrainer that is already fitted (wrapped
    in :class:`~sklearn.frozen.FrozenEstimator`) is reused as it is: if it saw
    the test rows, the pretrained scores are optimistic.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sae_sklearn import AutoencoderPretrainer, PretrainedClassifier
    >>> from sae_sklearn.evaluation import label_efficiency_curve
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = PretrainedClassifier(
    ...     AutoencoderPretrainer((32,), max_iter=5), max_iter=20, random_state=0
    ... )
    >>> result = label_efficiency_curve(
    ...     clf, X[:300] / 16, y[:300], fractions=[0.1, 1.0], n_repeats=2,
    ...     random_state=0,
    ... )
    >>> result[["fraction", "n_labeled", "model"]]  # doctest: +NORMALIZE_WHITESPACE
       fraction  n_labeled                 model
    0       0.1       20.0  PretrainedClassifier
    1       0.1       20.0        no pretraining
    2       0.1       20.0   logistic regression
    3       1.0      225.0  PretrainedClassifier
    4       1.0      225.0        no pretraining
    5       1.0      225.0   logistic regression
    """
    validate_parameter_constraints(
        _CURVE_PARAMETER_CONSTRAINTS,
        {
            "estimator": estimator,
            "X": X,
            "y": y,
            "fractions": fractions,
            "baselines": baselines,
            "n_repeats": n_repeats,
            "test_size": test_size,
            "scoring": scoring,
            "random_state": random_state,
            "n_jobs": n_jobs,
        },
        caller_name="label_efficiency_curve",
    )
    y = column_or_1d(y)
    check_consistent_length(X, y)
    fractions = _check_fractions(fractions)
    models = _models(estimator, baselines)
    scorers = {name: check_scoring(model, scoring) for name, model in models.items()}

    labeled_rows = np.flatnonzero(~unlabeled_mask(y))
    if len(labeled_rows) == 0:
        raise ValueError(
            "label_efficiency_curve needs labeled rows (y != -1) to hold out a "
            f"test set; got 0 of {len(y)}."
        )
    unlabeled_rows = np.flatnonzero(unlabeled_mask(y))
    seeds = check_random_state(random_state).randint(
        np.iinfo(np.int32).max, size=n_repeats
    )
    splits = [
        _split(y, labeled_rows, unlabeled_rows, test_size, fractions, seed)
        for seed in seeds
    ]
    tasks = [
        (repeat, fraction_index, name)
        for repeat in range(n_repeats)
        for fraction_index in range(len(fractions))
        for name in models
    ]
    outcomes = Parallel(n_jobs=n_jobs)(
        delayed(_fit_and_score)(
            models[name],
            name,
            X,
            splits[repeat],
            fractions[fraction_index],
            scorers[name],
            seeds[repeat],
        )
        for repeat, fraction_index, name in tasks
    )

    n_models = len(models)
    shape = (n_repeats, len(fractions), n_models)
    scores = np.array([score for score, _ in outcomes], dtype=float).reshape(shape)
    fit_times = np.array([seconds for _, seconds in outcomes]).reshape(shape)
    n_labeled = np.array(
        [
            [np.count_nonzero(~unlabeled_mask(split.y_partial[f])) for f in fractions]
            for split in splits
        ]
    )
    columns = {
        "fraction": np.repeat(fractions, n_models),
        "n_labeled": np.repeat(n_labeled.mean(axis=0), n_models),
        "model": np.tile(np.array(list(models), dtype=object), len(fractions)),
        "mean": scores.mean(axis=0).ravel(),
        "std": scores.std(axis=0).ravel(),
        "scores": scores.reshape(n_repeats, -1).T,
        "fit_time": fit_times.mean(axis=0).ravel(),
    }
    info = {"scoring": _scoring_name(estimator, scoring), "n_repeats": n_repeats}
    return _as_table(columns, info)


def _check_fractions(fractions) -> np.ndarray:
    """Return the fractions as a sorted float array, or raise a ValueError."""
    try:
        values = np.asarray(fractions, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"fractions must be numbers in (0, 1]; got {fractions!r}."
        ) from error
    if values.ndim != 1 or values.size == 0:
        raise ValueError(
            f"fractions must be a non-empty 1-D sequence of numbers in (0, 1]; "
            f"got {fractions!r}."
        )
    outside = values[~((values > 0) & (values <= 1))]
    if outside.size:
        raise ValueError(
            "fractions are shares of the training labels to keep and must be in "
            f"(0, 1]; got {outside.tolist()}."
        )
    if np.unique(values).size != values.size:
        raise ValueError(f"fractions must not repeat a value; got {values.tolist()}.")
    return np.sort(values)


def _models(estimator, baselines) -> dict:
    """Return ``{name: estimator}``: the estimator first, then the baselines."""
    name = _model_name(estimator)
    if baselines is None:
        baselines = _default_baselines(estimator)
    for baseline_name, baseline in baselines.items():
        if not isinstance(baseline_name, str):
            raise TypeError(
                f"baselines must map names (str) to estimators; got the key "
                f"{baseline_name!r}."
            )
        if not (hasattr(baseline, "fit") and hasattr(baseline, "get_params")):
            raise TypeError(
                f"baseline {baseline_name!r} must be a scikit-learn estimator (with "
                f"fit and get_params); got {baseline!r}."
            )
    if name in baselines:
        raise ValueError(
            f"baselines has a model named {name!r}, the name given to the "
            "estimator: rename the baseline."
        )
    return {name: estimator, **baselines}


def _model_name(estimator) -> str:
    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    return type(final).__name__


def _default_baselines(estimator) -> dict:
    """Return the same model without pretraining, and a logistic regression."""
    baselines = {}
    pretrain_params = _params_named(estimator, "pretrain")
    if pretrain_params:
        baselines["no pretraining"] = clone(estimator).set_params(
            **dict.fromkeys(pretrain_params, False)
        )
    logistic = LabeledOnly(LogisticRegression(max_iter=1000))
    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        # The same preprocessing (e.g. a scaler), so that only the model differs.
        preprocessing = clone(Pipeline(estimator.steps[:-1])).steps
        logistic = Pipeline([*preprocessing, ("logisticregression", logistic)])
    baselines["logistic regression"] = logistic
    return baselines


def _params_named(estimator, name: str) -> list:
    """Return the (nested) parameter names of ``estimator`` ending in ``name``.

    Parameters inside a :class:`~sklearn.frozen.FrozenEstimator` are left out:
    a frozen estimator stays as it is.
    """
    if isinstance(estimator, FrozenEstimator):
        return []
    params = estimator.get_params(deep=True)
    names = []
    for key in params:
        *owners, last = key.split("__")
        frozen = any(
            isinstance(params["__".join(owners[: depth + 1])], FrozenEstimator)
            for depth in range(len(owners))
        )
        if last == name and not frozen:
            names.append(key)
    return names


def _split(y, labeled_rows, unlabeled_rows, test_size, fractions, seed) -> Bunch:
    """Return one repeat's rows: ``train``, ``test`` and ``y_partial[fraction]``.

    The test rows are labeled rows held out by class; the training rows are the
    other labeled rows plus every unlabeled one.
    """
    train_labeled, test = train_test_split(
        labeled_rows,
        test_size=test_size,
        stratify=y[labeled_rows],
        random_state=seed,
    )
    train = np.sort(np.concatenate([train_labeled, unlabeled_rows]))
    y_partial = {
        fraction: hide_labels(y[train], fraction, seed) for fraction in fractions
    }
    test = np.sort(test)
    return Bunch(train=train, test=test, y_test=y[test], y_partial=y_partial)


def _fit_and_score(model, name, X, split, fraction, scorer, seed):
    """Fit a seeded clone of ``model`` on the partly labeled training rows."""
    model = clone(model)
    random_states = _params_named(model, "random_state")
    model.set_params(**dict.fromkeys(random_states, int(seed)))
    start = time.perf_counter()
    try:
        model.fit(take_rows(X, split.train), split.y_partial[fraction])
    except Exception as error:
        if hasattr(error, "add_note"):  # Python >= 3.11
            error.add_note(
                f"label_efficiency_curve: while fitting {name!r} with "
                f"fraction={fraction} of the labels."
            )
        raise
    fit_time = time.perf_counter() - start
    score = scorer(model, take_rows(X, split.test), split.y_test)
    return float(score), fit_time


def _scoring_name(estimator, scoring) -> str:
    if isinstance(scoring, str):
        return scoring
    if scoring is None and is_classifier(estimator):
        return "accuracy"
    return "score"


def _as_table(columns: dict, info: dict):
    """Return the columns as a pandas DataFrame, or as a Bunch without pandas."""
    try:
        import pandas as pd
    except ImportError:
        return Bunch(**columns, **info)
    table = pd.DataFrame(
        {**columns, "scores": list(columns["scores"])},
    )
    table.attrs.update(info)
    return table
