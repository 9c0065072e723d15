import numpy as np
import pytest
from conftest import small_pretrainer
from sklearn.datasets import make_friedman1
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from sae_sklearn import AutoencoderPretrainer, PretrainedRegressor


@pytest.fixture(scope="module")
def friedman():
    """A non-linear target, 20% of the training targets kept (NaN elsewhere)."""
    X, y = make_friedman1(n_samples=2000, n_features=10, noise=0.5, random_state=0)
    X = StandardScaler().fit_transform(X)
    y_partial = np.where(np.random.default_rng(0).random(1500) < 0.2, y[:1500], np.nan)
    return X[:1500], y_partial, X[1500:], y[1500:]


def test_beats_a_linear_model_on_semi_supervised_regression(friedman):
    X, y_partial, X_test, y_test = friedman
    labeled = ~np.isnan(y_partial)
    linear = Ridge().fit(X[labeled], y_partial[labeled]).score(X_test, y_test)
    regressor = PretrainedRegressor(
        AutoencoderPretrainer((64, 16), random_state=0), random_state=0
    ).fit(X, y_partial)
    assert regressor.score(X_test, y_test) > linear + 0.1
    assert regressor.pretrainer_.n_features_in_ == 10


def test_nan_targets_are_unlabeled_rows(friedman):
    X, y_partial, X_test, _ = friedman
    labeled = ~np.isnan(y_partial)
    pretrainer = FrozenEstimator(small_pretrainer().fit(X))
    with_unlabeled = PretrainedRegressor(pretrainer, max_iter=20, random_state=0)
    labeled_only = PretrainedRegressor(pretrainer, max_iter=20, random_state=0)
    np.testing.assert_array_equal(
        with_unlabeled.fit(X, y_partial).predict(X_test),
        labeled_only.fit(X[labeled], y_partial[labeled]).predict(X_test),
    )


def test_targets_are_standardised_and_mapped_back(friedman):
    X, y_partial, _, _ = friedman
    labeled = ~np.isnan(y_partial)
    shifted = PretrainedRegressor(small_pretrainer(), max_iter=20, random_state=0)
    base = PretrainedRegressor(small_pretrainer(), max_iter=20, random_state=0)
    # Affine changes of the target's units change predictions the same way.
    np.testing.assert_allclose(
        shifted.fit(X, 1000 + 50 * y_partial).predict(X),
        1000 + 50 * base.fit(X, y_partial).predict(X),
        rtol=1e-6,
    )
    assert shifted.target_mean_ == pytest.approx(1000 + 50 * y_partial[labeled].mean())


def test_score_skips_unlabeled_rows(friedman):
    X, y_partial, _, _ = friedman
    regressor = PretrainedRegressor(small_pretrainer(), max_iter=20, random_state=0)
    regressor.fit(X, y_partial)
    labeled = ~np.isnan(y_partial)
    assert regressor.score(X, y_partial) == pytest.approx(
        regressor.score(X[labeled], y_partial[labeled])
    )


def test_bad_targets(friedman):
    X, y_partial, _, _ = friedman
    regressor = PretrainedRegressor(small_pretrainer(), max_iter=5)
    with pytest.raises(ValueError, match="at least one labeled row"):
        regressor.fit(X, np.full(len(X), np.nan))
    y_inf = y_partial.copy()
    y_inf[0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        regressor.fit(X, y_inf)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        regressor.fit(X, y_partial[:-1])
