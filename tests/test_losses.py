"""WeightedIoULoss, TverskyLoss, SoftClDiceLoss, MultiLabelLovaszHingeLoss vs numpy references.

The references below are written from the formulas (per class, per group of pixels, in
float64 loops) and call nothing from the code under test.
"""
import math

import numpy as np
import paddle
import pytest
from paddleseg.cvlibs import manager
from scipy import ndimage
from paddleseg.cvlibs.builder import Builder
from paddleseg.models.losses import LovaszHingeLoss

import paddleseg_imbalance  # noqa: F401  (registers the losses)
from paddleseg_imbalance.losses import (MultiLabelLovaszHingeLoss, SoftClDiceLoss,
                                        TverskyLoss, WeightedIoULoss)
from paddleseg_imbalance.losses import functional as LF
from tests.helpers import np_softmax, tensors

IGNORE = 255

# name: (mode, logit channels, weight with one entry per class)
CASES = {
    "binary1": ("binary", 1, [0.3, 2.0]),
    "binary2": ("binary", 2, [0.3, 2.0]),
    "multiclass": ("multiclass", 4, [1.0, 2.0, 0.5, 3.0]),
    "multilabel": ("multilabel", 3, [1.0, 3.0, 2.0]),
}


def make_batch(case, seed=0, scale=2.0):
    """Logits (2, ch, 5, 6) and int64 labels with ~20 % ignored pixels (elements).

    Some classes are absent: multiclass class 3 from the batch and class 2 from image 1;
    binary foreground from image 1; multilabel channel 2 from the batch and channel 1
    from image 1.
    """
    mode, channels, _ = CASES[case]
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((2, channels, 5, 6)) * scale).astype("float32")
    if mode == "multilabel":
        labels = rng.integers(0, 2, (2, channels, 5, 6))
        labels[:, 2] = 0
        labels[1, 1] = 0
    elif mode == "binary":
        labels = rng.integers(0, 2, (2, 5, 6))
        labels[1] = 0
    else:
        labels = rng.integers(0, 3, (2, 5, 6))
        labels[1][labels[1] == 2] = 0
    labels[rng.random(labels.shape) < 0.2] = IGNORE
    return logits, labels.astype("int64")


# ----------------------------------------------------------------- numpy references


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_class_arrays(mode, logits, labels):
    """probs, targets, valid, each (N, K, P) float64."""
    n, c = logits.shape[:2]
    x = logits.reshape(n, c, -1).astype("float64")
    if mode == "multilabel":
        lab = labels.reshape(n, c, -1)
        valid = lab != IGNORE
        return np_sigmoid(x), ((lab == 1) & valid) * 1.0, valid * 1.0
    lab = labels.reshape(n, -1)
    if c == 1:
        foreground = np_sigmoid(x[:, 0])
        probs = np.stack([1 - foreground, foreground], axis=1)
    else:
        probs = np_softmax(x)
    classes = probs.shape[1]
    valid = np.repeat((lab != IGNORE)[:, None], classes, axis=1) * 1.0
    targets = np.stack([lab == k for k in range(classes)], axis=1) * valid
    return probs, targets, valid


def np_loss(mode, logits, labels, class_term, weight=None, per_image=False,
            absent_classes="penalize_fp"):
    """Weighted mean over classes of class_term(tp, fp, fn), then mean over groups."""
    probs, targets, valid = np_class_arrays(mode, logits, labels)
    groups = [[i] for i in range(len(probs))] if per_image else [list(range(len(probs)))]
    group_losses = []
    for group in groups:
        numerator = denominator = 0.0
        for k in range(probs.shape[1]):
            p, g, v = probs[group, k], targets[group, k], valid[group, k]
            tp = np.sum(p * g)
            fp = np.sum(p * (1 - g) * v)
            fn = np.sum((1 - p) * g)
            w = 1.0 if weight is None else weight[k]
            if absent_classes == "ignore" and g.sum() == 0:
                w = 0.0
            numerator += w * class_term(tp, fp, fn)
            denominator += w
        if denominator > 0:
            group_losses.append(numerator / denominator)
    return float(np.mean(group_losses)) if group_losses else 0.0


def np_iou_term(smooth=1.0, log_loss=False):
    def term(tp, fp, fn):
        iou = (tp + smooth) / max(tp + fp + fn + smooth, 1e-7)
        return -math.log(max(iou, 1e-7)) if log_loss else 1 - iou
    return term


def np_tversky_term(alpha, beta, gamma=1.0, smooth=1.0):
    def term(tp, fp, fn):
        return (1 - (tp + smooth) / (tp + alpha * fp + beta * fn + smooth)) ** gamma
    return term


def np_dice_term(smooth):
    def term(tp, fp, fn):
        return 1 - (2 * tp + smooth) / (2 * tp + fp + fn + smooth)
    return term


def np_soft_skeleton(image, iterations):
    """Shit et al.'s soft skeleton of one 2-D map, with scipy's grey morphology."""
    cross = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)

    def erode(x):
        return ndimage.minimum_filter(x, footprint=cross, mode="nearest")

    def opening(x):
        return ndimage.maximum_filter(erode(x), size=3, mode="nearest")

    skeleton = np.maximum(image - opening(image), 0)
    for _ in range(iterations):
        image = erode(image)
        delta = np.maximum(image - opening(image), 0)
        skeleton = skeleton + np.maximum(delta - skeleton * delta, 0)
    return skeleton


def np_cldice_loss(mode, logits, labels, iterations=3, include_background=False, weight=None,
                   smooth=1.0, per_image=False, absent_classes="penalize_fp"):
    """1 - clDice per class, weighted mean over classes, then mean over groups."""
    probs, targets, valid = np_class_arrays(mode, logits, labels)
    shape = probs.shape[:2] + logits.shape[2:]
    probs, targets = (probs * valid).reshape(shape), targets.reshape(shape)
    pred_skeletons, target_skeletons = (
        np.array([[np_soft_skeleton(m, iterations) for m in image] for image in maps])
        for maps in (probs, targets))
    groups = [[i] for i in range(len(probs))] if per_image else [list(range(len(probs)))]
    group_losses = []
    for group in groups:
        numerator = denominator = 0.0
        for k in range(probs.shape[1]):
            p, g = probs[group, k], targets[group, k]
            sp, sg = pred_skeletons[group, k], target_skeletons[group, k]
            precision = (np.sum(sp * g) + smooth) / (np.sum(sp) + smooth)
            sensitivity = (np.sum(sg * p) + smooth) / (np.sum(sg) + smooth)
            w = 1.0 if weight is None else weight[k]
            if (k == 0 and not include_background) or (absent_classes == "ignore"
                                                       and g.sum() == 0):
                w = 0.0
            numerator += w * (1 - 2 * precision * sensitivity / (precision + sensitivity))
            denominator += w
        if denominator > 0:
            group_losses.append(numerator / denominator)
    return float(np.mean(group_losses)) if group_losses else 0.0


def np_lovasz_grad(gt_sorted):
    """Berman et al.'s reference `lovasz_grad`, in numpy."""
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum()
    union = gts + (1 - gt_sorted).cumsum()
    jaccard = 1.0 - intersection / union
    jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


def np_lovasz_hinge_flat(logits, labels):
    if len(labels) == 0:
        return 0.0
    errors = 1.0 - logits * (2.0 * labels - 1.0)
    order = np.argsort(-errors, kind="stable")
    return float(np.dot(np.maximum(errors[order], 0), np_lovasz_grad(labels[order])))


def np_multilabel_lovasz(logits, labels, per_image=False):
    logits = logits.astype("float64")
    losses = []
    for c in range(logits.shape[1]):
        groups = [[i] for i in range(len(logits))] if per_image else [list(range(len(logits)))]
        for group in groups:
            x, y = logits[group, c].ravel(), labels[group, c].ravel()
            valid = y != IGNORE
            losses.append(np_lovasz_hinge_flat(x[valid], y[valid] * 1.0))
    return float(np.mean(losses))


# ------------------------------------------------------------------------- values


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("absent_classes", ["penalize_fp", "ignore"])
@pytest.mark.parametrize("weighted", [False, True])
def test_weighted_iou_matches_numpy(case, per_image, absent_classes, weighted):
    mode, _, weight = CASES[case]
    weight = weight if weighted else None
    logits, labels = make_batch(case)
    loss = WeightedIoULoss(mode=mode, weight=weight, per_image=per_image,
                           absent_classes=absent_classes)
    expected = np_loss(mode, logits, labels, np_iou_term(), weight, per_image,
                       absent_classes)
    assert float(loss(*tensors(logits, labels))) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("smooth", [1.0, 0.1])
def test_weighted_iou_log_loss_matches_numpy(case, smooth):
    mode, _, weight = CASES[case]
    logits, labels = make_batch(case, seed=1)
    loss = WeightedIoULoss(mode=mode, weight=weight, smooth=smooth, log_loss=True)
    expected = np_loss(mode, logits, labels, np_iou_term(smooth, log_loss=True), weight)
    assert float(loss(*tensors(logits, labels))) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("gamma", [1.0, 4 / 3, 0.75])
@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("absent_classes", ["penalize_fp", "ignore"])
def test_tversky_matches_numpy(case, gamma, per_image, absent_classes):
    mode, _, weight = CASES[case]
    logits, labels = make_batch(case, seed=2)
    loss = TverskyLoss(mode=mode, alpha=0.3, beta=0.7, gamma=gamma, weight=weight,
                       per_image=per_image, absent_classes=absent_classes)
    expected = np_loss(mode, logits, labels, np_tversky_term(0.3, 0.7, gamma), weight,
                       per_image, absent_classes)
    assert float(loss(*tensors(logits, labels))) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("smooth", [0.0, 1.0])
def test_tversky_half_half_is_soft_dice(case, smooth):
    """alpha = beta = 0.5 with smoothing s is Dice 1 - (2TP + 2s) / (2TP + FP + FN + 2s)."""
    mode, _, weight = CASES[case]
    logits, labels = make_batch(case, seed=3)
    loss = TverskyLoss(mode=mode, alpha=0.5, beta=0.5, weight=weight, smooth=smooth,
                       absent_classes="ignore")
    expected = np_loss(mode, logits, labels, np_dice_term(2 * smooth), weight,
                       absent_classes="ignore")
    assert float(loss(*tensors(logits, labels))) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("absent_classes", ["penalize_fp", "ignore"])
def test_tversky_one_one_is_weighted_iou(case, per_image, absent_classes):
    mode, _, weight = CASES[case]
    batch = tensors(*make_batch(case, seed=4))
    options = dict(mode=mode, weight=weight, smooth=0.5, per_image=per_image,
                   absent_classes=absent_classes)
    tversky = TverskyLoss(alpha=1.0, beta=1.0, **options)
    iou = WeightedIoULoss(**options)
    assert float(tversky(*batch)) == pytest.approx(float(iou(*batch)), rel=1e-6)


def test_tversky_alpha_plus_beta_need_not_be_one():
    logits, labels = make_batch("multiclass")
    loss = TverskyLoss(alpha=0.9, beta=0.9)
    expected = np_loss("multiclass", logits, labels, np_tversky_term(0.9, 0.9))
    assert float(loss(*tensors(logits, labels))) == pytest.approx(expected, rel=1e-5)


def test_focal_gamma_is_applied_per_class_not_to_the_mean():
    """gamma > 1 raises each class's 1 - TI: the hard class's share of the loss grows."""
    logits, labels = make_batch("multiclass", seed=5)
    batch = tensors(logits, labels)
    plain = float(TverskyLoss(alpha=0.3, beta=0.7)(*batch))
    focal = float(TverskyLoss(alpha=0.3, beta=0.7, gamma=2.0)(*batch))
    per_class = np_loss("multiclass", logits, labels, np_tversky_term(0.3, 0.7, 2.0))
    assert focal == pytest.approx(per_class, rel=1e-5)
    # segmentation_models_pytorch's (mean loss) ** gamma is a different, smaller number
    # (Jensen), so the two conventions are told apart by this batch.
    assert abs(focal - plain ** 2) > 1e-3


@pytest.mark.parametrize("initial", [None, [1.0, 1.0, 1.0, 1.0]])
def test_weight_attribute_is_read_at_every_forward(initial):
    """The engine replaces `weight` between steps (`weight: batch`)."""
    logits, labels = make_batch("multiclass")
    loss = WeightedIoULoss(weight=initial)
    new_weight = [4.0, 1.0, 2.0, 0.5]
    expected = np_loss("multiclass", logits, labels, np_iou_term(), new_weight)
    loss.weight = paddle.to_tensor(new_weight, dtype="float32")
    assert float(loss(*tensors(logits, labels))) == pytest.approx(expected, rel=1e-5)
    loss.weight = new_weight
    assert float(loss(*tensors(logits, labels))) == pytest.approx(expected, rel=1e-5)
    assert loss.weight.dtype == paddle.float32
    loss.weight = None
    expected = np_loss("multiclass", logits, labels, np_iou_term())
    assert float(loss(*tensors(logits, labels))) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="weights must be >= 0"):
        loss.weight = [1.0, -1.0, 1.0, 1.0]


@pytest.mark.parametrize("iterations", [0, 1, 3])
def test_soft_skeleton_matches_scipy_morphology(iterations):
    maps = np.random.default_rng(10).random((2, 3, 9, 11))
    skeleton = LF.soft_skeleton(paddle.to_tensor(maps), iterations).numpy()
    expected = [[np_soft_skeleton(m, iterations) for m in image] for image in maps]
    np.testing.assert_allclose(skeleton, expected, rtol=1e-12, atol=1e-12)


def test_soft_skeleton_of_a_road_mask_is_its_centre_line():
    """A 5 px wide bar keeps its middle row; a 1 px line is its own skeleton."""
    mask = np.zeros((1, 2, 12, 16))
    mask[0, 0, 4:9, 2:14] = 1
    mask[0, 1, 6, 1:15] = 1
    skeleton = LF.soft_skeleton(paddle.to_tensor(mask), 3).numpy()[0]
    assert np.all(skeleton[0, 6, 4:12] == 1)
    assert skeleton[0].sum() < mask[0, 0].sum() / 3
    np.testing.assert_array_equal(skeleton[1], mask[0, 1])


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("absent_classes", ["penalize_fp", "ignore"])
@pytest.mark.parametrize("weighted", [False, True])
def test_soft_cldice_matches_numpy(case, per_image, absent_classes, weighted):
    mode, _, weight = CASES[case]
    weight = weight if weighted else None
    logits, labels = make_batch(case, seed=11)
    loss = SoftClDiceLoss(mode=mode, iterations=2, weight=weight, per_image=per_image,
                          absent_classes=absent_classes)
    expected = np_cldice_loss(mode, logits, labels, 2, mode == "multilabel", weight,
                              per_image=per_image, absent_classes=absent_classes)
    assert float(loss(*tensors(logits, labels))) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("case", sorted(CASES))
def test_soft_cldice_background_is_left_out_only_in_single_label_modes(case):
    mode, _, _ = CASES[case]
    logits, labels = make_batch(case, seed=12)
    batch = tensors(logits, labels)
    assert SoftClDiceLoss(mode=mode).include_background == (mode == "multilabel")
    for include in (False, True):
        expected = np_cldice_loss(mode, logits, labels, include_background=include,
                                  smooth=0.5)
        loss = SoftClDiceLoss(mode=mode, include_background=include, smooth=0.5)
        assert float(loss(*batch)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("case", sorted(CASES))
def test_soft_cldice_skeletonizes_only_the_classes_it_scores(case, monkeypatch):
    """A left-out background costs no skeleton (they are most of the loss's time)."""
    mode, logit_channels, _ = CASES[case]
    classes = 2 if mode == "binary" else logit_channels
    logits, labels = make_batch(case, seed=13)
    channels = []

    def recording_skeleton(maps, iterations):
        channels.append(maps.shape[1])
        return skeleton(maps, iterations)

    skeleton = LF.soft_skeleton
    monkeypatch.setattr(LF, "soft_skeleton", recording_skeleton)
    loss = SoftClDiceLoss(mode=mode)
    expected = np_cldice_loss(mode, logits, labels, include_background=mode == "multilabel")
    assert float(loss(*tensors(logits, labels))) == pytest.approx(expected, rel=1e-5)
    scored = classes if loss.include_background else classes - 1
    assert channels == [scored, scored]  # the prediction's and the target's


def test_soft_cldice_counts_a_thin_road_break_that_dice_weighs_like_an_edge():
    """Missing 2 px that cut a 1 px road costs clDice; 2 px off a wide road's edge hardly.

    Soft Dice charges both the same (2 false-negative pixels); clDice charges the break
    because it removes part of the target's centre line.
    """
    labels = np.zeros((1, 16, 16), "int64")
    labels[0, 3, 1:15] = 1
    labels[0, 8:13, 1:15] = 1
    whole = np.where(labels == 1, 8.0, -8.0).astype("float32")[:, None]
    broken, eroded = whole.copy(), whole.copy()
    broken[0, 0, 3, 7:9] = -8.0
    eroded[0, 0, 8, 7:9] = -8.0
    cldice = SoftClDiceLoss(mode="binary")
    dice = TverskyLoss(mode="binary", alpha=0.5, beta=0.5, weight=[0.0, 1.0])

    def cost(loss, logits):
        return float(loss(*tensors(logits, labels))) - float(loss(*tensors(whole, labels)))

    assert float(cldice(*tensors(whole, labels))) < 1e-3
    assert cost(dice, broken) == pytest.approx(cost(dice, eroded), rel=1e-3)
    assert cost(cldice, broken) > 0.03
    assert cost(cldice, eroded) < cost(cldice, broken) / 5


def test_soft_cldice_weight_that_leaves_no_class_is_refused_when_assigned():
    """The engine assigns weights between steps; a bad one raises there, not in forward."""
    loss = SoftClDiceLoss(mode="binary", weight=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"class 0 is left out .*`weight` is \[3.0, 0.0\]"):
        loss.weight = [3.0, 0.0]
    np.testing.assert_array_equal(loss.weight.numpy(), [1.0, 2.0])
    kept = SoftClDiceLoss(mode="binary", weight=[1.0, 0.0], include_background=True)
    assert kept.weight is not None


# ----------------------------------------------------- ignore pixels, absent classes


@pytest.mark.parametrize("loss", [WeightedIoULoss(), TverskyLoss(gamma=4 / 3),
                                  SoftClDiceLoss()])
def test_ignored_pixels_do_not_count(loss):
    logits, labels = make_batch("multiclass")
    changed = logits.copy()
    changed[np.broadcast_to((labels == IGNORE)[:, None], logits.shape)] = 50.0
    assert float(loss(*tensors(changed, labels))) == pytest.approx(
        float(loss(*tensors(logits, labels))), rel=1e-6)


def test_ignore_index_zero_drops_pixels_not_the_class_channel():
    """mmseg's Tversky skips the channel equal to ignore_index; here only pixels go."""
    logits, labels = make_batch("multiclass")
    labels = np.where(labels == IGNORE, 0, labels)
    expected = np.where(labels == 0, IGNORE, labels)
    loss = WeightedIoULoss(ignore_index=0)
    reference = np_loss("multiclass", logits, expected, np_iou_term())
    assert float(loss(*tensors(logits, labels))) == pytest.approx(reference, rel=1e-5)


def test_all_pixels_ignored_gives_zero_with_zero_gradient():
    logits, labels = make_batch("multiclass")
    x = paddle.to_tensor(logits, stop_gradient=False)
    value = WeightedIoULoss(absent_classes="ignore")(x, paddle.full(labels.shape, IGNORE,
                                                                    dtype="int64"))
    value.backward()
    assert float(value) == 0.0
    assert np.all(x.grad.numpy() == 0)


@pytest.mark.parametrize("loss_class", [WeightedIoULoss, TverskyLoss])
def test_absent_class_false_positives_cost_loss(loss_class):
    """Painting a label absent from the batch costs loss with penalize_fp, none with ignore.

    Multilabel channels are independent, so the other channels' terms do not move.
    """
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 2, (1, 3, 6, 6))
    labels[0, 2] = 0
    quiet = np.where(labels == 1, 4.0, -4.0).astype("float32")
    quiet[0, 2] = -10.0
    painted = quiet.copy()
    painted[0, 2, :3] = 10.0  # label 2, absent, predicted on half the image
    penalize = loss_class(mode="multilabel")
    ignore = loss_class(mode="multilabel", absent_classes="ignore")
    quiet_penalize = float(penalize(*tensors(quiet, labels)))
    quiet_ignore = float(ignore(*tensors(quiet, labels)))
    # Predicted nowhere, the absent label costs ~nothing and does not dilute the mean.
    assert quiet_penalize == pytest.approx(quiet_ignore * 2 / 3, abs=1e-3)
    assert float(penalize(*tensors(painted, labels))) - quiet_penalize > 0.25
    assert float(ignore(*tensors(painted, labels))) == pytest.approx(quiet_ignore, abs=1e-7)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
@pytest.mark.parametrize("loss", [WeightedIoULoss(), TverskyLoss(),
                                  WeightedIoULoss(mode="multilabel"), SoftClDiceLoss(),
                                  SoftClDiceLoss(mode="multilabel"),
                                  MultiLabelLovaszHingeLoss()])
def test_caller_labels_are_not_modified(loss, dtype):
    case = "multiclass" if getattr(loss, "mode", "multilabel") == "multiclass" else "multilabel"
    logits, labels = make_batch(case)
    label_tensor = paddle.to_tensor(labels.astype(dtype))
    loss(paddle.to_tensor(logits), label_tensor)
    np.testing.assert_array_equal(label_tensor.numpy(), labels.astype(dtype))


def test_labels_with_channel_axis_are_accepted():
    logits, labels = make_batch("binary1")
    loss = WeightedIoULoss(mode="binary")
    assert float(loss(*tensors(logits, labels[:, None]))) == pytest.approx(
        float(loss(*tensors(logits, labels))), rel=1e-6)


# ------------------------------------------------------------ gradients and dtypes


def central_difference_check(loss, logits, labels, step=1e-6):
    x = paddle.to_tensor(logits, stop_gradient=False)
    y = paddle.to_tensor(labels)
    loss(x, y).backward()
    analytic = x.grad.numpy()
    numeric = np.zeros_like(logits)
    for index in np.ndindex(*logits.shape):
        shifted = []
        for delta in (step, -step):
            moved = logits.copy()
            moved[index] += delta
            shifted.append(float(loss(paddle.to_tensor(moved), y)))
        numeric[index] = (shifted[0] - shifted[1]) / (2 * step)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("loss, mode", [
    (WeightedIoULoss(weight=[1.0, 2.0, 0.5]), "multiclass"),
    (WeightedIoULoss(log_loss=True, per_image=True), "multiclass"),
    (TverskyLoss(alpha=0.3, beta=0.7, gamma=4 / 3, weight=[1.0, 2.0, 0.5]), "multiclass"),
    (TverskyLoss(mode="binary", gamma=0.75, weight=[1.0, 3.0]), "binary"),
    (WeightedIoULoss(mode="multilabel"), "multilabel"),
    (MultiLabelLovaszHingeLoss(), "multilabel"),
    (MultiLabelLovaszHingeLoss(per_image=True), "multilabel"),
    (SoftClDiceLoss(iterations=1, weight=[1.0, 2.0, 0.5]), "multiclass"),
    (SoftClDiceLoss(mode="binary", per_image=True), "binary"),
    (SoftClDiceLoss(mode="multilabel", iterations=2), "multilabel"),
])
def test_gradients_match_central_differences(loss, mode):
    rng = np.random.default_rng(7)
    channels = {"multiclass": 3, "binary": 1, "multilabel": 2}[mode]
    logits = rng.standard_normal((2, channels, 3, 3))
    if mode == "multilabel":
        labels = rng.integers(0, 2, (2, channels, 3, 3))
    else:
        labels = rng.integers(0, 3 if mode == "multiclass" else 2, (2, 3, 3))
    labels[rng.random(labels.shape) < 0.2] = IGNORE
    central_difference_check(loss, logits, labels)


@pytest.mark.filterwarnings("ignore:amp_guard can only be enabled")
@pytest.mark.parametrize("case", sorted(CASES))
def test_float16_logits_give_finite_float32_losses(case):
    mode, _, weight = CASES[case]
    logits, labels = make_batch(case, scale=20.0)
    losses = [WeightedIoULoss(mode=mode, weight=weight, log_loss=True),
              TverskyLoss(mode=mode, gamma=0.75, weight=weight),
              SoftClDiceLoss(mode=mode, weight=weight)]
    if mode == "multilabel":
        losses.append(MultiLabelLovaszHingeLoss())
    for loss in losses:
        x = paddle.to_tensor(logits.astype("float16"), stop_gradient=False)
        with paddle.amp.auto_cast(level="O1"):
            value = loss(x, paddle.to_tensor(labels))
        value.backward()
        assert value.dtype == paddle.float32
        assert math.isfinite(float(value))
        assert np.all(np.isfinite(x.grad.numpy().astype("float32")))
        reference = loss(paddle.to_tensor(logits.astype("float16").astype("float32")),
                         paddle.to_tensor(labels))
        assert float(value) == pytest.approx(float(reference), rel=1e-5)


# -------------------------------------------------------------------------- Lovasz


@pytest.mark.parametrize("per_image", [False, True])
def test_multilabel_lovasz_hinge_matches_numpy(per_image):
    logits, labels = make_batch("multilabel", seed=8)
    loss = MultiLabelLovaszHingeLoss(per_image=per_image)
    expected = np_multilabel_lovasz(logits, labels, per_image)
    assert float(loss(*tensors(logits, labels))) == pytest.approx(expected, rel=1e-5)


def test_two_label_batch_trains_where_paddleseg_lovasz_hinge_collapses_it():
    rng = np.random.default_rng(9)
    logits = rng.standard_normal((2, 2, 4, 4)).astype("float32")
    labels = rng.integers(0, 2, (2, 2, 4, 4))
    x = paddle.to_tensor(logits, stop_gradient=False)
    value = MultiLabelLovaszHingeLoss()(x, paddle.to_tensor(labels))
    value.backward()
    assert float(value) == pytest.approx(np_multilabel_lovasz(logits, labels), rel=1e-5)
    assert np.abs(x.grad.numpy()).sum() > 0
    # PaddleSeg reads the 2 label channels as a 2-class softmax and collapses them to
    # one, which no longer lines up with the (N, 2, H, W) labels.
    with pytest.raises(Exception):
        LovaszHingeLoss()(paddle.to_tensor(logits), paddle.to_tensor(labels))


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize("build, message", [
    (lambda: WeightedIoULoss(mode="segmentation"), r"`mode` is 'segmentation'.*'binary'"),
    (lambda: TverskyLoss(absent_classes="zero"), r"`absent_classes` is 'zero'.*'ignore'"),
    (lambda: WeightedIoULoss(weight=[1.0, -2.0]), r"`weight` is \[1.0, -2.0\].*>= 0"),
    (lambda: TverskyLoss(weight=[1.0, float("nan")]), r"`weight` .*finite"),
    (lambda: TverskyLoss(weight=[1.0, float("inf")]), r"`weight` .*finite"),
    (lambda: WeightedIoULoss(weight=[0.0, 0.0]), r"at least one weight must be > 0"),
    (lambda: WeightedIoULoss(weight="auto"), r"`weight` is 'auto'.*tools/train.py"),
    (lambda: WeightedIoULoss(weight=[[1.0, 2.0]]), r"`weight` has shape \(1, 2\)"),
    (lambda: TverskyLoss(alpha=-0.1), r"`alpha` is -0.1; it must be >= 0"),
    (lambda: TverskyLoss(beta=-1), r"`beta` is -1.0; it must be >= 0"),
    (lambda: TverskyLoss(gamma=0), r"`gamma` is 0.0; it must be > 0"),
    (lambda: TverskyLoss(gamma=-1.5), r"`gamma` is -1.5; it must be > 0"),
    (lambda: WeightedIoULoss(smooth=float("inf")), r"`smooth` is inf; expected a finite"),
    (lambda: WeightedIoULoss(eps=0), r"`eps` is 0.0; it must be > 0"),
    (lambda: TverskyLoss(ignore_index=None), r"`ignore_index` is None; expected the integer"),
    (lambda: MultiLabelLovaszHingeLoss(ignore_index="255"), r"`ignore_index` is '255'"),
    (lambda: SoftClDiceLoss(iterations=-1), r"`iterations` is -1; expected an integer >= 0"),
    (lambda: SoftClDiceLoss(iterations=2.5), r"`iterations` is 2.5"),
    (lambda: SoftClDiceLoss(mode="pixels"), r"`mode` is 'pixels'"),
    (lambda: SoftClDiceLoss(mode="binary", weight=[1.0, 0.0]),
     r"class 0 is left out .*`weight` is \[1.0, 0.0\]"),
])
def test_bad_arguments_raise_at_construction(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_smooth_zero_with_penalize_fp_warns():
    with pytest.warns(UserWarning, match="smooth=0"):
        WeightedIoULoss(smooth=0)


def _labels(shape, values):
    labels = np.zeros(shape, "int64")
    labels.flat[:len(values)] = values
    return labels


@pytest.mark.parametrize("loss, logits_shape, labels, message", [
    (WeightedIoULoss(weight=[1, 2, 3]), (2, 4, 3, 3), np.zeros((2, 3, 3), "int64"),
     r"`weight` has 3 entries but the multiclass logits have 4 classes"),
    (TverskyLoss(mode="binary", weight=[1.0]), (2, 1, 3, 3), np.zeros((2, 3, 3), "int64"),
     r"`weight` has 1 entries.*2 classes.*\[w_bg, w_fg\]"),
    (WeightedIoULoss(), (2, 3, 3, 3), _labels((2, 3, 3), [5, 3, IGNORE]),
     r"labels hold value\(s\) 3, 5, outside the expected class ids 0..2"),
    (WeightedIoULoss(), (2, 3, 3, 3), _labels((2, 3, 3), [-1]),
     r"labels hold value\(s\) -1,"),
    (WeightedIoULoss(mode="binary", ignore_index=-1), (2, 1, 3, 3),
     _labels((2, 3, 3), [255, 0, 255]),
     r"value\(s\) 255, .*not ignore_index=-1.*RemapLabels transform \(mapping: \{255: 1\}\)"),
    (TverskyLoss(mode="multilabel"), (2, 2, 3, 3), _labels((2, 2, 3, 3), [2]),
     r"value\(s\) 2, outside the expected 0 or 1 per label"),
    (MultiLabelLovaszHingeLoss(), (2, 2, 3, 3), _labels((2, 2, 3, 3), [7]),
     r"MultiLabelLovaszHingeLoss: labels hold value\(s\) 7"),
    (WeightedIoULoss(), (2, 3, 4, 4), np.zeros((2, 3, 3), "int64"),
     r"labels must have shape \[2, 4, 4\] or \[2, 1, 4, 4\].*got \[2, 3, 3\]"),
    (WeightedIoULoss(mode="multilabel"), (2, 3, 4, 4), np.zeros((2, 4, 4), "int64"),
     r"multilabel mode labels must have the logits' shape"),
    (MultiLabelLovaszHingeLoss(), (2, 2, 4, 4), np.zeros((2, 4, 4), "int64"),
     r"logits' shape \(N, C, H, W\) = \[2, 2, 4, 4\]"),
    (WeightedIoULoss(mode="binary"), (2, 3, 4, 4), np.zeros((2, 4, 4), "int64"),
     r"binary mode takes logits with 1 channel.*got 3 channels.*'multiclass'"),
    (TverskyLoss(), (2, 1, 4, 4), np.zeros((2, 4, 4), "int64"),
     r"multiclass mode needs logits with C >= 2.*mode='binary'"),
    (WeightedIoULoss(), (2, 3, 4, 4), np.zeros((2, 4, 4), "float32"),
     r"labels have dtype .*float32.*astype\('int64'\)"),
    (SoftClDiceLoss(mode="multilabel", include_background=False), (2, 1, 4, 4),
     np.zeros((2, 1, 4, 4), "int64"), r"class 0 is left out .*the logits have 1 channel"),
    (SoftClDiceLoss(weight=[1, 2]), (2, 3, 4, 4), np.zeros((2, 4, 4), "int64"),
     r"`weight` has 2 entries but the multiclass logits have 3 classes"),
    (SoftClDiceLoss(), (1, 3, 2, 4, 4), np.zeros((1, 2, 4, 4), "int64"),
     r"logits have shape \[1, 3, 2, 4, 4\]; the soft skeleton takes 2-D images"),
    (SoftClDiceLoss(), (2, 3, 4, 4), _labels((2, 4, 4), [3]),
     r"SoftClDiceLoss: labels hold value\(s\) 3"),
])
def test_bad_tensors_raise_value_error_at_forward(loss, logits_shape, labels, message):
    logits = paddle.zeros(logits_shape, dtype="float32")
    with pytest.raises(ValueError, match=message):
        loss(logits, paddle.to_tensor(labels))


def test_many_bad_label_values_are_summarised():
    labels = paddle.to_tensor(np.arange(100, 120).reshape(1, 4, 5))
    with pytest.raises(ValueError, match=r"107, \.\.\. \(20 values\)"):
        WeightedIoULoss()(paddle.zeros([1, 3, 4, 5]), labels)


# -------------------------------------------------------------------- registration


def test_losses_are_registered_and_build_from_yaml_dicts():
    for name in ("WeightedIoULoss", "TverskyLoss", "SoftClDiceLoss", "MultiLabelLovaszHingeLoss"):
        assert manager.LOSSES[name].__name__ == name
    builder = Builder(config=None, comp_list=[manager.LOSSES])
    mixed = builder.build_component({
        "type": "MixedLoss",
        "losses": [{"type": "WeightedIoULoss", "mode": "binary", "weight": [1.0, 10.0]},
                   {"type": "TverskyLoss", "mode": "binary", "alpha": 0.3, "beta": 0.7,
                    "gamma": 1.5}],
        "coef": [1.0, 0.5]})
    logits, labels = make_batch("binary2")
    expected = (np_loss("binary", logits, labels, np_iou_term(), [1.0, 10.0])
                + 0.5 * np_loss("binary", logits, labels, np_tversky_term(0.3, 0.7, 1.5)))
    value = sum(float(term) for term in mixed(*tensors(logits, labels)))
    assert value == pytest.approx(expected, rel=1e-5)
