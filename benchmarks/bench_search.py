"""Grid search over ``freeze``: cached pretraining and parallel workers.

A 3-value ``freeze`` grid with 3-fold ``SemiSupervisedKFold`` on digits (10% of
the labels kept by default), with and without ``memory``, serial and with ``n_jobs=2``.
Prints and saves the wall times and the number of pretraining fits (counted in
every worker process) to ``benchmarks/results/search.md`` and ``search.json``.

Run: ``python benchmarks/bench_search.py``
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import sklearn
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sae_sklearn import PretrainedClassifier
from sae_sklearn.model_selection import SemiSupervisedKFold

# Worker processes import the counting pretrainer by name, from this folder.
sys.path.insert(0, str(Path(__file__).parent))
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
)
from counting import COUNT_FILE, CountingPretrainer  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def run_search(X, y, memory, n_jobs, count_path: Path) -> dict:
    count_path.write_text("")
    classifier = PretrainedClassifier(
        CountingPretrainer(), memory=memory, random_state=0
    )
    search = GridSearchCV(
        classifier,
        {"freeze": ["none", "all", 1]},
        cv=SemiSupervisedKFold(3, shuffle=True, random_state=0),
        n_jobs=n_jobs,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    seconds = time.perf_counter() - start
    pids = count_path.read_text().split()
    return {
        "memory": memory is not None,
        "n_jobs": n_jobs,
        "seconds": seconds,
        "pretraining_fits": len(pids),
        "processes": len(set(pids)),
        "best_params": search.best_params_,
        "best_score": search.best_score_,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--label-fraction", type=float, default=0.1)
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rng = np.random.default_rng(0)
    y = np.where(rng.random(len(y)) < args.label_fraction, y, -1)

    runs = []
    with tempfile.TemporaryDirectory() as folder:
        count_path = Path(folder) / "pretraining_fits.txt"
        os.environ[COUNT_FILE] = str(count_path)
        for memory_on in (False, True):
            for n_jobs in (1, 2):
                memory = None
                if memory_on:
                    memory = joblib.Memory(Path(folder) / f"cache{n_jobs}", verbose=0)
                run = run_search(X, y, memory, n_jobs, count_path)
                runs.append(run)
                print(run)

    baseline = runs[0]["seconds"]
    lines = [
        "# Grid search over freeze: cached pretraining, parallel workers",
        "",
        f"{time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
        f"torch {torch.__version__}, scikit-learn {sklearn.__version__}, "
        f"{os.cpu_count()} CPUs. Digits ({len(X)} rows, {np.sum(y != -1)} labeled), "
        "default PretrainedClassifier, grid freeze in [none, all, 1], "
        "SemiSupervisedKFold(3): 9 candidate fits + 1 refit.",
        "",
        "| memory | n_jobs | time (s) | speed-up | pretraining fits | best score |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {'yes' if run['memory'] else 'no'} | {run['n_jobs']} | "
            f"{run['seconds']:.1f} | {baseline / run['seconds']:.2f}x | "
            f"{run['pretraining_fits']} | {run['best_score']:.4f} |"
        )
    lines += ["", "Command: `python benchmarks/bench_search.py`"]
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search.md").write_text(report)
    (RESULTS / "search.json").write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
