"""The batch path: index slices of one tensor, memmaps read batch by batch."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from conftest import small_pretrainer

from sae_sklearn._data import ArrayDataset, BatchIterator, apply_in_chunks


def _row_ids(n_rows):
    # Column 0 holds the row number, so a batch tells which rows it contains.
    return torch.arange(n_rows, dtype=torch.float32).reshape(-1, 1).repeat(1, 3)


@pytest.mark.parametrize("n_rows, batch_size", [(10, 3), (12, 4), (5, 8)])
def test_every_row_once_per_epoch_and_last_partial_batch_kept(n_rows, batch_size):
    iterator = BatchIterator(
        ArrayDataset(_row_ids(n_rows)),
        batch_size,
        shuffle=True,
        rng=np.random.default_rng(0),
    )
    batches = [X_batch[:, 0].long().tolist() for X_batch, _ in iterator]
    assert len(batches) == len(iterator) == -(-n_rows // batch_size)
    assert sorted(sum(batches, [])) == list(range(n_rows))
    expected_sizes = [batch_size] * (n_rows // batch_size)
    if n_rows % batch_size:
        expected_sizes.append(n_rows % batch_size)
    assert [len(batch) for batch in batches] == expected_sizes


def test_shuffling_is_seeded_and_differs_between_epochs():
    def epochs(seed):
        iterator = BatchIterator(
            ArrayDataset(_row_ids(50)), 7, shuffle=True, rng=np.random.default_rng(seed)
        )
        return [[X_batch[:, 0].tolist() for X_batch, _ in iterator] for _ in range(2)]

    first, second = epochs(0)
    assert first != second  # a new permutation every epoch
    assert epochs(0) == [first, second]  # same seed, same order
    assert epochs(1)[0] != first


def test_without_shuffle_batches_are_in_order():
    iterator = BatchIterator(ArrayDataset(_row_ids(10)), 4)
    rows = [X_batch[:, 0].long().tolist() for X_batch, _ in iterator]
    assert rows == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_targets_follow_their_rows_for_every_input_kind(tmp_path):
    X = _row_ids(40).numpy()
    y = torch.arange(40) * 10
    path = tmp_path / "rows.npy"
    np.save(path, X)
    for rows in (torch.from_numpy(X), np.load(path, mmap_mode="r"), sp.csr_matrix(X)):
        dataset = ArrayDataset(rows, y).subset(np.arange(5, 40))
        iterator = BatchIterator(dataset, 6, shuffle=True, rng=np.random.default_rng(0))
        seen = []
        for X_batch, y_batch in iterator:
            np.testing.assert_array_equal(X_batch[:, 0].numpy() * 10, y_batch.numpy())
            seen += X_batch[:, 0].long().tolist()
        assert sorted(seen) == list(range(5, 40))


def test_apply_in_chunks_is_independent_of_the_other_rows():
    torch.manual_seed(0)
    layer = torch.nn.Linear(30, 7)
    X = np.random.default_rng(0).normal(size=(600, 30)).astype(np.float32)
    full = apply_in_chunks(layer, X, torch.device("cpu"))
    for rows in (slice(0, 1), slice(3, 40), slice(250, 600)):
        np.testing.assert_array_equal(
            apply_in_chunks(layer, X[rows], torch.device("cpu")), full[rows]
        )


def test_memmap_training_matches_in_memory_training(digits, tmp_path):
    X = digits[0].astype(np.float32)
    path = tmp_path / "rows.npy"
    np.save(path, X)
    X_memmap = np.load(path, mmap_mode="r")
    for params in ({}, {"early_stopping": True}):
        in_memory = small_pretrainer(**params).fit(X)
        on_disk = small_pretrainer(**params).fit(X_memmap)
        np.testing.assert_array_equal(on_disk.loss_curve_, in_memory.loss_curve_)
        np.testing.assert_array_equal(
            on_disk.transform(X_memmap), in_memory.transform(X)
        )


def test_memmap_is_never_copied_whole(digits, tmp_path, monkeypatch):
    import sae_sklearn._data as data_module

    X = digits[0].astype(np.float32)
    path = tmp_path / "rows.npy"
    np.save(path, X)
    X_memmap = np.load(path, mmap_mode="r")
    largest = []
    original = data_module.as_float32_tensor

    def recording(block):
        largest.append(block.shape[0])
        return original(block)

    monkeypatch.setattr(data_module, "as_float32_tensor", recording)
    ae = small_pretrainer(batch_size=64).fit(X_memmap)
    ae.transform(X_memmap)
    assert max(largest) <= 256 < len(X)


def test_memmap_with_nan_is_rejected(tmp_path):
    X = np.ones((300, 4), dtype=np.float32)
    X[290, 1] = np.nan
    path = tmp_path / "rows.npy"
    np.save(path, X)
    with pytest.raises(ValueError, match="NaN or infinity"):
        small_pretrainer().fit(np.load(path, mmap_mode="r"))


def test_partial_fit_continues_training(digits):
    X = digits[0]
    ae = small_pretrainer()
    for chunk in np.array_split(X, 3):
        ae.partial_fit(chunk)
    assert ae.n_iter_ == 3
    first_loss = ae.loss_curve_[0]
    for _ in range(10):
        ae.partial_fit(X)
    assert ae.n_iter_ == 13
    assert ae.loss_curve_[-1] < first_loss
    with pytest.raises(ValueError, match="features"):
        ae.partial_fit(X[:, :5])


def test_partial_fit_is_reproducible(digits):
    X = digits[0]
    a = small_pretrainer().partial_fit(X).partial_fit(X)
    b = small_pretrainer().partial_fit(X).partial_fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_partial_fit_after_fit_continues_the_fitted_model(digits):
    X = digits[0]
    ae = small_pretrainer(max_iter=3, tol=0.0).fit(X)
    before = ae.transform(X)
    ae.partial_fit(X)
    assert ae.n_iter_ == 4
    assert not np.array_equal(ae.transform(X), before)
