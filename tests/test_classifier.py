import numpy as np
import pytest
import torch
from conftest import small_pretrainer
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from skorch import NeuralNet

from sae_sklearn import AutoencoderPretrainer, PretrainedClassifier

FAST = {"max_iter": 15, "random_state": 0}


def linear_weights(encoder):
    return [layer[0].weight.detach().clone() for layer in encoder]


def state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_fit_predict_and_attributes(digits):
    X, y, y_partial = digits
    clf = PretrainedClassifier(small_pretrainer(), max_iter=60, random_state=0)
    clf.fit(X, y_partial)
    assert isinstance(clf.net_, NeuralNet)
    # y has unlabeled rows: the consistency term adds its input perturbation.
    children = set(dict(clf.net_.module_.named_children()))
    assert {"encoder", "head", "perturbation"} <= children
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.n_iter_ == len(clf.history_) == len(clf.loss_curve_)
    assert clf.score(X, y) > 0.7


def test_freeze_all_keeps_encoder_weights(digits, fitted_pretrainer):
    X, _, y_partial = digits
    clf = PretrainedClassifier(fitted_pretrainer, freeze="all", **FAST).fit(
        X, y_partial
    )
    assert_same_state(state(clf.encoder_), state(fitted_pretrainer.encoder_))
    assert clf.encoder_ is not fitted_pretrainer.encoder_


def test_freeze_none_fine_tunes_every_layer(digits, fitted_pretrainer):
    X, _, y_partial = digits
    clf = PretrainedClassifier(fitted_pretrainer, freeze="none", **FAST).fit(
        X, y_partial
    )
    for tuned, pretrained in zip(
        linear_weights(clf.encoder_), linear_weights(fitted_pretrainer.encoder_)
    ):
        assert not torch.equal(tuned, pretrained)


def test_freeze_k_keeps_only_the_k_lowest_layers(digits):
    X, _, y_partial = digits
    pretrainer = small_pretrainer(hidden_layer_sizes=(48, 32, 16)).fit(X)
    clf = PretrainedClassifier(pretrainer, freeze=2, **FAST).fit(X, y_partial)
    tuned = linear_weights(clf.encoder_)
    pretrained = linear_weights(pretrainer.encoder_)
    assert torch.equal(tuned[0], pretrained[0])
    assert torch.equal(tuned[1], pretrained[1])
    assert not torch.equal(tuned[2], pretrained[2])
    # Frozen parameters are not even handed to the optimizer.
    optimized = {
        id(p) for group in clf.net_.optimizer_.param_groups for p in group["params"]
    }
    assert not optimized & {id(p) for p in clf.encoder_[:2].parameters()}
    assert {id(p) for p in clf.encoder_[2].parameters()} <= optimized


def test_freeze_more_layers_than_encoder_has_raises(digits, fitted_pretrainer):
    X, _, y_partial = digits
    with pytest.raises(ValueError, match="more layers than the encoder has"):
        PretrainedClassifier(fitted_pretrainer, freeze=3, **FAST).fit(X, y_partial)


def test_fine_tuning_leaves_fitted_pretrainer_untouched(digits, fitted_pretrainer):
    X, _, y_partial = digits
    before = state(fitted_pretrainer.net_.module_)
    params_before = fitted_pretrainer.get_params()
    n_iter_before = fitted_pretrainer.n_iter_
    clf = PretrainedClassifier(fitted_pretrainer, **FAST).fit(X, y_partial)
    assert clf.pretrainer_ is fitted_pretrainer  # reused, not refitted
    assert fitted_pretrainer.n_iter_ == n_iter_before
    assert fitted_pretrainer.get_params() == params_before
    assert_same_state(state(fitted_pretrainer.net_.module_), before)


def test_fitted_pretrainer_is_not_refitted(digits, fitted_pretrainer, monkeypatch):
    X, _, y_partial = digits

    def refit(*args, **kwargs):
        raise AssertionError("a fitted pretrainer must not be fitted again")

    monkeypatch.setattr(AutoencoderPretrainer, "fit", refit)
    clf = PretrainedClassifier(fitted_pretrainer, **FAST).fit(X, y_partial)
    assert clf.pretrainer_ is fitted_pretrainer


def test_frozen_estimator_pretrainer_is_reused(digits, fitted_pretrainer):
    X, _, y_partial = digits
    frozen = FrozenEstimator(fitted_pretrainer)
    clf = PretrainedClassifier(frozen, freeze="all", **FAST).fit(X, y_partial)
    assert clf.pretrainer_ is frozen
    assert_same_state(state(clf.encoder_), state(fitted_pretrainer.encoder_))
    # clone keeps a FrozenEstimator's weights: a grid search can reuse it.
    cloned = clone(PretrainedClassifier(frozen, freeze="all", **FAST)).fit(X, y_partial)
    np.testing.assert_array_equal(cloned.predict_proba(X), clf.predict_proba(X))


def test_unfitted_pretrainer_is_cloned_not_modified(digits):
    X, _, y_partial = digits
    pretrainer = small_pretrainer()
    clf = PretrainedClassifier(pretrainer, **FAST).fit(X, y_partial)
    assert clf.pretrainer_ is not pretrainer
    assert not hasattr(pretrainer, "net_")
    assert clf.pretrainer_.n_features_in_ == X.shape[1]


def rows_per_epoch(history):
    return sum(batch["train_batch_size"] for batch in history[-1]["batches"])


def test_pretraining_uses_all_rows_and_fine_tuning_the_labeled_ones(digits):
    X, _, y_partial = digits
    clf = PretrainedClassifier(small_pretrainer(), consistency_weight=0, **FAST)
    clf.fit(X, y_partial)
    assert rows_per_epoch(clf.pretrainer_.history_) == len(X)
    assert rows_per_epoch(clf.history_) == np.sum(y_partial != -1)


def test_semi_supervised_epoch_passes_over_all_rows_with_labeled_batches(digits):
    X, _, y_partial = digits
    clf = PretrainedClassifier(small_pretrainer(), batch_size=16, **FAST)
    clf.fit(X, y_partial)
    n_batches = -(-len(X) // (4 * 16))
    assert len(clf.history_[-1]["batches"]) == n_batches
    assert rows_per_epoch(clf.history_) == len(X) + 16 * n_batches


def test_unlabeled_rows_do_not_reach_a_supervised_head(digits, fitted_pretrainer):
    X, _, y_partial = digits
    labeled = y_partial != -1
    frozen = FrozenEstimator(fitted_pretrainer)
    supervised = PretrainedClassifier(frozen, consistency_weight=0, **FAST)
    with_unlabeled = clone(supervised).fit(X, y_partial)
    labeled_only = clone(supervised).fit(X[labeled], y_partial[labeled])
    np.testing.assert_array_equal(
        with_unlabeled.predict_proba(X), labeled_only.predict_proba(X)
    )
    # Garbage in unlabeled rows changes nothing either.
    X_noisy = X.copy()
    X_noisy[~labeled] = np.random.default_rng(0).random(X_noisy[~labeled].shape)
    noisy = clone(supervised).fit(X_noisy, y_partial)
    np.testing.assert_array_equal(noisy.predict_proba(X), labeled_only.predict_proba(X))


def test_consistency_term_learns_from_unlabeled_rows(digits, fitted_pretrainer):
    X, _, y_partial = digits
    labeled = y_partial != -1
    frozen = FrozenEstimator(fitted_pretrainer)
    X_noisy = X.copy()
    X_noisy[~labeled] = np.random.default_rng(0).random(X_noisy[~labeled].shape)
    clean = PretrainedClassifier(frozen, **FAST).fit(X, y_partial)
    noisy = PretrainedClassifier(frozen, **FAST).fit(X_noisy, y_partial)
    assert not np.allclose(clean.predict_proba(X), noisy.predict_proba(X))


def test_string_labels(digits, fitted_pretrainer):
    X, _, y_partial = digits
    # Names that sort like the digits: the same class gets the same output unit.
    names = np.array([f"digit {i}" for i in range(10)], dtype=object)
    y_named = np.where(y_partial == -1, -1, names[y_partial]).astype(object)
    clf = PretrainedClassifier(fitted_pretrainer, **FAST).fit(X, y_named)
    np.testing.assert_array_equal(clf.classes_, names)
    numeric = PretrainedClassifier(fitted_pretrainer, **FAST).fit(X, y_partial)
    np.testing.assert_array_equal(clf.predict(X), names[numeric.predict(X)])
    np.testing.assert_array_equal(clf.predict_proba(X), numeric.predict_proba(X))
    labeled = y_partial != -1
    assert clf.score(X, y_named) == pytest.approx(
        np.mean(clf.predict(X)[labeled] == y_named[labeled])
    )


def test_same_random_state_gives_identical_predictions(digits):
    X, _, y_partial = digits
    a = PretrainedClassifier(small_pretrainer(random_state=None), **FAST).fit(
        X, y_partial
    )
    b = PretrainedClassifier(small_pretrainer(random_state=None), **FAST).fit(
        X, y_partial
    )
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = PretrainedClassifier(
        small_pretrainer(random_state=None), max_iter=15, random_state=1
    ).fit(X, y_partial)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_global_torch_rng_is_untouched(digits):
    X, _, y_partial = digits
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    PretrainedClassifier(small_pretrainer(), **FAST).fit(X, y_partial)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_score_ignores_unlabeled_rows(digits, fitted_pretrainer):
    X, y, y_partial = digits
    clf = PretrainedClassifier(fitted_pretrainer, **FAST).fit(X, y_partial)
    labeled = y_partial != -1
    expected = np.mean(clf.predict(X[labeled]) == y[labeled])
    assert clf.score(X, y_partial) == pytest.approx(expected)


def test_without_pretraining_trains_from_scratch(digits, monkeypatch):
    X, _, y_partial = digits

    def no_fit(*args, **kwargs):
        raise AssertionError("pretrain=False must skip phase 1")

    monkeypatch.setattr(AutoencoderPretrainer, "fit", no_fit)
    clf = PretrainedClassifier(small_pretrainer(), pretrain=False, **FAST).fit(
        X, y_partial
    )
    assert clf.pretrainer_ is None
    assert [layer[0].out_features for layer in clf.encoder_] == [32, 16]


def test_label_errors(digits, fitted_pretrainer):
    X, y, _ = digits
    clf = PretrainedClassifier(fitted_pretrainer, **FAST)
    with pytest.raises(ValueError, match="at least one labeled row"):
        clf.fit(X, np.full(len(X), -1))
    with pytest.raises(ValueError, match="at least 2 classes"):
        clf.fit(X, np.where(np.arange(len(X)) < 50, 3, -1))
    with pytest.raises(NotFittedError):
        PretrainedClassifier().predict(X)


def test_pipeline_grid_search_over_freeze_and_nested_layer_sizes(digits):
    X, y, _ = digits
    X, y = X[:300] * 16, y[:300]  # unscaled: the pipeline's scaler must handle it
    y_partial = np.where(np.arange(len(y)) % 3 == 0, y, -1)
    pipe = make_pipeline(
        MinMaxScaler(),
        PretrainedClassifier(small_pretrainer(), max_iter=40, random_state=0),
    )
    grid = {
        "pretrainedclassifier__freeze": ["none", "all", 1],
        "pretrainedclassifier__pretrainer__hidden_layer_sizes": [(32, 16), (24,)],
    }
    search = GridSearchCV(pipe, grid, cv=KFold(2, shuffle=True, random_state=0))
    search.fit(X, y_partial)
    assert len(search.cv_results_["params"]) == 6
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_[-1]
    assert best.freeze == search.best_params_["pretrainedclassifier__freeze"]
    expected_sizes = search.best_params_[
        "pretrainedclassifier__pretrainer__hidden_layer_sizes"
    ]
    assert best.encoder_[-1][0].out_features == expected_sizes[-1]
    assert search.score(X, y) > 0.5


def test_beats_chance_and_approaches_logistic_regression(digits):
    X, y, y_partial = digits
    labeled = y_partial != -1
    clf = PretrainedClassifier(small_pretrainer(max_iter=30), random_state=0).fit(
        X, y_partial
    )
    logistic = LogisticRegression(max_iter=1000).fit(X[labeled], y[labeled])
    assert (
        clf.score(X[~labeled], y[~labeled])
        > logistic.score(X[~labeled], y[~labeled]) - 0.1
    )


def test_self_training_wraps_a_pretrained_classifier(digits, fitted_pretrainer):
    from sklearn.semi_supervised import SelfTrainingClassifier

    X, y, y_partial = digits
    self_training = SelfTrainingClassifier(
        PretrainedClassifier(FrozenEstimator(fitted_pretrainer), max_iter=30),
        threshold=0.9,
        max_iter=2,
    ).fit(X, y_partial)
    n_pseudo_labeled = np.sum((self_training.transduction_ != -1) & (y_partial == -1))
    assert n_pseudo_labeled > 0
    # Every refit reused the frozen pretrainer instead of pretraining again.
    assert self_training.estimator_.pretrainer_.estimator is fitted_pretrainer
    assert set(self_training.predict(X)) <= set(range(10))
