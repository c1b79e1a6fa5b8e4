"""Forward + backward time of the plugin's losses next to PaddleSeg's, on the same logits.

    python benchmarks/loss_speed.py [--n 8 --c 19 --size 256 --repeats 5 --device cpu]

The losses take `--repeats` turns each, round by round; in each turn a loss runs
`--warmup` untimed passes and one timed pass of forward and backward on one batch of
random logits (N, C, size, size) and labels with 5 % ignored pixels. The table shows the
median, and its ratio to PaddleSeg's CrossEntropyLoss and DiceLoss measured in the same
run.

CPU timings depend on the allocator. glibc hands large freed blocks back to the kernel,
so each pass pays page faults for its large temporaries (about 40 MB each at the
default size), an amount that depends on which loss ran before. By default
(`--allocator keep`) the benchmark tells glibc to keep freed memory, as a GPU caching
allocator does, so that the losses are compared on their computation; `--allocator
system` measures with glibc's defaults, where a loss is also charged for how many large
temporaries it allocates. The target is
WeightedIoULoss and TverskyLoss within 1.3x of CrossEntropyLoss.
MultiLabelLovaszHingeLoss gets 0/1 labels of shape (N, C, size, size) for the same
logits. SoftClDiceLoss (multiclass, class 0 left out, 3 skeleton iterations) is listed
for its cost, without a target: per class it takes two soft skeletons (prediction and
target) of iterations + 1 max-pool openings each.
"""
import zlib  # noqa: F401  (before paddle: paddlepaddle 2.6.2 breaks zlib otherwise)

import argparse
import ctypes
import os
import statistics
import sys
import time

import numpy as np
import paddle
from paddleseg.models import losses as paddleseg_losses
from prettytable import PrettyTable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import paddleseg_imbalance  # noqa: E402,F401  (repairs PaddleSeg, registers the losses)
from paddleseg_imbalance.losses import (MultiLabelLovaszHingeLoss,  # noqa: E402
                                        SoftClDiceLoss, TverskyLoss, WeightedIoULoss)

IGNORE = 255
TARGET_RATIO = 1.3
TARGET_LOSSES = ("WeightedIoULoss", "TverskyLoss (gamma 1)", "TverskyLoss (gamma 4/3)")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=8, help="batch size")
    parser.add_argument("--c", type=int, default=19, help="classes (logit channels)")
    parser.add_argument("--size", type=int, default=256, help="height and width")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per loss")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed passes before each timed one")
    parser.add_argument("--device", default="cpu", help="cpu, gpu, gpu:0, ...")
    parser.add_argument("--allocator", choices=["keep", "system"], default="keep",
                        help="keep: glibc keeps freed memory (default); system: glibc's "
                             "defaults (see the module docstring)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def keep_freed_memory():
    """Make glibc keep freed memory (no mmap for large blocks, no trimming); True if it did."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: the allocator is left as it is
        return False
    m_trim_threshold, m_mmap_max = -1, -4
    return bool(libc.mallopt(m_mmap_max, 0)) and bool(
        libc.mallopt(m_trim_threshold, ctypes.c_int(2**31 - 1)))


def make_batch(args):
    """Logits, multiclass labels with 5 % ignored, multilabel 0/1 labels."""
    rng = np.random.default_rng(args.seed)
    shape = (args.n, args.c, args.size, args.size)
    logits = paddle.to_tensor(rng.standard_normal(shape).astype("float32"))
    labels = rng.integers(0, args.c, (args.n, args.size, args.size))
    labels[rng.random(labels.shape) < 0.05] = IGNORE
    multilabel = rng.integers(0, 2, shape)
    return logits, paddle.to_tensor(labels), paddle.to_tensor(multilabel)


def candidates():
    """(name, loss, takes multilabel labels) in table order."""
    return [
        ("CrossEntropyLoss", paddleseg_losses.CrossEntropyLoss(), False),
        ("DiceLoss", paddleseg_losses.DiceLoss(), False),
        ("LovaszSoftmaxLoss", paddleseg_losses.LovaszSoftmaxLoss(), False),
        ("WeightedIoULoss", WeightedIoULoss(), False),
        ("TverskyLoss (gamma 1)", TverskyLoss(alpha=0.3, beta=0.7), False),
        ("TverskyLoss (gamma 4/3)", TverskyLoss(alpha=0.3, beta=0.7, gamma=4 / 3), False),
        ("MultiLabelLovaszHingeLoss", MultiLabelLovaszHingeLoss(), True),
        ("SoftClDiceLoss (3 iterations)", SoftClDiceLoss(), False),
    ]


def synchronize():
    """Wait for the device; CPU kernels have finished when they return."""
    if not paddle.get_device().startswith("cpu"):
        synchronize()


def time_pass(loss, logits, labels):
    """Milliseconds of one forward + backward."""
    logits = logits.detach()
    logits.stop_gradient = False
    start = time.perf_counter()
    loss(logits, labels).backward()
    synchronize()
    return (time.perf_counter() - start) * 1000


def time_losses(losses, logits, labels, multilabel, warmup, repeats):
    """Median milliseconds per loss name.

    The losses take turns, round by round, so that a change in the machine's load during
    the run affects all of them alike (the CPU may be shared). In each turn a loss runs
    `warmup` untimed passes before its timed one, so that it is not charged for the
    memory the previous loss left the allocator in.
    """
    timings = {name: [] for name, _, _ in losses}
    for _ in range(repeats):
        for name, loss, is_multilabel in losses:
            batch_labels = multilabel if is_multilabel else labels
            for _ in range(warmup):
                time_pass(loss, logits, batch_labels)
            timings[name].append(time_pass(loss, logits, batch_labels))
    return {name: statistics.median(values) for name, values in timings.items()}


def main(argv=None):
    args = parse_args(argv)
    allocator = "glibc defaults"
    if args.allocator == "keep":
        allocator = "freed memory kept" if keep_freed_memory() else "not glibc, as it is"
    paddle.set_device(args.device)
    logits, labels, multilabel = make_batch(args)
    timings = time_losses(candidates(), logits, labels, multilabel, args.warmup,
                          args.repeats)

    table = PrettyTable(["loss", "ms per fwd+bwd", "ratio to CrossEntropyLoss",
                         "ratio to DiceLoss"])
    table.align["loss"] = "l"
    for name, milliseconds in timings.items():
        table.add_row([name, f"{milliseconds:.1f}",
                       f"{milliseconds / timings['CrossEntropyLoss']:.2f}",
                       f"{milliseconds / timings['DiceLoss']:.2f}"])
    print(f"Paddle {paddle.__version__}, device {args.device}, logits "
          f"({args.n}, {args.c}, {args.size}, {args.size}), median of {args.repeats} "
          f"timed passes, each after {args.warmup} untimed; allocator: {allocator}")
    print(table)
    worst = max(timings[name] / timings["CrossEntropyLoss"] for name in TARGET_LOSSES)
    verdict = "met" if worst <= TARGET_RATIO else "MISSED"
    print(f"Target WeightedIoULoss and TverskyLoss within {TARGET_RATIO}x of "
          f"CrossEntropyLoss: {verdict} (worst {worst:.2f}x)")


if __name__ == "__main__":
    main()
