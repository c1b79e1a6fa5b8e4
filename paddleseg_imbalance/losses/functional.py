"""The functional core of the plugin's losses: pure functions on paddle tensors.

The layout follows segmentation_models_pytorch's `losses/_functional.py`: the `nn.Layer`
losses are thin wrappers that validate their arguments, then call

1. `class_statistics`: one pass over the logits that gives, per class, the soft true
   positives `TP = sum p*g`, the soft prediction mass `sum p` and the target count
   `sum g`, over the valid (not ignored) pixels only;
2. a score per class (`soft_jaccard_score`, `soft_tversky_score`);
3. `weighted_class_mean`: the weighted mean of the per-class losses, with the policy for
   classes absent from the target;

`lovasz_hinge_rows` for the Lovasz hinge, and `class_maps` + `soft_skeleton` for the
soft clDice loss, which needs the maps themselves rather than their sums. Everything is
computed in float32 (float64 stays float64), so float16 logits under AMP give finite
losses. The caller's label tensor is never written to.

Validation helpers raise `ValueError` that names the argument, the value found and the
fix. Constructor arguments are checked at construction; tensors at every forward, before
any gather or comparison that could hit a device-side assertion.
"""
import math

import numpy as np
import paddle
import paddle.nn.functional as F

BINARY = "binary"
MULTICLASS = "multiclass"
MULTILABEL = "multilabel"
MODES = (BINARY, MULTICLASS, MULTILABEL)

PENALIZE_FP = "penalize_fp"
IGNORE = "ignore"
ABSENT_CLASS_POLICIES = (PENALIZE_FP, IGNORE)

# How many offending label values an error message lists.
_SHOWN_VALUES = 8


# ------------------------------------------------------------------ argument checks


def check_choice(owner, name, value, choices):
    """`value` if it is one of `choices`, else ValueError naming them."""
    if value not in choices:
        raise ValueError(f"{owner}: `{name}` is {value!r}; expected one of "
                         f"{', '.join(repr(choice) for choice in choices)}.")
    return value


def check_non_negative(owner, name, value):
    """`value` as a float if it is a finite number >= 0, else ValueError."""
    value = _finite_float(owner, name, value)
    if value < 0:
        raise ValueError(f"{owner}: `{name}` is {value}; it must be >= 0.")
    return value


def check_positive(owner, name, value):
    """`value` as a float if it is a finite number > 0, else ValueError."""
    value = _finite_float(owner, name, value)
    if value <= 0:
        raise ValueError(f"{owner}: `{name}` is {value}; it must be > 0.")
    return value


def check_ignore_index(owner, ignore_index):
    """`ignore_index` if it is an integer, else ValueError."""
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise ValueError(f"{owner}: `ignore_index` is {ignore_index!r}; expected the integer "
                         f"label value of pixels to leave out (PaddleSeg's default is 255).")
    return int(ignore_index)


def _finite_float(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{owner}: `{name}` is {value!r}; expected a number.")
    if not math.isfinite(value):
        raise ValueError(f"{owner}: `{name}` is {value}; expected a finite number.")
    return float(value)


def check_weight(owner, weight):
    """Per-class weights as a float32 tensor of shape [K], or None for equal weights.

    `weight` is None, a paddle tensor, or a list / tuple / ndarray of finite numbers
    >= 0, at least one of them > 0. Its length is checked against the number of classes
    at forward (`check_weight_length`), when the logits say how many there are.
    """
    if weight is None:
        return None
    if isinstance(weight, str):
        raise ValueError(
            f"{owner}: `weight` is {weight!r}. `weight: auto` (or `batch`) is resolved into "
            f"a list by the plugin's tools (tools/train.py, paddleseg-imbalance); when "
            f"building the loss yourself, pass one number per class, e.g. [1.0, 10.0].")
    if isinstance(weight, paddle.Tensor):
        weight = weight.numpy()
    try:
        values = np.asarray(weight, dtype="float64")
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: `weight` is {weight!r}; expected None or a list of "
                         f"numbers, one per class.") from None
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{owner}: `weight` has shape {values.shape}; expected a flat list "
                         f"of numbers, one per class.")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{owner}: `weight` is {values.tolist()}; every entry must be a "
                         f"finite number (no nan or inf).")
    if np.any(values < 0):
        raise ValueError(f"{owner}: `weight` is {values.tolist()}; weights must be >= 0 "
                         f"(0 leaves a class out of the mean).")
    if not np.any(values > 0):
        raise ValueError(f"{owner}: `weight` is {values.tolist()}; at least one weight must "
                         f"be > 0.")
    return paddle.to_tensor(values.astype("float32"))


# -------------------------------------------------------------------- tensor checks


def num_classes(mode, channels):
    """Classes the loss averages over: a 1-channel binary logit has 2 (background, fg)."""
    return 2 if mode == BINARY else channels


def check_logits_and_labels(owner, mode, logits, labels, ignore_index):
    """Check shapes, dtypes and label values; returns the number of classes K.

    Shapes, per mode (further spatial dimensions, e.g. (N, C, D, H, W), work the same):

    - binary: logits (N, 1, H, W) or (N, 2, H, W); labels (N, H, W) or (N, 1, H, W)
      holding 0, 1 or `ignore_index`.
    - multiclass: logits (N, C, H, W) with C >= 2; labels (N, H, W) or (N, 1, H, W)
      holding 0..C-1 or `ignore_index`.
    - multilabel: logits (N, C, H, W); labels (N, C, H, W) holding 0, 1 or `ignore_index`
      per element.

    The value check is one cheap reduction on the labels (one host synchronisation); the
    offending values are only gathered when there are some.
    """
    logits_shape, labels_shape = list(logits.shape), list(labels.shape)
    if len(logits_shape) < 3:
        raise ValueError(f"{owner}: logits have shape {logits_shape}; expected (N, C, H, W).")
    channels = logits_shape[1]
    if mode == MULTILABEL:
        if labels_shape != logits_shape:
            raise ValueError(
                f"{owner}: in multilabel mode labels must have the logits' shape (N, C, H, W) "
                f"= {logits_shape}, one 0/1 mask per label; got labels of shape "
                f"{labels_shape}.")
    else:
        if mode == BINARY and channels not in (1, 2):
            raise ValueError(
                f"{owner}: binary mode takes logits with 1 channel (sigmoid) or 2 channels "
                f"(softmax); got {channels} channels (shape {logits_shape}). Use "
                f"mode='multiclass' for {channels} classes, or 'multilabel' for "
                f"{channels} independent masks.")
        if mode == MULTICLASS and channels < 2:
            raise ValueError(
                f"{owner}: multiclass mode needs logits with C >= 2 channels; got shape "
                f"{logits_shape}. For a single foreground logit use mode='binary'.")
        spatial = [logits_shape[0]] + logits_shape[2:]
        with_channel = [logits_shape[0], 1] + logits_shape[2:]
        if labels_shape not in (spatial, with_channel):
            raise ValueError(
                f"{owner}: in {mode} mode labels must have shape {spatial} or "
                f"{with_channel} (class ids of the logits' pixels, logits {logits_shape}); "
                f"got {labels_shape}.")
    if paddle.is_floating_point(labels) or labels.dtype in (paddle.complex64,
                                                             paddle.complex128):
        raise ValueError(f"{owner}: labels have dtype {labels.dtype}; expected an integer "
                         f"dtype (class ids). Cast them with labels.astype('int64').")

    classes = num_classes(mode, channels)
    upper = 2 if mode == MULTILABEL else classes
    if labels.dtype not in (paddle.int32, paddle.int64):
        labels = labels.astype("int64")
    # Cheap check first: the smallest and largest non-ignored value, one host sync.
    is_ignored = labels == ignore_index
    kept = paddle.where(is_ignored, paddle.zeros_like(labels), labels)
    smallest, largest = paddle.stack([paddle.min(kept), paddle.max(kept)]).numpy().tolist()
    if smallest < 0 or largest >= upper:
        bad = paddle.logical_and(paddle.logical_not(is_ignored),
                                 paddle.logical_or(labels < 0, labels >= upper))
        found = np.unique(paddle.masked_select(labels, bad).numpy())
        raise ValueError(_bad_label_message(owner, mode, found, upper, classes, channels,
                                            ignore_index))
    return classes


def _bad_label_message(owner, mode, found, upper, classes, channels, ignore_index):
    shown = ", ".join(str(value) for value in found[:_SHOWN_VALUES])
    if len(found) > _SHOWN_VALUES:
        shown += f", ... ({len(found)} values)"
    if mode == MULTILABEL:
        expected = f"0 or 1 per label (multilabel mode, {channels} label channels)"
    else:
        expected = f"class ids 0..{classes - 1} ({mode} mode, {channels} logit channel(s))"
    message = (f"{owner}: labels hold value(s) {shown}, outside the expected {expected} and "
               f"not ignore_index={ignore_index}.")
    if upper == 2 and 255 in found:
        message += (" If 255 marks the foreground of 0/255 masks, remap it with the "
                    "RemapLabels transform (mapping: {255: 1}); if it marks void pixels, "
                    "set ignore_index: 255.")
    else:
        message += (" Make the model output one channel per class (num_classes), remap the "
                    "label values (RemapLabels), or set ignore_index to the void value.")
    return message


def check_weight_length(owner, mode, weight, classes, channels):
    """ValueError unless `weight` (a [K] tensor or None) has one entry per class."""
    if weight is None or weight.shape[0] == classes:
        return
    if mode == BINARY and channels == 1:
        fix = ("binary mode with one logit channel has 2 classes, background and "
               "foreground: give weight: [w_bg, w_fg]")
    else:
        fix = f"give one weight per class ({classes} values)"
    raise ValueError(f"{owner}: `weight` has {weight.shape[0]} entries but the "
                     f"{mode} logits have {classes} classes ({channels} channels); {fix}.")


# ------------------------------------------------------------- probabilities, stats


def compute_dtype(logits):
    """float64 stays float64; anything else (float16, bfloat16, float32) is float32."""
    return "float64" if logits.dtype == paddle.float64 else "float32"


def in_compute_dtype(logits):
    """`logits` cast to `compute_dtype(logits)`, or as they are when already in it."""
    dtype = compute_dtype(logits)
    return logits if logits.dtype == getattr(paddle, dtype) else logits.astype(dtype)


def single_label_probabilities(logits, axis):
    """Class probabilities along `axis`: a softmax, or [1 - sigmoid, sigmoid] for 1 channel."""
    if logits.shape[axis] == 1:
        foreground = F.sigmoid(logits)
        return paddle.concat([1 - foreground, foreground], axis=axis)
    return F.softmax(logits, axis=axis)


def class_statistics(mode, logits, labels, ignore_index, per_image=False):
    """Soft per-class counts over the valid (not ignored) pixels, in one pass.

    Args:
        mode: `BINARY`, `MULTICLASS` or `MULTILABEL`.
        logits: (N, C, H, W) raw scores, any float dtype.
        labels: labels checked by `check_logits_and_labels`, any integer dtype; never
            modified.
        ignore_index: label value of pixels (multilabel: elements) to leave out.
        per_image: False sums over the batch too; True keeps one row per image.

    Returns:
        (tp, prob_sum, target_sum), each of shape (1, K), or (N, K) with `per_image`, in
        the compute dtype: tp = sum p*g, prob_sum = sum p, target_sum = sum g, over the
        valid pixels. False positives are prob_sum - tp, false negatives
        target_sum - tp. Probabilities p are a softmax over C (multiclass, binary with 2
        channels), [1 - sigmoid(x), sigmoid(x)] (binary with 1 channel, K = 2), or a
        sigmoid per channel (multilabel).
    """
    logits = in_compute_dtype(logits)
    batch, channels = logits.shape[0], logits.shape[1]
    if mode == MULTILABEL:
        logits = logits.reshape([batch, channels, -1])
        counts = _multilabel_counts(logits, labels.reshape(logits.shape), ignore_index)
    else:
        # Channels last: softmax over the last axis is Paddle's fast kernel, and
        # transposing the 4-D tensor is faster than transposing a flattened 3-D one.
        channels_last = [0] + list(range(2, len(logits.shape))) + [1]
        scores = logits.transpose(channels_last).reshape([batch, -1, channels])
        counts = _single_label_counts(scores, labels.reshape([batch, -1]), ignore_index)
    if per_image:
        return counts
    return tuple(paddle.sum(count, axis=0, keepdim=True) for count in counts)


def _multilabel_counts(logits, labels, ignore_index):
    """Per-image (tp, prob_sum, target_sum), (N, C); logits and labels (N, C, P)."""
    is_valid = labels != ignore_index
    valid = is_valid.astype(logits.dtype)
    probs = F.sigmoid(logits)
    targets = paddle.logical_and(labels == 1, is_valid).astype(logits.dtype)
    return (paddle.sum(probs * targets, axis=2), paddle.sum(probs * valid, axis=2),
            paddle.sum(targets, axis=2))


def _single_label_counts(scores, labels, ignore_index):
    """Per-image (tp, prob_sum, target_sum), (N, K); scores (N, P, C), labels (N, P).

    One batched matrix product gives the soft confusion matrix of every image,
    confusion[n, t, c] = sum of p_c over the pixels labelled t: its diagonal is TP and
    its column sums are sum p. Its backward is one more matrix product. This is much
    faster than multiplying probabilities and one-hot targets class by class. Ignored
    pixels are sent to an extra row K of the one-hot matrix, which is dropped.
    """
    batch = scores.shape[0]
    probs = single_label_probabilities(scores, axis=2)
    classes = probs.shape[2]
    rows = paddle.where(labels != ignore_index, labels.astype("int64"),
                        paddle.full(labels.shape, classes, dtype="int64"))
    one_hot = F.one_hot(rows, classes + 1)
    if one_hot.dtype != probs.dtype:
        one_hot = one_hot.astype(probs.dtype)
    confusion = paddle.matmul(one_hot, probs, transpose_x=True)[:, :classes, :]
    tp = paddle.diagonal(confusion, axis1=1, axis2=2)
    prob_sum = paddle.sum(confusion, axis=1)
    # Exact pixel counts per image: bincount over (image, class) pairs.
    image_offsets = paddle.arange(batch, dtype="int64").reshape([-1, 1]) * (classes + 1)
    target_sum = paddle.bincount((rows + image_offsets).reshape([-1]),
                                 minlength=batch * (classes + 1))
    target_sum = target_sum.reshape([batch, classes + 1])[:, :classes].astype(probs.dtype)
    return tp, prob_sum, target_sum


# ------------------------------------------------------------------ per-class maps


def class_maps(mode, logits, labels, ignore_index):
    """Probability and target maps per class, (N, K, H, W), zero at ignored pixels.

    Args:
        mode, logits, labels, ignore_index: as in `class_statistics`.

    Returns:
        (probs, targets), each (N, K, ...) in the compute dtype, the classes as in
        `class_statistics`. Both are 0 at ignored pixels (multilabel: elements), so an
        ignored pixel is neither class.
    """
    logits = in_compute_dtype(logits)
    dtype = logits.dtype
    if mode == MULTILABEL:
        labels = labels.reshape(logits.shape)
        valid = (labels != ignore_index).astype(dtype)
        return F.sigmoid(logits) * valid, (labels == 1).astype(dtype) * valid
    probs = single_label_probabilities(logits, axis=1)
    classes = probs.shape[1]
    labels = labels.reshape([logits.shape[0]] + list(logits.shape[2:]))
    is_valid = labels != ignore_index
    ids = paddle.where(is_valid, labels.astype("int64"), paddle.zeros_like(labels, "int64"))
    channels_first = [0, len(ids.shape)] + list(range(1, len(ids.shape)))
    targets = F.one_hot(ids, classes).transpose(channels_first).astype(dtype)
    valid = is_valid.astype(dtype).unsqueeze(1)
    return probs * valid, targets * valid


def soft_erode(maps):
    """Soft erosion of (N, C, H, W) maps: the minimum over the pixel's 4-neighbourhood cross.

    Pixels outside the image are left out of the minimum (max-pooling pads with -inf).
    """
    vertical = -F.max_pool2d(-maps, kernel_size=(3, 1), stride=1, padding=(1, 0))
    horizontal = -F.max_pool2d(-maps, kernel_size=(1, 3), stride=1, padding=(0, 1))
    return paddle.minimum(vertical, horizontal)


def soft_dilate(maps):
    """Soft dilation of (N, C, H, W) maps: the maximum over the pixel's 3x3 window."""
    return F.max_pool2d(maps, kernel_size=3, stride=1, padding=1)


def soft_skeleton(maps, iterations):
    """Soft skeleton of (N, C, H, W) maps in [0, 1], differentiable.

    Shit et al., "clDice - a Novel Topology-Preserving Loss Function for Tubular Structure
    Segmentation", CVPR 2021, Algorithm 1: with erosion E (`soft_erode`), opening
    O(x) = D(E(x)) (`soft_dilate`), S = relu(x - O(x)), then `iterations` times
    x <- E(x), d = relu(x - O(x)), S <- S + relu(d - S d). On a 0/1 mask this keeps the
    centre line of structures up to about 2 * iterations + 1 pixels wide.
    """
    eroded = soft_erode(maps)
    skeleton = F.relu(maps - soft_dilate(eroded))
    for _ in range(iterations):
        # E(x) of this step is the erosion already taken inside the previous opening.
        maps, eroded = eroded, soft_erode(eroded)
        delta = F.relu(maps - soft_dilate(eroded))
        skeleton = skeleton + F.relu(delta - skeleton * delta)
    return skeleton


# ------------------------------------------------------------------------- scores


def soft_jaccard_score(tp, prob_sum, target_sum, smooth=1.0, eps=1e-7):
    """Soft IoU per class: (TP + smooth) / max(sum p + sum g - TP + smooth, eps).

    Rahman & Wang, "Optimizing Intersection-over-Union in Deep Neural Networks for Image
    Segmentation", ISVC 2016. With smooth > 0 a class absent from both target and
    prediction scores 1; `eps` only keeps the division finite when smooth = 0.
    """
    union = prob_sum + target_sum - tp
    return (tp + smooth) / paddle.clip(union + smooth, min=eps)


def soft_tversky_score(tp, prob_sum, target_sum, alpha, beta, smooth=1.0, eps=1e-7):
    """Tversky index per class: (TP + s) / max(TP + alpha FP + beta FN + s, eps).

    Salehi et al., "Tversky loss function for image segmentation using 3D fully
    convolutional deep networks", MLMI 2017. FP = sum p - TP, FN = sum g - TP. With
    alpha = beta = 1 this is `soft_jaccard_score`; with alpha = beta = 0.5 it is the soft
    Dice score (2 TP + 2s) / (2 TP + FP + FN + 2s).
    """
    false_pos = prob_sum - tp
    false_neg = target_sum - tp
    denominator = tp + alpha * false_pos + beta * false_neg + smooth
    return (tp + smooth) / paddle.clip(denominator, min=eps)


def spatial_sums(maps, per_image=False):
    """Sums of (N, K, ...) maps over the pixels: (N, K) with `per_image`, else (1, K)."""
    sums = paddle.sum(maps.flatten(start_axis=2), axis=2)
    return sums if per_image else paddle.sum(sums, axis=0, keepdim=True)


def soft_cldice_score(probs, targets, iterations, smooth=1.0, eps=1e-7, per_image=False):
    """Soft clDice per class: the harmonic mean of topology precision and sensitivity.

    Shit et al., CVPR 2021. With S(.) = `soft_skeleton`, P the probability maps and G
    the target masks (both zero at ignored pixels), summed over the pixels:
    Tprec = (sum S(P) G + s) / (sum S(P) + s), the share of the predicted centre line
    that lies on the target; Tsens = (sum S(G) P + s) / (sum S(G) + s), the share of the
    target's centre line that is predicted; clDice = 2 Tprec Tsens / (Tprec + Tsens).

    Args:
        probs, targets: (N, K, H, W) maps in [0, 1] (see `class_maps`).
        iterations: soft-skeleton iterations; structures up to about 2 * iterations + 1
            pixels wide keep a centre line.
        smooth, eps: `smooth` is added to numerators and denominators (a class absent
            from the target and not predicted scores 1); `eps` bounds the denominators.
        per_image: one row per image instead of one for the batch.

    Returns:
        (R, K) scores, R = N with `per_image`, else 1.
    """
    def ratio(covered, skeleton):
        return ((spatial_sums(covered, per_image) + smooth)
                / paddle.clip(spatial_sums(skeleton, per_image) + smooth, min=eps))

    pred_skeleton = soft_skeleton(probs, iterations)
    target_skeleton = soft_skeleton(targets, iterations)
    precision = ratio(pred_skeleton * targets, pred_skeleton)
    sensitivity = ratio(target_skeleton * probs, target_skeleton)
    return 2 * precision * sensitivity / paddle.clip(precision + sensitivity, min=eps)


# ---------------------------------------------------------------------- reduction


def weighted_class_mean(class_losses, target_sum, weight=None, absent_classes=PENALIZE_FP):
    """Weighted mean over classes, then mean over rows (the batch, or the images).

    loss_r = sum_c w_c m_rc L_rc / sum_c w_c m_rc, where m_rc = 1 for every class with
    `absent_classes="penalize_fp"` and m_rc = [target_sum_rc > 0] with "ignore". The result
    is the mean of loss_r over the rows whose denominator is > 0 (0 if there are none, so
    a batch of only ignored pixels gives 0 with zero gradient).

    Args:
        class_losses: (R, K) per-class losses; R = 1 (whole batch) or N (per image).
        target_sum: (R, K) target pixel count per class, which tells absent classes.
        weight: (K,) tensor of class weights >= 0, or None for equal weights.
        absent_classes: `PENALIZE_FP` keeps a class with no target pixel in the mean (its
            false positives are penalised); `IGNORE` drops it and renormalises.

    Returns:
        A 0-D tensor.
    """
    if weight is None:
        weights = paddle.ones_like(class_losses)
    else:
        weights = weight.astype(class_losses.dtype).reshape([1, -1]).expand(
            class_losses.shape)
    if absent_classes == IGNORE:
        weights = weights * (target_sum > 0).astype(class_losses.dtype)
    weights.stop_gradient = True
    weight_sum = paddle.sum(weights, axis=1)
    has_classes = weight_sum > 0
    safe_sum = paddle.where(has_classes, weight_sum, paddle.ones_like(weight_sum))
    row_losses = paddle.sum(weights * class_losses, axis=1) / safe_sum
    rows = paddle.clip(paddle.sum(has_classes.astype(row_losses.dtype)), min=1)
    return paddle.sum(row_losses) / rows


# ------------------------------------------------------------------------- Lovasz


def lovasz_grad(gt_sorted):
    """Gradient of the Lovasz extension of the Jaccard loss w.r.t. sorted errors, per row.

    Berman, Triki & Blaschko, "The Lovasz-Softmax loss", CVPR 2018, Algorithm 1.

    Args:
        gt_sorted: (R, P) 0/1 ground truth, each row sorted by decreasing error.

    Returns:
        (R, P): J(k) - J(k-1), where J(k) = 1 - |gt \\ top k| / |gt u top k| is the
        Jaccard loss of predicting the k largest errors wrong.
    """
    gts = paddle.sum(gt_sorted, axis=1, keepdim=True)
    intersection = gts - paddle.cumsum(gt_sorted, axis=1)
    union = gts + paddle.cumsum(1 - gt_sorted, axis=1)
    jaccard = 1 - intersection / union
    return paddle.concat([jaccard[:, :1], jaccard[:, 1:] - jaccard[:, :-1]], axis=1)


def lovasz_hinge_rows(logits, targets, valid):
    """Lovasz hinge of each row, an independent binary problem.

    loss_r = sum_k relu(e_r[k]) * lovasz_grad(g_r sorted)[k], with errors
    e = 1 - x * (2g - 1) sorted in decreasing order (Berman et al., CVPR 2018).

    Args:
        logits: (R, P) raw scores (float32 or float64).
        targets: (R, P) 0/1 ground truth, same dtype.
        valid: (R, P) bool, False at ignored elements.

    Returns:
        (R,) losses; a row with no valid element gives 0.

    Ignored elements get error -1 and target 0: they sort after every positive error, and
    relu zeroes them, so only the prefix of positive valid errors carries weight and its
    cumulative sums see no ignored element. This keeps static shapes (no gather of the
    valid elements) and sorts all rows in one call.
    """
    targets = paddle.where(valid, targets, paddle.zeros_like(targets))
    signs = 2 * targets - 1
    errors = paddle.where(valid, 1 - logits * signs, paddle.full_like(logits, -1))
    order = paddle.argsort(errors, axis=1, descending=True)
    errors_sorted = paddle.take_along_axis(errors, order, axis=1)
    grad = lovasz_grad(paddle.take_along_axis(targets, order, axis=1))
    grad.stop_gradient = True
    return paddle.sum(F.relu(errors_sorted) * grad, axis=1)
