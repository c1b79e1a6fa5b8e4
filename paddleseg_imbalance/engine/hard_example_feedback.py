"""Feeding `HardExampleDataset` from PaddleSeg 2.8.0's training loop.

`HardExampleDataset` needs, after every step, a hardness score per image of the batch
(`record`), and a call to `next_epoch` before every pass over the data loader. PaddleSeg's
loop (`paddleseg.core.train.train`) exposes neither: it builds its own
`paddle.io.DataLoader` and hands only logits and labels to `loss_computation`. So, while
`hard_example_feedback` is active (see `paddleseg_loop`; nothing outside the loop's
module changes):

- `paddle.io.DataLoader` as the loop sees it is a subclass that, over the
  `HardExampleDataset` only, calls `next_epoch()` before each pass after the first (before
  its worker processes start, so they see the new epoch), and moves each batch's
  `sample_index` into a queue;
- an observer of the loop's `loss_computation` scores each image of the batch with
  `rare_class_loss_per_image` on the main (first) logits and records the scores with the
  indices it takes from the queue.

Batches reach the loss in the order the loader yields them, so the queue pairs every
batch with its own indices whatever the number of workers. Both hooks are undone on exit,
and rank 0 writes `hard_examples.json` to the save dir: every image's file, hardness and
current sampling weight, hardest first, so users can see which images the model finds hard.
"""
import collections
import contextlib
import json
import math
import os

import paddle
import paddle.nn.functional as F

from paddleseg_imbalance.datasets.hard_example import SAMPLE_INDEX_KEY, HardExampleDataset
from paddleseg_imbalance.datasets.wrappers import DatasetWrapper
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.paddleseg_loop import loss_observed, paddle_in_loop



def rare_class_loss_per_image(logits, labels, background_class=0, ignore_index=255):
    """Per image, the cross-entropy on the pixels where the foreground is or is predicted.

    For image n with pixels P_n = {p : y_p != ignore and (y_p != b or argmax_c z_p != b)},
    b = `background_class`:

        score_n = mean_{p in P_n} -log softmax(z_p)[y_p]     (0 where P_n is empty)

    so missed foreground (y != b) and false alarms (predicted != b) both count, and the
    easy background that dominates every image does not dilute them.

    Args:
        logits: (N, C, h, w) float tensor; resized bilinearly to the labels' size.
        labels: (N, H, W) or (N, 1, H, W) int tensor of class indices.
        background_class: the class whose correctly predicted pixels are not scored.
        ignore_index: label value of ignored pixels.

    Returns:
        (N,) float32 numpy array, >= 0.
    """
    with paddle.no_grad():
        if labels.ndim == 4:
            labels = labels.squeeze(1)
        logits = logits.astype("float32")
        if tuple(logits.shape[-2:]) != tuple(labels.shape[-2:]):
            logits = F.interpolate(logits, labels.shape[-2:], mode="bilinear",
                                   align_corners=False)
        valid = labels != ignore_index
        safe_labels = paddle.where(valid, labels, paddle.zeros_like(labels)).astype("int64")
        log_prob = F.log_softmax(logits, axis=1)
        picked = paddle.take_along_axis(log_prob, safe_labels.unsqueeze(1), axis=1).squeeze(1)
        predicted = logits.argmax(axis=1).astype(labels.dtype)
        scored = valid & ((labels != background_class) | (predicted != background_class))
        weights = scored.astype("float32")
        totals = (-picked * weights).sum(axis=[1, 2])
        counts = weights.sum(axis=[1, 2])
        scores = totals / paddle.clip(counts, min=1.0)
    return scores.numpy()


def find_hard_example_dataset(dataset):
    """The `HardExampleDataset` in a chain of wrapper datasets, or None."""
    while isinstance(dataset, DatasetWrapper):
        if isinstance(dataset, HardExampleDataset):
            return dataset
        dataset = dataset.dataset
    return None


@contextlib.contextmanager
def hard_example_feedback(train_dataset, model, save_dir, multilabel=False):
    """While active, PaddleSeg's train loop feeds the `HardExampleDataset` in
    `train_dataset` (see the module docstring); does nothing if there is none.

    Raises:
        ConfigError: the run cannot score images: multi-label training (the score is a
            softmax cross-entropy), or a model with its own `loss_computation`.
    """
    hard = find_hard_example_dataset(train_dataset)
    if hard is None:
        yield None
        return
    if multilabel:
        raise ConfigError("train_dataset: HardExampleDataset scores images with a softmax "
                          "cross-entropy and does not support multi-label training; remove "
                          "it, or use ClassBalancedDataset, which reads multi-label files.")
    if hasattr(model, "loss_computation"):
        raise ConfigError(f"train_dataset: HardExampleDataset needs PaddleSeg's "
                          f"loss_computation to score images, but {type(model).__name__} "
                          "computes its own loss; remove HardExampleDataset for this model.")
    pending = collections.deque()
    passes = 0

    class FeedbackDataLoader(paddle.io.DataLoader):
        def __iter__(self):
            if self.dataset is not train_dataset:
                yield from super().__iter__()
                return
            nonlocal passes
            if passes > 0:
                hard.next_epoch()
            passes += 1
            for batch in super().__iter__():
                pending.append(batch.pop(SAMPLE_INDEX_KEY))
                yield batch

    def score_batch(logits_list, labels, loss_list):
        indices = pending.popleft()
        scores = rare_class_loss_per_image(logits_list[0], labels, hard.background_class,
                                           hard.ignore_index)
        hard.record(indices.numpy(), scores)

    with paddle_in_loop(io__DataLoader=FeedbackDataLoader), \
            loss_observed("hard-example-feedback", score_batch):
        yield hard
    # Fold in the last epoch's scores (every rank, as next_epoch sums over ranks).
    hard.next_epoch()
    if paddle.distributed.get_rank() == 0:
        write_hard_examples(hard, os.path.join(save_dir, "hard_examples.json"))


def write_hard_examples(hard, path):
    """Write `hard`'s per-image hardness and weight to `path` (JSON), hardest first;
    images not scored yet come last with hardness null."""
    file_list = getattr(hard, "file_list", None)
    images = []
    for index, (hardness, weight) in enumerate(zip(hard.hardness, hard.weights)):
        images.append({"index": index,
                       "image": file_list[index][0] if file_list else None,
                       "hardness": None if math.isnan(hardness) else float(hardness),
                       "weight": float(weight)})
    images.sort(key=lambda item: -1.0 if item["hardness"] is None else item["hardness"],
                reverse=True)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as file:
        json.dump({"epochs": hard.epoch, "max_weight": hard.max_weight,
                   "momentum": hard.momentum, "images": images}, file, indent=2)
        file.write("\n")
