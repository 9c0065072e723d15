"""Data handling shared by the estimators: labels, batches and chunked inference.

Batches are index slices of whole arrays rather than rows collated one by one
through a ``DataLoader``: for small tabular rows the per-row path costs more
than the network itself.
"""

import math

import numpy as np
import scipy.sparse as sp
import torch

__all__ = [
    "ArrayDataset",
    "BatchIterator",
    "INFERENCE_CHUNK_SIZE",
    "apply_in_chunks",
    "as_float32_tensor",
    "subset_rows",
    "unlabeled_mask",
]

UNLABELED = -1

# Inference runs on blocks of exactly this many rows (the last one zero-padded) so
# that a row's output never depends on which other rows share its call: float32
# matrix products round differently for different batch shapes.
INFERENCE_CHUNK_SIZE = 256


def unlabeled_mask(y) -> np.ndarray:
    """Return a boolean mask of the rows marked unlabeled (``y == -1``).

    Works for numeric labels and for object arrays mixing labels with ``-1``.
    A string array cannot hold the integer -1, so it has no unlabeled rows.
    """
    y = np.asarray(y)
    if y.dtype.kind in "iuf":
        return y == UNLABELED
    if y.dtype.kind == "O":
        return np.fromiter(
            (not isinstance(value, (str, bytes)) and value == UNLABELED for value in y),
            dtype=bool,
            count=len(y),
        )
    return np.zeros(len(y), dtype=bool)


def as_float32_tensor(X) -> torch.Tensor:
    """Return the rows ``X`` (dense, sparse or tensor) as a float32 tensor."""
    if isinstance(X, torch.Tensor):
        return X.to(torch.float32)
    if sp.issparse(X):
        X = X.toarray()
    array = np.ascontiguousarray(X, dtype=np.float32)
    if not array.flags.writeable:
        # torch cannot share memory with a read-only buffer (e.g. a memmap
        # opened in "r" mode), so the block is copied.
        array = array.copy()
    return torch.from_numpy(array)


def subset_rows(data, index: np.ndarray):
    """Return rows ``index`` of ``data``, keeping its kind (tensor, sparse, array)."""
    if isinstance(data, torch.Tensor):
        return data[torch.as_tensor(index, device=data.device)]
    return data[index]


def _take_rows(data, index):
    """Return rows ``index`` (a slice or an index tensor) of ``data`` as a tensor."""
    if isinstance(data, torch.Tensor):
        return data[index]
    if isinstance(index, torch.Tensor):
        index = index.numpy()
    return as_float32_tensor(data[index])


class ArrayDataset(torch.utils.data.Dataset):
    """Inputs ``X`` and targets ``y`` kept whole; :class:`BatchIterator` slices them.

    ``X`` is a float32 tensor, or an array that is only read batch by batch
    (a memmap or a sparse matrix), densified one batch at a time. Without ``y``
    the targets are the inputs, as an autoencoder needs.
    """

    def __init__(self, X, y=None):
        self.X = X
        self.y = y

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, index):
        return self.batch(index)

    def batch(self, index):
        """Return ``(X_batch, y_batch)`` for a slice or an index tensor."""
        if isinstance(index, torch.Tensor) and not isinstance(self.X, torch.Tensor):
            # Sorted indices read memmaps and sparse matrices sequentially; the
            # order of rows inside one batch does not matter to the optimiser.
            index = torch.sort(index).values
        X_batch = _take_rows(self.X, index)
        if self.y is None:
            return X_batch, X_batch
        return X_batch, self.y[index]


class BatchIterator:
    """Iterate over an :class:`ArrayDataset` in batches of index slices.

    Every row is seen exactly once per pass; with ``shuffle`` the order is a
    permutation drawn from ``rng`` (a ``numpy.random.Generator``), and the last
    batch keeps the remaining rows even when there are fewer than
    ``batch_size``.
    """

    def __init__(self, dataset: ArrayDataset, batch_size: int, shuffle=False, rng=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = rng

    def __len__(self):
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        n_rows = len(self.dataset)
        order = None
        if self.shuffle:
            order = torch.from_numpy(self.rng.permutation(n_rows))
            if isinstance(self.dataset.X, torch.Tensor):
                order = order.to(self.dataset.X.device)
        for start in range(0, n_rows, self.batch_size):
            stop = min(start + self.batch_size, n_rows)
            index = slice(start, stop) if order is None else order[start:stop]
            yield self.dataset.batch(index)


def apply_in_chunks(function, X, device: torch.device) -> np.ndarray:
    """Apply a tensor ``function`` to the rows of ``X``, returning a numpy array.

    Rows go through in fixed-size, zero-padded chunks with gradients off, so the
    result for a row does not depend on the other rows (see
    ``INFERENCE_CHUNK_SIZE``) and memory stays bounded.
    """
    n_rows = X.shape[0]
    outputs = []
    with torch.no_grad():
        for start in range(0, n_rows, INFERENCE_CHUNK_SIZE):
            chunk = _take_rows(X, slice(start, start + INFERENCE_CHUNK_SIZE))
            n_chunk_rows = chunk.shape[0]
            if n_chunk_rows < INFERENCE_CHUNK_SIZE:
                padding = chunk.new_zeros(
                    (INFERENCE_CHUNK_SIZE - n_chunk_rows, chunk.shape[1])
                )
                chunk = torch.cat([chunk, padding])
            result = function(chunk.to(device))[:n_chunk_rows]
            outputs.append(result.cpu())
    return torch.cat(outputs).numpy()
