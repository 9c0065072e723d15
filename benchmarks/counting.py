"""An AutoencoderPretrainer that counts its fits, importable by worker processes."""

import os

from sae_sklearn import AutoencoderPretrainer

COUNT_FILE = "SAE_BENCH_PRETRAINING_COUNT_FILE"


class CountingPretrainer(AutoencoderPretrainer):
    """An AutoencoderPretrainer that appends a line to a file at every fit."""

    def fit(self, X, y=None):
        with open(os.environ[COUNT_FILE], "a") as count_file:
            count_file.write(f"{os.getpid()}\n")
        return super().fit(X, y)
