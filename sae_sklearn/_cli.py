"""The ``fit``, ``predict`` and ``evaluate`` commands: models from CSV files.

A CSV file has a header row; one column is the target, every other column a
numeric feature. A row whose target cell is blank is unlabeled: it serves
pretraining (and a classifier's consistency term). Failures the user can fix
raise :class:`CommandError`, which ``python -m sae_sklearn`` prints as a
one-line message.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import joblib
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from ._classifier import PretrainedClassifier
from ._pretrainer import AutoencoderPretrainer
from ._regressor import PretrainedRegressor

__all__ = ["CommandError", "add_csv_commands"]

# Integer targets with at most this many distinct values are taken for classes.
MAX_AUTO_CLASSES = 20
TASKS = ("classification", "regression")
ESTIMATORS = {"classification": PretrainedClassifier, "regression": PretrainedRegressor}
BUNDLE_KEYS = ("model", "features", "target", "task")


class CommandError(Exception):
    """A problem with the command's input, with a message that says how to fix it."""


# --- argument types -----------------------------------------------------------


def _layer_sizes(text: str) -> tuple:
    try:
        sizes = tuple(int(size) for size in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected positive integers separated by commas, e.g. 256,64; got {text!r}"
        )
    return sizes


def _freeze(text: str):
    if text in ("none", "all"):
        return text
    if text.isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(
        f"expected none, all or a number of layers; got {text!r}"
    )


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return int(text)


def _fractions(text: str) -> list:
    try:
        values = [float(value) for value in text.split(",")]
    except ValueError:
        values = []
    if not values or not all(0 < value <= 1 for value in values):
        raise argparse.ArgumentTypeError(
            f"expected shares in (0, 1] separated by commas, e.g. 0.1,1.0; got {text!r}"
        )
    return values


# --- the parser ---------------------------------------------------------------


def add_csv_commands(commands) -> None:
    """Add the ``fit``, ``predict`` and ``evaluate`` sub-parsers to ``commands``."""
    model_options = _model_options()
    fit = commands.add_parser(
        "fit",
        parents=[model_options],
        help="train a model on a CSV file and save it",
        description=(
            "Train a pretrained classifier or regressor on a CSV file and save it "
            "with joblib. Rows with a blank target cell are unlabeled: they train "
            "the autoencoder only. Every column except --target is a feature and "
            "must be numeric."
        ),
    )
    fit.add_argument("data", help="CSV file with a header row")
    fit.add_argument(
        "--model",
        required=True,
        metavar="PATH",
        help="where to save the fitted model (.joblib)",
    )
    fit.set_defaults(run=run_fit)

    predict = commands.add_parser(
        "predict",
        help="predict the rows of a CSV file with a saved model",
        description=(
            "Predict every row of a CSV file with a model saved by fit. The file "
            "needs the model's feature columns; other columns (the target among "
            "them) are copied to the output unchanged."
        ),
    )
    predict.add_argument("data", help="CSV file with the model's feature columns")
    predict.add_argument(
        "--model", required=True, metavar="PATH", help="model file saved by fit"
    )
    predict.add_argument(
        "--output",
        required=True,
        metavar="PATH",
        help="CSV file to write: the input columns plus 'prediction' and, for a "
        "classifier, one 'proba_<class>' column per class",
    )
    predict.set_defaults(run=run_predict)

    evaluate = commands.add_parser(
        "evaluate",
        parents=[model_options],
        help="does pretraining help? test accuracy against the number of labels",
        description=(
            "Hold out a test set of labeled rows, keep a fraction of the other "
            "labels, and compare the pretrained classifier with the same network "
            "trained from scratch and with a logistic regression (see "
            "sae_sklearn.evaluation.label_efficiency_curve). Rows with a blank "
            "target are never tested; they join every training set as unlabeled "
            "rows. Classification only."
        ),
    )
    evaluate.add_argument("data", help="CSV file with a header row")
    evaluate.add_argument(
        "--fractions",
        type=_fractions,
        metavar="F1,F2,...",
        default=[0.05, 0.1, 0.2, 1.0],
        help="shares of the labeled training rows that keep their label, "
        "comma-separated (default: 0.05,0.1,0.2,1.0)",
    )
    evaluate.add_argument(
        "--repeats",
        type=_positive_int,
        metavar="N",
        default=3,
        help="number of test splits and label draws to average over (default: 3)",
    )
    evaluate.add_argument(
        "--output-plot",
        metavar="PATH",
        help="save the curve as an image, e.g. curve.png",
    )
    evaluate.set_defaults(run=run_evaluate)


def _model_options() -> argparse.ArgumentParser:
    """Return a parent parser with the options shared by fit and evaluate."""
    pretrainer = AutoencoderPretrainer().get_params()
    classifier = PretrainedClassifier().get_params()
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--target", required=True, metavar="COLUMN", help="name of the target column"
    )
    options.add_argument(
        "--task",
        choices=TASKS,
        help="what to predict; by default classification when the labeled "
        "targets are not all numbers, or are integers with at most "
        f"{MAX_AUTO_CLASSES} distinct values, else regression (fit prints the "
        "choice)",
    )
    options.add_argument(
        "--freeze",
        type=_freeze,
        metavar="{none,all,K}",
        default="none",
        help="encoder layers kept as pretrained: none (fine-tune them all), all, "
        "or K, the K lowest (default: none)",
    )
    options.add_argument(
        "--hidden",
        type=_layer_sizes,
        metavar="SIZES",
        help="units of the encoder layers, comma-separated (default: "
        f"{','.join(map(str, pretrainer['hidden_layer_sizes']))})",
    )
    options.add_argument(
        "--max-iter",
        type=_positive_int,
        metavar="N",
        help=f"maximum epochs of supervised training (default: "
        f"{classifier['max_iter']})",
    )
    options.add_argument(
        "--pretrain-max-iter",
        type=_positive_int,
        metavar="N",
        help=f"maximum epochs of autoencoder pretraining (default: "
        f"{pretrainer['max_iter']})",
    )
    options.add_argument(
        "--random-state",
        type=int,
        metavar="N",
        help="seed for reproducible results (default: none, each run differs)",
    )
    options.add_argument(
        "--scale",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="scale each feature to [0, 1] (MinMaxScaler) before the network "
        "(default: --scale)",
    )
    return options


# --- reading and checking the data --------------------------------------------


def _import_pandas():
    try:
        import pandas
    except ImportError as error:
        raise CommandError(
            "reading CSV files needs pandas: pip install 'sae-sklearn[cli]'"
        ) from error
    return pandas


def _read_csv(path: str):
    """Return the CSV file as a DataFrame of strings; blank cells are ''."""
    pd = _import_pandas()
    try:
        # Strings keep the cells as written (labels such as "NA" or "007" stay
        # labels, and predict copies the input columns unchanged); only blank
        # target cells mean "unlabeled".
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise CommandError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise CommandError(f"{path} is a directory, not a CSV file") from None
    except pd.errors.EmptyDataError:
        raise CommandError(
            f"{path} is empty; expected a CSV file with a header row"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as error:
        raise CommandError(f"cannot read {path} as a CSV file: {error}") from None


def _check_output_path(path: str, option: str) -> None:
    """Fail before training rather than after it when ``path`` cannot be written."""
    target = Path(path)
    if target.is_dir():
        raise CommandError(f"{option} {path} is a directory; give a file name")
    if not target.parent.is_dir():
        raise CommandError(
            f"{option} {path}: the directory {target.parent} does not exist"
        )


def _check_target_column(frame, target: str, path: str) -> None:
    if target not in frame.columns:
        columns = ", ".join(map(repr, frame.columns[:20]))
        more = " ..." if len(frame.columns) > 20 else ""
        raise CommandError(
            f"no column {target!r} in {path} for --target; its columns are: "
            f"{columns}{more}"
        )


def _feature_matrix(frame, features: list, path: str):
    """Return the feature columns as floats, or say which columns are unusable."""
    pd = _import_pandas()
    cells = frame[features]
    values = cells.apply(pd.to_numeric, errors="coerce").astype(float)
    blank = cells.apply(lambda column: column.str.strip() == "")
    non_numeric = values.isna() & ~blank
    if non_numeric.any().any():
        named = [
            f"{name!r} (e.g. {cells[name][non_numeric[name]].iloc[0]!r})"
            for name in features
            if non_numeric[name].any()
        ]
        raise CommandError(
            f"non-numeric feature columns in {path}: {', '.join(named)}. Every "
            "column except the target is a feature: encode these columns as "
            "numbers (e.g. one-hot) or drop them from the CSV file."
        )
    missing = blank | np.isinf(values)
    if missing.any().any():
        named = [
            f"{name!r} ({missing[name].sum()} rows)"
            for name in features
            if missing[name].any()
        ]
        raise CommandError(
            f"blank or infinite feature values in {path}: {', '.join(named)}. "
            "Fill them in or drop those rows."
        )
    return values


def _parse_target(column, task: str | None, name: str):
    """Return ``(task, reason, y)``, ``y`` in the estimator's unlabeled convention.

    Classification: integer labels become an int array, other labels stay
    strings in an object array; -1 marks the unlabeled rows. Regression: floats,
    NaN for the unlabeled rows.
    """
    pd = _import_pandas()
    text = column.str.strip()
    labeled = (text != "").to_numpy()
    if not labeled.any():
        raise CommandError(
            f"the target column {name!r} has no labeled rows: every cell is blank. "
            "Fill in the target of some rows."
        )
    labels = text[labeled].to_numpy(dtype=object)
    numbers = pd.to_numeric(text[labeled], errors="coerce").to_numpy(dtype=float)
    numeric = bool(np.isfinite(numbers).all())
    integer = numeric and bool((numbers == np.round(numbers)).all())
    task, reason = _choose_task(task, labels, numbers, numeric, integer)

    if task == "regression":
        if not numeric:
            example = labels[~np.isfinite(numbers)][0]
            raise CommandError(
                f"regression needs numeric targets; column {name!r} has {example!r}. "
                "Use --task classification if its values are classes."
            )
        y = np.full(len(text), np.nan)
        y[labeled] = numbers
        return task, reason, y

    if (numeric and (numbers == -1).any()) or (labels == "-1").any():
        raise CommandError(
            f"the target column {name!r} has the label -1, which marks unlabeled "
            "rows inside the model; rename that class in the CSV file (blank "
            "cells are the unlabeled rows)."
        )
    if integer:
        y = np.full(len(text), -1, dtype=np.int64)
        y[labeled] = numbers.astype(np.int64)
    else:
        y = np.full(len(text), -1, dtype=object)
        y[labeled] = labels
    return task, reason, y


def _choose_task(task, labels, numbers, numeric: bool, integer: bool):
    """Return the task and why it was chosen."""
    if task is not None:
        return task, "set by --task"
    if not numeric:
        example = labels[~np.isfinite(numbers)][0]
        return "classification", f"the target has non-numeric values, e.g. {example!r}"
    n_distinct = len(np.unique(numbers))
    if integer and n_distinct <= MAX_AUTO_CLASSES:
        return "classification", (
            f"the labeled targets are {n_distinct} distinct integers, at most "
            f"{MAX_AUTO_CLASSES}"
        )
    if integer:
        return "regression", (
            f"the labeled targets are {n_distinct} distinct integers, more than "
            f"{MAX_AUTO_CLASSES}"
        )
    return "regression", "the labeled targets are numbers, not all integers"


def _load_table(args) -> SimpleNamespace:
    """Read ``args.data`` into features ``X`` and targets ``y`` (fit, evaluate)."""
    frame = _read_csv(args.data)
    _check_target_column(frame, args.target, args.data)
    features = [name for name in frame.columns if name != args.target]
    if not features:
        raise CommandError(
            f"{args.data} has no feature columns: only the target {args.target!r}"
        )
    X = _feature_matrix(frame, features, args.data)
    task, reason, y = _parse_target(frame[args.target], args.task, args.target)
    labeled = y != -1 if task == "classification" else ~np.isnan(y)
    return SimpleNamespace(
        n_rows=len(frame),
        n_labeled=int(np.count_nonzero(labeled)),
        features=features,
        X=X,
        y=y,
        task=task,
        reason=reason,
    )


# --- the model ----------------------------------------------------------------


def _build_model(args, task: str):
    """Return the pipeline: [MinMaxScaler,] Pretrained{Classifier,Regressor}."""
    pretrainer_params = {"random_state": args.random_state}
    if args.hidden is not None:
        pretrainer_params["hidden_layer_sizes"] = args.hidden
    if args.pretrain_max_iter is not None:
        pretrainer_params["max_iter"] = args.pretrain_max_iter
    pretrainer = AutoencoderPretrainer(**pretrainer_params)

    n_layers = len(pretrainer.hidden_layer_sizes)
    if isinstance(args.freeze, int) and args.freeze > n_layers:
        raise CommandError(
            f"--freeze {args.freeze} is more than the {n_layers} encoder layers; "
            f"use 0 to {n_layers}, none or all"
        )
    head_params = {"freeze": args.freeze, "random_state": args.random_state}
    if args.max_iter is not None:
        head_params["max_iter"] = args.max_iter
    head = ESTIMATORS[task](pretrainer, **head_params)
    return make_pipeline(MinMaxScaler(), head) if args.scale else make_pipeline(head)


def _run_quietly(function, *args, **kwargs):
    """Return ``function(...)`` and the distinct convergence warnings it raised.

    A CLI user wants one line saying which option to raise, not a warning with
    a source location per fit.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            result = function(*args, **kwargs)
        except ValueError as error:  # the estimators' checks of the data
            raise CommandError(str(error)) from None
    notes = []
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            notes.append(str(warning.message))
        else:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return result, list(dict.fromkeys(notes))


def _print_convergence_notes(notes) -> None:
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if notes:
        print(
            "note: raise --pretrain-max-iter (the autoencoder) or --max-iter (the "
            "classifier or regressor) to train longer",
            file=sys.stderr,
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _shorten(values, limit: int = 12) -> str:
    shown = ", ".join(map(str, values[:limit]))
    return shown + (", ..." if len(values) > limit else "")


# --- the commands -------------------------------------------------------------


def run_fit(args) -> None:
    """Train on ``args.data`` and save the model bundle to ``args.model``."""
    _check_output_path(args.model, "--model")
    table = _load_table(args)
    model = _build_model(args, table.task)
    start = time.perf_counter()
    _, notes = _run_quietly(model.fit, table.X, table.y)
    seconds = time.perf_counter() - start
    bundle = {
        "model": model,
        "features": table.features,
        "target": args.target,
        "task": table.task,
    }
    try:
        joblib.dump(bundle, args.model)
    except OSError as error:
        raise CommandError(f"cannot write --model {args.model}: {error}") from None

    print(
        f"read {args.data}: {_count(table.n_rows, 'row')}, "
        f"{_count(len(table.features), 'feature column')}, target {args.target!r}"
    )
    print(
        f"labeled rows: {table.n_labeled} (unlabeled, with a blank target: "
        f"{table.n_rows - table.n_labeled}, not used for the supervised loss)"
    )
    print(f"task: {table.task} ({table.reason})")
    if table.task == "classification":
        print(f"classes ({len(model.classes_)}): {_shorten(list(model.classes_))}")
    print(f"trained in {seconds:.1f} s")
    print(f"saved to {args.model}")
    _print_convergence_notes(notes)


def _load_bundle(path: str) -> dict:
    if not Path(path).is_file():
        raise CommandError(
            f"no model file {path}; train one with: python -m sae_sklearn fit "
            f"DATA.csv --target COLUMN --model {path}"
        )
    try:
        bundle = joblib.load(path)
    # Unpickling a foreign or damaged file fails in many ways; all mean the same.
    except Exception as error:
        raise CommandError(
            f"cannot load the model file {path} ({type(error).__name__}); is it a "
            "model saved by python -m sae_sklearn fit?"
        ) from None
    if not isinstance(bundle, dict) or not set(BUNDLE_KEYS) <= set(bundle):
        raise CommandError(f"{path} is not a model saved by python -m sae_sklearn fit")
    return bundle


def run_predict(args) -> None:
    """Write the rows of ``args.data`` with their predictions to ``args.output``."""
    bundle = _load_bundle(args.model)
    _check_output_path(args.output, "--output")
    frame = _read_csv(args.data)
    features = bundle["features"]
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise CommandError(
            f"{args.data} lacks {len(missing)} of the model's {len(features)} "
            f"feature columns: {_shorten(missing, limit=20)}"
        )
    if frame.empty:
        raise CommandError(f"{args.data} has no rows to predict")
    X = _feature_matrix(frame, features, args.data)
    model = bundle["model"]
    predictions = {"prediction": model.predict(X)}
    if bundle["task"] == "classification":
        probabilities = model.predict_proba(X)
        for index, label in enumerate(model.classes_):
            predictions[f"proba_{label}"] = probabilities[:, index]

    pd = _import_pandas()
    # Columns of an earlier prediction run are replaced, not duplicated.
    kept = frame.drop(columns=[name for name in predictions if name in frame.columns])
    output = pd.concat([kept, pd.DataFrame(predictions, index=frame.index)], axis=1)
    try:
        output.to_csv(args.output, index=False)
    except OSError as error:
        raise CommandError(f"cannot write --output {args.output}: {error}") from None
    print(
        f"predicted {len(frame)} rows ({bundle['task']}, target "
        f"{bundle['target']!r}); wrote {args.output}",
    )


def run_evaluate(args) -> None:
    """Print (and optionally plot) test accuracy against the number of labels."""
    from .evaluation import label_efficiency_curve

    if args.output_plot is not None:
        _check_output_path(args.output_plot, "--output-plot")
        _import_figure()  # fail before the fits, not after them
    table = _load_table(args)
    if table.task != "classification":
        raise CommandError(
            "evaluate compares classifiers, but the task is regression "
            f"({table.reason}); "
            "pass --task classification if the target's values are classes"
        )
    result, notes = _run_quietly(
        label_efficiency_curve,
        _build_model(args, table.task),
        table.X,
        table.y,
        fractions=args.fractions,
        n_repeats=args.repeats,
        random_state=args.random_state,
    )
    print(
        f"test {result.attrs['scoring']}, mean ± std over "
        f"{_count(args.repeats, 'repeat')}; "
        f"{table.n_labeled} labeled rows (a quarter held out for testing), "
        f"{table.n_rows - table.n_labeled} unlabeled rows"
    )
    columns = result[["fraction", "n_labeled", "model", "mean", "std", "fit_time"]]
    print(
        columns.rename(columns={"n_labeled": "labeled rows", "fit_time": "fit s"})
        .round({"mean": 3, "std": 3, "fit s": 2, "labeled rows": 1})
        .to_string(index=False),
    )
    if args.output_plot is not None:
        _save_plot(result, args.output_plot)
        print(f"saved the plot to {args.output_plot}")
    _print_convergence_notes(notes)


def _import_figure():
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise CommandError(
            "--output-plot needs matplotlib: pip install matplotlib"
        ) from error
    return Figure


def _save_plot(result, path: str) -> None:
    from .plotting import plot_label_efficiency

    # A bare Figure renders with Agg and leaves pyplot's state alone.
    figure = _import_figure()(figsize=(6.5, 4.5), layout="constrained")
    plot_label_efficiency(result, ax=figure.subplots())
    try:
        figure.savefig(path, dpi=120)
    except (OSError, ValueError) as error:
        raise CommandError(f"cannot save --output-plot {path}: {error}") from None
