"""Plots of training curves, reconstructions and codings (needs matplotlib).

matplotlib is an optional dependency (``pip install 'sae-sklearn[plot]'``); it is
imported when a function draws, so that the estimators never need it.
"""

from math import isqrt
from numbers import Integral

import numpy as np
from sklearn.decomposition import PCA
from sklearn.utils import _safe_indexing, check_scalar
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from ._classifier import PretrainedClassifier
from ._data import unlabeled_mask
from ._pretrainer import AutoencoderPretrainer

__all__ = [
    "plot_codings",
    "plot_history",
    "plot_label_efficiency",
    "plot_reconstructions",
]

UNLABELED_COLOR = "0.7"  # a light grey, kept out of the class colours


def _import_pyplot():
    """Return ``matplotlib.pyplot``, or say how to install matplotlib."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "plotting needs matplotlib: pip install 'sae-sklearn[plot]'"
        ) from error
    return plt


def _axes_list(ax, n_axes: int, what: str) -> list:
    """Return ``ax`` (one Axes or an array-like of Axes) as a list of ``n_axes``."""
    axes = list(np.ravel(ax))
    if len(axes) != n_axes:
        raise ValueError(
            f"{what} needs {n_axes} Axes; got {len(axes)}. Pass ax=None to "
            "create a new figure."
        )
    return axes


def _check_pretrainer(pretrainer):
    """Raise unless ``pretrainer`` is a fitted transformer that can reconstruct."""
    check_is_fitted(pretrainer)
    if not all(
        hasattr(pretrainer, name) for name in ("transform", "inverse_transform")
    ):
        raise TypeError(
            "Expected a fitted AutoencoderPretrainer (with transform and "
            f"inverse_transform); got {type(pretrainer).__name__}. For a "
            "PretrainedClassifier, pass its pretrainer_."
        )


def _training_phases(estimator) -> list:
    """Return ``(title, ylabel, history)`` for each training phase of ``estimator``."""
    check_is_fitted(estimator)
    if not hasattr(estimator, "history_"):
        raise TypeError(
            "plot_history needs an estimator with a training history_ "
            "(AutoencoderPretrainer or PretrainedClassifier); got "
            f"{type(estimator).__name__}."
        )
    if isinstance(estimator, AutoencoderPretrainer):
        return [("Autoencoder pretraining", "reconstruction loss", estimator.history_)]
    if not isinstance(estimator, PretrainedClassifier):
        return [(f"{type(estimator).__name__} training", "loss", estimator.history_)]
    if estimator.pretrainer_ is None:
        return [("Training from scratch", "cross-entropy loss", estimator.history_)]
    return [
        (
            "Autoencoder pretraining",
            "reconstruction loss",
            estimator.pretrainer_.history_,
        ),
        ("Fine-tuning", "cross-entropy loss", estimator.history_),
    ]


def plot_history(estimator, ax=None):
    """Plot the training (and validation) loss per epoch of a fitted estimator.

    The validation loss is drawn when it was recorded (``early_stopping=True``).
    A :class:`~sae_sklearn.PretrainedClassifier` with a pretrainer gets two
    panels side by side, pretraining then fine-tuning: their losses (a
    reconstruction error and a cross-entropy) are not on the same scale.

    Parameters
    ----------
    estimator : AutoencoderPretrainer or PretrainedClassifier
        A fitted estimator.
    ax : matplotlib Axes or array-like of 2 Axes, default=None
        Where to draw: one Axes per training phase (2 for a classifier with a
        pretrainer, 1 otherwise). None creates a new figure.

    Returns
    -------
    ax : matplotlib Axes or ndarray of 2 Axes
        The Axes drawn on, one per training phase.

    See Also
    --------
    plot_reconstructions : Originals next to their reconstructions.
    plot_codings : A 2-D view of the codings.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sae_sklearn import AutoencoderPretrainer
    >>> from sae_sklearn.plotting import plot_history
    >>> X = load_digits().data / 16
    >>> ae = AutoencoderPretrainer((32, 8), max_iter=5, random_state=0).fit(X)
    >>> ax = plot_history(ae)
    >>> ax.get_title()
    'Autoencoder pretraining'
    >>> import matplotlib.pyplot as plt
    >>> plt.show()  # doctest: +SKIP
    """
    phases = _training_phases(estimator)
    plt = _import_pyplot()
    from matplotlib.ticker import MaxNLocator

    if ax is None:
        _, ax = plt.subplots(
            1, len(phases), figsize=(5 * len(phases), 3.5), layout="constrained"
        )
    axes = _axes_list(ax, len(phases), "plot_history of this estimator")
    for axis, (title, ylabel, history) in zip(axes, phases):
        epochs = history[:, "epoch"]
        axis.plot(epochs, history[:, "train_loss"], marker=".", label="training loss")
        if "valid_loss" in history[-1]:
            axis.plot(
                epochs, history[:, "valid_loss"], marker=".", label="validation loss"
            )
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set(title=title, xlabel="epoch", ylabel=ylabel)
        axis.legend()
    return axes[0] if len(axes) == 1 else np.asarray(axes, dtype=object)


def plot_reconstructions(pretrainer, X, n=8, ax=None):
    """Plot the first ``n`` rows of ``X`` next to their reconstructions.

    When the number of features is a perfect square (4, 9, ..., 64 for 8x8
    digits), rows are shown as square images: originals on the top row,
    reconstructions below, on the originals' colour scale. Otherwise each row gets
    a bar chart of its features, original and reconstruction side by side.

    Parameters
    ----------
    pretrainer : AutoencoderPretrainer
        A fitted pretrainer.
    X : array-like or sparse matrix of shape (n_samples, n_features)
        Rows to reconstruct; the first ``min(n, n_samples)`` are shown.
    n : int, default=8
        Number of rows to show.
    ax : array-like of matplotlib Axes, default=None
        Where to draw, one Axes per panel in row-major order: ``2 * n`` for
        images (e.g. the ``(2, n)`` array of ``plt.subplots(2, n)``), ``n`` for
        bar charts. None creates a new figure.

    Returns
    -------
    fig : matplotlib Figure
        The figure drawn on.

    See Also
    --------
    AutoencoderPretrainer.inverse_transform : The reconstructions drawn here.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sae_sklearn import AutoencoderPretrainer
    >>> from sae_sklearn.plotting import plot_reconstructions
    >>> X = load_digits().data / 16
    >>> ae = AutoencoderPretrainer((32, 8), max_iter=5, random_state=0).fit(X)
    >>> fig = plot_reconstructions(ae, X, n=5)
    >>> len(fig.axes)
    10
    >>> import matplotlib.pyplot as plt
    >>> plt.show()  # doctest: +SKIP
    """
    _check_pretrainer(pretrainer)
    check_scalar(n, "n", Integral, min_val=1)
    plt = _import_pyplot()
    rows = _safe_indexing(X, np.arange(min(n, _num_rows(X))))
    reconstructions = pretrainer.inverse_transform(pretrainer.transform(rows))
    originals = check_array(rows, accept_sparse=True, dtype=reconstructions.dtype)
    if hasattr(originals, "toarray"):
        originals = originals.toarray()

    side = isqrt(originals.shape[1])
    if side > 1 and side * side == originals.shape[1]:
        return _draw_images(plt, originals, reconstructions, side, ax)
    return _draw_bars(plt, originals, reconstructions, ax)


def _num_rows(X) -> int:
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _draw_images(plt, originals, reconstructions, side: int, ax):
    """Draw originals (top row) over reconstructions as ``side x side`` images."""
    n_rows = len(originals)
    if ax is None:
        _, ax = plt.subplots(
            2, n_rows, figsize=(1.2 * n_rows + 1, 3), layout="constrained"
        )
    axes = _axes_list(ax, 2 * n_rows, f"plot_reconstructions of {n_rows} images")
    # The originals' colour scale for all images, so that a faint reconstruction
    # looks faint; reconstructed values beyond it saturate.
    vmin, vmax = originals.min(), originals.max()
    images = np.concatenate([originals, reconstructions])
    for index, (axis, image) in enumerate(zip(axes, images)):
        axis.imshow(image.reshape(side, side), cmap="gray_r", vmin=vmin, vmax=vmax)
        axis.set(xticks=[], yticks=[])
        if index < n_rows:
            axis.set_title(f"row {index}", fontsize="small")
    axes[0].set_ylabel("original")
    axes[n_rows].set_ylabel("reconstruction")
    return axes[0].figure


def _draw_bars(plt, originals, reconstructions, ax):
    """Draw one bar chart per row: each feature's original and reconstruction."""
    n_rows, n_features = originals.shape
    if ax is None:
        _, ax = plt.subplots(
            n_rows,
            1,
            figsize=(max(6, 0.3 * n_features), 1.6 * n_rows + 0.6),
            sharex=True,
            squeeze=False,
            layout="constrained",
        )
    axes = _axes_list(ax, n_rows, f"plot_reconstructions of {n_rows} rows")
    features = np.arange(n_features)
    width = 0.4
    for index, axis in enumerate(axes):
        axis.bar(features - width / 2, originals[index], width, label="original")
        axis.bar(
            features + width / 2, reconstructions[index], width, label="reconstruction"
        )
        axis.set_ylabel(f"row {index}")
    axes[0].legend(loc="upper right", fontsize="small")
    axes[-1].set_xlabel("feature")
    return axes[0].figure


def plot_codings(pretrainer, X, y=None, ax=None):
    """Scatter the codings of ``X`` in 2-D, coloured by label.

    Two codings are plotted as they are; more are projected on their first two
    principal components (:class:`~sklearn.decomposition.PCA`). Rows with
    ``y == -1`` are drawn in grey, under the labeled ones, as "unlabeled".

    Parameters
    ----------
    pretrainer : AutoencoderPretrainer
        A fitted pretrainer with at least 2 codings.
    X : array-like or sparse matrix of shape (n_samples, n_features)
        Rows to encode.
    y : array-like of shape (n_samples,), default=None
        Labels colouring the points; ``-1`` marks an unlabeled row. None draws
        every point in one colour.
    ax : matplotlib Axes, default=None
        Where to draw. None creates a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.

    See Also
    --------
    AutoencoderPretrainer.transform : The codings drawn here.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sae_sklearn import AutoencoderPretrainer
    >>> from sae_sklearn.plotting import plot_codings
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> y_partial = np.where(np.arange(len(y)) % 10 == 0, y, -1)  # 10% labeled
    >>> ae = AutoencoderPretrainer((32, 8), max_iter=5, random_state=0).fit(X)
    >>> ax = plot_codings(ae, X, y_partial)
    >>> ax.get_xlabel()
    'principal component 1'
    >>> import matplotlib.pyplot as plt
    >>> plt.show()  # doctest: +SKIP
    """
    _check_pretrainer(pretrainer)
    codings = pretrainer.transform(X)
    if y is not None:
        y = column_or_1d(y)
        check_consistent_length(codings, y)
    plt = _import_pyplot()
    points, axis_labels, title = _two_dimensional(codings)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5), layout="constrained")

    if y is None:
        ax.scatter(points[:, 0], points[:, 1], s=10)
    else:
        _scatter_by_label(ax, points, y)
        ax.legend(title="label", fontsize="small", markerscale=1.5)
    ax.set(title=title, xlabel=axis_labels[0], ylabel=axis_labels[1])
    return ax


def _two_dimensional(codings):
    """Return the 2-D points, axis labels and title that show ``codings``."""
    n_codings = codings.shape[1]
    if n_codings < 2:
        raise ValueError(
            f"plot_codings needs at least 2 codings; this pretrainer has "
            f"{n_codings}. Plot pretrainer.transform(X) as a histogram instead."
        )
    if n_codings == 2:
        return codings, ("coding 0", "coding 1"), "Codings"
    points = PCA(n_components=2, random_state=0).fit_transform(codings)
    labels = ("principal component 1", "principal component 2")
    return points, labels, f"Codings: PCA of {n_codings} dimensions"


def _scatter_by_label(ax, points, y):
    """Draw unlabeled rows in grey, then each class in its own colour."""
    unlabeled = unlabeled_mask(y)
    if unlabeled.any():
        ax.scatter(
            *points[unlabeled].T,
            s=6,
            color=UNLABELED_COLOR,
            label=f"unlabeled ({unlabeled.sum()})",
        )
    classes = np.unique(y[~unlabeled])
    for label, color in zip(classes, _class_colors(len(classes))):
        in_class = ~unlabeled & (y == label)
        ax.scatter(*points[in_class].T, s=14, color=color, label=str(label))


def _class_colors(n_classes: int) -> list:
    """Return ``n_classes`` distinct colours, none of them grey."""
    import matplotlib as mpl

    if n_classes <= 10:
        colors = list(mpl.colormaps["tab10"].colors)
        colors[7] = (0.0, 0.0, 0.0)  # tab10's grey would read as "unlabeled"
        return colors[:n_classes]
    return list(mpl.colormaps["turbo"](np.linspace(0.05, 0.95, n_classes)))


def plot_label_efficiency(result, ax=None):
    """Plot test scores against the number of labeled rows, one line per model.

    Each model's mean score over the repeats is drawn with markers, on a
    logarithmic axis of labeled training rows, inside a band of plus or minus
    one standard deviation.

    Parameters
    ----------
    result : pandas.DataFrame or sklearn.utils.Bunch
        The result of :func:`~sae_sklearn.evaluation.label_efficiency_curve`
        (columns ``n_labeled``, ``model``, ``mean`` and ``std`` are used).
    ax : matplotlib Axes, default=None
        Where to draw. None creates a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.

    See Also
    --------
    sae_sklearn.evaluation.label_efficiency_curve : Computes ``result``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sae_sklearn import AutoencoderPretrainer, PretrainedClassifier
    >>> from sae_sklearn.evaluation import label_efficiency_curve
    >>> from sae_sklearn.plotting import plot_label_efficiency
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = PretrainedClassifier(
    ...     AutoencoderPretrainer((32,), max_iter=5), max_iter=20, random_state=0
    ... )
    >>> result = label_efficiency_curve(
    ...     clf, X[:300] / 16, y[:300], fractions=[0.1, 1.0], n_repeats=2,
    ...     random_state=0,
    ... )
    >>> ax = plot_label_efficiency(result)
    >>> [text.get_text() for text in ax.get_legend().get_texts()]
    ['PretrainedClassifier', 'no pretraining', 'logistic regression']
    >>> import matplotlib.pyplot as plt
    >>> plt.show()  # doctest: +SKIP
    """
    columns = _label_efficiency_columns(result)
    plt = _import_pyplot()
    from matplotlib.ticker import NullLocator

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4.5), layout="constrained")
    n_labeled, models = columns["n_labeled"], columns["model"]
    for model in dict.fromkeys(models):  # models in order of appearance
        rows = np.flatnonzero(models == model)
        rows = rows[np.argsort(n_labeled[rows], kind="stable")]
        mean, std = columns["mean"][rows], columns["std"][rows]
        (line,) = ax.plot(n_labeled[rows], mean, marker="o", label=str(model))
        ax.fill_between(
            n_labeled[rows],
            mean - std,
            mean + std,
            color=line.get_color(),
            alpha=0.2,
            linewidth=0,
        )
    ax.set_xscale("log")
    # The measured label counts as ticks: powers of ten say little here.
    ticks = np.unique(n_labeled)
    ax.set_xticks(ticks, labels=[f"{tick:g}" for tick in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set(
        xlabel="labeled training rows (log scale)",
        ylabel=_label_efficiency_ylabel(result),
    )
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def _label_efficiency_columns(result) -> dict:
    """Return the columns of a label-efficiency result as numpy arrays."""
    needed = ("n_labeled", "model", "mean", "std")
    missing = [name for name in needed if name not in result]
    if missing:
        raise ValueError(
            "plot_label_efficiency needs the result of label_efficiency_curve, "
            f"with columns {', '.join(needed)}; missing {', '.join(missing)}."
        )
    return {
        "n_labeled": np.asarray(result["n_labeled"], dtype=float),
        "model": np.asarray(result["model"], dtype=object),
        "mean": np.asarray(result["mean"], dtype=float),
        "std": np.asarray(result["std"], dtype=float),
    }


def _label_efficiency_ylabel(result) -> str:
    """Return e.g. "test accuracy (mean ± std over 3 repeats)"."""
    info = getattr(result, "attrs", result)  # DataFrame attrs, or Bunch entries
    label = f"test {info.get('scoring', 'score')}"
    if info.get("n_repeats") is None:
        return f"{label} (mean ± std)"
    return f"{label} (mean ± std over {info['n_repeats']} repeats)"
