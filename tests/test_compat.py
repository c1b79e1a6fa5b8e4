"""Each PaddleSeg repair: the original fails (or is wrong), the repair matches numpy.

A test of a 2.8.0 bug that the installed PaddleSeg (develop) has fixed is skipped there,
saying so; the behaviour tests (matches numpy) run on every line.
"""
import numpy as np
import paddle
import paddleseg
import pytest
from paddleseg.models import losses
from paddleseg.transforms import RandomPaddingCrop

from paddleseg_imbalance import compat
from tests.helpers import np_softmax, tensors

IGNORE = 255
PADDLE3 = compat._paddle_major() >= 3
RELEASE_2_8 = compat.paddleseg_is_2_8()
only_in_2_8 = pytest.mark.skipif(
    not RELEASE_2_8, reason=f"a PaddleSeg 2.8.0 bug that PaddleSeg {paddleseg.__version__} "
    "has fixed: the repair is not installed here")


def original(function):
    return function.__paddleseg_original__


@pytest.fixture
def batch():
    """Logits (2, 2, 8, 8) and int64 labels with the top 3 rows ignored."""
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2, 2, 8, 8)).astype("float32")
    labels = rng.integers(0, 2, (2, 8, 8))
    labels[:, :3] = IGNORE
    return logits, labels


def np_pixel_ce(logits, labels):
    """Per-pixel -log p(label), 0 where ignored."""
    probs = np_softmax(logits.astype("float64"))
    safe = np.where(labels == IGNORE, 0, labels)
    picked = np.take_along_axis(probs, safe[:, None], axis=1)[:, 0]
    return np.where(labels == IGNORE, 0.0, -np.log(picked))


def test_apply_is_idempotent_and_names_repairs():
    first = compat.apply()
    assert compat.apply() == first
    assert {"cross-entropy", "dice-label-in-place", "lovasz-hinge-unary",
            "label-bit-depth"} <= set(first)
    for name in ("train-loss-logging", "metrics-area", "random-padding-crop"):
        assert (name in first) == RELEASE_2_8
    assert ("ohem-cross-entropy" in first) == (RELEASE_2_8 and PADDLE3)


@pytest.mark.parametrize("avg_non_ignore", [True, False])
def test_weighted_cross_entropy_matches_numpy(batch, avg_non_ignore):
    logits, labels = batch
    weight = np.array([1.0, 5.0])
    loss = losses.CrossEntropyLoss(weight=weight.tolist(), avg_non_ignore=avg_non_ignore)
    value = float(loss(*tensors(logits, labels)))
    valid = labels != IGNORE
    w = np.where(valid, weight[np.where(valid, labels, 0)], 1.0)
    mask = valid if avg_non_ignore else np.ones_like(valid)
    expected = (np_pixel_ce(logits, labels) * w * mask).mean() / (mask * w).mean()
    assert value == pytest.approx(expected, rel=1e-5)


@only_in_2_8
def test_weighted_cross_entropy_original_one_hots_the_ignore_value(batch):
    logits, labels = batch
    loss = losses.CrossEntropyLoss(weight=[1.0, 5.0], avg_non_ignore=False)
    with pytest.raises(Exception, match="255|Type promotion"):
        original(compat.cross_entropy_post_process_loss)(
            loss, paddle.to_tensor(logits).transpose([0, 2, 3, 1]),
            paddle.to_tensor(labels.astype("int64")),
            None, paddle.to_tensor(np_pixel_ce(logits, labels).astype("float32")))


@only_in_2_8
@pytest.mark.skipif(not PADDLE3, reason="the type-promotion break exists on Paddle >= 3 only")
def test_plain_cross_entropy_original_breaks_on_paddle3(batch):
    logits, labels = batch
    loss = losses.CrossEntropyLoss()
    with pytest.raises(TypeError, match="Type promotion"):
        original(compat.cross_entropy_post_process_loss)(
            loss, paddle.to_tensor(logits).transpose([0, 2, 3, 1]),
            paddle.to_tensor(labels.astype("int64")),
            None, paddle.to_tensor(np_pixel_ce(logits, labels).astype("float32")))


@pytest.mark.skipif(RELEASE_2_8, reason="PaddleSeg 2.8.0 crashes here instead (see above)")
def test_weighted_cross_entropy_original_drops_the_weights_from_the_normaliser(batch):
    logits, labels = batch
    weight = np.array([1.0, 5.0])
    loss = losses.CrossEntropyLoss(weight=weight.tolist(), avg_non_ignore=False)
    value = float(original(compat.cross_entropy_post_process_loss)(
        loss, paddle.to_tensor(logits).transpose([0, 2, 3, 1]),
        paddle.to_tensor(labels.astype("int64")),
        None, paddle.to_tensor(np_pixel_ce(logits, labels).astype("float32"))))
    # PaddleSeg develop: the mean of the unweighted per-pixel loss over all pixels.
    assert value == pytest.approx(np_pixel_ce(logits, labels).mean(), rel=1e-5)


def test_plain_cross_entropy_matches_numpy(batch):
    logits, labels = batch
    value = float(losses.CrossEntropyLoss()(*tensors(logits, labels)))
    valid = labels != IGNORE
    assert value == pytest.approx(np_pixel_ce(logits, labels)[valid].mean(), rel=1e-5)


def np_ohem(logits, labels, thresh, min_kept):
    valid = labels != IGNORE
    prob = np.take_along_axis(np_softmax(logits.astype("float64")),
                              np.where(valid, labels, 0)[:, None], axis=1)[:, 0]
    kept = valid.copy()
    if 0 < min_kept < valid.sum():
        ranked = np.sort(np.where(valid, prob, 2.0).ravel())
        threshold = max(thresh, ranked[min(ranked.size, min_kept) - 1])
        kept &= prob < threshold
    return np_pixel_ce(logits, labels)[kept].mean()


@pytest.mark.parametrize("thresh,min_kept", [(0.7, 10), (0.3, 50), (0.9, 0)])
def test_ohem_matches_numpy(batch, thresh, min_kept):
    logits, labels = batch
    loss = losses.OhemCrossEntropyLoss(thresh=thresh, min_kept=min_kept)
    value = float(loss(*tensors(logits, labels)))
    assert value == pytest.approx(np_ohem(logits, labels, thresh, min_kept), rel=1e-4)


@only_in_2_8
@pytest.mark.skipif(not PADDLE3, reason="the type-promotion break exists on Paddle >= 3 only")
def test_ohem_original_breaks_on_paddle3(batch):
    logits, labels = batch
    loss = losses.OhemCrossEntropyLoss(min_kept=10)
    with pytest.raises(TypeError, match="Type promotion"):
        original(compat.ohem_cross_entropy_forward)(loss, *tensors(logits, labels))


def np_dice_loss(logits, labels, smooth=1.0):
    probs = np_softmax(logits.astype("float64"))
    valid = (labels != IGNORE)[:, None]
    one_hot = np.stack([labels == c for c in range(logits.shape[1])], axis=1) & valid
    per_class = []
    for c in range(logits.shape[1]):
        p = (probs[:, c:c + 1] * valid).reshape(len(labels), -1)
        g = one_hot[:, c:c + 1].reshape(len(labels), -1)
        per_image = 1 - (2 * (p * g).sum(1) + smooth) / ((p + g).sum(1) + smooth)
        per_class.append(per_image.mean())
    return np.mean(per_class)


def test_dice_leaves_the_label_alone_and_matches_numpy(batch):
    logits, labels = batch
    logit_t, label_t = tensors(logits, labels)
    value = float(losses.DiceLoss()(logit_t, label_t))
    assert value == pytest.approx(np_dice_loss(logits, labels), rel=1e-5)
    np.testing.assert_array_equal(label_t.numpy(), labels)


def test_dice_original_overwrites_the_label(batch):
    logits, labels = batch
    logit_t, label_t = tensors(logits, labels)
    original(compat.dice_forward)(losses.DiceLoss(), logit_t, label_t)
    assert (label_t.numpy() == IGNORE).sum() == 0  # the caller's ignore pixels became 0


def test_mixed_loss_cross_entropy_still_ignores_after_dice(batch):
    logits, labels = batch
    mixed = losses.MixedLoss([losses.DiceLoss(), losses.CrossEntropyLoss()], [1.0, 1.0])
    _, ce_value = mixed(*tensors(logits, labels))
    valid = labels != IGNORE
    assert float(ce_value) == pytest.approx(np_pixel_ce(logits, labels)[valid].mean(), rel=1e-5)


def test_lovasz_hinge_unary_logit():
    two_channel = paddle.to_tensor(np.array([0.0, 3.0], "float32").reshape(1, 2, 1, 1))
    unary = compat.binary_channel_to_unary(two_channel).numpy().item()
    assert unary == pytest.approx(3.0, abs=1e-4)
    broken = original(compat.binary_channel_to_unary)(two_channel).numpy().item()
    assert broken == pytest.approx(-0.0486, abs=1e-3)  # PaddleSeg 2.8.0's misplaced bracket


def coordinate_sample(height=40, width=40):
    """Image pixels encode their own (row, col); label has two classes in stripes."""
    rows, cols = np.mgrid[:height, :width]
    image = np.stack([rows, cols, np.zeros_like(rows)], axis=-1).astype("float32")
    label = ((cols // 4) % 2).astype("uint8")
    return {"img": image, "label": label, "gt_fields": ["label"], "trans_info": []}


def test_random_padding_crop_keeps_image_and_label_aligned():
    np.random.seed(0)
    crop = RandomPaddingCrop(crop_size=(16, 16), category_max_ratio=0.75)
    for _ in range(20):
        data = crop(coordinate_sample())
        assert data["img"].shape == (16, 16, 3)
        expected = ((data["img"][..., 1].astype(int) // 4) % 2).astype("uint8")
        np.testing.assert_array_equal(data["label"], expected)


@only_in_2_8
def test_random_padding_crop_original_puts_the_label_into_the_image():
    np.random.seed(0)
    crop = RandomPaddingCrop(crop_size=(16, 16), category_max_ratio=0.75)
    data = original(compat.random_padding_crop_call)(crop, coordinate_sample())
    assert data["img"].ndim == 2  # the label crop replaced the RGB image


def area_sample():
    rng = np.random.default_rng(1)
    pred = rng.integers(0, 3, (2, 1, 8, 8))
    label = rng.integers(0, 3, (2, 1, 8, 8))
    label[0, 0, :2] = IGNORE
    return pred, label


def test_calculate_area_matches_numpy():
    from paddleseg.utils import metrics
    pred, label = area_sample()
    intersect, pred_area, label_area = metrics.calculate_area(
        paddle.to_tensor(pred), paddle.to_tensor(label), 3, ignore_index=IGNORE)
    valid = label != IGNORE
    for c in range(3):
        assert int(pred_area[c]) == ((pred == c) & valid).sum()
        assert int(label_area[c]) == (label == c).sum()
        assert int(intersect[c]) == ((pred == c) & (label == c)).sum()


@only_in_2_8
def test_calculate_area_original_fails():
    pred, label = area_sample()
    with pytest.raises(ValueError):
        original(compat.calculate_area)(paddle.to_tensor(pred), paddle.to_tensor(label), 3)


def _compose_label(compose_call, tmp_path):
    """The label of a 16-bit PNG holding 0/1 after `Compose`, as the loss receives it."""
    from PIL import Image
    from paddleseg.transforms import Compose

    path = tmp_path / "label.png"
    Image.fromarray(np.array([[0, 1], [1, 0]], np.uint16)).save(path)
    data = {"img": np.zeros((2, 2, 3), np.float32), "label": str(path), "trans_info": [],
            "gt_fields": ["label"]}
    label = compose_call(Compose([]), data)["label"]
    return paddle.to_tensor(label[None]).astype("int64").numpy()[0]


def test_compose_reads_16_bit_labels_as_integers(tmp_path):
    from paddleseg.transforms import Compose

    assert _compose_label(Compose.__call__, tmp_path).tolist() == [[0, 1], [1, 0]]


def test_compose_original_turns_16_bit_labels_into_background(tmp_path):
    from paddleseg.transforms import Compose

    assert not _compose_label(original(Compose.__call__), tmp_path).any()


def test_paddleseg_log_lines_follow_a_redirected_stdout():
    """`lint --format json` keeps stdout for the report by redirecting PaddleSeg's log."""
    import contextlib
    import io

    from paddleseg.utils import logger

    redirected = io.StringIO()
    with contextlib.redirect_stdout(redirected):
        logger.info("a log line")
    assert "a log line" in redirected.getvalue()
