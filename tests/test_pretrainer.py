import numpy as np
import pytest
import torch
from conftest import small_pretrainer
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from skorch import NeuralNet

from sae_sklearn import AutoencoderPretrainer


def test_fit_learns_to_reconstruct(digits):
    X, _, _ = digits
    ae = small_pretrainer(max_iter=30).fit(X)
    assert isinstance(ae.net_, NeuralNet)
    assert ae.n_iter_ == len(ae.loss_curve_) == len(ae.history_)
    assert ae.loss_curve_[-1] < 0.5 * ae.loss_curve_[0]
    # Better than predicting every pixel's mean, the trivial reconstruction.
    baseline = -np.mean((X - X.mean(axis=0)) ** 2)
    assert ae.score(X) > baseline


def test_transform_and_inverse_transform_shapes(digits, fitted_pretrainer):
    X, _, _ = digits
    codings = fitted_pretrainer.transform(X)
    assert codings.shape == (len(X), 16)
    assert fitted_pretrainer.inverse_transform(codings).shape == X.shape
    names = fitted_pretrainer.get_feature_names_out()
    assert list(names) == [f"autoencoderpretrainer{i}" for i in range(16)]


def test_transform_matches_encoder_module(digits, fitted_pretrainer):
    X, _, _ = digits
    with torch.no_grad():
        expected = fitted_pretrainer.encoder_(torch.as_tensor(X, dtype=torch.float32))
    np.testing.assert_allclose(
        fitted_pretrainer.transform(X), expected.numpy(), atol=1e-5
    )


def test_score_is_negative_reconstruction_mse(digits, fitted_pretrainer):
    X, _, _ = digits
    reconstructed = fitted_pretrainer.inverse_transform(fitted_pretrainer.transform(X))
    expected = -np.mean((X - reconstructed) ** 2)
    assert fitted_pretrainer.score(X) == pytest.approx(expected, rel=1e-5)
    assert fitted_pretrainer.score_samples(X).shape == (len(X),)


def test_sigmoid_output_reconstructs_in_unit_interval(digits):
    X, _, _ = digits
    ae = small_pretrainer(output_activation="sigmoid").fit(X)
    reconstructed = ae.inverse_transform(ae.transform(X))
    assert reconstructed.min() >= 0 and reconstructed.max() <= 1
    with pytest.raises(ValueError, match="MinMaxScaler"):
        small_pretrainer(output_activation="sigmoid").fit(X * 2 - 1)


def test_y_is_ignored(digits):
    X, y, y_partial = digits
    a = small_pretrainer().fit(X, y).transform(X)
    b = small_pretrainer().fit(X, y_partial).transform(X)
    np.testing.assert_array_equal(a, b)


def test_float32_input_keeps_float32(digits, fitted_pretrainer):
    X, _, _ = digits
    assert fitted_pretrainer.transform(X.astype(np.float32)).dtype == np.float32
    assert fitted_pretrainer.transform(X).dtype == np.float64


def test_not_fitted_raises(digits):
    X, _, _ = digits
    with pytest.raises(NotFittedError):
        AutoencoderPretrainer().transform(X)


def test_stops_when_training_loss_plateaus(digits):
    X, _, _ = digits
    ae = small_pretrainer(max_iter=500, tol=1.0, n_iter_no_change=3).fit(X)
    # tol=1 is never beaten after the first epoch: stop after 1 + 3 epochs.
    assert ae.n_iter_ == 4


def test_warns_when_max_iter_is_reached(digits):
    X, _, _ = digits
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        small_pretrainer(max_iter=2, tol=0.0).fit(X)


def test_early_stopping_keeps_best_validation_weights(digits):
    X = digits[0][:80]  # few rows and a wide net: the validation loss turns up
    ae = AutoencoderPretrainer(
        (128, 32),
        learning_rate_init=1e-2,
        early_stopping=True,
        validation_fraction=0.25,
        max_iter=300,
        n_iter_no_change=5,
        tol=0.0,
        random_state=0,
    ).fit(X)
    valid_losses = ae.history_[:, "valid_loss"]
    assert ae.n_iter_ < 300
    assert min(valid_losses) < valid_losses[-1]
    valid_rows = ae.net_.train_split.keywords["valid_ds"].X.cpu().numpy()
    assert len(valid_rows) == 20
    # The restored weights reproduce the best validation loss, not the last one.
    assert -ae.score(valid_rows) == pytest.approx(min(valid_losses), rel=1e-4)


def test_invalid_parameters_raise(digits):
    X, _, _ = digits
    with pytest.raises(ValueError, match="activation"):
        AutoencoderPretrainer(activation="swish").fit(X)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        AutoencoderPretrainer(hidden_layer_sizes=(16, 0)).fit(X)
    with pytest.raises(ValueError, match="learning_rate_init"):
        AutoencoderPretrainer(learning_rate_init=0).fit(X)


def test_diverging_loss_raises_value_error():
    X = np.random.default_rng(0).normal(size=(64, 5)) * 1e30
    with pytest.raises(ValueError, match="learning_rate_init"):
        AutoencoderPretrainer((4,), max_iter=3, random_state=0).fit(X)


def test_sigmoid_range_is_checked_on_training_rows_only(digits):
    X, _, _ = digits
    ae = small_pretrainer(output_activation="sigmoid").fit(X)
    # Rows outside [0, 1] can still be encoded and scored after training.
    assert ae.transform(X * 2).shape == (len(X), 16)
    assert np.isfinite(ae.score(X * 2))
    with pytest.raises(ValueError, match="MinMaxScaler"):
        ae.partial_fit(X * 2)
