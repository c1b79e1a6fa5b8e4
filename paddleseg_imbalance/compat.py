"""Repairs to PaddleSeg, applied once on `import paddleseg_imbalance`.

Each repair replaces one PaddleSeg function or method by a corrected version written
here, and is installed only on the PaddleSeg and Paddle lines that have the bug. The
PaddleSeg lines are the PyPI release 2.8.0 and the develop branch (commit d7975e7c,
which source installs and PaddleX 3 run; it reports version 0.0.0.dev0):

========================  =========  ======  ================================================
repair                    PaddleSeg  Paddle  what breaks
========================  =========  ======  ================================================
train-loss-logging        2.8        all     `core/train.py` logs `l[0]` of a 0-D loss array:
                                             IndexError at the first log step.
metrics-area              2.8        all     `metrics.calculate_area` concatenates 0-D sums:
                                             ValueError at the first evaluation.
cross-entropy             all        all     2.8: with `weight` and `avg_non_ignore: false`
                                             the label is one-hot encoded before the ignore
                                             value is masked (one_hot kernel error / device
                                             assertion on 255); on Paddle >= 3 also
                                             `float32 * int64` TypeError. develop: with
                                             `weight` and `avg_non_ignore: false` the
                                             normaliser drops the class weights, so the
                                             loss scale (the effective learning rate)
                                             depends on the PaddleSeg line.
ohem-cross-entropy        2.8        >= 3    `prob + (1 - valid_mask)` mixes float32 and int64.
dice-label-in-place       all        all     `DiceLoss` writes 0 into the caller's label tensor,
                                             so a later loss of a `MixedLoss` (or another head)
                                             trains ignored pixels as class 0.
lovasz-hinge-unary        all        all     `binary_channel_to_unary` computes
                                             `log(p + eps / (1 - p + eps))` instead of
                                             `log(p / (1 - p))`: wrong logits, wrong gradients.
random-padding-crop       2.8        all     `category_max_ratio < 1` puts the *label* crop into
                                             `data['img']`, or leaves the image uncropped.
label-bit-depth           all        all     a 16-bit label PNG is read as uint16, which Paddle
                                             takes for bfloat16 when the data loader makes it a
                                             tensor: labels 0/1 train as all background.
log-to-current-stdout     develop    all     the `logging` handlers of PaddleSeg's loggers keep
                                             the `sys.stdout` of import time, so a redirected
                                             stdout (`lint --format json` keeps stdout for the
                                             report; pytest's capsys) still gets the log lines.
========================  =========  ======  ================================================

"2.8" is any 2.8.x release; "all" is 2.8.x and every other version (develop, and later
releases, which are treated as develop). PaddleSeg's evaluation, prediction and export
code runs unchanged on every line; the tests in `tests/test_compat.py` exercise each
repair, show the original's bug where it exists, and skip, saying so, where the installed
PaddleSeg has fixed it. Each repair is a permanent `Patch` of `paddleseg_imbalance.patches`
(`repairs()` below), which lists the training run's hooks beside them.
"""
import importlib
import logging
import sys

import numpy as np
import paddle
import paddle.nn.functional as F
import paddleseg
from paddleseg.utils import logger

from paddleseg_imbalance.patches import PERMANENT, Patch


def _paddle_major():
    version = paddle.__version__
    # Source builds report "0.0.0"; they track the newest line.
    return 99 if version.startswith("0.0.0") else int(version.split(".")[0])


def paddleseg_is_2_8():
    """Whether the installed PaddleSeg is the 2.8.x release (else develop or newer)."""
    return paddleseg.__version__.startswith("2.8")


def _module(name):
    # `paddleseg.core.train` is shadowed by the function of the same name in
    # `paddleseg.core`, so modules are looked up by name, not by attribute.
    return importlib.import_module(name)


# --------------------------------------------------------------------------- losses


def cross_entropy_post_process_loss(self, logit, label, semantic_weights, loss):
    """`CrossEntropyLoss._post_process_loss` with the ignore value masked before lookup.

    The normaliser is unchanged from PaddleSeg: the mean of `mask * w[label]` over the
    pixels, where `w` is the class weight (1 without `weight`). With
    `avg_non_ignore: false` the mask is 1 everywhere and an ignored pixel counts with
    weight 1 (PaddleSeg one-hot encoded the raw 255 there and crashed).
    """
    valid = label != self.ignore_index
    if self.avg_non_ignore:
        mask = valid.astype("float32")
    else:
        mask = paddle.ones(label.shape, dtype="float32")
    mask.stop_gradient = True
    label.stop_gradient = True

    if loss.ndim > mask.ndim:
        loss = paddle.squeeze(loss, axis=-1)
    loss = loss * mask.astype(loss.dtype)
    if semantic_weights is not None:
        loss = loss * semantic_weights

    if self.weight is not None:
        safe_label = paddle.where(valid, label, paddle.zeros_like(label))
        coef = paddle.gather(self.weight, safe_label.flatten()).reshape(label.shape)
        coef = paddle.where(valid, coef, paddle.ones_like(coef))
    else:
        coef = paddle.ones(label.shape, dtype="float32")
    coef.stop_gradient = True

    if self.top_k_percent_pixels == 1.0:
        return paddle.mean(loss) / (paddle.mean(mask * coef).astype(loss.dtype) + self.EPS)
    loss = loss.reshape((-1,))
    top_k_pixels = int(self.top_k_percent_pixels * loss.numel())
    loss, indices = paddle.topk(loss, top_k_pixels)
    coef = paddle.gather(coef.reshape((-1,)), indices)
    return loss.mean() / (paddle.mean(coef).astype(loss.dtype) + self.EPS)


def ohem_cross_entropy_forward(self, logit, label):
    """`OhemCrossEntropyLoss.forward` with explicit dtypes (Paddle 3 type promotion).

    Pixels whose true-class probability is below `thresh` (or, if fewer than `min_kept`
    are, the `min_kept` hardest) are kept; the loss is the mean over kept pixels.
    """
    if len(label.shape) != len(logit.shape):
        label = paddle.unsqueeze(label, 1)
    n, c, h, w = logit.shape
    label = label.reshape((-1,)).astype("int64")
    valid = (label != self.ignore_index).astype("int64")
    num_valid = int(valid.sum())
    label = label * valid

    if 0 < self.min_kept < num_valid:
        prob = F.softmax(logit, axis=1).transpose((1, 0, 2, 3)).reshape((c, -1))
        # Ignored pixels get probability > 1 so they are never mined as hard.
        prob = prob + (1 - valid).astype(prob.dtype)
        prob = paddle.sum(prob * F.one_hot(label, c).transpose((1, 0)).astype(prob.dtype), axis=0)
        threshold = self.thresh
        order = prob.argsort()
        kth = int(order[min(len(order), self.min_kept) - 1])
        if float(prob[kth]) > self.thresh:
            threshold = float(prob[kth])
        kept = (prob < threshold).astype("int64")
        label = label * kept
        valid = valid * kept

    label = label + (1 - valid) * self.ignore_index
    label = label.reshape((n, 1, h, w))
    valid_mask = valid.reshape((n, 1, h, w)).astype(logit.dtype)
    label.stop_gradient = True
    valid_mask.stop_gradient = True
    loss = F.cross_entropy(logit, label, ignore_index=self.ignore_index, reduction="none",
                           axis=1)
    loss = loss * valid_mask
    return paddle.mean(loss) / (paddle.mean(valid_mask) + self.EPS)


def dice_forward(self, logits, labels):
    """`DiceLoss.forward` that masks ignored pixels without writing into `labels`."""
    num_class = logits.shape[1]
    if self.weight is not None and len(self.weight) != num_class:
        raise ValueError(
            f"DiceLoss: `weight` has {len(self.weight)} entries but the model outputs "
            f"{num_class} classes; give one weight per class.")
    valid = labels != self.ignore_index
    mask = paddle.unsqueeze(valid, 1).astype("float32")
    safe_labels = paddle.where(valid, labels, paddle.zeros_like(labels))
    one_hot = paddle.transpose(F.one_hot(safe_labels, num_class), [0, 3, 1, 2])
    probs = F.softmax(logits, axis=1)
    dice_module = _module("paddleseg.models.losses.dice_loss")
    total = 0.0
    for i in range(num_class):
        term = dice_module.dice_loss_helper(probs[:, i], one_hot[:, i], mask, self.smooth,
                                            self.eps)
        if self.weight is not None:
            term = term * self.weight[i]
        total = total + term
    return total / num_class


def binary_channel_to_unary(logits, eps=1e-9):
    """Two-class logits to one logit: log(p1 / (1 - p1)) with p1 = softmax(logits)[:, 1].

    Equal to `logits[:, 1] - logits[:, 0]` up to `eps`; PaddleSeg 2.8.0 misplaced a
    parenthesis and computed log(p1 + eps / (1 - p1 + eps)).
    """
    probas = F.softmax(logits, axis=1)[:, 1, :, :]
    return paddle.log((probas + eps) / (1 - probas + eps)).unsqueeze(1)


# ----------------------------------------------------------------------- transforms


def random_padding_crop_call(self, data):
    """`RandomPaddingCrop.__call__` that crops the image and labels with one window.

    With `category_max_ratio < 1` it tries up to `loop_times` windows and keeps the first
    in which no single (non-ignored) class exceeds the ratio, else the last one tried.
    """
    functional = _module("paddleseg.transforms.functional")
    img_shape = data["img"].shape[:2]
    if img_shape[0] == self.crop_size[0] and img_shape[1] == self.crop_size[1]:
        return data
    data = self._padding(data)
    img_shape = data["img"].shape[:2]
    window = self._get_crop_coordinates(img_shape)
    if self.category_max_ratio < 1.0:
        for _ in range(self.loop_times):
            values, counts = np.unique(functional.crop(data["label"], window),
                                       return_counts=True)
            counts = counts[values != self.ignore_index]
            if len(counts) > 1 and counts.max() / counts.sum() < self.category_max_ratio:
                break
            window = self._get_crop_coordinates(img_shape)
    data["img"] = functional.crop(data["img"], window)
    for key in data.get("gt_fields", []):
        data[key] = functional.crop(data[key], window)
    return data


def _make_compose_call(original):
    def compose_call(self, data):
        """PaddleSeg's `Compose.__call__`, a uint16 (16-bit PNG) label returned as int32.

        Paddle stores bfloat16 in uint16 arrays, so the data loader turns a uint16 label
        into bfloat16 bits (1 becomes about 1e-40, then 0 as int64). The transforms still
        see the uint16 array, which OpenCV handles.
        """
        data = original(self, data)
        label = data.get("label")
        if isinstance(label, np.ndarray) and label.dtype == np.uint16:
            data["label"] = label.astype(np.int32)
        return data

    return compose_call


# -------------------------------------------------------------------------- metrics


def calculate_area(pred, label, num_classes, ignore_index=255):
    """`metrics.calculate_area` for 0-D sums: per-class intersection, prediction, label.

    Returns three int64 tensors of shape [num_classes]; pixels labelled `ignore_index`
    count in none of them. PaddleSeg 2.8.0 concatenated 0-D sums, which fails on
    Paddle >= 2.6 at the first evaluation.
    """
    if pred.ndim == 4:
        pred = paddle.squeeze(pred, axis=1)
    if label.ndim == 4:
        label = paddle.squeeze(label, axis=1)
    if pred.shape != label.shape:
        raise ValueError(f"Shape of `pred` and `label` should be equal, but there are "
                         f"{pred.shape} and {label.shape}.")
    valid = label != ignore_index
    intersect, pred_area, label_area = [], [], []
    for i in range(num_classes):
        pred_i = paddle.logical_and(pred == i, valid)
        label_i = label == i
        pred_area.append(pred_i.astype("int64").sum())
        label_area.append(label_i.astype("int64").sum())
        intersect.append(paddle.logical_and(pred_i, label_i).astype("int64").sum())
    return paddle.stack(intersect), paddle.stack(pred_area), paddle.stack(label_area)


# ---------------------------------------------------------------------------- train


def _make_loss_computation(original):
    def loss_computation(logits_list, labels, edges, losses):
        """PaddleSeg's `loss_computation`, each loss returned with shape [1].

        PaddleSeg 2.8.0's train loop logs `loss.numpy()[0]`, which fails on the 0-D
        losses that Paddle >= 2.6 returns.
        """
        return [loss.reshape([1]) for loss in original(logits_list, labels, edges, losses)]

    loss_computation.__wrapped__ = original
    return loss_computation


# -------------------------------------------------------------------------- logging


class _CurrentStdout:
    """A stream that writes to whatever `sys.stdout` is at the time of the write, as
    PaddleSeg 2.8.0's print-based logger does; `replaced` is the handler's own stream."""

    def __init__(self, replaced):
        self.replaced = replaced

    def write(self, text):
        return sys.stdout.write(text)

    def flush(self):
        sys.stdout.flush()


def log_to_current_stdout(logger_module):
    """Point the stdout handlers of PaddleSeg develop's loggers (those its `setup_logger`
    made so far, the training loop's included) at the current `sys.stdout`; True if any
    handler changed."""
    changed = False
    for name in logger_module.logger_initialized:
        for handler in logging.getLogger(name).handlers:
            if (type(handler) is logging.StreamHandler and handler.stream is not sys.stderr
                    and not isinstance(handler.stream, _CurrentStdout)):
                handler.setStream(_CurrentStdout(handler.stream))
                changed = True
    return changed


def log_to_own_streams(logger_module):
    """Undo `log_to_current_stdout`."""
    for name in logger_module.logger_initialized:
        for handler in logging.getLogger(name).handlers:
            if isinstance(getattr(handler, "stream", None), _CurrentStdout):
                handler.setStream(handler.stream.replaced)


# --------------------------------------------------------------------------- apply


def _set(owner, name, value):
    """Install `value` as `owner.name` unless a repair is there already (idempotent)."""
    current = getattr(owner, name)
    if hasattr(current, "__paddleseg_original__"):
        return False
    # Keep the original reachable, for tests that show the bug it had.
    value.__paddleseg_original__ = current
    setattr(owner, name, value)
    return True


def _unset(owner, name):
    """Put back what `_set` replaced as `owner.name`, if a repair is there."""
    original = getattr(getattr(owner, name), "__paddleseg_original__", None)
    if original is not None:
        setattr(owner, name, original)


def _repair(name, changes, fixes, applies_to, needed, owner, attribute, make):
    """The `Patch` that installs `make()` as `owner.<attribute>`."""
    return Patch(name, changes, fixes, applies_to, PERMANENT,
                 install=lambda: _set(owner, attribute, make()),
                 remove=lambda: _unset(owner, attribute), needed=needed)


def repairs():
    """Every repair as a permanent `Patch`, in the order they are applied; `needed` says
    whether the installed PaddleSeg/Paddle pair has the bug (see the table above)."""
    losses = _module("paddleseg.models.losses")
    transforms = _module("paddleseg.transforms")
    train_module = _module("paddleseg.core.train")
    lovasz = _module("paddleseg.models.losses.lovasz_loss")
    metrics = _module("paddleseg.utils.metrics")
    logger_module = _module("paddleseg.utils.logger")
    paddle3 = _paddle_major() >= 3
    release_2_8 = paddleseg_is_2_8()
    return [
        _repair("train-loss-logging", ("paddleseg.core.train.loss_computation",),
                "the loop logs l[0] of a 0-D loss: IndexError at the first log step",
                "PaddleSeg 2.8, all Paddle", release_2_8, train_module, "loss_computation",
                lambda: _make_loss_computation(train_module.loss_computation)),
        _repair("metrics-area", ("paddleseg.utils.metrics.calculate_area",),
                "0-D sums concatenated: ValueError at the first evaluation",
                "PaddleSeg 2.8, all Paddle", release_2_8, metrics, "calculate_area",
                lambda: calculate_area),
        _repair("cross-entropy", ("paddleseg.models.losses.CrossEntropyLoss._post_process_loss",),
                "with weight and avg_non_ignore false: 2.8 one-hot encodes the ignore value "
                "(crash; float32 * int64 on Paddle 3), develop drops the class weights "
                "from the normaliser", "PaddleSeg 2.8 and develop, all Paddle", True,
                losses.CrossEntropyLoss, "_post_process_loss",
                lambda: cross_entropy_post_process_loss),
        _repair("ohem-cross-entropy", ("paddleseg.models.losses.OhemCrossEntropyLoss.forward",),
                "prob + (1 - valid_mask) mixes float32 and int64",
                "PaddleSeg 2.8, Paddle >= 3", release_2_8 and paddle3,
                losses.OhemCrossEntropyLoss, "forward", lambda: ohem_cross_entropy_forward),
        _repair("dice-label-in-place", ("paddleseg.models.losses.DiceLoss.forward",),
                "DiceLoss writes 0 into the caller's label: later losses train ignored "
                "pixels as class 0", "PaddleSeg 2.8 and develop, all Paddle", True,
                losses.DiceLoss, "forward", lambda: dice_forward),
        _repair("lovasz-hinge-unary",
                ("paddleseg.models.losses.lovasz_loss.binary_channel_to_unary",),
                "log(p + eps / (1 - p + eps)) instead of log(p / (1 - p)): wrong logits",
                "PaddleSeg 2.8 and develop, all Paddle", True, lovasz,
                "binary_channel_to_unary", lambda: binary_channel_to_unary),
        _repair("random-padding-crop", ("paddleseg.transforms.RandomPaddingCrop.__call__",),
                "category_max_ratio < 1 puts the label crop into the image, or leaves the "
                "image uncropped", "PaddleSeg 2.8, all Paddle", release_2_8,
                transforms.RandomPaddingCrop, "__call__", lambda: random_padding_crop_call),
        _repair("label-bit-depth", ("paddleseg.transforms.Compose.__call__",),
                "a 16-bit label PNG becomes bfloat16 bits in the data loader: labels train "
                "as all background", "PaddleSeg 2.8 and develop, all Paddle", True,
                transforms.Compose, "__call__",
                lambda: _make_compose_call(transforms.Compose.__call__)),
        # Develop's logger is `logging`-based (2.8.0's prints); it lists its loggers.
        Patch("log-to-current-stdout", ("paddleseg.utils.logger handlers' streams",),
              "the loggers' handlers keep the stdout of import time, so a redirected "
              "stdout still gets the log lines", "PaddleSeg develop, all Paddle", PERMANENT,
              install=lambda: log_to_current_stdout(logger_module),
              remove=lambda: log_to_own_streams(logger_module),
              needed=hasattr(logger_module, "logger_initialized")),
    ]


def apply():
    """Install the repairs this PaddleSeg/Paddle pair needs; calling it again is a no-op.

    Returns the names of the repairs needed here. Logs one line when it installs any.
    """
    needed = [repair for repair in repairs() if repair.needed]
    installed = [repair.name for repair in needed if repair.install()]
    if installed:
        logger.info("paddleseg-imbalance repaired PaddleSeg {} on Paddle {}: {}".format(
            paddleseg.__version__, paddle.__version__, ", ".join(installed)))
    return [repair.name for repair in needed]
