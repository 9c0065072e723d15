"""Autoencoder variants and fine-tuning schedules at 5% labels on digits.

For each seed: a stratified 75/25 split of scikit-learn's digits (scaled to
[0, 1]), 5% of the training labels kept (the rest ``y == -1``), each
pretrainer variant fitted once on all training rows and reused, frozen and
fine-tuned. Writes ``benchmarks/results/variants.md`` and ``variants.json``.

Run: ``python benchmarks/bench_variants.py [--seeds 3]``
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sae_sklearn import AutoencoderPretrainer, PretrainedClassifier
from sae_sklearn.evaluation import hide_labels

RESULTS = Path(__file__).parent / "results"

PRETRAINERS = {
    "default (ELU, MSE, gaussian noise 0.3)": {},
    "no noise": {"noise": None},
    "dropout noise 0.3": {"noise": "dropout", "noise_level": 0.3},
    "swap noise 0.15": {"noise": "swap", "noise_level": 0.15},
    "tied weights": {"tied_weights": True},
    "sigmoid output (BCE)": {"output_activation": "sigmoid"},
    "tied + dropout 0.3 + BCE": {
        "tied_weights": True,
        "noise": "dropout",
        "noise_level": 0.3,
        "output_activation": "sigmoid",
    },
    "greedy layer-wise": {"layerwise": True},
    "layer-wise + joint": {"layerwise": "joint"},
    "sparsity 0.1 (L1)": {"sparsity": 0.1},
}

BASELINES = {
    "no pretraining, labeled rows only": {"consistency_weight": 0},
    "no pretraining, consistency term": {},
}

SCHEDULES = {
    "frozen": {"freeze": "all"},
    "fine-tuned": {"freeze": "none"},
    "unfreeze after 20 epochs": {"freeze": "all", "unfreeze_at": 20},
    "encoder lr x0.1": {"encoder_lr_scale": 0.1},
}


def run(n_seeds: int, label_fraction: float) -> dict:
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    scores = {}
    for seed in range(n_seeds):
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=seed
        )
        y_partial = hide_labels(y_train, label_fraction, seed)
        for name, params in BASELINES.items():
            scratch = PretrainedClassifier(pretrain=False, random_state=seed, **params)
            scores.setdefault((name, "-"), []).append(
                scratch.fit(X_train, y_partial).score(X_test, y_test)
            )
        for name, params in PRETRAINERS.items():
            pretrainer = AutoencoderPretrainer(random_state=seed, **params)
            pretrainer.fit(X_train)
            for schedule, schedule_params in SCHEDULES.items():
                classifier = PretrainedClassifier(
                    pretrainer, random_state=seed, **schedule_params
                )
                score = classifier.fit(X_train, y_partial).score(X_test, y_test)
                scores.setdefault((name, schedule), []).append(score)
            print(f"seed {seed}: {name} done", flush=True)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--label-fraction", type=float, default=0.05)
    args = parser.parse_args()
    torch.set_num_threads(1)  # small networks: one thread is fastest on shared cores
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = run(args.seeds, args.label_fraction)
    minutes = (time.perf_counter() - start) / 60

    schedules = list(SCHEDULES)
    lines = [
        "# Autoencoder variants and fine-tuning schedules",
        "",
        f"Digits, 25% test split, {args.label_fraction:.0%} of the training labels "
        f"kept; test accuracy, mean ± std over {args.seeds} seeds; default "
        "AutoencoderPretrainer ((256, 128), Gaussian noise 0.3) and "
        "PretrainedClassifier (consistency term on) otherwise; torch on 1 thread. "
        f"Total time {minutes:.1f} min.",
        "",
        "| pretrainer | " + " | ".join(schedules) + " |",
        "|---|" + "---|" * len(schedules),
    ]
    for name in BASELINES:
        baseline = np.array(scores[(name, "-")])
        lines.append(
            f"| {name} | | {baseline.mean():.3f} ± {baseline.std():.3f} |"
            + " |" * (len(schedules) - 2)
        )
    for name in PRETRAINERS:
        cells = []
        for schedule in schedules:
            values = np.array(scores[(name, schedule)])
            cells.append(f"{values.mean():.3f} ± {values.std():.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Command: `python benchmarks/bench_variants.py --seeds {args.seeds}`",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "variants.md").write_text(report)
    (RESULTS / "variants.json").write_text(
        json.dumps({" / ".join(key): value for key, value in scores.items()}, indent=2)
    )


if __name__ == "__main__":
    main()
