"""Model selection: cached pretraining, semi-supervised CV, threads and Dask."""

import threading

import joblib
import numpy as np
import pytest
import torch
from conftest import small_pretrainer
from sklearn.model_selection import GridSearchCV, cross_val_score

from sae_sklearn import AutoencoderPretrainer, PretrainedClassifier
from sae_sklearn._torch_utils import shared_torch_threads
from sae_sklearn.model_selection import SemiSupervisedKFold

FREEZE_GRID = {"freeze": ["none", "all", 1]}


@pytest.fixture(scope="module")
def search_data(digits):
    X, y, _ = digits
    keep = np.random.default_rng(1).random(300) < 0.4
    return X[:300], np.where(keep, y[:300], -1)


@pytest.fixture
def count_pretraining(monkeypatch):
    calls = []
    original_fit = AutoencoderPretrainer.fit

    def counting_fit(self, X, y=None):
        calls.append(X.shape[0])
        return original_fit(self, X, y)

    monkeypatch.setattr(AutoencoderPretrainer, "fit", counting_fit)
    return calls


def _search(memory=None, n_jobs=None):
    classifier = PretrainedClassifier(
        small_pretrainer(random_state=None), max_iter=20, memory=memory, random_state=0
    )
    return GridSearchCV(
        classifier, FREEZE_GRID, cv=SemiSupervisedKFold(3), n_jobs=n_jobs
    )


def test_memory_pretrains_once_per_fold_plus_refit(
    search_data, tmp_path, count_pretraining
):
    X, y = search_data
    _search(memory=str(tmp_path)).fit(X, y)
    assert len(count_pretraining) == 3 + 1
    # Each fold trains on all rows but its test fold; the refit on every row.
    assert sorted(count_pretraining)[-1] == len(X)


def test_without_memory_every_candidate_pretrains(search_data, count_pretraining):
    X, y = search_data
    _search().fit(X, y)
    assert len(count_pretraining) == 3 * 3 + 1


def test_cached_and_uncached_searches_agree(search_data, tmp_path):
    X, y = search_data
    cached = _search(memory=joblib.Memory(tmp_path, verbose=0)).fit(X, y)
    uncached = _search().fit(X, y)
    np.testing.assert_array_equal(
        cached.cv_results_["mean_test_score"], uncached.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(cached.predict_proba(X), uncached.predict_proba(X))


def test_cross_val_score_never_scores_unlabeled_rows(search_data):
    X, y = search_data
    seen = []

    def recording_accuracy(estimator, X_test, y_test):
        seen.append(np.asarray(y_test))
        return estimator.score(X_test, y_test)

    classifier = PretrainedClassifier(small_pretrainer(), max_iter=20, random_state=0)
    cross_val_score(
        classifier, X, y, cv=SemiSupervisedKFold(3), scoring=recording_accuracy
    )
    scored = np.concatenate(seen)
    assert -1 not in scored
    assert len(scored) == np.sum(y != -1)


def test_parallel_search_matches_serial_search(search_data, tmp_path):
    X, y = search_data
    serial = _search(memory=str(tmp_path / "serial")).fit(X, y)
    parallel = _search(memory=str(tmp_path / "parallel"), n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )


def test_a_lone_fit_leaves_torch_threads_alone(search_data):
    X, y = search_data
    before = torch.get_num_threads()
    seen = []
    with shared_torch_threads():
        seen.append(torch.get_num_threads())
    PretrainedClassifier(small_pretrainer(), max_iter=5, random_state=0).fit(X, y)
    assert seen == [before]
    assert torch.get_num_threads() == before


def test_concurrent_fits_share_threads_and_restore_the_callers_setting():
    callers_threads = torch.get_num_threads()
    both_inside = threading.Barrier(2)
    inside, own, after = [], [], []

    def fit_like():
        # torch's thread count can be per thread (OpenMP): read this thread's own.
        own.append(torch.get_num_threads())
        with shared_torch_threads():
            both_inside.wait()
            with shared_torch_threads():  # nested fits count once
                inside.append(torch.get_num_threads())
            both_inside.wait()
        after.append(torch.get_num_threads())

    workers = [threading.Thread(target=fit_like) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert inside == [max(1, n // 2) for n in own]
    assert after == own
    assert torch.get_num_threads() == callers_threads


def test_a_fit_that_started_alone_gives_up_threads_when_another_joins():
    from sae_sklearn._torch_utils import rebalance_torch_threads

    joined, seen = threading.Event(), []

    def first_fit():
        with shared_torch_threads():
            own = torch.get_num_threads()
            joined.wait()
            rebalance_torch_threads()  # what every epoch does
            seen.append((own, torch.get_num_threads()))
            done.set()

    done = threading.Event()
    first = threading.Thread(target=first_fit)
    first.start()
    with shared_torch_threads():
        joined.set()
        done.wait()
    first.join()
    own, rebalanced = seen[0]
    assert rebalanced == max(1, own // 2)


@pytest.mark.slow
def test_dask_cluster_search_matches_local_search(search_data, tmp_path):
    from distributed import Client, LocalCluster, get_task_stream

    X, y = search_data
    local = _search().fit(X, y)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        with get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
            distributed = _search(n_jobs=-1).fit(X, y)
    assert len(tasks.data) >= 9  # 3 candidates x 3 folds ran on the workers
    assert distributed.best_score_ == local.best_score_
    assert distributed.best_params_ == local.best_params_
