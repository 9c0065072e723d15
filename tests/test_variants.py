"""The chapter's autoencoder variants and the fine-tuning schedules."""

import pickle

import numpy as np
import pytest
import torch
from conftest import small_pretrainer
from sklearn.model_selection import GridSearchCV

from sae_sklearn import AutoencoderPretrainer, PretrainedClassifier
from sae_sklearn._modules import Corruption, TiedLinear
from sae_sklearn.model_selection import SemiSupervisedKFold


def n_parameters(module):
    return sum(parameter.numel() for parameter in module.parameters())


def test_tied_decoder_uses_transposed_encoder_weights(digits):
    X = digits[0]
    tied = small_pretrainer(tied_weights=True).fit(X)
    untied = small_pretrainer().fit(X)
    module = tied.net_.module_
    decoder_layers = [block[0] for block in module.decoder]
    assert all(isinstance(layer, TiedLinear) for layer in decoder_layers)
    for encoder_block, decoder_layer in zip(module.encoder, reversed(decoder_layers)):
        weight = encoder_block[0].weight
        assert decoder_layer.encoder_layer.weight is weight
        codings = torch.randn(5, weight.shape[0])
        expected = codings @ weight + decoder_layer.bias
        torch.testing.assert_close(decoder_layer(codings), expected)
    # 64*32 + 32*16 weights are shared instead of duplicated.
    assert n_parameters(untied.net_.module_) - n_parameters(module) == 64 * 32 + 32 * 16
    restored = pickle.loads(pickle.dumps(tied)).net_.module_
    assert restored.decoder[-1][0].encoder_layer.weight is restored.encoder[0][0].weight


def test_swap_noise_keeps_every_columns_marginal_values():
    torch.manual_seed(0)
    X = torch.arange(200 * 6, dtype=torch.float32).reshape(200, 6)
    corrupted = Corruption("swap", 0.3).train()(X)
    for column in range(X.shape[1]):
        assert set(corrupted[:, column].tolist()) <= set(X[:, column].tolist())
    changed = (corrupted != X).float().mean().item()
    assert 0.25 < changed < 0.35  # a swap never picks the row itself


@pytest.mark.parametrize("kind", ["gaussian", "dropout", "swap"])
def test_noise_only_while_training(kind):
    X = torch.rand(50, 8)
    corruption = Corruption(kind, 0.5)
    assert not torch.equal(corruption.train()(X), X)
    assert torch.equal(corruption.eval()(X), X)


@pytest.mark.parametrize("noise", ["gaussian", "dropout", "swap"])
def test_transform_and_inverse_transform_are_deterministic(digits, noise):
    X = digits[0]
    ae = small_pretrainer(noise=noise, noise_level=0.3).fit(X)
    codings = ae.transform(X)
    np.testing.assert_array_equal(codings, ae.transform(X))
    with torch.no_grad():
        clean = ae.encoder_.eval()(torch.as_tensor(X, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(codings, clean, atol=1e-5)
    np.testing.assert_array_equal(
        ae.inverse_transform(codings), ae.inverse_transform(codings)
    )


def test_denoising_changes_training(digits):
    X = digits[0]
    plain = small_pretrainer().fit(X)
    denoising = small_pretrainer(noise="dropout", noise_level=0.3).fit(X)
    assert not np.allclose(plain.transform(X), denoising.transform(X))


def test_layerwise_history_has_one_stage_per_layer(digits):
    X = digits[0]
    ae = small_pretrainer(hidden_layer_sizes=(48, 32, 16), max_iter=4, tol=0.0).fit(X)
    layerwise = small_pretrainer(
        hidden_layer_sizes=(48, 32, 16), max_iter=4, tol=0.0, layerwise=True
    ).fit(X)
    stages = [epoch["stage"] for epoch in layerwise.history_]
    assert stages == [1] * 4 + [2] * 4 + [3] * 4
    assert layerwise.n_iter_ == len(layerwise.loss_curve_) == 12
    assert [epoch["epoch"] for epoch in layerwise.history_] == list(range(1, 13))
    assert layerwise.transform(X).shape == ae.transform(X).shape
    joint = small_pretrainer(max_iter=3, tol=0.0, layerwise="joint").fit(X)
    assert [epoch["stage"] for epoch in joint.history_] == [1] * 3 + [2] * 3 + [
        "joint"
    ] * 3
    with pytest.raises(ValueError, match="layer-wise"):
        small_pretrainer(layerwise=True).partial_fit(X)


def test_layerwise_stage_two_learns_from_stage_one_codings(digits):
    X = digits[0]
    ae = small_pretrainer(max_iter=100, batch_size=64, layerwise=True).fit(X)
    # The stacked model reconstructs far better than chance: the stages fit.
    baseline = -np.mean((X - X.mean(axis=0)) ** 2)
    assert ae.score(X) > baseline


@pytest.mark.parametrize("activation", ["elu", "sigmoid"])
def test_sparsity_lowers_mean_coding_activation(digits, activation):
    X = digits[0]
    dense = small_pretrainer(activation=activation, max_iter=30).fit(X)
    sparse = small_pretrainer(activation=activation, max_iter=30, sparsity=1.0).fit(X)
    assert np.abs(sparse.transform(X)).mean() < 0.7 * np.abs(dense.transform(X)).mean()


def test_unfreeze_at_keeps_weights_through_epoch_k_then_trains_them(
    digits, fitted_pretrainer
):
    X, _, y = digits
    pretrained = fitted_pretrainer.encoder_[0][0].weight

    def first_layer_after(n_epochs):
        clf = PretrainedClassifier(
            fitted_pretrainer,
            freeze="all",
            unfreeze_at=3,
            max_iter=n_epochs,
            tol=0.0,
            random_state=0,
        ).fit(X, y)
        return clf.encoder_[0][0].weight

    assert torch.equal(first_layer_after(3), pretrained)
    assert not torch.equal(first_layer_after(4), pretrained)


def test_encoder_lr_scale_zero_is_freezing(digits, fitted_pretrainer):
    X, _, y = digits
    frozen = PretrainedClassifier(
        fitted_pretrainer, freeze="all", max_iter=10, random_state=0
    )
    scaled = PretrainedClassifier(
        fitted_pretrainer, encoder_lr_scale=0.0, max_iter=10, random_state=0
    )
    np.testing.assert_array_equal(
        frozen.fit(X, y).predict_proba(X), scaled.fit(X, y).predict_proba(X)
    )


def test_encoder_lr_scale_sets_the_encoders_learning_rate(digits, fitted_pretrainer):
    X, _, y = digits
    clf = PretrainedClassifier(
        fitted_pretrainer,
        encoder_lr_scale=0.1,
        learning_rate_init=0.01,
        max_iter=5,
        random_state=0,
    ).fit(X, y)
    encoder_ids = {id(p) for p in clf.encoder_.parameters()}
    learning_rates = {
        id(p): group["lr"]
        for group in clf.net_.optimizer_.param_groups
        for p in group["params"]
    }
    assert {learning_rates[i] for i in encoder_ids} == {0.01 * 0.1}
    head_ids = {id(p) for p in clf.net_.module_.head.parameters()}
    assert {learning_rates[i] for i in head_ids} == {0.01}


def test_grid_search_over_variants_keeps_caching_phase_two(
    digits, tmp_path, monkeypatch
):
    X, y, _ = digits
    X, y = X[:300], np.where(np.arange(300) % 2 == 0, y[:300], -1)
    fits = []
    original_fit = AutoencoderPretrainer.fit

    def counting_fit(self, X, y=None):
        fits.append((self.noise, self.tied_weights))
        return original_fit(self, X, y)

    monkeypatch.setattr(AutoencoderPretrainer, "fit", counting_fit)
    classifier = PretrainedClassifier(
        small_pretrainer(max_iter=5),
        freeze="all",
        max_iter=10,
        memory=str(tmp_path),
        random_state=0,
    )
    grid = {
        "pretrainer__noise": [None, "swap"],
        "pretrainer__tied_weights": [False, True],
        "unfreeze_at": [None, 2],
        "encoder_lr_scale": [1.0, 0.5],
    }
    search = GridSearchCV(classifier, grid, cv=SemiSupervisedKFold(2)).fit(X, y)
    assert len(search.cv_results_["params"]) == 16
    # 4 pretrainer settings x 2 folds, plus the refit: phase-2 values never refit.
    assert len(fits) == 4 * 2 + 1
