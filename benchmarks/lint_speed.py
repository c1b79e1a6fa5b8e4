"""Speed of `paddleseg-imbalance lint` (config only) and of `stats` against bare decoding.

    python benchmarks/lint_speed.py [--count 2000 --size 512 --crop-size 256
                                     --crops-per-image 20 --lint-repeats 50 --rounds 3
                                     --config tests/lint_configs/pp_liteseg/...stdc2....yml]

1. Config-only lint of one config in this process (its `_base_` chain read and merged,
   every config rule run), the median of `--lint-repeats` runs after a warm-up; and, for
   reference, the wall time of the console script's config-only path in a fresh
   interpreter (`paddleseg_imbalance_launcher.py lint`, no paddle import). Target:
   in-process < 50 ms.
2. `stats` over `--count` generated `--size`^2 label PNGs (background, thin roads, small
   buildings and a rare class, written into a temporary directory):
   `analysis.crop_coverage.scan_labels`, counting pixels and images per class alone
   ("counts") and with `--crops-per-image` random crops of `--crop-size` per image (what
   `stats --crop-size` does, "crops"), against a bare decode
   loop (`cv2.imread` of the same files), each with 1 and with 2 worker processes, the
   best of `--rounds` runs taking turns.
   Targets: stats >= 0.8x the throughput of bare decoding with the same workers, and
   stats faster with 2 workers than with 1.
"""
import zlib  # noqa: F401  (before paddle: paddlepaddle 2.6.2 breaks zlib otherwise)

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import cv2
import numpy as np
from prettytable import PrettyTable

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from paddleseg_imbalance.analysis.crop_coverage import scan_labels  # noqa: E402
from paddleseg_imbalance.lint import lint  # noqa: E402

DEFAULT_CONFIG = os.path.join("tests", "lint_configs", "pp_liteseg",
                              "pp_liteseg_stdc2_cityscapes_1024x512_scale0.5_160k.yml")
NUM_CLASSES = 4


def write_labels(directory, count, size, seed=0):
    """`count` label PNGs: 0 background, 1 roads, 2 buildings, 3 a rare class."""
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(count):
        label = np.zeros((size, size), np.uint8)
        for _ in range(rng.integers(0, 4)):
            start = (int(rng.integers(0, size)), 0)
            end = (int(rng.integers(0, size)), size - 1)
            cv2.line(label, start, end, 1, int(rng.integers(2, 8)))
        for _ in range(rng.integers(0, 12)):
            x, y = (int(v) for v in rng.integers(0, size - 24, 2))
            cv2.rectangle(label, (x, y), (x + int(rng.integers(6, 24)),
                                          y + int(rng.integers(6, 24))), 2, -1)
        if rng.random() < 0.1:
            x, y = (int(v) for v in rng.integers(0, size - 8, 2))
            cv2.circle(label, (x, y), 4, 3, -1)
        path = os.path.join(directory, f"{index:05d}.png")
        cv2.imwrite(path, label)
        paths.append(path)
    return paths


def _decode(path):
    return cv2.imread(path, cv2.IMREAD_UNCHANGED).shape


def bare_decode(paths, workers):
    """Decode every file with `workers` processes, chunked as `scan_labels` chunks them."""
    if workers == 1:
        return [_decode(path) for path in paths]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_decode, paths, chunksize=max(1, len(paths) // (workers * 8))))


def seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def lint_times(config, repeats):
    path = os.path.join(REPO, config)
    lint(path)  # warm-up: loads the component snapshot once
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        lint(path)
        runs.append(time.perf_counter() - start)
    command = [sys.executable, os.path.join(REPO, "paddleseg_imbalance_launcher.py"), "lint",
               path]
    cold = seconds(lambda: subprocess.run(command, capture_output=True, check=True))
    return 1000 * statistics.median(runs), 1000 * cold


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="Label files to generate.")
    parser.add_argument("--size", type=int, default=512, help="Label side in pixels.")
    parser.add_argument("--crop-size", type=int, default=256)
    parser.add_argument("--crops-per-image", type=int, default=20)
    parser.add_argument("--lint-repeats", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3,
                        help="Timed rounds of each stats/decode run; the best counts.")
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="Config for the lint timing.")
    args = parser.parse_args(argv)

    lint_ms, cold_ms = lint_times(args.config, args.lint_repeats)
    table = PrettyTable(["what", "time", "target", "met"])
    table.add_row([f"config-only lint, in process ({os.path.basename(args.config)})",
                   f"{lint_ms:.1f} ms", "< 50 ms", "yes" if lint_ms < 50 else "NO"])
    table.add_row(["console script lint, fresh interpreter (no paddle)", f"{cold_ms:.0f} ms",
                   "-", "-"])
    print(table)

    with tempfile.TemporaryDirectory() as directory:
        paths = write_labels(directory, args.count, args.size)
        crop = (args.crop_size, args.crop_size)
        bare_decode(paths, 1)  # warm the page cache: every run reads from memory
        rows, rates = [], {}
        for workers in (1, 2):
            runs = {"bare": lambda: bare_decode(paths, workers),
                    "counts": lambda: scan_labels(paths, NUM_CLASSES, workers=workers,
                                                  progress=False),
                    "crops": lambda: scan_labels(paths, NUM_CLASSES, crop_size=crop,
                                                 crops_per_image=args.crops_per_image,
                                                 workers=workers, progress=False)}
            # The best of `--rounds`, the runs taking turns, so that a change of load on a
            # shared machine hits all alike.
            best = {name: float("inf") for name in runs}
            for _ in range(args.rounds):
                for name, run in runs.items():
                    best[name] = min(best[name], seconds(run))
            rates[workers] = args.count / best["crops"]
            ratios = {name: best["bare"] / best[name] for name in ("counts", "crops")}
            rows.append([workers, f"{args.count / best['bare']:.0f}",
                         f"{args.count / best['counts']:.0f}", f"{ratios['counts']:.2f}x",
                         f"{rates[workers]:.0f}", f"{ratios['crops']:.2f}x",
                         "yes" if ratios["crops"] >= 0.8 else "NO"])
    table = PrettyTable(["workers", "bare decode img/s", "stats counts img/s", "/ bare",
                         "stats + crops img/s", "/ bare ", ">= 0.8x"])
    for row in rows:
        table.add_row(row)
    print(f"\nstats over {args.count} {args.size}x{args.size} label PNGs, "
          f"{args.crops_per_image} crops of {args.crop_size}x{args.crop_size} per image")
    print(table)
    speedup = rates[2] / rates[1]
    print(f"stats + crops with 2 workers / 1 worker: {speedup:.2f}x "
          f"({'faster' if speedup > 1 else 'NOT faster'}; {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
