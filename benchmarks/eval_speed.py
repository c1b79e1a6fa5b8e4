"""Speed of one confusion-matrix update: `ConfusionMatrix.update` against PaddleSeg 2.8.0's
`metrics.calculate_area` and a bare `numpy.bincount` (the floor).

    python benchmarks/eval_speed.py [--shape 8 512 1024 --classes 19 --repeats 15
                                     --slow-repeats 3 --device cpu]

All three count the same random int64 predictions and labels (5 % of the labels 255,
ignored). `calculate_area` is the version `paddleseg_imbalance.compat` installs: PaddleSeg
2.8.0's own fails on Paddle >= 2.6 (it concatenates 0-D sums); the repair keeps its
algorithm, three masked sums per class (3 K passes over the batch). `ConfusionMatrix`
makes one `paddle.bincount` of ``label * K + pred``, after a min/max check of the
predictions; the floor is
``numpy.bincount(label * K + pred)`` on the same arrays, without any check. Each time is
the median of `--repeats` runs (`--slow-repeats` for `calculate_area`, which takes
seconds) after one warm-up run; `ConfusionMatrix` and the floor take turns, so that a
change of load on a shared machine hits both alike. Targets: at least 5x faster than
`calculate_area`, within 2x of the floor.
"""
import zlib  # noqa: F401  (before paddle: paddlepaddle 2.6.2 breaks zlib otherwise)

import argparse
import os
import statistics
import sys
import time

import numpy as np
import paddle
from prettytable import PrettyTable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import paddleseg_imbalance  # noqa: E402  (installs the calculate_area repair)
from paddleseg.utils import metrics  # noqa: E402

from paddleseg_imbalance.evaluation import ConfusionMatrix  # noqa: E402

IGNORE = 255


def median_ms(functions, repeats):
    """{name: median milliseconds}; the functions take turns in each repeat."""
    times = {name: [] for name in functions}
    for name, function in functions.items():
        function()  # warm-up
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(values) for name, values in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", type=int, nargs=3, default=(8, 512, 1024))
    parser.add_argument("--classes", type=int, default=19)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--slow-repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    paddle.set_device(args.device)
    k = args.classes

    rng = np.random.default_rng(0)
    label_np = rng.integers(0, k, args.shape)
    label_np[rng.random(args.shape) < 0.05] = IGNORE
    pred_np = rng.integers(0, k, args.shape)
    label, pred = paddle.to_tensor(label_np), paddle.to_tensor(pred_np)

    streaming = ConfusionMatrix(k, IGNORE)  # one matrix over many batches, as in evaluation

    def confusion_update():
        streaming.update(pred, label)

    def calculate_area():
        areas = metrics.calculate_area(pred, label, k, ignore_index=IGNORE)
        return [area.numpy() for area in areas]  # wait for the device, like .matrix does

    def numpy_floor():
        return np.bincount((label_np * k + pred_np).ravel(), minlength=k * k)

    check = ConfusionMatrix(k, IGNORE)
    check.update(pred, label)
    matrix = check.matrix
    intersect, pred_area, label_area = calculate_area()
    if not (np.array_equal(np.diag(matrix), intersect)
            and np.array_equal(matrix.sum(0), pred_area)
            and np.array_equal(matrix.sum(1), label_area)
            and np.array_equal(numpy_floor()[:k * k].reshape(k, k), matrix)):
        raise SystemExit("The three methods disagree on the counts.")

    ours_name = "ConfusionMatrix.update (one paddle.bincount)"
    area_name = f"PaddleSeg calculate_area, repaired ({3 * k} masked sums)"
    floor_name = "numpy.bincount(label * K + pred) (floor, no checks)"
    times = median_ms({ours_name: confusion_update, floor_name: numpy_floor}, args.repeats)
    times.update(median_ms({area_name: calculate_area}, args.slow_repeats))
    ours, area, floor = times[ours_name], times[area_name], times[floor_name]
    table = PrettyTable(["method", "median ms", "time / ConfusionMatrix"])
    for name in (ours_name, area_name, floor_name):
        table.add_row([name, f"{times[name]:.1f}", f"{times[name] / ours:.2f}x"])
    table.align["method"] = "l"
    print(f"Paddle {paddle.__version__}, device {paddle.get_device()}, {os.cpu_count()} CPUs; "
          f"pred and label int64 {tuple(args.shape)}, {k} classes, median of "
          f"{args.repeats} ({args.slow_repeats} for calculate_area)")
    print(table)
    print(f"speed-up over calculate_area: {area / ours:.1f}x (target >= 5x); "
          f"ConfusionMatrix / numpy floor: {ours / floor:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
