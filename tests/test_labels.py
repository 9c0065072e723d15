"""Label handling: everything check_classifiers_classes covers, bar its [-1, 1] case.

scikit-learn's check ends with a binary problem labelled [-1, 1], which collides
with the y == -1 marker of unlabeled rows; the other cases run here, through
scikit-learn's own ``check_classifiers_predictions``.
"""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.preprocessing import StandardScaler
from sklearn.utils import shuffle
from sklearn.utils.estimator_checks import check_classifiers_predictions

from sae_sklearn import AutoencoderPretrainer, PretrainedClassifier


def _classifier():
    return PretrainedClassifier(
        AutoencoderPretrainer((16, 8), max_iter=30, random_state=0),
        max_iter=100,
        random_state=0,
    )


def _blobs():
    X, y = make_blobs(n_samples=30, random_state=0, cluster_std=0.1)
    X, y = shuffle(X, y, random_state=7)
    return StandardScaler().fit_transform(X), y


LABEL_SETS = {
    "strings": ["one", "two", "three"],
    "objects": np.array(["one", "two", "three"], dtype=object),
    "negative ints": [-3, -2, 5],
    "negative and zero": [-2, 0, 1],
    "integral floats": [-2.0, 0.0, 3.0],
}


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
@pytest.mark.parametrize("labels", LABEL_SETS.values(), ids=LABEL_SETS.keys())
def test_classifier_predicts_the_labels_it_was_given(labels, n_classes):
    X, y = _blobs()
    keep = y < n_classes
    X, y = X[keep], y[keep]
    y_named = np.take(np.asarray(labels)[:n_classes], y)
    classifier = _classifier()
    check_classifiers_predictions(X, y_named, "PretrainedClassifier", classifier)
    fitted = _classifier().fit(X, y_named)
    assert set(fitted.classes_) == set(np.asarray(labels)[:n_classes])
    assert fitted.predict(X).dtype == y_named.dtype


def test_minus_one_marks_unlabeled_rows_even_among_other_negative_labels():
    X, y = _blobs()
    y_named = np.take([-3, -2, 5], y)
    y_named[::3] = -1
    fitted = _classifier().fit(X, y_named)
    np.testing.assert_array_equal(fitted.classes_, [-3, -2, 5])
    assert -1 not in fitted.predict(X)
