import re

from conftest import small_pretrainer

from sae_sklearn import PretrainedClassifier

LINE = re.compile(
    r"^\[(?P<phase>[^\]]+)\] epoch +(?P<epoch>\d+)  train loss \d+\.\d+"
    r"(  valid loss \d+\.\d+)?  \d+\.\d+ s$"
)


def _lines(text):
    return [LINE.match(line) for line in text.splitlines()]


def test_verbose_prints_one_line_per_epoch_and_phase(digits, capsys):
    X, _, y = digits
    clf = PretrainedClassifier(
        small_pretrainer(max_iter=4, tol=0.0, verbose=1),
        max_iter=3,
        tol=0.0,
        early_stopping=True,
        random_state=0,
        verbose=1,
    ).fit(X, y)
    lines = _lines(capsys.readouterr().out)
    assert all(lines), "every printed line is an epoch line"
    phases = [(m["phase"], int(m["epoch"])) for m in lines]
    assert phases == [("pretraining", e) for e in range(1, 5)] + [
        ("fine-tuning", e) for e in range(1, 4)
    ]
    assert all("valid loss" in m.group(0) for m in lines[4:])
    assert clf.n_iter_ == 3


def test_layerwise_stages_are_labelled(digits, capsys):
    X = digits[0]
    small_pretrainer(max_iter=2, tol=0.0, layerwise=True, verbose=1).fit(X)
    phases = [m["phase"] for m in _lines(capsys.readouterr().out)]
    assert phases == ["pretraining stage 1"] * 2 + ["pretraining stage 2"] * 2


def test_verbose_zero_prints_nothing(digits, capsys):
    X, _, y = digits
    PretrainedClassifier(small_pretrainer(max_iter=2), max_iter=2, random_state=0).fit(
        X, y
    )
    assert capsys.readouterr().out == ""
