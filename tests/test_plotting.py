import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

from sae_sklearn import AutoencoderPretrainer, PretrainedClassifier  # noqa: E402
from sae_sklearn.plotting import (  # noqa: E402
    plot_codings,
    plot_history,
    plot_label_efficiency,
    plot_reconstructions,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    X, y = X[:200] / 16, y[:200]
    y_partial = np.where(np.arange(len(y)) % 4 == 0, y, -1)  # 25% labeled
    return X, y_partial


def tiny_pretrainer(sizes=(16, 4), **params):
    return AutoencoderPretrainer(sizes, max_iter=5, random_state=0, **params)


@pytest.fixture(scope="module")
def pretrainer(data):
    X, _ = data
    return tiny_pretrainer().fit(X)


def train_and_valid_lines(ax):
    lines = {line.get_label(): line for line in ax.get_lines()}
    return lines.get("training loss"), lines.get("validation loss")


def test_plot_history_draws_training_loss_per_epoch(pretrainer):
    ax = plot_history(pretrainer)
    train, valid = train_and_valid_lines(ax)
    assert valid is None
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3, 4, 5])
    np.testing.assert_allclose(train.get_ydata(), pretrainer.history_[:, "train_loss"])
    assert ax.get_title() == "Autoencoder pretraining"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "reconstruction loss")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training loss"]


def test_plot_history_draws_validation_loss_when_recorded(data):
    X, _ = data
    ae = tiny_pretrainer(early_stopping=True).fit(X)
    train, valid = train_and_valid_lines(plot_history(ae))
    np.testing.assert_allclose(train.get_ydata(), ae.history_[:, "train_loss"])
    np.testing.assert_allclose(valid.get_ydata(), ae.history_[:, "valid_loss"])


def test_plot_history_shows_pretraining_and_fine_tuning_panels(data, pretrainer):
    X, y_partial = data
    clf = PretrainedClassifier(pretrainer, max_iter=3, random_state=0)
    clf.fit(X, y_partial)
    axes = plot_history(clf)
    assert axes.shape == (2,)
    assert [ax.get_title() for ax in axes] == ["Autoencoder pretraining", "Fine-tuning"]
    pretraining, _ = train_and_valid_lines(axes[0])
    fine_tuning, _ = train_and_valid_lines(axes[1])
    np.testing.assert_allclose(
        pretraining.get_ydata(), pretrainer.history_[:, "train_loss"]
    )
    np.testing.assert_allclose(fine_tuning.get_ydata(), clf.history_[:, "train_loss"])
    assert axes[1].get_ylabel() == "cross-entropy loss"


def test_plot_history_of_classifier_without_pretraining_has_one_panel(data):
    X, y_partial = data
    clf = PretrainedClassifier(
        tiny_pretrainer(), pretrain=False, max_iter=3, random_state=0
    ).fit(X, y_partial)
    _, ax = plt.subplots()
    assert plot_history(clf, ax=ax) is ax
    assert ax.get_title() == "Training from scratch"
    train, _ = train_and_valid_lines(ax)
    np.testing.assert_allclose(train.get_ydata(), clf.history_[:, "train_loss"])


def test_plot_history_rejects_wrong_number_of_axes(pretrainer):
    _, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="needs 1 Axes; got 2"):
        plot_history(pretrainer, ax=axes)


def test_plot_reconstructions_shows_square_features_as_images(data, pretrainer):
    X, _ = data
    n = 3
    fig = plot_reconstructions(pretrainer, X, n=n)
    images = [ax.get_images()[0].get_array() for ax in fig.axes]
    assert len(images) == 2 * n
    reconstructions = pretrainer.inverse_transform(pretrainer.transform(X[:n]))
    for i in range(n):
        np.testing.assert_allclose(images[i], X[i].reshape(8, 8))
        np.testing.assert_allclose(images[n + i], reconstructions[i].reshape(8, 8))
    # All images on the originals' colour scale.
    scales = {image.get_clim() for ax in fig.axes for image in ax.get_images()}
    assert scales == {(X[:n].min(), X[:n].max())}


def test_plot_reconstructions_shows_other_feature_counts_as_bars(data):
    X, _ = data
    X_10 = X[:, 20:30]
    ae = tiny_pretrainer().fit(X_10)
    n = 2
    fig = plot_reconstructions(ae, X_10, n=n)
    assert len(fig.axes) == n
    reconstructions = ae.inverse_transform(ae.transform(X_10[:n]))
    for i, ax in enumerate(fig.axes):
        originals, reconstructed = ax.containers
        np.testing.assert_allclose([bar.get_height() for bar in originals], X_10[i])
        np.testing.assert_allclose(
            [bar.get_height() for bar in reconstructed], reconstructions[i], rtol=1e-6
        )


def test_plot_reconstructions_shows_at_most_the_rows_of_x(data, pretrainer):
    X, _ = data
    fig = plot_reconstructions(pretrainer, X[:2], n=8)
    assert len(fig.axes) == 4


def test_plot_codings_projects_on_principal_components_with_grey_unlabeled(
    data, pretrainer
):
    X, y_partial = data
    ax = plot_codings(pretrainer, X, y_partial)
    expected = PCA(n_components=2, random_state=0).fit_transform(
        pretrainer.transform(X)
    )
    unlabeled = y_partial == -1
    by_label = {c.get_label(): c for c in ax.collections}
    grey = by_label[f"unlabeled ({unlabeled.sum()})"]
    np.testing.assert_allclose(grey.get_offsets(), expected[unlabeled], rtol=1e-5)
    red, green, blue, _ = grey.get_facecolor()[0]
    assert red == green == blue
    classes = np.unique(y_partial[~unlabeled])
    for label in classes:
        points = by_label[str(label)]
        np.testing.assert_allclose(
            points.get_offsets(), expected[y_partial == label], rtol=1e-5
        )
    colors = {tuple(c.get_facecolor()[0]) for c in ax.collections}
    assert len(colors) == len(classes) + 1  # grey is for unlabeled rows only
    assert ax.get_xlabel() == "principal component 1"


def test_plot_codings_plots_two_codings_as_they_are(data):
    X, _ = data
    ae = tiny_pretrainer((16, 2)).fit(X)
    ax = plot_codings(ae, X)
    (points,) = ax.collections
    np.testing.assert_allclose(points.get_offsets(), ae.transform(X))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("coding 0", "coding 1")
    assert ax.get_legend() is None


def test_plot_codings_colours_string_labels(data, pretrainer):
    X, _ = data
    y = np.where(np.arange(len(X)) % 2 == 0, "even", "odd")
    ax = plot_codings(pretrainer, X, y)
    assert [c.get_label() for c in ax.collections] == ["even", "odd"]
    colors = [tuple(c.get_facecolor()[0]) for c in ax.collections]
    assert len(set(colors)) == 2 and to_rgba("0.7") not in colors


@pytest.mark.parametrize(
    "plot",
    [
        plot_history,
        lambda est: plot_reconstructions(est, np.zeros((2, 64))),
        lambda est: plot_codings(est, np.zeros((2, 64))),
    ],
    ids=["history", "reconstructions", "codings"],
)
def test_unfitted_estimator_raises_not_fitted_error(plot):
    with pytest.raises(NotFittedError):
        plot(tiny_pretrainer())


@pytest.mark.parametrize("n", [0, -3])
def test_plot_reconstructions_rejects_n_below_one(data, pretrainer, n):
    X, _ = data
    with pytest.raises(ValueError, match="n == .*must be >= 1"):
        plot_reconstructions(pretrainer, X, n=n)


def test_plot_codings_rejects_bad_inputs(data, pretrainer):
    X, y_partial = data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        plot_codings(pretrainer, X, y_partial[:-1])
    clf = PretrainedClassifier(pretrainer, max_iter=1, random_state=0)
    with pytest.raises(TypeError, match="pass its pretrainer_"):
        plot_codings(clf.fit(X, y_partial), X)
    ae_1 = tiny_pretrainer((16, 1)).fit(X)
    with pytest.raises(ValueError, match="needs at least 2 codings"):
        plot_codings(ae_1, X)


def test_missing_matplotlib_raises_import_error_with_install_hint(
    monkeypatch, pretrainer
):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'sae-sklearn\[plot\]'"):
        plot_history(pretrainer)


def label_efficiency_result():
    """A hand-made label_efficiency_curve result: 2 models x 3 fractions."""
    pd = pytest.importorskip("pandas")
    result = pd.DataFrame(
        {
            "fraction": np.repeat([0.05, 0.2, 0.01], 2),
            "n_labeled": np.repeat([67.0, 269.0, 13.5], 2),
            "model": ["pretrained", "scratch"] * 3,
            "mean": [0.9, 0.8, 0.95, 0.9, 0.6, 0.5],
            "std": [0.01, 0.02, 0.0, 0.01, 0.05, 0.04],
        }
    )
    result.attrs.update(scoring="balanced_accuracy", n_repeats=5)
    return result


def test_plot_label_efficiency_draws_sorted_lines_and_bands():
    result = label_efficiency_result()
    ax = plot_label_efficiency(result)
    pretrained, scratch = ax.get_lines()
    np.testing.assert_allclose(pretrained.get_xdata(), [13.5, 67, 269])
    np.testing.assert_allclose(pretrained.get_ydata(), [0.6, 0.9, 0.95])
    np.testing.assert_allclose(scratch.get_ydata(), [0.5, 0.8, 0.9])
    band = ax.collections[1].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(0.46)
    assert band[:, 1].max() == pytest.approx(0.91)
    assert to_rgba(ax.collections[1].get_facecolor()[0], 1) == to_rgba(
        scratch.get_color()
    )
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["13.5", "67", "269"]
    assert ax.get_xscale() == "log"
    assert ax.get_ylabel() == "test balanced_accuracy (mean ± std over 5 repeats)"


def test_plot_label_efficiency_without_metadata_says_score():
    result = label_efficiency_result()
    result.attrs.clear()
    ax = plot_label_efficiency(result)
    assert ax.get_ylabel() == "test score (mean ± std)"
