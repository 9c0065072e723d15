import os

# scikit-learn's array API check (numpy namespace) skips itself unless SciPy's
# array API support is switched on before SciPy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from sae_sklearn import AutoencoderPretrainer  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    """600 digits rows scaled to [0, 1], with 20% of the labels kept."""
    X, y = load_digits(return_X_y=True)
    X, y = X[:600] / 16.0, y[:600]
    rng = np.random.default_rng(0)
    y_partial = np.where(rng.random(len(y)) < 0.2, y, -1)
    return X, y, y_partial


def small_pretrainer(**params):
    """A pretrainer small enough to fit in a fraction of a second."""
    defaults = {"hidden_layer_sizes": (32, 16), "max_iter": 10, "random_state": 0}
    return AutoencoderPretrainer(**{**defaults, **params})


@pytest.fixture(scope="session")
def fitted_pretrainer(digits):
    X, _, _ = digits
    return small_pretrainer().fit(X)
