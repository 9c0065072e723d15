"""Data handling shared by the estimators: labels, batches and chunked inference.

Batches are index slices of whole arrays rather than rows collated one by one
through a ``DataLoader``: for small tabular rows the per-row path costs more
than the network itself. In-memory rows live in one tensor; memmaps and sparse
matrices stay where they are and are read (densified) one batch at a time.
"""

import math
import os

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils import _safe_indexing, indexable

__all__ = [
    "ArrayDataset",
    "BatchIterator",
    "INFERENCE_CHUNK_SIZE",
    "SemiSupervisedBatchIterator",
    "SemiSupervisedDataset",
    "apply_in_chunks",
    "as_float32_tensor",
    "as_training_rows",
    "is_memmap",
    "scan_in_chunks",
    "std_in_chunks",
    "take_rows",
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


def _memmap_base(X):
    """Return the ``np.memmap`` whose file holds the data of ``X``, or None."""
    while isinstance(X, np.ndarray):
        if isinstance(X, np.memmap) and getattr(X, "filename", None):
            return X
        X = X.base
    return None


class FileRows:
    """Read rows of a memmapped array with ``pread``: copied, never mapped.

    Reading through the map would make every touched page resident, and with
    large page-cache folios a batch of random rows maps hundreds of megabytes.
    ``pread`` copies just the rows into a fresh buffer at the same speed.
    Copy-on-write maps (mode "c") are read through the map, so the caller's
    in-memory changes are seen.
    """

    def __init__(self, array: np.ndarray, memmap: np.memmap):
        start = array.__array_interface__["data"][0]
        self.path = memmap.filename
        self.offset = memmap.offset + start - memmap.__array_interface__["data"][0]
        self.row_bytes = array.strides[0]
        self.shape_tail = array.shape[1:]
        self.dtype = array.dtype

    @classmethod
    def of(cls, X) -> "FileRows | None":
        """Return a reader for ``X`` if it is a readable memmap, else None."""
        memmap = _memmap_base(X)
        if (
            memmap is None
            or memmap.mode == "c"
            or not hasattr(os, "preadv")
            or not X.flags.c_contiguous
        ):
            return None
        return cls(X, memmap)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """Return the rows ``rows`` (sorted) as a new array."""
        out = np.empty((len(rows), *self.shape_tail), dtype=self.dtype)
        buffer = memoryview(out).cast("B")
        # One read per run of consecutive rows: a slice is a single read.
        run_starts = np.flatnonzero(np.diff(rows, prepend=-2) != 1)
        run_stops = [*run_starts[1:], len(rows)]
        with open(self.path, "rb", buffering=0) as file:
            for start, stop in zip(run_starts, run_stops):
                chunk = buffer[start * self.row_bytes : stop * self.row_bytes]
                offset = self.offset + int(rows[start]) * self.row_bytes
                if os.preadv(file.fileno(), [chunk], offset) != len(chunk):
                    raise OSError(f"Short read from {self.path} at byte {offset}.")
        return out


def is_memmap(X) -> bool:
    """Whether ``X`` is backed by a memmap, to be read batch by batch."""
    return _memmap_base(X) is not None


def as_training_rows(X, device: torch.device):
    """Return ``X`` ready for :class:`ArrayDataset`: a tensor, or X itself.

    In-memory arrays become one float32 tensor on ``device`` (the fast path);
    memmaps and sparse matrices are left as they are and read per batch.
    """
    if sp.issparse(X) or is_memmap(X):
        return X
    return as_float32_tensor(X).to(device)


class ArrayDataset(torch.utils.data.Dataset):
    """Inputs ``X`` and targets ``y`` kept whole; :class:`BatchIterator` slices them.

    Parameters
    ----------
    X : torch.Tensor, numpy array (e.g. a memmap) or sparse matrix
        All rows. Anything but a tensor is densified one batch at a time.
    y : torch.Tensor or None
        Targets aligned with the rows of ``X``; None means the inputs are the
        targets, as an autoencoder needs.
    rows : ndarray of int or None
        The rows of ``X`` (and ``y``) that form this dataset, e.g. a training
        or validation split; None means all of them. Keeping the index instead
        of a copy is what lets a split of a memmap stay on disk.
    """

    def __init__(self, X, y=None, rows=None):
        self.X = X
        self.y = y
        self.rows = None if rows is None else np.asarray(rows)
        self._file_rows = FileRows.of(X)

    def __len__(self):
        return self.X.shape[0] if self.rows is None else len(self.rows)

    def subset(self, rows: np.ndarray) -> "ArrayDataset":
        """Return the dataset of ``rows`` (positions in this dataset).

        Tensors are copied (contiguous batches are fastest); other inputs keep
        a row index so that nothing is read before it is needed.
        """
        if self.rows is not None:
            rows = self.rows[rows]
        if isinstance(self.X, torch.Tensor):
            index = torch.as_tensor(rows, device=self.X.device)
            y = None if self.y is None else self.y[index.to(self.y.device)]
            return ArrayDataset(self.X[index], y)
        return ArrayDataset(self.X, self.y, rows=rows)

    def __getitem__(self, index):
        return self.batch(index)

    def index(self, rows: np.ndarray) -> torch.Tensor:
        """Return ``rows`` as an index tensor, on the device of a whole tensor ``X``."""
        index = torch.as_tensor(rows)
        if isinstance(self.X, torch.Tensor) and self.rows is None:
            index = index.to(self.X.device)
        return index

    def batch(self, index):
        """Return ``(X_batch, y_batch)`` for a slice or a sorted index tensor."""
        if self.rows is not None:
            index = self.rows[index.cpu().numpy() if torch.is_tensor(index) else index]
        X_batch = self._read(index)
        if self.y is None:
            return X_batch, X_batch
        return X_batch, self.y[index]

    def _read(self, index) -> torch.Tensor:
        if isinstance(self.X, torch.Tensor):
            return self.X[index]
        if torch.is_tensor(index):
            index = index.numpy()
        if self._file_rows is not None:
            if isinstance(index, slice):
                index = np.arange(*index.indices(self.X.shape[0]))
            return as_float32_tensor(self._file_rows.read(index))
        return as_float32_tensor(self.X[index])


class BatchIterator:
    """Iterate over an :class:`ArrayDataset` in batches of index slices.

    Every row is seen exactly once per pass; with ``shuffle`` the order is a
    permutation drawn from ``rng`` (a ``numpy.random.Generator``), and the last
    batch keeps the remaining rows even when there are fewer than
    ``batch_size``. The indices of a shuffled batch are sorted: disk reads
    become sequential and every kind of input yields the very same batches.
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
        if not self.shuffle:
            for start in range(0, n_rows, self.batch_size):
                yield self.dataset.batch(slice(start, start + self.batch_size))
            return
        order = self.dataset.index(self.rng.permutation(n_rows))
        for batch_order in torch.split(order, self.batch_size):
            yield self.dataset.batch(torch.sort(batch_order).values)


class SemiSupervisedDataset(torch.utils.data.Dataset):
    """All training rows, each batch of them joined by labeled rows.

    An epoch passes once over ``pool`` (every training row, labeled or not)
    in shuffled batches of ``unlabeled_ratio`` times the batch size; each
    batch is joined by a batch of ``labeled`` rows (an :class:`ArrayDataset`
    with targets), cycled through in shuffled order as often as needed. The
    pool rows carry ``unlabeled_target``, so that a loss's supervised term
    skips them and its unsupervised terms see them: labeled rows too take
    part unlabeled, as any other row.
    """

    def __init__(
        self,
        labeled: ArrayDataset,
        pool: ArrayDataset,
        unlabeled_ratio: int,
        unlabeled_target: torch.Tensor,
    ):
        self.labeled = labeled
        self.pool = pool
        self.unlabeled_ratio = unlabeled_ratio
        self.unlabeled_target = unlabeled_target

    def __len__(self):
        return len(self.pool)

    def __getitem__(self, index):
        return self.pool.batch(index)


class SemiSupervisedBatchIterator:
    """Batches of a :class:`SemiSupervisedDataset`: labeled rows, then pool rows."""

    def __init__(self, dataset: SemiSupervisedDataset, batch_size: int, rng):
        self.dataset = dataset
        self.batch_size = min(batch_size, len(dataset.labeled))
        self.rng = rng
        self._labeled_order = np.empty(0, dtype=np.int64)

    def __len__(self):
        pool_batch_size = self.dataset.unlabeled_ratio * self.batch_size
        return math.ceil(len(self.dataset) / pool_batch_size)

    def __iter__(self):
        dataset = self.dataset
        pool_batches = BatchIterator(
            dataset.pool,
            dataset.unlabeled_ratio * self.batch_size,
            shuffle=True,
            rng=self.rng,
        )
        for X_pool, _ in pool_batches:
            X_labeled, y_labeled = dataset.labeled.batch(self._next_labeled_rows())
            y_pool = dataset.unlabeled_target.to(y_labeled.device).expand(
                len(X_pool), *y_labeled.shape[1:]
            )
            yield (
                torch.cat([X_labeled, X_pool.to(X_labeled.device)]),
                torch.cat([y_labeled, y_pool]),
            )

    def _next_labeled_rows(self) -> torch.Tensor:
        """Return the next labeled batch, reshuffling once every row was used."""
        if len(self._labeled_order) < self.batch_size:
            reshuffled = self.rng.permutation(len(self.dataset.labeled))
            self._labeled_order = np.concatenate([self._labeled_order, reshuffled])
        rows, self._labeled_order = np.split(self._labeled_order, [self.batch_size])
        return self.dataset.labeled.index(np.sort(rows))


def apply_in_chunks(function, X, device: torch.device) -> np.ndarray:
    """Apply a tensor ``function`` to the rows of ``X``, returning a numpy array.

    Rows go through in fixed-size, zero-padded chunks with gradients off, so the
    result for a row does not depend on the other rows (see
    ``INFERENCE_CHUNK_SIZE``) and memory stays bounded, memmaps included.
    """
    dataset = ArrayDataset(X)
    outputs = []
    with torch.no_grad():
        for chunk, _ in BatchIterator(dataset, INFERENCE_CHUNK_SIZE):
            n_chunk_rows = chunk.shape[0]
            if n_chunk_rows < INFERENCE_CHUNK_SIZE:
                padding = chunk.new_zeros(
                    (INFERENCE_CHUNK_SIZE - n_chunk_rows, chunk.shape[1])
                )
                chunk = torch.cat([chunk, padding])
            result = function(chunk.to(device))[:n_chunk_rows]
            outputs.append(result.cpu())
    return torch.cat(outputs).numpy()


def scan_in_chunks(X) -> tuple[float, float]:
    """Return the min and max of ``X``, read chunk by chunk; reject NaN and inf.

    The whole-array checks of scikit-learn would page an entire memmap into
    memory; this reads it the way training does.
    """
    dataset = ArrayDataset(X)
    low, high = math.inf, -math.inf
    for start in range(0, X.shape[0], INFERENCE_CHUNK_SIZE):
        chunk, _ = dataset.batch(slice(start, start + INFERENCE_CHUNK_SIZE))
        if not torch.isfinite(chunk).all():
            raise ValueError(
                f"Input X contains NaN or infinity (in rows {start} to "
                f"{start + chunk.shape[0] - 1})."
            )
        low = min(low, chunk.min().item())
        high = max(high, chunk.max().item())
    return low, high


def std_in_chunks(X) -> torch.Tensor:
    """Return each column's standard deviation (float32), read chunk by chunk."""
    total = torch.zeros(X.shape[1], dtype=torch.float64)
    total_squares = torch.zeros(X.shape[1], dtype=torch.float64)
    for chunk, _ in BatchIterator(ArrayDataset(X), INFERENCE_CHUNK_SIZE):
        chunk = chunk.to("cpu", torch.float64)
        total += chunk.sum(dim=0)
        total_squares += (chunk**2).sum(dim=0)
    mean = total / X.shape[0]
    variance = (total_squares / X.shape[0] - mean**2).clamp(min=0)
    return variance.sqrt().to(torch.float32)


def take_rows(X, rows: np.ndarray):
    """Return rows ``rows`` (indices) of ``X``: array, DataFrame, list or sparse."""
    if sp.issparse(X) and X.format not in ("csr", "csc"):
        X = X.tocsr()  # COO and other formats cannot select rows
    return _safe_indexing(indexable(X)[0], rows)
