"""Seconds per training epoch: sae-sklearn against a plain PyTorch loop and others.

Run ``python benchmarks/bench_speed.py``. Every contender trains the same
784-256-64-256-784 autoencoder (ReLU hidden layers, linear output, Adam at
lr 1e-3, mean squared error) on random rows in [0, 1]:

- ``plain loop``: one float32 tensor, ``torch.randperm`` each epoch, index
  slices, zero_grad / forward / loss / backward / step: the floor to beat;
- ``skorch NeuralNetRegressor``: skorch's default per-row ``DataLoader`` path;
- ``sklearn MLPRegressor``: scikit-learn's numpy implementation;
- ``AutoencoderPretrainer``: this package.

A second table compares fine-tuning: a plain loop training the encoder
784-256-64 under a ``Linear(64, 10)`` head with cross-entropy, against
``PretrainedClassifier(fitted_pretrainer, freeze="none")``; both start from
that pretrainer's encoder weights.

Seconds per epoch are the fastest of ``--repeats`` fits of ``--epochs`` epochs,
divided by ``--epochs``, so they include each fit's fixed cost (validation,
building the net and optimizer). The "fastest epoch" column is the fastest
single epoch seen (skorch's ``history[:, "dur"]`` for skorch nets, a timer
around each epoch for the plain loops), which leaves the fixed cost out.

The torch contenders draw their initial weights as sae-sklearn does unless
``--init torch`` is given: the weight values change the speed of the very same
loop by a few percent. Run it on an idle machine: on 2 cores, one other busy
process slows torch's threads down many times over.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import skorch
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from skorch import NeuralNetRegressor
from torch import nn

import sae_sklearn
from sae_sklearn import AutoencoderPretrainer, PretrainedClassifier

N_FEATURES = 784
HIDDEN = (256, 64)
N_CLASSES = 10
BATCH_SIZES = (64, 256)
AUTOENCODER_LR = 1e-3
# PretrainedClassifier's defaults (learning_rate_init=3e-3, alpha=1e-4 as Adam's
# weight decay), copied into its plain loop so both do the same arithmetic.
FINETUNE_LR = 3e-3
FINETUNE_WEIGHT_DECAY = 1e-4
INIT_DESCRIPTIONS = {
    "package": "the plain loops and skorch's net are initialised like "
    "sae-sklearn's modules (He normal before a ReLU, Glorot uniform for the "
    "linear output, zero biases)",
    "torch": "the plain loops and skorch's net keep torch's default "
    "initialisation, unlike sae-sklearn's modules",
}
# Large enough that the stopping rule never ends a fit before max_iter.
NEVER = 10**9
# Idle time before each fit. After numpy work (MLPRegressor) OpenBLAS's threads
# keep spinning for a while; on 2 cores they slowed the first epoch of the
# next torch fit by 60-100 ms. Pausing lets them go to sleep, outside the timer.
PAUSE_SECONDS = 0.5


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="training rows")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed fits per contender (min kept)"
    )
    parser.add_argument("--epochs", type=int, default=3, help="epochs per timed fit")
    parser.add_argument(
        "--init",
        choices=["package", "torch"],
        default="package",
        help="weights of the plain loops and skorch's net: initialised like "
        "sae-sklearn's modules (He / Glorot, zero biases), or torch's default",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("benchmarks/results/speed.md"),
        help="markdown report; the raw numbers go beside it, as .json",
    )
    return parser.parse_args(argv)


def dense_layers(sizes, init: str) -> nn.Sequential:
    """Return Linear layers with ReLU between them and a linear last layer.

    With ``init="package"`` the weights are drawn as sae-sklearn draws them (He
    before a ReLU, Glorot for the linear output, zero biases). The values matter
    to the timing: on this network torch's default initialisation made the very
    same loop 4-7% slower per epoch.
    """
    layers = []
    n_layers = len(sizes) - 1
    for depth, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]), start=1):
        linear = nn.Linear(n_in, n_out)
        is_output = depth == n_layers
        if init == "package":
            if is_output:
                nn.init.xavier_uniform_(linear.weight)
            else:
                nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.zeros_(linear.bias)
        layers += [linear] if is_output else [linear, nn.ReLU()]
    return nn.Sequential(*layers)


def autoencoder_layers(init: str) -> nn.Sequential:
    return dense_layers([N_FEATURES, *HIDDEN, *HIDDEN[-2::-1], N_FEATURES], init)


def classifier_layers(encoder: nn.Module, init: str) -> nn.Sequential:
    """Return encoder + softmax layer, the encoder weights copied from ``encoder``."""
    module = dense_layers([N_FEATURES, *HIDDEN, N_CLASSES], init)
    source = [layer for layer in encoder.modules() if isinstance(layer, nn.Linear)]
    target = [layer for layer in module if isinstance(layer, nn.Linear)]
    with torch.no_grad():
        for copy_from, copy_to in zip(source, target):
            copy_to.weight.copy_(copy_from.weight)
            copy_to.bias.copy_(copy_from.bias)
    return module


def plain_loop(module, optimizer, criterion, X, y, batch_size, epochs):
    """Train with index slices of one tensor; return each epoch's seconds."""
    n_rows = X.shape[0]
    epoch_seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(n_rows)
        for first in range(0, n_rows, batch_size):
            index = order[first : first + batch_size]
            optimizer.zero_grad()
            loss = criterion(module(X[index]), y[index])
            loss.backward()
            optimizer.step()
        epoch_seconds.append(time.perf_counter() - start)
    return epoch_seconds


def history_durations(history):
    return [float(seconds) for seconds in history[:, "dur"]]


def autoencoder_contenders(X_numpy, init):
    """Return {name: fit(batch_size, epochs) -> list of epoch seconds or None}."""
    X = torch.from_numpy(X_numpy)

    def fit_plain(batch_size, epochs):
        module = autoencoder_layers(init)
        optimizer = torch.optim.Adam(module.parameters(), lr=AUTOENCODER_LR)
        return plain_loop(module, optimizer, nn.MSELoss(), X, X, batch_size, epochs)

    def fit_skorch(batch_size, epochs):
        net = NeuralNetRegressor(
            autoencoder_layers(init),
            criterion=nn.MSELoss,
            optimizer=torch.optim.Adam,
            lr=AUTOENCODER_LR,
            max_epochs=epochs,
            batch_size=batch_size,
            train_split=None,
            # Every other contender reshuffles each epoch; skorch's default doesn't.
            iterator_train__shuffle=True,
            verbose=0,
        )
        net.fit(X_numpy, X_numpy)
        return history_durations(net.history)

    def fit_mlp(batch_size, epochs):
        MLPRegressor(
            hidden_layer_sizes=(*HIDDEN, HIDDEN[0]),
            activation="relu",
            solver="adam",
            learning_rate_init=AUTOENCODER_LR,
            batch_size=batch_size,
            max_iter=epochs,
            tol=0,
            n_iter_no_change=NEVER,
            shuffle=True,
            random_state=0,
        ).fit(X_numpy, X_numpy)
        return None

    def fit_pretrainer(batch_size, epochs):
        pretrainer = AutoencoderPretrainer(
            hidden_layer_sizes=HIDDEN,
            activation="relu",
            noise=None,  # the plain loop does not corrupt its input
            batch_size=batch_size,
            max_iter=epochs,
            tol=0,
            n_iter_no_change=NEVER,
            random_state=0,
        ).fit(X_numpy)
        return history_durations(pretrainer.history_)

    return {
        "plain loop": fit_plain,
        "skorch NeuralNetRegressor": fit_skorch,
        "sklearn MLPRegressor": fit_mlp,
        "AutoencoderPretrainer": fit_pretrainer,
    }


def finetuning_contenders(X_numpy, y_numpy, init):
    """Return {name: fit(batch_size, epochs) -> list of epoch seconds}.

    Both contenders start from the weights of one fitted pretrainer's encoder.
    """
    X = torch.from_numpy(X_numpy)
    y = torch.from_numpy(y_numpy)
    # Fitted once: the classifier reuses it, so its fits time fine-tuning only.
    pretrainer = AutoencoderPretrainer(
        hidden_layer_sizes=HIDDEN, activation="relu", max_iter=1, random_state=0
    ).fit(X_numpy)

    def fit_plain(batch_size, epochs):
        module = classifier_layers(pretrainer.encoder_, init)
        optimizer = torch.optim.Adam(
            module.parameters(), lr=FINETUNE_LR, weight_decay=FINETUNE_WEIGHT_DECAY
        )
        criterion = nn.CrossEntropyLoss()
        return plain_loop(module, optimizer, criterion, X, y, batch_size, epochs)

    def fit_classifier(batch_size, epochs):
        classifier = PretrainedClassifier(
            pretrainer,
            freeze="none",
            head_hidden_layer_sizes=(),  # the plain loop's linear head
            batch_size=batch_size,
            max_iter=epochs,
            tol=0,
            n_iter_no_change=NEVER,
            random_state=0,
        ).fit(X_numpy, y_numpy)
        return history_durations(classifier.history_)

    return {"plain loop": fit_plain, "PretrainedClassifier": fit_classifier}


def time_contenders(contenders, batch_size, epochs, repeats):
    """Return {name: {"fit_seconds": [...], "epoch_seconds": [...] or None}}."""
    results = {name: {"fit_seconds": [], "epoch_seconds": None} for name in contenders}
    for fit in contenders.values():
        time.sleep(PAUSE_SECONDS)
        fit(batch_size, 1)  # warm-up: first-call allocations, lazy imports
    # Round-robin rather than one contender at a time: on a shared machine a
    # burst of background load then hits every contender alike.
    for _ in range(repeats):
        for name, fit in contenders.items():
            time.sleep(PAUSE_SECONDS)
            start = time.perf_counter()
            epoch_seconds = fit(batch_size, epochs)
            results[name]["fit_seconds"].append(time.perf_counter() - start)
            if epoch_seconds is not None:
                results[name]["epoch_seconds"] = (
                    results[name]["epoch_seconds"] or []
                ) + epoch_seconds
    return results


def summarise(timings, epochs, reference):
    """Add per-epoch seconds and ratios to the reference contender."""
    for result in timings.values():
        result["seconds_per_epoch"] = min(result["fit_seconds"]) / epochs
        epoch_seconds = result["epoch_seconds"]
        result["fastest_epoch"] = min(epoch_seconds) if epoch_seconds else None
    base = timings[reference]
    for result in timings.values():
        result["ratio"] = result["seconds_per_epoch"] / base["seconds_per_epoch"]
        result["fastest_epoch_ratio"] = (
            result["fastest_epoch"] / base["fastest_epoch"]
            if result["fastest_epoch"] is not None
            else None
        )
    return timings


def source_revision():
    """Return the git commit of the package source, marked "+dirty" if edited."""
    package_dir = Path(sae_sklearn.__file__).parent

    def git(*command):
        return subprocess.run(
            ["git", *command], cwd=package_dir, capture_output=True, text=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        edited = git("status", "--porcelain", "--untracked-files=no", ".")
    except OSError:
        return "unknown"
    return f"{commit}+dirty" if commit and edited else commit or "unknown"


def environment():
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "sae_sklearn": f"{sae_sklearn.__version__} ({source_revision()})",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "processor": platform.processor() or platform.machine(),
    }


def format_seconds(seconds):
    return "—" if seconds is None else f"{seconds * 1000:.1f} ms"


def format_ratio(ratio):
    return "—" if ratio is None else f"{ratio:.2f}"


def markdown_table(title, results_by_batch):
    lines = [
        f"### {title}",
        "",
        "| contender | batch size | time per epoch | ratio to plain loop "
        "| fastest epoch | ratio to plain loop |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for batch_size, timings in results_by_batch.items():
        for name, result in timings.items():
            lines.append(
                f"| {name} | {batch_size} "
                f"| {format_seconds(result['seconds_per_epoch'])} "
                f"| {format_ratio(result['ratio'])} "
                f"| {format_seconds(result['fastest_epoch'])} "
                f"| {format_ratio(result['fastest_epoch_ratio'])} |"
            )
    return lines + [""]


def noise_warning(*results, threshold=1.5):
    """Return a warning line when repeated fits of a contender varied a lot."""
    spread = max(
        max(result["fit_seconds"]) / min(result["fit_seconds"])
        for results_by_batch in results
        for timings in results_by_batch.values()
        for result in timings.values()
    )
    if spread < threshold:
        return []
    return [
        f"- **warning**: repeated fits of one contender differed by up to "
        f"{spread:.1f}x, so other processes probably competed for the CPUs. "
        "The fastest-epoch column is the most robust; rerun with more "
        "`--repeats` on an idle machine for the time per epoch."
    ]


def markdown_report(env, args, autoencoder, finetuning):
    lines = [
        "# Training speed: seconds per epoch",
        "",
        f"- date: {env['date']}; sae-sklearn {env['sae_sklearn']}",
        f"- python {env['python']}, torch {env['torch']}, "
        f"skorch {env['skorch']}, scikit-learn {env['sklearn']}, "
        f"numpy {env['numpy']}",
        f"- torch threads: {env['torch_threads']}; CPUs: {env['cpu_count']} "
        f"({env['processor']}); 1-min load average at start "
        f"{env['load_average_1min']:.2f}, at the end "
        f"{env['load_average_1min_end']:.2f}",
        f"- data: {args.rows} x {N_FEATURES} float32 rows, "
        "`np.random.default_rng(0).random` (values in [0, 1]); fine-tuning "
        f"labels: random integers 0..{N_CLASSES - 1}, all rows labeled",
        f"- weights: {INIT_DESCRIPTIONS[args.init]}; both fine-tuning contenders "
        "start from the encoder of one AutoencoderPretrainer fitted for 1 epoch",
        f"- **time per epoch** = fastest of {args.repeats} fits of {args.epochs} "
        f"epochs, divided by {args.epochs}: it includes each fit's fixed cost "
        "(validation, building the net and optimizer); every contender was "
        "warmed up with one 1-epoch fit first",
        "- **fastest epoch** = fastest single epoch over all timed fits, without "
        "the fixed cost: skorch's `history[:, 'dur']` for skorch-based "
        "contenders, a timer around each epoch for the plain loops; "
        "MLPRegressor exposes no per-epoch time",
        *noise_warning(autoencoder, finetuning),
        "",
        *markdown_table(
            "Pretraining: autoencoder 784-256-64-256-784, ReLU, Adam lr 1e-3, MSE",
            autoencoder,
        ),
        *markdown_table(
            "Fine-tuning: encoder 784-256-64 + Linear(64, 10), cross-entropy, "
            f"Adam lr {FINETUNE_LR:g}, weight decay {FINETUNE_WEIGHT_DECAY:g}",
            finetuning,
        ),
    ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.random((args.rows, N_FEATURES), dtype=np.float32)
    y = np.random.default_rng(1).integers(0, N_CLASSES, args.rows)
    env = environment()

    autoencoder, finetuning = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pretraining = autoencoder_contenders(X, args.init)
        classifying = finetuning_contenders(X, y, args.init)
        for batch_size in BATCH_SIZES:
            autoencoder[batch_size] = summarise(
                time_contenders(pretraining, batch_size, args.epochs, args.repeats),
                args.epochs,
                reference="plain loop",
            )
            finetuning[batch_size] = summarise(
                time_contenders(classifying, batch_size, args.epochs, args.repeats),
                args.epochs,
                reference="plain loop",
            )

    env["load_average_1min_end"] = os.getloadavg()[0]
    report = markdown_report(env, args, autoencoder, finetuning)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report + "\n")
    raw = {
        "environment": env,
        "arguments": {
            "rows": args.rows,
            "repeats": args.repeats,
            "epochs": args.epochs,
            "init": args.init,
        },
        "pretraining": autoencoder,
        "finetuning": finetuning,
    }
    json_path = args.output.with_suffix(".json")
    json_path.write_text(json.dumps(raw, indent=2) + "\n")


if __name__ == "__main__":
    main()
