"""Semi-supervised fine-tuning: batches, loss terms, budget and the effect."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from conftest import small_pretrainer
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split

from sae_sklearn import PretrainedClassifier, PretrainedRegressor
from sae_sklearn._data import (
    ArrayDataset,
    SemiSupervisedBatchIterator,
    SemiSupervisedDataset,
)
from sae_sklearn._modules import (
    ConfidentPseudoLabelLoss,
    GaussianPerturbation,
    SemiSupervisedLoss,
)
from sae_sklearn.evaluation import hide_labels

FAST = {"max_iter": 15, "random_state": 0}


def semi_supervised_batches(n_rows, labeled_rows, batch_size, ratio, seed=0):
    X = torch.arange(n_rows, dtype=torch.float32).reshape(-1, 1)
    targets = torch.full((n_rows,), -1, dtype=torch.int64)
    targets[labeled_rows] = torch.as_tensor(labeled_rows) % 3
    labeled = ArrayDataset(X, targets).subset(np.asarray(labeled_rows))
    dataset = SemiSupervisedDataset(labeled, ArrayDataset(X), ratio, torch.tensor(-1))
    rng = np.random.default_rng(seed)
    return SemiSupervisedBatchIterator(dataset, batch_size, rng)


def test_an_epoch_sees_every_row_once_and_labeled_rows_in_turn():
    labeled_rows = [3, 10, 11, 40, 41, 42, 77]
    batches = semi_supervised_batches(100, labeled_rows, batch_size=4, ratio=5)
    seen_pool, seen_labeled = [], []
    for _ in range(3):
        for X_batch, y_batch in batches:
            rows = X_batch[:, 0].long()
            labeled_part = y_batch >= 0
            # Labeled rows come first with their own targets; pool rows after.
            assert labeled_part[:4].all() and not labeled_part[4:].any()
            assert torch.equal(y_batch[:4], rows[:4] % 3)
            seen_labeled += rows[:4].tolist()
            seen_pool += rows[4:].tolist()
        assert len(batches) == 5  # ceil(100 / (5 * 4))
    assert sorted(seen_pool) == sorted(list(range(100)) * 3)
    # 15 batches of 4: every labeled row drawn 8 or 9 times, in turn.
    counts = np.bincount(seen_labeled, minlength=100)[labeled_rows]
    assert counts.min() >= 8 and counts.max() <= 9


def test_labeled_batches_are_capped_at_the_number_of_labeled_rows():
    batches = semi_supervised_batches(50, [1, 2], batch_size=32, ratio=4)
    X_batch, y_batch = next(iter(batches))
    assert (y_batch >= 0).sum() == 2 and len(y_batch) == 2 + 8


def test_confident_pseudo_label_loss_counts_confident_rows_only():
    clean = torch.tensor([[5.0, 0.0], [0.1, 0.0], [0.0, 6.0]])
    perturbed = torch.tensor([[0.0, 1.0], [3.0, -3.0], [0.0, 2.0]])
    loss = ConfidentPseudoLabelLoss(threshold=0.95)(perturbed, clean)
    # Row 1 is unsure (p=0.52) and contributes 0; rows 0 and 2 pseudo-label 0, 1.
    expected = (
        F.cross_entropy(perturbed[[0]], torch.tensor([0]))
        + F.cross_entropy(perturbed[[2]], torch.tensor([1]))
    ) / 3
    torch.testing.assert_close(loss, expected)
    assert ConfidentPseudoLabelLoss(threshold=1.0)(perturbed, clean) == 0


def test_semi_supervised_loss_splits_rows_between_its_terms():
    supervised = torch.nn.CrossEntropyLoss()
    loss = SemiSupervisedLoss(
        supervised, consistency=ConfidentPseudoLabelLoss(0.0), consistency_weight=2.0
    )
    outputs = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    perturbed = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]])
    target = torch.tensor([1, -1, -1])
    value = loss((outputs, perturbed, None, None), target)
    expected = supervised(outputs[:1], target[:1]) + 2.0 * F.cross_entropy(
        perturbed[1:], torch.tensor([1, 0])
    )
    torch.testing.assert_close(value, expected)
    # Evaluation-mode outputs (a plain tensor): the supervised term alone.
    torch.testing.assert_close(
        loss(outputs, torch.tensor([1, 1, 0])),
        supervised(outputs, torch.tensor([1, 1, 0])),
    )


def test_gaussian_perturbation_has_the_given_scale_in_training_only():
    perturbation = GaussianPerturbation(torch.tensor([0.0, 0.5, 2.0]))
    X = torch.ones(20000, 3)
    noise = perturbation(X) - X
    torch.testing.assert_close(
        noise.std(dim=0), torch.tensor([0.0, 0.5, 2.0]), atol=0.03, rtol=0
    )
    assert perturbation.eval()(X) is X


def test_perturbation_scales_with_each_features_spread(digits):
    X, _, y_partial = digits
    clf = PretrainedClassifier(small_pretrainer(), consistency_noise=0.7, **FAST)
    clf.fit(X, y_partial)
    scale = clf.net_.module_.perturbation.scale.numpy()
    np.testing.assert_allclose(scale, 0.7 * X.std(axis=0), rtol=1e-4, atol=1e-6)


def test_semi_supervised_fine_tuning_runs_its_epoch_budget(digits, fitted_pretrainer):
    X, _, y_partial = digits
    clf = PretrainedClassifier(fitted_pretrainer, max_iter=12, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X, y_partial)
    assert clf.n_iter_ == 12


def test_early_stopping_watches_the_labeled_validation_loss(digits):
    X, _, y_partial = digits
    clf = PretrainedClassifier(
        small_pretrainer(),
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=200,
        random_state=0,
    ).fit(X, y_partial)
    valid_loss = clf.history_[:, "valid_loss"]
    assert clf.n_iter_ < 200
    # Stopped 3 epochs after the best validation loss, whose weights it keeps.
    assert int(np.argmin(valid_loss)) == clf.n_iter_ - 4


def test_frozen_encoder_stays_frozen_under_the_consistency_term(
    digits, fitted_pretrainer
):
    X, _, y_partial = digits
    clf = PretrainedClassifier(FrozenEstimator(fitted_pretrainer), freeze="all", **FAST)
    clf.fit(X, y_partial)
    for tuned, pretrained in zip(clf.encoder_, fitted_pretrainer.encoder_):
        torch.testing.assert_close(
            tuned[0].weight, pretrained[0].weight, rtol=0, atol=0
        )


def test_memmap_rows_train_like_in_memory_rows(digits, tmp_path):
    X, _, y_partial = digits
    path = tmp_path / "X.npy"
    np.save(path, X.astype(np.float32))
    X_memmap = np.load(path, mmap_mode="r")
    pretrainer = FrozenEstimator(small_pretrainer().fit(X.astype(np.float32)))
    in_memory = PretrainedClassifier(pretrainer, **FAST).fit(
        X.astype(np.float32), y_partial
    )
    on_disk = PretrainedClassifier(pretrainer, **FAST).fit(X_memmap, y_partial)
    np.testing.assert_array_equal(on_disk.predict_proba(X), in_memory.predict_proba(X))


def test_reconstruction_term_keeps_the_encoder_close_to_its_decoder(
    digits, fitted_pretrainer
):
    X, _, y_partial = digits
    pretrainer = FrozenEstimator(fitted_pretrainer)
    options = {"consistency_weight": 0, "max_iter": 60, "random_state": 0}
    plain = PretrainedClassifier(pretrainer, **options).fit(X, y_partial)
    kept = PretrainedClassifier(pretrainer, reconstruction_weight=1.0, **options)
    kept.fit(X, y_partial)
    rows = torch.as_tensor(X, dtype=torch.float32)
    decoder = fitted_pretrainer.net_.module_.decoder
    with torch.no_grad():
        plain_error = F.mse_loss(decoder(plain.encoder_(rows)), rows)
        kept_error = F.mse_loss(kept.net_.module_.decoder(kept.encoder_(rows)), rows)
    assert kept_error < 0.5 * plain_error


def test_regressor_consistency_term_is_off_by_default_and_can_be_turned_on(digits):
    X, y, _ = digits
    y_partial = np.where(np.arange(len(y)) % 5 == 0, y.astype(float), np.nan)
    pretrainer = FrozenEstimator(small_pretrainer().fit(X))
    default = PretrainedRegressor(pretrainer, **FAST).fit(X, y_partial)
    assert "perturbation" not in dict(default.net_.module_.named_children())
    on = PretrainedRegressor(pretrainer, consistency_weight=1.0, **FAST)
    on.fit(X, y_partial)
    assert "perturbation" in dict(on.net_.module_.named_children())
    assert not np.allclose(on.predict(X), default.predict(X))


@pytest.fixture(scope="module")
def digits_five_percent():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.25, stratify=y, random_state=0
    )
    return X_train, hide_labels(y_train, 0.05, random_state=0), X_test, y_test


def test_consistency_term_raises_accuracy_with_few_labels(digits_five_percent):
    X, y_partial, X_test, y_test = digits_five_percent
    # 5% of labels, stratified (67 rows); measured: 0.900 without the term, 0.931
    # with it (0.893 and 0.931, 0.887 and 0.938 on two other splits).
    pretrainer = FrozenEstimator(small_pretrainer(hidden_layer_sizes=(64, 32)).fit(X))
    options = {"max_iter": 40, "random_state": 0}
    supervised = PretrainedClassifier(pretrainer, consistency_weight=0, **options)
    semi_supervised = PretrainedClassifier(pretrainer, **options)
    supervised_accuracy = supervised.fit(X, y_partial).score(X_test, y_test)
    semi_supervised_accuracy = semi_supervised.fit(X, y_partial).score(X_test, y_test)
    assert semi_supervised_accuracy > supervised_accuracy + 0.03


def test_sparse_rows_train_like_dense_rows(digits):
    X, _, y_partial = digits
    pretrainer = FrozenEstimator(small_pretrainer().fit(X))
    dense = PretrainedClassifier(pretrainer, **FAST).fit(X, y_partial)
    sparse = PretrainedClassifier(pretrainer, **FAST).fit(sp.csr_matrix(X), y_partial)
    np.testing.assert_allclose(
        sparse.predict_proba(X), dense.predict_proba(X), rtol=1e-5, atol=1e-6
    )


def test_early_stopping_with_fewer_validation_rows_than_classes(digits_five_percent):
    X, y_partial, _, _ = digits_five_percent
    # 67 labeled rows: a 10% validation split has 7 rows for 10 classes, too
    # few to stratify, so the split is drawn without stratification.
    clf = PretrainedClassifier(
        FrozenEstimator(small_pretrainer().fit(X)),
        early_stopping=True,
        max_iter=5,
        random_state=0,
    ).fit(X, y_partial)
    assert len(clf.history_[-1]["batches"]) > 0
    assert "valid_loss" in clf.history_[-1]


def test_early_stopping_with_a_class_of_one_labeled_row(digits, fitted_pretrainer):
    X, y, _ = digits
    y_partial = np.where(np.arange(len(y)) < 200, y, -1)
    only = np.flatnonzero(y_partial == 0)
    y_partial[only[1:]] = -1  # class 0 keeps one labeled row: no stratified split
    clf = PretrainedClassifier(
        FrozenEstimator(fitted_pretrainer), early_stopping=True, **FAST
    ).fit(X, y_partial)
    assert "valid_loss" in clf.history_[-1]
