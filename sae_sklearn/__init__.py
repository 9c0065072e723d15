"""Unsupervised pretraining with stacked autoencoders, as scikit-learn estimators."""

from ._classifier import PretrainedClassifier
from ._pretrainer import AutoencoderPretrainer

__version__ = "0.1.0"

__all__ = ["AutoencoderPretrainer", "PretrainedClassifier", "__version__"]
