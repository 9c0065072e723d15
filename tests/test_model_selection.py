import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)

from sae_sklearn import AutoencoderPretrainer, PretrainedClassifier
from sae_sklearn.model_selection import SemiSupervisedKFold


def partly_labeled(n_per_class=(12, 9, 6), n_unlabeled=10, seed=0):
    """Rows sorted by class, with unlabeled rows (-1) scattered among them."""
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    y = np.insert(y, np.random.default_rng(seed).integers(0, len(y), n_unlabeled), -1)
    return np.zeros((len(y), 2)), y


def folds(cv, X, y):
    return list(cv.split(X, y))


@pytest.mark.parametrize("stratify", [True, False])
@pytest.mark.parametrize("shuffle", [True, False])
def test_test_folds_partition_the_labeled_rows(stratify, shuffle):
    X, y = partly_labeled()
    random_state = 0 if shuffle else None
    cv = SemiSupervisedKFold(
        3, stratify=stratify, shuffle=shuffle, random_state=random_state
    )
    splits = folds(cv, X, y)
    assert len(splits) == 3
    tests = np.concatenate([test for _, test in splits])
    # Each labeled row is tested exactly once, and nothing else is tested.
    np.testing.assert_array_equal(np.sort(tests), np.flatnonzero(y != -1))


@pytest.mark.parametrize("stratify", [True, False])
def test_unlabeled_rows_are_in_every_train_fold_and_no_test_fold(stratify):
    X, y = partly_labeled()
    unlabeled = np.flatnonzero(y == -1)
    assert len(unlabeled) == 10
    for train, test in folds(SemiSupervisedKFold(3, stratify=stratify), X, y):
        assert np.isin(unlabeled, train).all()
        assert not np.isin(unlabeled, test).any()
        assert (y[test] != -1).all()


def test_train_and_test_are_sorted_disjoint_and_cover_all_rows():
    X, y = partly_labeled()
    cv = SemiSupervisedKFold(3, shuffle=True, random_state=0)
    for train, test in folds(cv, X, y):
        for indices in (train, test):
            assert indices.dtype.kind == "i"
            assert (np.diff(indices) > 0).all()
        assert len(np.intersect1d(train, test)) == 0
        np.testing.assert_array_equal(np.union1d(train, test), np.arange(len(y)))


def test_stratified_folds_keep_class_proportions():
    X, y = partly_labeled(n_per_class=(12, 9, 6))
    for _, test in folds(SemiSupervisedKFold(3), X, y):
        np.testing.assert_array_equal(np.bincount(y[test], minlength=3), [4, 3, 2])
    # Without stratification, rows sorted by class give one-class test folds.
    first_test = folds(SemiSupervisedKFold(3, stratify=False), X, y)[0][1]
    np.testing.assert_array_equal(np.bincount(y[first_test], minlength=3), [9, 0, 0])


@pytest.mark.parametrize(
    "stratify, splitter", [(True, StratifiedKFold), (False, KFold)]
)
def test_test_folds_are_those_of_the_sklearn_splitter_on_labeled_rows(
    stratify, splitter
):
    X, y = partly_labeled()
    labeled = np.flatnonzero(y != -1)
    cv = SemiSupervisedKFold(3, stratify=stratify, shuffle=True, random_state=7)
    expected = splitter(3, shuffle=True, random_state=7).split(X[labeled], y[labeled])
    for (_, test), (_, labeled_test) in zip(folds(cv, X, y), expected, strict=True):
        np.testing.assert_array_equal(test, np.sort(labeled[labeled_test]))


def test_shuffle_with_random_state_is_reproducible_and_shuffles():
    X, y = partly_labeled()

    def test_folds(**params):
        return [test for _, test in folds(SemiSupervisedKFold(3, **params), X, y)]

    first = test_folds(shuffle=True, random_state=0)
    again = test_folds(shuffle=True, random_state=0)
    unshuffled = test_folds()
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, unshuffled, strict=True))


def test_string_labels_with_minus_one_in_an_object_array():
    y = np.array(["cat", -1, "dog", "cat", -1, "dog", "cat", "dog"], dtype=object)
    X = np.zeros((len(y), 1))
    splits = folds(SemiSupervisedKFold(3), X, y)
    tests = [test for _, test in splits]
    np.testing.assert_array_equal(np.sort(np.concatenate(tests)), [0, 2, 3, 5, 6, 7])
    for train, test in splits:
        assert {1, 4} <= set(train)
        assert sorted(y[test]) == ["cat", "dog"]


def test_split_without_y_raises():
    with pytest.raises(ValueError, match="needs the labels y"):
        next(SemiSupervisedKFold(3).split(np.zeros((10, 2)), None))


def test_fewer_labeled_rows_than_folds_raises_naming_the_numbers():
    y = np.array([0, 1, -1, -1, -1, -1, 0, -1])
    with pytest.raises(
        ValueError, match=r"n_splits=4 labeled rows .* got 3 labeled of 8 rows"
    ):
        SemiSupervisedKFold(4, stratify=False).split(np.zeros((8, 1)), y)


def test_class_with_fewer_rows_than_folds_warns_like_stratified_kfold():
    X, y = partly_labeled(n_per_class=(12, 9, 2))
    with pytest.warns(UserWarning, match="least populated class in y has only 2"):
        splits = folds(SemiSupervisedKFold(3), X, y)
    assert len(splits) == 3


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_splits": 1}, "'n_splits' parameter"),
        ({"n_splits": 2.0}, "'n_splits' parameter"),
        ({"stratify": "yes"}, "'stratify' parameter"),
        ({"shuffle": 1}, "'shuffle' parameter"),
        ({"shuffle": True, "random_state": "seed"}, "'random_state' parameter"),
        ({"random_state": 0}, "random_state has no effect since shuffle is False"),
    ],
)
def test_invalid_parameters_raise(params, message):
    with pytest.raises(ValueError, match=message):
        SemiSupervisedKFold(**params)


def test_get_n_splits_and_repr():
    cv = SemiSupervisedKFold(4, shuffle=True, random_state=3)
    assert cv.get_n_splits() == 4
    # sklearn's repr wraps long lines; compare with the whitespace collapsed.
    assert " ".join(repr(cv).split()) == (
        "SemiSupervisedKFold(n_splits=4, random_state=3, shuffle=True, stratify=True)"
    )


def test_groups_are_ignored_with_a_warning():
    X, y = partly_labeled()
    with pytest.warns(UserWarning, match="groups parameter is ignored"):
        with_groups = list(SemiSupervisedKFold(3).split(X, y, groups=np.arange(len(y))))
    for (train, test), (train_ref, test_ref) in zip(
        with_groups, folds(SemiSupervisedKFold(3), X, y), strict=True
    ):
        np.testing.assert_array_equal(train, train_ref)
        np.testing.assert_array_equal(test, test_ref)


@pytest.fixture(scope="module")
def digits_partly_labeled():
    X, y = load_digits(return_X_y=True)
    X, y = X[:200] / 16.0, y[:200]
    y_partial = np.where(np.random.default_rng(0).random(len(y)) < 0.4, y, -1)
    return X, y_partial


def tiny_classifier():
    return PretrainedClassifier(
        AutoencoderPretrainer((16,), max_iter=3, random_state=0),
        max_iter=5,
        random_state=0,
    )


class RecordingScorer:
    """Accuracy scorer that keeps the labels of every test fold it scores."""

    def __init__(self):
        self.seen = []

    def __call__(self, estimator, X, y):
        self.seen.append(np.asarray(y))
        return accuracy_score(y, estimator.predict(X))


def test_cross_validate_tests_labeled_rows_and_trains_on_unlabeled(
    digits_partly_labeled,
):
    X, y = digits_partly_labeled
    scorer = RecordingScorer()
    result = cross_validate(
        tiny_classifier(),
        X,
        y,
        cv=SemiSupervisedKFold(3),
        scoring=scorer,
        return_indices=True,
    )
    assert len(result["test_score"]) == 3
    assert len(scorer.seen) == 3
    assert all((seen != -1).all() for seen in scorer.seen)
    # Every labeled row is scored once; every unlabeled row is trained on each time.
    assert sum(len(seen) for seen in scorer.seen) == np.count_nonzero(y != -1)
    unlabeled = np.flatnonzero(y == -1)
    for train in result["indices"]["train"]:
        assert np.isin(unlabeled, train).all()


def test_cross_val_score_never_scores_unlabeled_rows(digits_partly_labeled):
    X, y = digits_partly_labeled
    scorer = RecordingScorer()
    scores = cross_val_score(
        tiny_classifier(), X, y, cv=SemiSupervisedKFold(2), scoring=scorer
    )
    assert scores.shape == (2,)
    assert ((0 <= scores) & (scores <= 1)).all()
    assert len(scorer.seen) == 2
    assert all((seen != -1).all() for seen in scorer.seen)


def test_grid_search_with_semi_supervised_folds(digits_partly_labeled):
    X, y = digits_partly_labeled
    scorer = RecordingScorer()
    search = GridSearchCV(
        tiny_classifier(),
        {"freeze": ["none", "all"]},
        cv=SemiSupervisedKFold(2, shuffle=True, random_state=0),
        scoring=scorer,
    ).fit(X, y)
    assert search.n_splits_ == 2
    assert search.best_params_["freeze"] in {"none", "all"}
    assert len(scorer.seen) == 4  # 2 candidates x 2 folds; refit is not scored
    assert all((seen != -1).all() for seen in scorer.seen)
