"""Seeding, device and dtype helpers shared by the estimators."""

import threading
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = [
    "draw_seed",
    "fitting_torch",
    "rebalance_torch_threads",
    "resolve_device",
    "seeded_torch",
    "shared_torch_threads",
]


def draw_seed(random_state) -> int:
    """Draw a torch seed from a scikit-learn ``random_state``."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def resolve_device(device: str) -> torch.device:
    """Return ``device`` as a ``torch.device``, failing early if it is unusable."""
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine; use device='cpu'."
        )
    return resolved


@contextmanager
def seeded_torch(seed: int, device: torch.device):
    """Seed torch inside the block and restore the caller's RNG state after it.

    Weight initialisation and dropout draw from torch's global generators, so the
    only way to make them reproducible without touching the caller's random
    stream is to fork that stream for the duration of the fit.
    """
    cuda_devices = []
    if device.type == "cuda":
        cuda_devices = [
            device.index if device.index is not None else torch.cuda.current_device()
        ]
    with torch.random.fork_rng(devices=cuda_devices):
        torch.random.default_generator.manual_seed(seed)
        for index in cuda_devices:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


_threads_lock = threading.Lock()
# Thread ident -> (nesting depth, the thread's own torch thread count at entry).
_active_fits: dict[int, tuple[int, int]] = {}


def rebalance_torch_threads() -> None:
    """Give the calling fit its share of threads: 1/k of its own setting for k fits.

    Called when a fit starts and at every epoch, so a fit that started alone
    gives up cores once others join, and takes them back when they finish.
    """
    with _threads_lock:
        entry = _active_fits.get(threading.get_ident())
        n_active = len(_active_fits)
    if entry is not None:
        torch.set_num_threads(max(1, entry[1] // n_active))


@contextmanager
def shared_torch_threads():
    """Share torch's intra-op threads among fits running at once in one process.

    Fits running in parallel threads (joblib's threading backend, Dask worker
    threads) would each use every core and oversubscribe the machine. With k
    fits active, each runs on 1/k of its thread's own setting; on exit the
    thread's setting is restored, so the caller's setting never changes. A lone
    fit runs with the caller's setting, and joblib's process workers already
    start with one thread each.
    """
    thread = threading.get_ident()
    with _threads_lock:
        depth, own_threads = _active_fits.get(thread, (0, torch.get_num_threads()))
        _active_fits[thread] = (depth + 1, own_threads)
    rebalance_torch_threads()
    try:
        yield
    finally:
        with _threads_lock:
            depth, own_threads = _active_fits.pop(thread)
            if depth > 1:
                _active_fits[thread] = (depth - 1, own_threads)
        if depth == 1:
            torch.set_num_threads(own_threads)
        else:
            rebalance_torch_threads()


@contextmanager
def fitting_torch(seed: int, device: torch.device):
    """Run a fit: torch seeded (see :func:`seeded_torch`), threads shared."""
    with shared_torch_threads(), seeded_torch(seed, device):
        yield
