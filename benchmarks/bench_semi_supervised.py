"""Semi-supervised additions on top of pretraining, at few labels.

- digits and the MNIST subset, 5% of the training labels: the same network
  from scratch on the labeled rows; the pretrained network fine-tuned on the
  labeled rows only (``consistency_weight=0``), with and without the
  reconstruction term (``reconstruction_weight=1``); the default
  PretrainedClassifier (the pseudo-label consistency term), with and without
  the reconstruction term; and, on digits, scikit-learn's
  SelfTrainingClassifier wrapped around PretrainedClassifier (the pretrainer
  fitted once and frozen, so self-training's refits only fine-tune; it hands
  the inner classifier labeled rows only, so the consistency term is off).
  The pretrainer is fitted once per seed and shared by every model.
- Friedman #1 regression (1,500 training rows, 20% of the targets kept, NaN
  elsewhere): PretrainedRegressor against the same network from scratch and
  ridge regression.

Writes ``benchmarks/results/semi_supervised.md``. Run:
``python benchmarks/bench_semi_supervised.py [--seeds 3]`` (the MNIST subset
needs ``pip install ".[benchmarks]"``; about 15 minutes on 2 cores).
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from bench_accuracy import load  # digits and the MNIST subset, scaled to [0, 1]
from sklearn.datasets import make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import SelfTrainingClassifier

from sae_sklearn import AutoencoderPretrainer, PretrainedClassifier, PretrainedRegressor
from sae_sklearn.evaluation import hide_labels

RESULTS = Path(__file__).parent / "results"


def classification_scores(dataset: str, seed: int) -> dict:
    X, y = load(dataset)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=seed
    )
    y_partial = hide_labels(y_train, 0.05, seed)
    pretrainer = FrozenEstimator(AutoencoderPretrainer(random_state=seed).fit(X_train))
    models = {
        "same network from scratch, labeled rows only": PretrainedClassifier(
            pretrain=False, consistency_weight=0, random_state=seed
        ),
        "pretrained, labeled rows only (consistency_weight=0)": PretrainedClassifier(
            pretrainer, consistency_weight=0, random_state=seed
        ),
        "pretrained, labeled rows + reconstruction_weight=1": PretrainedClassifier(
            pretrainer,
            consistency_weight=0,
            reconstruction_weight=1.0,
            random_state=seed,
        ),
        "pretrained, consistency term (the default)": PretrainedClassifier(
            pretrainer, random_state=seed
        ),
        "pretrained, consistency term + reconstruction_weight=1": PretrainedClassifier(
            pretrainer, reconstruction_weight=1.0, random_state=seed
        ),
    }
    if dataset == "digits":
        models["SelfTrainingClassifier(PretrainedClassifier)"] = SelfTrainingClassifier(
            PretrainedClassifier(pretrainer, random_state=seed), threshold=0.9
        )
    scores = {}
    for name, model in models.items():
        start = time.perf_counter()
        scores[name] = model.fit(X_train, y_partial).score(X_test, y_test)
        print(
            f"{dataset} seed {seed} {name}: {scores[name]:.3f} "
            f"({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    return scores


def regression_scores(seed: int) -> dict:
    X, y = make_friedman1(n_samples=2000, n_features=10, noise=0.5, random_state=seed)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = X[:1500], X[1500:], y[:1500], y[1500:]
    keep = np.random.default_rng(seed).random(1500) < 0.2
    y_partial = np.where(keep, y_train, np.nan)
    pretrainer = AutoencoderPretrainer((64, 16), random_state=seed)
    return {
        "ridge regression (labeled rows)": Ridge()
        .fit(X_train[keep], y_train[keep])
        .score(X_test, y_test),
        "same network from scratch": PretrainedRegressor(
            pretrainer, pretrain=False, random_state=seed
        )
        .fit(X_train, y_partial)
        .score(X_test, y_test),
        "PretrainedRegressor": PretrainedRegressor(pretrainer, random_state=seed)
        .fit(X_train, y_partial)
        .score(X_test, y_test),
    }


def table(title: str, runs: list[dict], metric: str) -> list[str]:
    lines = [f"### {title}", "", f"| model | {metric} |", "|---|---|"]
    for name in runs[0]:
        values = np.array([run[name] for run in runs])
        lines.append(f"| {name} | {values.mean():.3f} ± {values.std():.3f} |")
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classification = {
            dataset: [
                classification_scores(dataset, seed) for seed in range(args.seeds)
            ]
            for dataset in ("digits", "mnist")
        }
        regression = [regression_scores(seed) for seed in range(args.seeds)]
    minutes = (time.perf_counter() - start) / 60
    lines = [
        "# Semi-supervised additions on top of pretraining",
        "",
        f"Mean ± std over {args.seeds} seeds; {minutes:.1f} min. "
        f"Command: `python benchmarks/bench_semi_supervised.py --seeds {args.seeds}`",
        "",
        *table(
            "digits, 5% of the labels (70 rows)",
            classification["digits"],
            "test accuracy",
        ),
        *table(
            "MNIST subset, 5% of the labels (190 rows)",
            classification["mnist"],
            "test accuracy",
        ),
        *table("Friedman #1, 20% of 1,500 targets", regression, "test R²"),
    ]
    report = "\n".join(lines)
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "semi_supervised.md").write_text(report)


if __name__ == "__main__":
    main()
