"""Unsupervised pretraining with stacked autoencoders, as scikit-learn estimators."""

from ._classifier import PretrainedClassifier
from ._pretrainer import AutoencoderPretrainer
from ._regressor import PretrainedRegressor

__version__ = "0.1.0"

__all__ = [
    "AutoencoderPretrainer",
    "PretrainedClassifier",
    "PretrainedRegressor",
    "__version__",
]
