"""The measurements behind the defaults of PretrainedClassifier and its pretrainer.

For each seed: a stratified 75/25 split of digits or the MNIST subset (scaled to
[0, 1]), 5% of the training labels kept (20% for the early-stopping rows), and
one change at a time from the defaults:

- the head: the default hidden layer of 128 units against a linear softmax
  (``head_hidden_layer_sizes=()``), on a frozen encoder;
- the consistency term: off (``consistency_weight=0``) and its noise at 0.5
  and 1.5 feature standard deviations (default 1.0);
- weight decay: ``alpha=1e-3`` (default 1e-4);
- early stopping on the labeled validation split, at 20% of the labels;
- the pretrainer: no input noise, and 64 codings instead of 128, frozen and
  fine-tuned.

Writes ``benchmarks/results/defaults_<dataset>.md``. Run:
``python benchmarks/bench_defaults.py --dataset digits`` (about 3 minutes on
one core) and ``--dataset mnist`` (about 20 minutes; needs ``pip install
".[benchmarks]"``).
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from bench_accuracy import load  # digits and the MNIST subset, scaled to [0, 1]
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split

from sae_sklearn import AutoencoderPretrainer, PretrainedClassifier
from sae_sklearn.evaluation import hide_labels

RESULTS = Path(__file__).parent / "results"

# name -> (pretrainer parameters, classifier parameters, share of labels kept)
SETTINGS = {
    "default": ({}, {}, 0.05),
    "frozen encoder": ({}, {"freeze": "all"}, 0.05),
    "frozen encoder, linear head": (
        {},
        {"freeze": "all", "head_hidden_layer_sizes": ()},
        0.05,
    ),
    "consistency_weight=0": ({}, {"consistency_weight": 0}, 0.05),
    "consistency_noise=0.5": ({}, {"consistency_noise": 0.5}, 0.05),
    "consistency_noise=1.5": ({}, {"consistency_noise": 1.5}, 0.05),
    "alpha=1e-3": ({}, {"alpha": 1e-3}, 0.05),
    "pretrainer noise=None": ({"noise": None}, {}, 0.05),
    "pretrainer noise=None, frozen": ({"noise": None}, {"freeze": "all"}, 0.05),
    "pretrainer (256, 64)": ({"hidden_layer_sizes": (256, 64)}, {}, 0.05),
    "pretrainer (256, 64), frozen": (
        {"hidden_layer_sizes": (256, 64)},
        {"freeze": "all"},
        0.05,
    ),
    "default, 20% of labels": ({}, {}, 0.2),
    "early_stopping=True, 20% of labels": ({}, {"early_stopping": True}, 0.2),
}


def run(dataset: str, n_seeds: int) -> dict:
    X, y = load(dataset)
    scores = {name: [] for name in SETTINGS}
    seconds = {name: [] for name in SETTINGS}
    for seed in range(n_seeds):
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=seed
        )
        pretrainers = {}
        for name, (pretrainer_params, params, fraction) in SETTINGS.items():
            key = tuple(sorted(pretrainer_params.items()))
            if key not in pretrainers:
                pretrainer = AutoencoderPretrainer(
                    random_state=seed, **pretrainer_params
                )
                pretrainers[key] = FrozenEstimator(pretrainer.fit(X_train))
            y_partial = hide_labels(y_train, fraction, seed)
            model = PretrainedClassifier(pretrainers[key], random_state=seed, **params)
            start = time.perf_counter()
            model.fit(X_train, y_partial)
            seconds[name].append(time.perf_counter() - start)
            scores[name].append(model.score(X_test, y_test))
            print(f"{dataset} seed {seed} {name}: {scores[name][-1]:.3f}", flush=True)
    return scores, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("digits", "mnist"), default="digits")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)  # small networks: one thread is fastest on shared cores
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores, seconds = run(args.dataset, args.seeds)
    minutes = (time.perf_counter() - start) / 60
    lines = [
        f"# The defaults, one change at a time: {args.dataset}",
        "",
        f"Test accuracy, mean ± std over {args.seeds} seeds; 5% of the training "
        "labels unless the row says otherwise; the pretrainer fitted once per "
        "seed and setting; fine-tuning time on 1 torch thread. "
        f"Total {minutes:.1f} min. Command: "
        f"`python benchmarks/bench_defaults.py --dataset {args.dataset} "
        f"--seeds {args.seeds}`",
        "",
        "| setting | test accuracy | fine-tuning s |",
        "|---|---|---|",
    ]
    for name, values in scores.items():
        lines.append(
            f"| {name} | {np.mean(values):.3f} ± {np.std(values):.3f} "
            f"| {np.mean(seconds[name]):.1f} |"
        )
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"defaults_{args.dataset}.md").write_text(report)


if __name__ == "__main__":
    main()
