"""Figures for the README, drawn with ``sae_sklearn.plotting``.

Fits the default AutoencoderPretrainer on digits (75% train split) and saves
the reconstructions of test digits, the codings in 2-D and the loss curves of
a PretrainedClassifier with 5% of the labels to ``benchmarks/results/``.

Run: ``python benchmarks/make_figures.py``
"""

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from sae_sklearn import AutoencoderPretrainer, PretrainedClassifier  # noqa: E402
from sae_sklearn.evaluation import hide_labels  # noqa: E402
from sae_sklearn.plotting import (  # noqa: E402
    plot_codings,
    plot_history,
    plot_reconstructions,
)

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    y_partial = hide_labels(y_train, 0.05, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier = PretrainedClassifier(
            AutoencoderPretrainer(early_stopping=True, random_state=0),
            random_state=0,
        ).fit(X_train, y_partial)
    pretrainer = classifier.pretrainer_
    RESULTS.mkdir(exist_ok=True)

    figure = plot_reconstructions(pretrainer, X_test, n=10)
    figure.savefig(RESULTS / "reconstructions.png", dpi=100, bbox_inches="tight")
    axes = plot_codings(pretrainer, X_train, y_partial)
    axes.figure.savefig(RESULTS / "codings.png", dpi=100, bbox_inches="tight")
    axes = plot_history(classifier)
    axes.flat[0].figure.savefig(RESULTS / "history.png", dpi=100, bbox_inches="tight")
    plt.close("all")
    print(f"test accuracy {classifier.score(X_test, y_test):.3f}; figures in {RESULTS}")


if __name__ == "__main__":
    main()
