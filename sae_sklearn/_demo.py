"""The demo: pretraining against baselines on digits with 5% of the labels."""

import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from ._classifier import PretrainedClassifier
from ._pretrainer import AutoencoderPretrainer
from .evaluation import hide_labels

__all__ = ["run_demo"]

MODELS = (
    "logistic regression (labeled rows)",
    "same network from scratch, labeled rows only",
    "same network from scratch + consistency term",
    "pretrained + frozen encoder",
    "pretrained + fine-tuned encoder (default)",
)


def _scores_for_seed(X, y, label_fraction, seed):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=seed
    )
    y_partial = hide_labels(y_train, label_fraction, seed)
    labeled = y_partial != -1
    pretrainer = AutoencoderPretrainer(random_state=seed).fit(X_train)
    models = [
        LogisticRegression(max_iter=2000).fit(X_train[labeled], y_partial[labeled]),
        PretrainedClassifier(
            pretrain=False, consistency_weight=0, random_state=seed
        ).fit(X_train, y_partial),
        PretrainedClassifier(pretrain=False, random_state=seed).fit(X_train, y_partial),
        PretrainedClassifier(pretrainer, freeze="all", random_state=seed).fit(
            X_train, y_partial
        ),
        PretrainedClassifier(pretrainer, freeze="none", random_state=seed).fit(
            X_train, y_partial
        ),
    ]
    return [model.score(X_test, y_test) for model in models], int(labeled.sum())


def run_demo(n_seeds: int = 5, label_fraction: float = 0.05) -> dict:
    """Print and return test accuracies of the five models on digits.

    Parameters
    ----------
    n_seeds : int, default=5
        Number of train/test splits and label draws to average over.
    label_fraction : float, default=0.05
        Share of the training rows that keep their label.

    Returns
    -------
    scores : dict
        Model name -> array of ``n_seeds`` test accuracies.
    """
    start = time.perf_counter()
    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # pixel intensities 0..16 -> [0, 1]
    runs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(n_seeds):
            scores, n_labeled = _scores_for_seed(X, y, label_fraction, seed)
            runs.append(scores)
    results = dict(zip(MODELS, np.array(runs).T))
    print(
        f"digits: {len(X)} rows, 25% test split, {label_fraction:.0%} of the "
        f"training labels kept ({n_labeled} labeled rows, the rest y == -1)"
    )
    print(f"test accuracy, mean ± std over {n_seeds} seeds")
    width = max(map(len, MODELS))
    for name, scores in results.items():
        print(f"  {name:<{width}}  {scores.mean():.3f} ± {scores.std():.3f}")
    print(f"({time.perf_counter() - start:.0f} s)")
    return results
