"""Input types, bad input and persistence for both estimators."""

import io
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import small_pretrainer
from sklearn.exceptions import NotFittedError

from sae_sklearn import AutoencoderPretrainer, PretrainedClassifier, PretrainedRegressor

FAST = {"max_iter": 15, "random_state": 0}


@pytest.fixture(scope="module")
def data(digits):
    X, _, y_partial = digits
    return X[:200], y_partial[:200]


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return PretrainedClassifier(small_pretrainer(), **FAST).fit(X, y)


# --- input types -----------------------------------------------------------


def test_float32_and_float64_train_alike(data):
    X, _ = data
    a = small_pretrainer().fit(X)
    b = small_pretrainer().fit(X.astype(np.float32))
    np.testing.assert_allclose(a.transform(X), b.transform(X), atol=1e-6)


def test_dataframe_names_flow_through_set_output(data):
    X, y = data
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])])
    ae = small_pretrainer().set_output(transform="pandas").fit(frame)
    np.testing.assert_array_equal(ae.feature_names_in_, frame.columns)
    codings = ae.transform(frame)
    assert isinstance(codings, pd.DataFrame)
    assert list(codings.columns) == list(ae.get_feature_names_out())
    assert list(codings.index) == list(frame.index)
    clf = PretrainedClassifier(small_pretrainer(), **FAST).fit(frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, frame.columns)
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


def test_sparse_input_matches_dense(digits, monkeypatch):
    X, _, y = digits
    X_sparse = sp.csr_matrix(X)
    # Sparse rows must be densified one batch at a time, never all at once.
    largest = []
    original = sp.csr_matrix.toarray

    def recording_toarray(self, *args, **kwargs):
        largest.append(self.shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", recording_toarray)
    ae_sparse = small_pretrainer(batch_size=64).fit(X_sparse)
    clf_sparse = PretrainedClassifier(ae_sparse, batch_size=16, **FAST).fit(X_sparse, y)
    proba_sparse = clf_sparse.predict_proba(X_sparse)
    codings_sparse = ae_sparse.transform(X_sparse)
    monkeypatch.undo()
    assert max(largest) <= 256 and max(largest) < X.shape[0]

    ae_dense = small_pretrainer(batch_size=64).fit(X)
    np.testing.assert_allclose(codings_sparse, ae_dense.transform(X), atol=1e-5)
    clf_dense = PretrainedClassifier(ae_dense, batch_size=16, **FAST).fit(X, y)
    np.testing.assert_allclose(proba_sparse, clf_dense.predict_proba(X), atol=1e-5)


def test_read_only_memmap_and_list_inputs(data, tmp_path):
    X, y = data
    path = tmp_path / "rows.npy"
    np.save(path, X.astype(np.float32))
    X_memmap = np.load(path, mmap_mode="r")
    ae = small_pretrainer().fit(X_memmap)
    expected = small_pretrainer().fit(X.astype(np.float32)).transform(X_memmap)
    np.testing.assert_array_equal(ae.transform(X_memmap), expected)
    clf = PretrainedClassifier(small_pretrainer(), **FAST).fit(X.tolist(), y.tolist())
    assert clf.predict(X[:5].tolist()).shape == (5,)


def test_integer_and_boolean_inputs_are_converted(data):
    X, y = data
    X_int = (X * 16).astype(np.int64)
    ae = small_pretrainer().fit(X_int)
    assert ae.transform(X_int).dtype == np.float64
    X_bool = X > 0.5
    clf = PretrainedClassifier(small_pretrainer(), **FAST).fit(X_bool, y)
    assert clf.predict_proba(X_bool).shape == (len(X), 10)


# --- bad input ---------------------------------------------------------------


@pytest.mark.parametrize("bad_value, message", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite_x_is_rejected(data, bad_value, message):
    X, y = data
    X_bad = X.copy()
    X_bad[3, 4] = bad_value
    with pytest.raises(ValueError, match=message):
        small_pretrainer().fit(X_bad)
    with pytest.raises(ValueError, match=message):
        PretrainedClassifier(small_pretrainer(), **FAST).fit(X_bad, y)


def test_wrong_number_of_features_after_fit(data, fitted):
    X, _ = data
    with pytest.raises(ValueError, match="64 features"):
        fitted.predict(X[:, :10])
    with pytest.raises(ValueError, match="64 features"):
        fitted.pretrainer_.transform(X[:, :10])
    with pytest.raises(ValueError, match="16 columns"):
        fitted.pretrainer_.inverse_transform(np.zeros((3, 5)))


def test_x_must_be_2d_non_empty_and_numeric(data):
    X, y = data
    with pytest.raises(ValueError, match="Expected 2D array"):
        small_pretrainer().fit(X[0])
    with pytest.raises(ValueError, match="0 sample"):
        small_pretrainer().fit(X[:0])
    with pytest.raises(ValueError, match="could not convert string to float"):
        small_pretrainer().fit(np.array([["a", "b"], ["c", "d"]], dtype=object))


def test_y_length_mismatch(data):
    X, y = data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        PretrainedClassifier(small_pretrainer(), **FAST).fit(X, y[:-1])


def test_label_problems(data):
    X, y = data
    clf = PretrainedClassifier(small_pretrainer(), **FAST)
    with pytest.raises(ValueError, match="at least one labeled row"):
        clf.fit(X, np.full(len(X), -1))
    with pytest.raises(ValueError, match="at least 2 classes"):
        clf.fit(X, np.where(y == 3, 3, -1))
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, np.linspace(0, 1, len(X)))


def test_freeze_beyond_encoder_depth(data):
    X, y = data
    with pytest.raises(ValueError, match="more layers than the encoder has"):
        PretrainedClassifier(small_pretrainer(), freeze=5, **FAST).fit(X, y)


@pytest.mark.parametrize(
    "estimator, parameter",
    [
        (AutoencoderPretrainer(activation="gelu"), "activation"),
        (AutoencoderPretrainer(output_activation="softmax"), "output_activation"),
        (PretrainedClassifier(freeze="some"), "freeze"),
        (AutoencoderPretrainer(batch_size=0), "batch_size"),
        (AutoencoderPretrainer(alpha=-1.0), "alpha"),
        (AutoencoderPretrainer(validation_fraction=1.5), "validation_fraction"),
        (AutoencoderPretrainer(max_iter=0), "max_iter"),
        (AutoencoderPretrainer(hidden_layer_sizes=(8, -2)), "hidden_layer_sizes"),
        (PretrainedClassifier(head_hidden_layer_sizes=(0,)), "head_hidden_layer_sizes"),
        (PretrainedClassifier(freeze=-1), "freeze"),
        (PretrainedClassifier(tol=-0.1), "tol"),
        (PretrainedClassifier(consistency_weight=-1.0), "consistency_weight"),
        (PretrainedClassifier(consistency_noise=0.0), "consistency_noise"),
        (PretrainedClassifier(confidence_threshold=1.5), "confidence_threshold"),
        (PretrainedRegressor(consistency_noise=-1.0), "consistency_noise"),
    ],
)
def test_invalid_parameters_are_named(data, estimator, parameter):
    X, y = data
    with pytest.raises(ValueError, match=parameter):
        estimator.fit(X, y)


def test_pretrainer_must_be_a_transformer_with_an_encoder(data):
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression

    X, y = data
    with pytest.raises(ValueError, match="pretrainer"):
        PretrainedClassifier(LogisticRegression(), **FAST).fit(X, y)
    with pytest.raises(ValueError, match="encoder_"):
        PretrainedClassifier(PCA(4), **FAST).fit(X, y)


def test_pretrainer_fitted_on_other_features(data):
    X, y = data
    pretrainer = small_pretrainer().fit(X[:, :20])
    with pytest.raises(ValueError, match="expects 20 features"):
        PretrainedClassifier(pretrainer, **FAST).fit(X, y)


def test_unavailable_device_is_reported(data):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    X, _ = data
    with pytest.raises(ValueError, match="CUDA is not available"):
        small_pretrainer(device="cuda").fit(X)


def test_diverging_training_raises_instead_of_returning_a_broken_model(data):
    X, y = data
    with pytest.raises(ValueError, match="Lower learning_rate_init"):
        small_pretrainer(learning_rate_init=1e12).fit(X * 1e20)


def test_not_fitted_errors(data):
    X, _ = data
    for method in ("predict", "predict_proba"):
        with pytest.raises(NotFittedError):
            getattr(PretrainedClassifier(), method)(X)
    for method in ("transform", "inverse_transform", "score", "score_samples"):
        with pytest.raises(NotFittedError):
            getattr(AutoencoderPretrainer(), method)(X)


# --- persistence -------------------------------------------------------------


def test_pickle_and_joblib_round_trips_keep_outputs(data, fitted):
    X, _ = data
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    buffer = io.BytesIO()
    joblib.dump(fitted.pretrainer_, buffer)
    buffer.seek(0)
    pretrainer = joblib.load(buffer)
    np.testing.assert_array_equal(
        pretrainer.transform(X), fitted.pretrainer_.transform(X)
    )


def test_model_saved_on_cuda_loads_on_cpu(data, fitted):
    X, _ = data
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    # As if trained on a GPU: skorch records the device in the pickle and maps
    # the tensors back to the CPU when CUDA is missing.
    fitted_on_gpu = pickle.loads(pickle.dumps(fitted))
    fitted_on_gpu.net_.device = "cuda"
    fitted_on_gpu.pretrainer_.net_.device = "cuda"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        restored = pickle.loads(pickle.dumps(fitted_on_gpu))
    assert str(restored.net_.device) == "cpu"
    assert str(restored.pretrainer_.net_.device) == "cpu"
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
