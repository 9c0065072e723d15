import builtins
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from joblib import parallel_backend  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402
from sklearn.semi_supervised import LabelSpreading  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402
from sklearn.utils import Bunch  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from sae_sklearn import AutoencoderPretrainer, PretrainedClassifier  # noqa: E402
from sae_sklearn.evaluation import (  # noqa: E402
    LabeledOnly,
    hide_labels,
    label_efficiency_curve,
)
from sae_sklearn.plotting import plot_label_efficiency  # noqa: E402

FRACTIONS = (0.1, 0.5)
DEFAULT_MODELS = ["PretrainedClassifier", "no pretraining", "logistic regression"]
COLUMNS = ["fraction", "n_labeled", "model", "mean", "std", "scores", "fit_time"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny networks gain nothing from threads, and on a busy machine torch's
    # and BLAS's thread pools wait for each other: one thread keeps this fast.
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(n_threads)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits400():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16, y[:400]


def tiny_classifier():
    return PretrainedClassifier(
        AutoencoderPretrainer((16,), max_iter=5, random_state=0),
        max_iter=30,
        random_state=0,
    )


def curve_of(X, y, random_state=0, **params):
    params = {"fractions": FRACTIONS, "n_repeats": 2, **params}
    return label_efficiency_curve(
        tiny_classifier(), X, y, random_state=random_state, **params
    )


@pytest.fixture(scope="module")
def curve(digits400):
    return curve_of(*digits400)


# A log of what RecordingClassifier saw, in call order (tests run fits in-process).
LOG = []


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Records the rows it is fitted and scored on; column 0 of X holds row ids."""

    def __init__(self, name="recorder", pretrain=True, random_state=None):
        self.name = name
        self.pretrain = pretrain
        self.random_state = random_state

    def fit(self, X, y):
        y = np.asarray(y)
        LOG.append(
            Bunch(
                event="fit",
                name=self.name,
                ids=X[:, 0].astype(int),
                y=y,
                pretrain=self.pretrain,
                random_state=self.random_state,
            )
        )
        self.classes_ = np.unique(y[y != -1])
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        ids = X[:, 0].astype(int)
        LOG.append(Bunch(event="score", name=self.name, ids=ids, y=np.asarray(y)))
        return float(np.mean(ids % 7))  # depends on which rows are tested


@pytest.fixture
def ids_data(digits400):
    """Digits with a leading row-id column and every 10th row unlabeled."""
    X, y = digits400
    y = y.copy()
    y[::10] = -1
    return np.column_stack([np.arange(len(X)), X]), y


def record_curve(X, y, estimator=None, random_state=0, **params):
    LOG.clear()
    params = {
        "baselines": {"other": RecordingClassifier("other")},
        "fractions": (0.01, 0.1, 0.5),
        "n_repeats": 2,
        **params,
    }
    result = label_efficiency_curve(
        estimator or RecordingClassifier(), X, y, random_state=random_state, **params
    )
    fits = [entry for entry in LOG if entry.event == "fit"]
    scores = [entry for entry in LOG if entry.event == "score"]
    return result, fits, scores


def test_result_has_one_row_per_fraction_and_model(curve):
    assert isinstance(curve, pd.DataFrame)
    assert list(curve.columns) == COLUMNS
    assert curve["fraction"].tolist() == [0.1] * 3 + [0.5] * 3
    assert curve["model"].tolist() == DEFAULT_MODELS * 2
    for _, row in curve.iterrows():
        assert row["scores"].shape == (2,)
        assert row["mean"] == pytest.approx(np.mean(row["scores"]))
        assert row["std"] == pytest.approx(np.std(row["scores"]))
        assert 0.0 <= row["mean"] <= 1.0
    assert curve.attrs == {"scoring": "accuracy", "n_repeats": 2}
    # The same labels for every model: 300 training rows, ~30 per class.
    for fraction, rows in curve.groupby("fraction"):
        assert rows["n_labeled"].nunique() == 1
        assert abs(rows["n_labeled"].iloc[0] - fraction * 300) <= 5


def test_fitted_labels_follow_the_fractions_with_one_per_class(ids_data):
    X, y = ids_data
    result, fits, _ = record_curve(X, y)
    fractions = (0.01, 0.1, 0.5)
    assert len(fits) == 2 * len(fractions) * 2
    recorded = {fraction: [] for fraction in fractions}
    for index, fit in enumerate(fits):
        fraction = fractions[(index // 2) % len(fractions)]
        labeled = fit.y != -1
        recorded[fraction].append(labeled.sum())
        # Rows keep their true label or get -1.
        np.testing.assert_array_equal(fit.y[labeled], y[fit.ids[labeled]])
        training_labels = y[fit.ids]
        for label in range(10):
            n_train = np.sum(training_labels == label)
            n_kept = np.sum(fit.y == label)
            assert n_kept == max(1, round(fraction * n_train))
    for fraction in fractions:
        rows = result[result["fraction"] == fraction]
        assert (rows["n_labeled"] == np.mean(recorded[fraction])).all()
    # 0.01 of ~27 rows per class rounds to 0: one row per class is kept.
    assert recorded[0.01] == [10] * 4


def test_models_share_training_rows_labels_and_test_rows(ids_data):
    X, y = ids_data
    _, fits, scores = record_curve(X, y)
    unlabeled = np.flatnonzero(y == -1)
    n_per_repeat = 3 * 2  # fractions x models
    for repeat in range(2):
        repeat_fits = fits[repeat * n_per_repeat : (repeat + 1) * n_per_repeat]
        repeat_scores = scores[repeat * n_per_repeat : (repeat + 1) * n_per_repeat]
        test_ids = repeat_scores[0].ids
        for score in repeat_scores:
            np.testing.assert_array_equal(score.ids, test_ids)
            np.testing.assert_array_equal(score.y, y[test_ids])
        assert np.all(y[test_ids] != -1)  # labeled rows only
        for estimator_fit, baseline_fit in zip(repeat_fits[::2], repeat_fits[1::2]):
            assert (estimator_fit.name, baseline_fit.name) == ("recorder", "other")
            np.testing.assert_array_equal(estimator_fit.ids, baseline_fit.ids)
            np.testing.assert_array_equal(estimator_fit.y, baseline_fit.y)
        for fit in repeat_fits:
            # Training rows: every row outside the test split, unlabeled ones
            # included; hidden-label rows are never tested.
            assert np.intersect1d(fit.ids, test_ids).size == 0
            assert np.union1d(fit.ids, test_ids).size == len(y)
            assert np.isin(unlabeled, fit.ids).all()
            assert np.all(fit.y[np.isin(fit.ids, unlabeled)] == -1)
    assert not np.array_equal(scores[0].ids, scores[n_per_repeat].ids)
    assert round(len(scores[0].ids) / np.sum(y != -1), 2) == 0.25


def test_random_state_params_get_one_seed_per_repeat(ids_data):
    X, y = ids_data
    estimator = make_pipeline(MinMaxScaler(), RecordingClassifier(random_state=123))
    _, fits, _ = record_curve(X, y, estimator=estimator)
    seeds = [fit.random_state for fit in fits]
    assert all(isinstance(seed, int) for seed in seeds)
    first, second = seeds[:6], seeds[6:]
    assert len(set(first)) == 1 and len(set(second)) == 1
    assert first[0] != second[0]
    _, fits_again, _ = record_curve(X, y, estimator=estimator)
    assert [fit.random_state for fit in fits_again] == seeds
    _, fits_other, _ = record_curve(X, y, estimator=estimator, random_state=1)
    assert [fit.random_state for fit in fits_other] != seeds


def test_same_random_state_gives_identical_results(digits400, curve):
    scores = ["mean", "std", "n_labeled"]
    again = curve_of(*digits400)
    pd.testing.assert_frame_equal(again[scores], curve[scores])
    np.testing.assert_array_equal(np.stack(again["scores"]), np.stack(curve["scores"]))
    other = curve_of(*digits400, random_state=1)
    assert not np.array_equal(np.stack(other["scores"]), np.stack(curve["scores"]))


def test_default_baselines_train_without_pretraining(ids_data):
    X, y = ids_data
    LOG.clear()
    result = label_efficiency_curve(
        RecordingClassifier(), X, y, fractions=[0.5], n_repeats=1, random_state=0
    )
    assert result["model"].tolist() == [
        "RecordingClassifier",
        "no pretraining",
        "logistic regression",
    ]
    fits = [entry for entry in LOG if entry.event == "fit"]
    assert [fit.pretrain for fit in fits] == [True, False]
    assert result["mean"].iloc[2] > 0.8  # logistic regression on 50% of labels


def test_default_baselines_of_a_pipeline_keep_its_preprocessing(ids_data, monkeypatch):
    X, y = ids_data
    fitted = []
    monkeypatch.setattr(
        LabeledOnly, "fit", _recording_fit(LabeledOnly.fit, fitted), raising=True
    )
    LOG.clear()
    pipeline = make_pipeline(MinMaxScaler(), RecordingClassifier())
    result = label_efficiency_curve(
        pipeline, X, y, fractions=[0.5], n_repeats=1, random_state=0
    )
    assert result["model"].tolist() == [
        "RecordingClassifier",
        "no pretraining",
        "logistic regression",
    ]
    fits = [entry for entry in LOG if entry.event == "fit"]
    assert [fit.pretrain for fit in fits] == [True, False]
    # The logistic regression saw min-max scaled rows.
    (X_seen,) = fitted
    assert X_seen.min() >= 0 and X_seen.max() <= 1 and X_seen.max() == 1


def _recording_fit(fit, fitted):
    def recording_fit(self, X, y, sample_weight=None):
        fitted.append(np.asarray(X))
        return fit(self, X, y, sample_weight)

    return recording_fit


def test_default_baselines_without_pretrain_parameter(digits400):
    X, y = digits400
    result = label_efficiency_curve(
        LabelSpreading(), X, y, fractions=[0.5], n_repeats=1, random_state=0
    )
    assert result["model"].tolist() == ["LabelSpreading", "logistic regression"]


def test_custom_baselines_replace_the_defaults(digits400):
    X, y = digits400
    baselines = {
        "spreading": LabelSpreading(kernel="knn", n_neighbors=7),
        "svm": LabeledOnly(LinearSVC()),
    }
    result = label_efficiency_curve(
        LabeledOnly(LogisticRegression(max_iter=1000)),
        X,
        y,
        fractions=FRACTIONS,
        baselines=baselines,
        n_repeats=2,
        scoring="balanced_accuracy",
        random_state=0,
    )
    assert result["model"].tolist() == ["LabeledOnly", "spreading", "svm"] * 2
    assert result.attrs["scoring"] == "balanced_accuracy"
    assert (result["mean"] > 0.7).all()
    only = label_efficiency_curve(
        LabelSpreading(), X, y, fractions=[0.5], baselines={}, random_state=0
    )
    assert only["model"].tolist() == ["LabelSpreading"]


def test_parallel_fits_give_the_same_result(digits400):
    X, y = digits400
    params = {
        "fractions": FRACTIONS,
        "baselines": {"spreading": LabelSpreading(kernel="knn")},
        "n_repeats": 2,
        "random_state": 0,
    }
    model = LabeledOnly(LogisticRegression(max_iter=1000))
    sequential = label_efficiency_curve(model, X, y, **params)
    with parallel_backend("threading"):
        parallel = label_efficiency_curve(model, X, y, n_jobs=2, **params)
    pd.testing.assert_frame_equal(
        parallel.drop(columns=["scores", "fit_time"]),
        sequential.drop(columns=["scores", "fit_time"]),
    )


@pytest.mark.parametrize(
    "params, message",
    [
        ({"fractions": [0.1, 0]}, r"must be in \(0, 1\]; got \[0.0\]"),
        ({"fractions": [1.5]}, r"must be in \(0, 1\]; got \[1.5\]"),
        ({"fractions": [np.nan]}, r"must be in \(0, 1\]; got \[nan\]"),
        ({"fractions": []}, "non-empty 1-D sequence"),
        ({"fractions": [0.1, 0.1]}, "must not repeat a value"),
        ({"fractions": ["a"]}, "must be numbers"),
        ({"n_repeats": 0}, "'n_repeats' parameter .* must be an int in the range"),
        ({"test_size": 1.0}, "'test_size' parameter"),
        ({"baselines": {"LabelSpreading": LabelSpreading()}}, "rename the baseline"),
    ],
)
def test_invalid_parameters_raise_clear_errors(digits400, params, message):
    X, y = digits400
    with pytest.raises(ValueError, match=message):
        label_efficiency_curve(LabelSpreading(), X, y, **params)


def test_baselines_must_be_estimators(digits400):
    X, y = digits400
    with pytest.raises(TypeError, match="baseline 'lr' must be a scikit-learn"):
        label_efficiency_curve(LabelSpreading(), X, y, baselines={"lr": "lr"})


def test_no_labeled_rows_raises(digits400):
    X, _ = digits400
    with pytest.raises(ValueError, match="needs labeled rows .*got 0 of 400"):
        label_efficiency_curve(LabelSpreading(), X, np.full(len(X), -1))


def test_failing_fit_names_the_model(digits400):
    X, y = digits400
    with pytest.raises(ValueError) as error:
        label_efficiency_curve(
            LabelSpreading(),
            X,
            y,
            baselines={"broken": LabeledOnly(LogisticRegression(C=-1))},
            fractions=[0.5],
            n_repeats=1,
        )
    if sys.version_info >= (3, 11):
        assert "while fitting 'broken'" in "\n".join(error.value.__notes__)


def test_without_pandas_returns_a_bunch_of_arrays(digits400, monkeypatch):
    X, y = digits400
    real_import = builtins.__import__

    def import_without_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", import_without_pandas)
    result = label_efficiency_curve(
        LabeledOnly(LogisticRegression(max_iter=1000)),
        X,
        y,
        fractions=FRACTIONS,
        n_repeats=3,
        random_state=0,
    )
    assert isinstance(result, Bunch)
    assert set(result) == {*COLUMNS, "scoring", "n_repeats"}
    assert result.model.tolist() == ["LabeledOnly", "logistic regression"] * 2
    assert result.scores.shape == (4, 3)  # (fraction, model) rows x repeats
    np.testing.assert_allclose(result["mean"], result.scores.mean(axis=1))
    np.testing.assert_allclose(result["std"], result.scores.std(axis=1))
    ax = plot_label_efficiency(result)
    first_model, _ = ax.get_lines()
    np.testing.assert_allclose(first_model.get_ydata(), result["mean"][::2])
    assert ax.get_ylabel() == "test accuracy (mean ± std over 3 repeats)"


def test_plot_draws_mean_lines_and_std_bands(curve):
    ax = plot_label_efficiency(curve)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == DEFAULT_MODELS
    for line, model in zip(lines, DEFAULT_MODELS):
        rows = curve[curve["model"] == model]
        np.testing.assert_allclose(line.get_xdata(), rows["n_labeled"])
        np.testing.assert_allclose(line.get_ydata(), rows["mean"])
        assert line.get_marker() == "o"
    bands = ax.collections
    assert len(bands) == len(DEFAULT_MODELS)
    for band, model in zip(bands, DEFAULT_MODELS):
        rows = curve[curve["model"] == model]
        y_band = band.get_paths()[0].vertices[:, 1]
        np.testing.assert_allclose(y_band.min(), (rows["mean"] - rows["std"]).min())
        np.testing.assert_allclose(y_band.max(), (rows["mean"] + rows["std"]).max())
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "labeled training rows (log scale)"
    assert ax.get_ylabel() == "test accuracy (mean ± std over 2 repeats)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == DEFAULT_MODELS


def test_plot_draws_on_given_axes_and_rejects_other_tables(curve):
    _, ax = plt.subplots()
    assert plot_label_efficiency(curve, ax=ax) is ax
    with pytest.raises(ValueError, match="missing mean, std"):
        plot_label_efficiency(curve.drop(columns=["mean", "std"]))


def test_labeled_only_fits_on_the_labeled_rows():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16, y[:300]
    y_partial = np.where(np.arange(len(y)) % 3 == 0, y, -1)
    labeled = y_partial != -1
    model = LabeledOnly(LogisticRegression(max_iter=1000)).fit(X, y_partial)
    reference = LogisticRegression(max_iter=1000).fit(X[labeled], y[labeled])
    np.testing.assert_allclose(model.estimator_.coef_, reference.coef_)
    np.testing.assert_array_equal(model.classes_, np.arange(10))
    assert model.n_features_in_ == 64
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X))
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))
    # score skips the y == -1 rows.
    assert model.score(X, y_partial) == reference.score(X[labeled], y[labeled])
    assert is_classifier(model)


def test_labeled_only_passes_weights_of_labeled_rows():
    X, y = load_digits(return_X_y=True)
    X, y = X[:200] / 16, y[:200]
    y_partial = np.where(np.arange(len(y)) % 2 == 0, y, -1)
    weights = np.linspace(0.5, 2, len(y))
    labeled = y_partial != -1
    model = LabeledOnly(LogisticRegression()).fit(X, y_partial, sample_weight=weights)
    reference = LogisticRegression().fit(
        X[labeled], y[labeled], sample_weight=weights[labeled]
    )
    np.testing.assert_allclose(model.estimator_.coef_, reference.coef_)


def test_labeled_only_is_cloneable_with_nested_params():
    model = LabeledOnly(LogisticRegression(C=0.5))
    assert model.get_params()["estimator__C"] == 0.5
    copy = clone(model).set_params(estimator__C=2.0)
    assert copy.estimator.C == 2.0 and model.estimator.C == 0.5
    assert copy.estimator is not model.estimator
    X = np.array([[0.0], [1.0], [0.1], [0.9]])
    y = np.array([0, 1, -1, -1])
    fitted = model.fit(X, y)
    assert not hasattr(clone(fitted), "estimator_")
    assert fitted.estimator_ is not model.estimator


def test_labeled_only_exposes_only_the_methods_of_its_estimator():
    assert not hasattr(LabeledOnly(LinearSVC()), "predict_proba")
    assert hasattr(LabeledOnly(LinearSVC()), "decision_function")
    assert hasattr(LabeledOnly(MinMaxScaler()), "transform")
    assert not hasattr(LabeledOnly(MinMaxScaler()), "predict")


def test_labeled_only_needs_a_labeled_row():
    with pytest.raises(ValueError, match=r"LabeledOnly.fit needs at least one"):
        LabeledOnly(LogisticRegression()).fit(np.zeros((3, 2)), [-1, -1, -1])


def test_labeled_only_in_a_pipeline_lets_earlier_steps_see_every_row():
    X = np.array([[0.0], [1.0], [4.0], [10.0]])
    y = np.array([0, 1, -1, -1])
    pipeline = Pipeline(
        [("scale", MinMaxScaler()), ("lr", LabeledOnly(LogisticRegression()))]
    ).fit(X, y)
    assert pipeline.named_steps["scale"].data_max_[0] == 10.0


def test_hide_labels_keeps_unlabeled_rows_and_string_labels():
    y = np.array(["a"] * 10 + ["b"] * 10)
    y_partial = hide_labels(y, 0.3, random_state=0)
    assert y_partial.dtype == object
    kept = y_partial[y_partial != -1]
    assert sorted(kept) == ["a"] * 3 + ["b"] * 3
    y_numbers = np.repeat([-1, 0, 1], 10)
    y_partial = hide_labels(y_numbers, 0.01, random_state=0)
    assert np.all(y_partial[:10] == -1)
    assert np.bincount(y_partial[y_partial != -1]).tolist() == [1, 1]


def _expected_failed_checks(estimator):
    return {
        "check_classifiers_classes": (
            "the check fits labels [-1, 1]; -1 marks the unlabeled rows, which "
            "LabeledOnly drops"
        )
    }


@parametrize_with_checks(
    [LabeledOnly(LogisticRegression())],
    expected_failed_checks=_expected_failed_checks,
)
def test_labeled_only_passes_estimator_checks(estimator, check):
    check(estimator)


def test_string_labels_and_dataframes_work(digits400):
    X, y = digits400
    names = np.array(["zero", "one", "two", "three", "four"] * 2)[y]
    result = label_efficiency_curve(
        LabeledOnly(LogisticRegression(max_iter=1000)),
        pd.DataFrame(X, columns=[f"pixel {i}" for i in range(X.shape[1])]),
        pd.Series(names),
        fractions=[0.2],
        baselines={},
        n_repeats=2,
        random_state=0,
    )
    assert result["n_labeled"].tolist() == [60.0]  # 5 classes x ~60 rows x 0.2
    assert result["mean"].iloc[0] > 0.5
