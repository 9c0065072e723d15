"""Seeding, device and dtype helpers shared by the estimators."""

from contextlib import contextmanager

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["draw_seed", "resolve_device", "seeded_torch"]


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
