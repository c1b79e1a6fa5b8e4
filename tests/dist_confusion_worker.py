"""One rank of `test_evaluation_distributed.py`, run by `paddle.distributed.launch`.

Usage: python -m paddle.distributed.launch --nproc_per_node N dist_confusion_worker.py
       DATASET_DIR OUT_DIR

Each rank writes OUT_DIR/rank<r>.npz with the all-reduced `evaluate()` matrix of the demo
val set, its all-reduced `ObjectMetrics` counts, and the all-reduced matrix of
rank-specific random batches (`random_batch(rank)`).
"""
import zlib  # noqa: F401  (before paddle: paddlepaddle 2.6.2 breaks zlib otherwise)

import os
import sys

import numpy as np
import paddle

NUM_CLASSES = 3


class FixedConv(paddle.nn.Layer):
    """The same 1x1 convolution on every rank (seeded), logits in a list."""

    def __init__(self, num_classes=2):
        super().__init__()
        paddle.seed(0)
        self.conv = paddle.nn.Conv2D(3, num_classes, 1)

    def forward(self, image):
        return [self.conv(image)]


def val_dataset(dataset_dir):
    from paddleseg.datasets import Dataset
    from paddleseg.transforms import Normalize
    return Dataset(mode="val", dataset_root=dataset_dir,
                   val_path=os.path.join(dataset_dir, "val.txt"), transforms=[Normalize()],
                   num_classes=2)


def random_batch(rank):
    """(pred, label) of `rank`, different sizes per rank, some labels 255."""
    rng = np.random.default_rng(rank)
    label = rng.integers(0, NUM_CLASSES, (rank + 1, 8, 8))
    label[:, 0] = 255
    return rng.integers(0, NUM_CLASSES, label.shape), label


def main(dataset_dir, out_dir):
    paddle.set_device("cpu")
    import paddleseg_imbalance  # noqa: F401
    from paddleseg_imbalance.evaluation import ConfusionMatrix, ObjectMetrics, evaluate

    result = evaluate(FixedConv(), val_dataset(dataset_dir), evaluators=[ObjectMetrics()],
                      print_detail=False)
    confusion = ConfusionMatrix(NUM_CLASSES)
    rank = paddle.distributed.get_rank()
    confusion.update(*random_batch(rank))
    confusion.all_reduce()
    np.savez(os.path.join(out_dir, f"rank{rank}.npz"), evaluated=result.confusion.matrix,
             num_images=result.num_images, ignored=result.confusion.ignored_pixels,
             objects=result.objects.counts,
             random=confusion.matrix, random_ignored=confusion.ignored_pixels)


if __name__ == "__main__":
    main(*sys.argv[1:])
