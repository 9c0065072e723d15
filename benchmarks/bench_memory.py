"""Peak memory of pretraining on a memmap against the size of the file.

Writes a float32 ``.npy`` file of random rows, then, each in a fresh process,
fits ``AutoencoderPretrainer`` on it opened as a memmap and loaded into memory,
and reports how much each fit raised the peak resident set size (RSS).
Results go to ``benchmarks/results/memory.md`` and ``memory.json``.

Run: ``python benchmarks/bench_memory.py [--gigabytes 2]``
"""

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_FEATURES = 784
RESULTS = Path(__file__).parent / "results"


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_rss() -> float:
    """Reset the peak RSS to the current RSS (Linux); return the current RSS."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    return _status_mb("VmHWM")


def write_rows(path: Path, n_rows: int) -> None:
    rows = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.float32, shape=(n_rows, N_FEATURES)
    )
    rng = np.random.default_rng(0)
    for start in range(0, n_rows, 50_000):
        stop = min(start + 50_000, n_rows)
        rows[start:stop] = rng.random((stop - start, N_FEATURES), dtype=np.float32)
    rows.flush()
    del rows


def fit_once(path: str, mode: str, batch_size: int) -> dict:
    """Fit in this process and return the RSS figures (run in a child process)."""
    import torch  # noqa: F401  (imported before the baseline is read)

    from sae_sklearn import AutoencoderPretrainer

    baseline = reset_peak_rss()
    X = np.load(path, mmap_mode="r" if mode == "memmap" else None)
    start = time.perf_counter()
    ae = AutoencoderPretrainer(
        (256, 64), noise=None, max_iter=1, batch_size=batch_size, random_state=0
    )
    ae.fit(X)
    fit_seconds = time.perf_counter() - start
    codings = ae.transform(X[:1000])
    return {
        "mode": mode,
        "rss_before_load_mb": baseline,
        "peak_rss_mb": peak_rss_mb(),
        "growth_mb": peak_rss_mb() - baseline,
        "fit_seconds": fit_seconds,
        "codings_checksum": float(np.abs(codings).sum()),
        "codings_head": codings[:3, :4].tolist(),
    }


def run_child(path: Path, mode: str, batch_size: int) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", str(path), mode, str(batch_size)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path, mode, batch_size = args.child
        print(json.dumps(fit_once(path, mode, int(batch_size))))
        return

    n_rows = int(args.gigabytes * 2**30 / (4 * N_FEATURES))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.npy"
        write_rows(path, n_rows)
        file_mb = path.stat().st_size / 2**20
        runs = [run_child(path, mode, args.batch_size) for mode in ("memmap", "memory")]

    same = runs[0]["codings_head"] == runs[1]["codings_head"] and (
        runs[0]["codings_checksum"] == runs[1]["codings_checksum"]
    )
    lines = [
        "# Peak memory of pretraining on a memmap",
        "",
        f"{time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
        f"{n_rows:,} x {N_FEATURES} float32 rows in a {file_mb:,.0f} MB file, "
        f"AutoencoderPretrainer((256, 64)), one epoch, batch {args.batch_size}.",
        "",
        "| input | peak RSS growth, load + fit (MB) | share of file | fit time (s) |",
        "|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run['mode']} | {run['growth_mb']:,.0f} | "
            f"{run['growth_mb'] / file_mb:.1%} | {run['fit_seconds']:.1f} |"
        )
    lines += [
        "",
        f"Codings of the first 1,000 rows identical in both runs: {same}.",
        "",
        "Command: `python benchmarks/bench_memory.py "
        f"--gigabytes {args.gigabytes} --batch-size {args.batch_size}`",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "memory.md").write_text(report)
    (RESULTS / "memory.json").write_text(
        json.dumps({"file_mb": file_mb, "n_rows": n_rows, "runs": runs}, indent=2)
    )


if __name__ == "__main__":
    main()
