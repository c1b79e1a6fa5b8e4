"""Evaluation time with `ObjectMetrics` against pixel-only evaluation (target <= 1.5x).

    python benchmarks/object_metrics_time.py [--sizes 128 512 --num_val 8 --repeats 3
                                              --model_path model.pdparams --device cpu]

For each image size, a binary demo val set (`paddleseg_imbalance.demo_data`) of
`--num_val` images is evaluated by `evaluate()` with a PP-LiteSeg STDC1 (random weights
unless `--model_path` loads trained ones; trained models predict fewer, cleaner objects,
so random weights are the harder case), once with no evaluator (the confusion counts
only: pixel-only) and once with `ObjectMetrics` (default options), taking turns so that a
change of load on a shared machine hits both alike. Each time is the median of
`--repeats` runs after one warm-up run of each. Prints a table of the two times per
image and their ratio.
"""
import zlib  # noqa: F401  (before paddle: paddlepaddle 2.6.2 breaks zlib otherwise)

import argparse
import os
import statistics
import sys
import tempfile
import time

import paddle
from prettytable import PrettyTable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import paddleseg_imbalance  # noqa: E402,F401
from paddleseg.datasets import Dataset  # noqa: E402
from paddleseg.models import PPLiteSeg  # noqa: E402
from paddleseg.models.backbones import STDC1  # noqa: E402
from paddleseg.transforms import Normalize  # noqa: E402

from paddleseg_imbalance.demo_data import write_demo_dataset  # noqa: E402
from paddleseg_imbalance.evaluation import ObjectMetrics, evaluate  # noqa: E402

TARGET = 1.5


def val_set(root, size, num_val):
    info = write_demo_dataset(os.path.join(root, str(size)), kind="binary", size=size,
                              num_train=1, num_val=num_val)["datasets"]["binary"]
    return Dataset(mode="val", dataset_root=info["path"],
                   val_path=os.path.join(info["path"], "val.txt"), transforms=[Normalize()],
                   num_classes=2)


def median_seconds(runs, repeats):
    """{name: median seconds}; the runs take turns in each repeat, after a warm-up."""
    times = {name: [] for name in runs}
    for run in runs.values():
        run()
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 512],
                        help="Image sides; 128 is the demo data's default size.")
    parser.add_argument("--num_val", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model_path", default=None, help="Trained weights to load.")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    paddle.set_device(args.device)
    paddle.seed(0)
    model = PPLiteSeg(num_classes=2, backbone=STDC1())
    if args.model_path:
        model.set_state_dict(paddle.load(args.model_path))

    table = PrettyTable(["Images", "Pixel-only s/image", "With ObjectMetrics s/image",
                         "Ratio", f"<= {TARGET}x"])
    worst = 0.0
    with tempfile.TemporaryDirectory() as root:
        for size in args.sizes:
            dataset = val_set(root, size, args.num_val)
            runs = {
                "pixel": lambda: evaluate(model, dataset, evaluators=[], print_detail=False),
                "objects": lambda: evaluate(model, dataset, evaluators=[ObjectMetrics()],
                                            print_detail=False)}
            seconds = median_seconds(runs, args.repeats)
            ratio = seconds["objects"] / seconds["pixel"]
            worst = max(worst, ratio)
            table.add_row([f"{args.num_val} x {size}x{size}",
                           f"{seconds['pixel'] / args.num_val:.4f}",
                           f"{seconds['objects'] / args.num_val:.4f}", f"{ratio:.3f}",
                           "yes" if ratio <= TARGET else "NO"])
    table.align = "r"
    print(table.get_string())
    print(f"Worst ratio {worst:.3f} (target <= {TARGET}).")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
