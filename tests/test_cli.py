import argparse
import contextlib
import io
import os
import subprocess
import sys

import joblib
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

import sae_sklearn.__main__ as cli_main
from sae_sklearn import PretrainedClassifier, PretrainedRegressor
from sae_sklearn.__main__ import build_parser, main
from sae_sklearn._cli import _parse_target

pd = pytest.importorskip("pandas")

SMALL = ["--hidden", "16,8", "--max-iter", "20", "--pretrain-max-iter", "10"]
FEATURES = [f"pixel_{index}" for index in range(64)]


def digits_frame(n_rows=300, blank_fraction=0.3, seed=0):
    """Digits pixels (/16) and a 'digit' column, with blank (NA) targets."""
    X, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(X[:n_rows] / 16.0, columns=FEATURES)
    blank = np.random.default_rng(seed).random(n_rows) < blank_fraction
    frame["digit"] = pd.array(np.where(blank, None, y[:n_rows]), dtype="Int64")
    return frame


def write_csv(frame, path):
    frame.to_csv(path, index=False)  # NA cells are written blank
    return str(path)


def run(argv):
    """Return the exit code and stdout of ``main(argv)``."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(argv)
    return code, stdout.getvalue()


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Train on one thread: these tiny networks gain nothing from more, and on a
    busy machine torch's thread pool slows them down many times over."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits_csv(tmp_path_factory):
    return write_csv(digits_frame(), tmp_path_factory.mktemp("data") / "digits.csv")


@pytest.fixture(scope="module")
def classifier_file(digits_csv, tmp_path_factory):
    """A classifier fitted by the command line: (model path, exit code, stdout)."""
    path = str(tmp_path_factory.mktemp("model") / "model.joblib")
    argv = ["fit", digits_csv, "--target", "digit", "--model", path]
    code, stdout = run([*argv, *SMALL, "--random-state", "0"])
    return path, code, stdout


# --- help and dispatch --------------------------------------------------------


def test_help_mentions_every_command_and_the_blank_target_convention(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("demo", "fit", "predict", "evaluate"):
        assert command in out
    assert "blank" in out and "unlabeled" in out


def test_every_option_has_help_text():
    parser = build_parser()
    commands = next(
        action
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    assert set(commands.choices) == {"demo", "fit", "predict", "evaluate"}
    for name, subparser in commands.choices.items():
        for action in subparser._actions:
            assert action.help, f"{name} {action.option_strings or action.dest}"


@pytest.mark.parametrize("command", ["fit", "predict", "evaluate"])
def test_command_help_exits_zero(command, capsys):
    assert main([command, "--help"]) == 0
    assert f"python -m sae_sklearn {command}" in capsys.readouterr().out


def test_no_command_runs_the_demo_with_its_defaults(monkeypatch):
    calls = []
    monkeypatch.setattr(cli_main, "run_demo", lambda **kwargs: calls.append(kwargs))
    assert main([]) == 0
    assert main(["demo", "--seeds", "2", "--label-fraction", "0.1"]) == 0
    assert calls == [
        {"n_seeds": 5, "label_fraction": 0.05},
        {"n_seeds": 2, "label_fraction": 0.1},
    ]


# --- fit and predict ----------------------------------------------------------


def test_fit_prints_summary_and_saves_bundle(classifier_file, digits_csv):
    path, code, stdout = classifier_file
    assert code == 0
    n_labeled = int(pd.read_csv(digits_csv)["digit"].notna().sum())
    assert "300 rows, 64 feature columns, target 'digit'" in stdout
    assert f"labeled rows: {n_labeled} (unlabeled, with a blank target: " in stdout
    assert f"target: {300 - n_labeled}, not used for the supervised loss)" in stdout
    assert "task: classification (the labeled targets are 10 distinct" in stdout
    assert "classes (10): 0, 1, 2" in stdout
    assert f"saved to {path}" in stdout

    bundle = joblib.load(path)
    assert bundle["features"] == FEATURES
    assert (bundle["target"], bundle["task"]) == ("digit", "classification")
    model = bundle["model"]
    assert isinstance(model, Pipeline)
    assert isinstance(model.steps[0][1], MinMaxScaler)
    assert isinstance(model.steps[-1][1], PretrainedClassifier)
    assert model.steps[-1][1].pretrainer.hidden_layer_sizes == (16, 8)
    assert list(model.classes_) == list(range(10))


def test_predict_round_trip_matches_the_saved_model(classifier_file, tmp_path):
    model_path = classifier_file[0]
    # Reordered columns, an extra string column and no target column at all.
    frame = digits_frame().drop(columns="digit")[FEATURES[::-1]]
    frame.insert(0, "id", [f"row-{index}" for index in range(len(frame))])
    data = write_csv(frame, tmp_path / "new.csv")
    output = str(tmp_path / "predictions.csv")

    code, stdout = run(["predict", data, "--model", model_path, "--output", output])

    assert code == 0
    assert "predicted 300 rows" in stdout
    result = pd.read_csv(output)
    proba_columns = [f"proba_{label}" for label in range(10)]
    assert list(result.columns) == [*frame.columns, "prediction", *proba_columns]
    assert len(result) == 300
    assert result["id"].tolist() == frame["id"].tolist()
    assert set(result["prediction"]) <= set(range(10))
    np.testing.assert_allclose(result[proba_columns].sum(axis=1), 1.0, atol=1e-6)
    model = joblib.load(model_path)["model"]
    np.testing.assert_array_equal(result["prediction"], model.predict(frame[FEATURES]))
    np.testing.assert_allclose(
        result[proba_columns], model.predict_proba(frame[FEATURES]), rtol=1e-12
    )


def test_regression_round_trip(tmp_path):
    frame = digits_frame()
    pixels = frame[FEATURES].to_numpy()
    target = pixels[:, :32].mean(axis=1) + 0.5 * pixels[:, 32:].mean(axis=1)
    frame["ink"] = np.where(frame["digit"].isna(), np.nan, target)
    frame = frame.drop(columns="digit")
    data = write_csv(frame, tmp_path / "ink.csv")
    model_path = str(tmp_path / "ink.joblib")
    output = str(tmp_path / "ink_predictions.csv")

    code, stdout = run(
        ["fit", data, "--target", "ink", "--model", model_path, *SMALL, "--no-scale"]
    )
    assert code == 0
    assert "task: regression (the labeled targets are numbers" in stdout
    code, _ = run(["predict", data, "--model", model_path, "--output", output])
    assert code == 0

    result = pd.read_csv(output)
    assert list(result.columns) == [*frame.columns, "prediction"]
    assert len(result) == 300
    bundle = joblib.load(model_path)
    assert bundle["task"] == "regression"
    model = bundle["model"]
    assert len(model.steps) == 1  # --no-scale
    assert isinstance(model.steps[0][1], PretrainedRegressor)
    np.testing.assert_allclose(
        result["prediction"], model.predict(frame[FEATURES]), rtol=1e-12
    )


def test_string_labels_stay_as_given(tmp_path):
    frame = digits_frame(n_rows=120)
    names = np.array(["even", "odd"], dtype=object)
    frame["parity"] = np.where(
        frame["digit"].isna(), None, names[frame["digit"].fillna(0) % 2]
    )
    frame = frame.drop(columns="digit")
    data = write_csv(frame, tmp_path / "parity.csv")
    model_path = str(tmp_path / "parity.joblib")
    output = str(tmp_path / "parity_predictions.csv")
    argv = ["fit", data, "--target", "parity", "--model", model_path]

    code, stdout = run([*argv, "--hidden", "8", "--max-iter", "5", "--freeze", "1"])
    assert code == 0
    assert "non-numeric values, e.g. 'even'" in stdout
    code, _ = run(["predict", data, "--model", model_path, "--output", output])
    assert code == 0
    result = pd.read_csv(output)
    assert set(result["prediction"]) <= {"even", "odd"}
    assert {"proba_even", "proba_odd"} <= set(result.columns)


@pytest.mark.parametrize(
    ("cells", "task", "chosen", "labels"),
    [
        (["a", "", "b"], None, "classification", ["a", -1, "b"]),
        (["3", " ", "7"], None, "classification", [3, -1, 7]),
        ([str(v) for v in range(21)] + [""], None, "regression", None),
        (["0.5", "", "1.5"], None, "regression", None),
        (["0.5", "", "1.5"], "classification", "classification", ["0.5", -1, "1.5"]),
        (["1", "", "2"], "regression", "regression", [1.0, np.nan, 2.0]),
    ],
)
def test_task_rule_and_target_encoding(cells, task, chosen, labels):
    chosen_task, _, y = _parse_target(pd.Series(cells), task, "target")
    assert chosen_task == chosen
    if chosen == "regression":
        assert np.isnan(y[np.array(cells) == ""]).all()
    if labels is not None:
        np.testing.assert_array_equal(y, np.array(labels, dtype=y.dtype))


# --- evaluate -----------------------------------------------------------------


def test_evaluate_prints_table_and_saves_plot(digits_csv, tmp_path, capsys):
    plot = tmp_path / "curve.png"
    argv = ["evaluate", digits_csv, "--target", "digit", "--fractions", "0.2,1.0"]
    options = ["--repeats", "1", "--hidden", "16,8", "--max-iter", "10"]
    options += ["--pretrain-max-iter", "5", "--random-state", "0"]

    assert main([*argv, *options, "--output-plot", str(plot)]) == 0

    out = capsys.readouterr().out
    assert "test accuracy, mean ± std over 1 repeat;" in out
    assert "fraction" in out
    for model in ("PretrainedClassifier", "no pretraining", "logistic regression"):
        assert out.count(model) == 2  # one row per fraction
    assert plot.read_bytes().startswith(b"\x89PNG")


# --- errors -------------------------------------------------------------------


def error_of(argv, capsys) -> str:
    """Run a failing command; return its stderr after checking it is clean."""
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err
    return captured.err


@pytest.fixture
def csv_file(tmp_path):
    def write(text, name="data.csv"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


def test_error_missing_file(tmp_path, capsys):
    missing = str(tmp_path / "nope.csv")
    err = error_of(["fit", missing, "--target", "y", "--model", "m.joblib"], capsys)
    assert f"no such file: {missing}" in err


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is empty"),
        ('a,b,y\n1,2,3\n1,2,3,4,5\n"', "cannot read"),
    ],
)
def test_error_unreadable_csv(csv_file, tmp_path, capsys, text, fragment):
    model = str(tmp_path / "m.joblib")
    err = error_of(["fit", csv_file(text), "--target", "y", "--model", model], capsys)
    assert fragment in err


def test_error_directory_instead_of_csv(tmp_path, capsys):
    argv = ["fit", str(tmp_path), "--target", "y", "--model", "m.joblib"]
    assert "is a directory" in error_of(argv, capsys)


def test_error_missing_target_column(csv_file, tmp_path, capsys):
    data = csv_file("a,b,label\n1,2,x\n")
    argv = ["fit", data, "--target", "y", "--model", str(tmp_path / "m.joblib")]
    err = error_of(argv, capsys)
    assert "no column 'y'" in err and "'label'" in err


def test_error_non_numeric_features_are_named(csv_file, tmp_path, capsys):
    data = csv_file("size,colour,city,y\n1,red,Oslo,0\n2,blue,Rome,1\n")
    argv = ["fit", data, "--target", "y", "--model", str(tmp_path / "m.joblib")]
    err = error_of(argv, capsys)
    assert "non-numeric feature columns" in err
    assert "'colour' (e.g. 'red')" in err and "'city'" in err
    assert "'size'" not in err
    assert "encode" in err and "drop" in err


def test_error_blank_feature_values(csv_file, tmp_path, capsys):
    data = csv_file("a,b,y\n1,,0\n2,3,1\n")
    argv = ["fit", data, "--target", "y", "--model", str(tmp_path / "m.joblib")]
    assert "blank or infinite feature values" in error_of(argv, capsys)


def test_error_no_labeled_rows(csv_file, tmp_path, capsys):
    data = csv_file("a,b,y\n1,2,\n3,4,\n")
    argv = ["fit", data, "--target", "y", "--model", str(tmp_path / "m.joblib")]
    assert "no labeled rows" in error_of(argv, capsys)


@pytest.mark.parametrize("label", ["-1", "-1.0"])
def test_error_label_minus_one_is_reserved(csv_file, tmp_path, capsys, label):
    data = csv_file(f"a,y\n1,{label}\n2,1\n3,\n")
    argv = ["fit", data, "--target", "y", "--model", str(tmp_path / "m.joblib")]
    err = error_of(argv, capsys)
    assert "label -1" in err and "rename" in err


def test_error_regression_needs_numbers(csv_file, tmp_path, capsys):
    data = csv_file("a,y\n1,cat\n2,3.5\n")
    argv = ["fit", data, "--target", "y", "--model", str(tmp_path / "m.joblib")]
    err = error_of([*argv, "--task", "regression"], capsys)
    assert "regression needs numeric targets" in err and "'cat'" in err


def test_error_freeze_beyond_the_encoder(digits_csv, tmp_path, capsys):
    argv = ["fit", digits_csv, "--target", "digit", "--hidden", "16,8"]
    argv += ["--freeze", "3", "--model", str(tmp_path / "m.joblib")]
    assert "--freeze 3 is more than the 2 encoder layers" in error_of(argv, capsys)


def test_error_bad_option_value_is_a_usage_error(digits_csv, capsys):
    argv = ["fit", digits_csv, "--target", "digit", "--model", "m.joblib"]
    err = error_of([*argv, "--hidden", "16,x"], capsys)
    assert "usage:" in err and "positive integers" in err


def test_error_model_directory_missing(digits_csv, tmp_path, capsys):
    model = str(tmp_path / "missing_dir" / "m.joblib")
    argv = ["fit", digits_csv, "--target", "digit", "--model", model]
    assert "does not exist" in error_of(argv, capsys)


def test_error_model_file_missing(digits_csv, tmp_path, capsys):
    model = str(tmp_path / "m.joblib")
    argv = ["predict", digits_csv, "--model", model, "--output", "out.csv"]
    err = error_of(argv, capsys)
    assert f"no model file {model}" in err and "python -m sae_sklearn fit" in err


def test_error_not_a_model_file(digits_csv, tmp_path, capsys):
    model = tmp_path / "other.joblib"
    joblib.dump([1, 2, 3], model)
    argv = ["predict", digits_csv, "--model", str(model), "--output", "out.csv"]
    assert "not a model saved by" in error_of(argv, capsys)


def test_error_model_file_not_loadable(digits_csv, capsys):
    argv = ["predict", digits_csv, "--model", digits_csv, "--output", "out.csv"]
    assert "cannot load the model file" in error_of(argv, capsys)


def test_error_predict_names_missing_feature_columns(
    classifier_file, csv_file, tmp_path, capsys
):
    data = csv_file("pixel_0,pixel_1,digit\n0,0,1\n")
    output = str(tmp_path / "out.csv")
    argv = ["predict", data, "--model", classifier_file[0], "--output", output]
    err = error_of(argv, capsys)
    assert "lacks 62 of the model's 64 feature columns: pixel_2, pixel_3" in err


def test_error_evaluate_needs_classification(csv_file, capsys):
    data = csv_file("a,y\n1,0.5\n2,1.5\n3,\n")
    err = error_of(["evaluate", data, "--target", "y"], capsys)
    assert "evaluate compares classifiers" in err and "--task classification" in err


# --- the demo -----------------------------------------------------------------


def test_demo_command_still_runs():
    completed = subprocess.run(
        [sys.executable, "-m", "sae_sklearn", "demo", "--seeds", "1"],
        env={**os.environ, "OMP_NUM_THREADS": "1"},  # see one_torch_thread
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "test accuracy, mean ± std over 1 seeds" in completed.stdout
    assert "pretrained + fine-tuned encoder" in completed.stdout
