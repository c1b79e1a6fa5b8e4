"""ObjectMetrics: counts against scipy.ndimage.label and a brute-force matcher, ignore
pixels, multi-label, two ranks, the degenerate flag, the error gallery and bad input."""
import paddleseg_imbalance  # noqa: F401  (first: zlib before paddle)

import json
import os

import numpy as np
import pytest
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.entry import run_tool as run_in_process
from paddleseg_imbalance.engine.error_gallery import ErrorGallery
from paddleseg_imbalance.evaluation import (ConfusionMatrix, DegenerateResultCheck,
                                            ObjectMetrics, build_evaluators, evaluate,
                                            log_to_visualdl, summarize)
from paddleseg_imbalance.evaluation.object_metrics import (bucket_names, match_objects,
                                                           missed_outline)
from tests.helpers import run_tool, tiny_config

EDGES = [2, 5, 12]
STRUCTURES = {4: np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]]), 8: np.ones((3, 3), int)}


# ------------------------------------------------------------ random scenes


def random_scene(rng, size=20, num_classes=3):
    """A label with touching rectangles, a ring with an object nested in its hole,
    single pixels and diagonal neighbours; the prediction shifts, drops, grows and
    invents objects."""
    label = np.zeros((size, size), np.int64)
    for _ in range(rng.integers(2, 6)):  # rectangles, often touching or overlapping
        top, left = rng.integers(0, size - 3, 2)
        height, width = rng.integers(1, 7, 2)
        label[top:top + height, left:left + width] = rng.integers(1, num_classes)
    if rng.random() < 0.7:  # a ring of one class with an object nested inside
        top, left = rng.integers(0, size - 6, 2)
        ring_class = rng.integers(1, num_classes)
        label[top:top + 6, left:left + 6] = ring_class
        label[top + 1:top + 5, left + 1:left + 5] = 0
        label[top + 2:top + 4, left + 2:left + 4] = rng.integers(1, num_classes)
    for _ in range(rng.integers(0, 5)):  # tiny objects, some diagonal to each other
        row, column = rng.integers(0, size - 1, 2)
        label[row, column] = rng.integers(1, num_classes)
        if rng.random() < 0.5:
            label[row + 1, column + 1] = label[row, column]
    pred = np.roll(label, tuple(rng.integers(-1, 2, 2)), axis=(0, 1))
    pred[rng.random(pred.shape) < 0.05] = 0  # holes: objects split or shrink
    grown = ndimage.grey_dilation(pred, size=(2, 2))
    pred = np.where(rng.random(pred.shape) < 0.3, grown, pred)
    noise = rng.random(pred.shape) < 0.02  # invented objects
    pred[noise] = rng.integers(1, num_classes, int(noise.sum()))
    return pred, label


def brute_force(label_mask, pred_mask, connectivity, match, threshold):
    """Counts of one class in one image by pairwise masks: (areas, matched, dice, n_pred).

    IoU: the maximum one-to-one matching of the pairs reaching the threshold (Hungarian
    on the 0/1 candidate matrix); coverage: pairs taken greedily by score."""
    label_ids, n_label = ndimage.label(label_mask, STRUCTURES[connectivity])
    pred_ids, n_pred = ndimage.label(pred_mask, STRUCTURES[connectivity])
    areas = np.array([(label_ids == i).sum() for i in range(1, n_label + 1)], int)
    score = np.zeros((n_label, n_pred))
    dice = np.zeros(n_label)
    for i in range(n_label):
        a = label_ids == i + 1
        for j in range(n_pred):
            b = pred_ids == j + 1
            intersection = (a & b).sum()
            if not intersection:
                continue
            dice[i] = max(dice[i], 2 * intersection / (a.sum() + b.sum()))
            score[i, j] = (intersection / (a | b).sum() if match == "iou"
                           else intersection / a.sum())
    candidate = score >= threshold
    matched = np.zeros(n_label, bool)
    if match == "iou" and candidate.any():
        rows, columns = linear_sum_assignment(candidate, maximize=True)
        matched[rows[candidate[rows, columns]]] = True
    else:
        taken = set()
        pairs = sorted(((-score[i, j], i, j) for i, j in zip(*np.nonzero(candidate))))
        for _, i, j in pairs:
            if not matched[i] and j not in taken:
                matched[i] = True
                taken.add(j)
    return areas, matched, dice, n_pred


def reference_counts(pairs, channels, connectivity, match, threshold, ignore_index=255):
    """Per channel: [label objects, predicted, matched, Dice sum, per bucket, matched per
    bucket], the layout of ObjectMetrics' counts."""
    counts = np.zeros((len(channels), 4 + 2 * (len(EDGES) + 1)))
    for pred, label in pairs:
        valid = label != ignore_index
        for row, channel in enumerate(channels):
            areas, matched, dice, n_pred = brute_force(
                (label == channel) & valid, (pred == channel) & valid, connectivity, match,
                threshold)
            bucket = np.digitize(areas, EDGES)
            counts[row, :4] += [len(areas), n_pred, matched.sum(), dice.sum()]
            for b in range(len(EDGES) + 1):
                counts[row, 4 + b] += (bucket == b).sum()
                counts[row, 4 + len(EDGES) + 1 + b] += ((bucket == b) & matched).sum()
    return counts


def streamed(pairs, num_classes=3, multilabel=False, ignore_index=255, **options):
    metrics = ObjectMetrics(size_buckets=EDGES, **options)
    metrics.begin(num_classes, ignore_index, multilabel)
    for pred, label in pairs:
        metrics.update(pred[None], label[None])
    return metrics


@pytest.mark.parametrize("connectivity, match, threshold", [
    (8, "iou", 0.5), (4, "iou", 0.5), (8, "iou", 0.8), (8, "coverage", 0.5),
    (4, "coverage", 0.3)])
def test_counts_equal_scipy_label_and_a_brute_force_matcher(connectivity, match, threshold):
    rng = np.random.default_rng(connectivity * 10 + int(threshold * 10))
    pairs = [random_scene(rng) for _ in range(25)]
    for pred, label in pairs[:5]:  # some ignored pixels over objects
        label[rng.random(label.shape) < 0.05] = 255
    metrics = streamed(pairs, connectivity=connectivity, match=match, threshold=threshold)
    expected = reference_counts(pairs, [1, 2], connectivity, match, threshold)
    np.testing.assert_array_equal(metrics._counts[:, [0, 1, 2]], expected[:, [0, 1, 2]])
    np.testing.assert_allclose(metrics._counts[:, 3], expected[:, 3])
    np.testing.assert_array_equal(metrics._counts[:, 4:], expected[:, 4:])
    assert expected[:, 0].sum() > 100 and 0 < expected[:, 2].sum() < expected[:, 0].sum()


def test_four_and_eight_connectivity_by_hand():
    label = np.zeros((4, 4), bool)
    label[0, 0] = label[1, 1] = label[3, 3] = True  # a diagonal pair and a single pixel
    assert len(match_objects(label, label, connectivity=8).label_areas) == 2
    assert len(match_objects(label, label, connectivity=4).label_areas) == 3


def test_iou_at_the_threshold_matches_and_dice_is_the_best_overlap():
    label = np.zeros((1, 6), bool)
    label[0, :4] = True
    pred = np.zeros((1, 6), bool)
    pred[0, 2:4] = True  # IoU 2/4 = 0.5 exactly
    found = match_objects(label, pred, threshold=0.5)
    assert found.matched.tolist() == [True] and found.dice.tolist() == [2 * 2 / 6]
    assert not match_objects(label, pred, threshold=0.51).matched.any()


def test_ignored_pixels_count_nowhere():
    label = np.zeros((5, 7), np.int64)
    label[1:4, 1:6] = 1
    label[:, 3] = 255  # splits the object in two and hides a predicted one
    pred = np.zeros_like(label)
    pred[1:4, 1:3] = 1  # the left half: matched
    pred[0, 3] = 1  # only on ignored pixels: no object
    metrics = streamed([(pred, label)], num_classes=2)
    row = metrics.scores(FakeResult).row(0)
    assert (row["label_objects"], row["predicted_objects"], row["matched"]) == (2, 1, 1)


def test_multilabel_scores_each_label_channel_but_the_auxiliary_one():
    rng = np.random.default_rng(3)
    labels, preds = [], []
    for _ in range(6):
        pred_a, label_a = random_scene(rng, num_classes=2)
        pred_b, label_b = random_scene(rng, num_classes=2)
        label = np.stack([(label_a == 0) & (label_b == 0), label_a, label_b]).astype(np.int64)
        label[1, rng.random(label.shape[1:]) < 0.05] = 255
        pred = np.stack([np.zeros_like(pred_a), pred_a, pred_b]).astype(np.int64)
        labels.append(label)
        preds.append(pred)
    metrics = streamed(list(zip(preds, labels)), multilabel=True, num_classes=3)
    assert metrics.channels == [1, 2]
    for row, channel in enumerate((1, 2)):
        pairs = [(p[channel], np.where(l[channel] == 255, 255, l[channel]))
                 for p, l in zip(preds, labels)]
        expected = reference_counts(pairs, [1], 8, "iou", 0.5)
        np.testing.assert_allclose(metrics._counts[row], expected[0])


def test_two_ranks_sum_to_one():
    rng = np.random.default_rng(7)
    pairs = [random_scene(rng) for _ in range(9)]
    one = streamed(pairs)
    ranks = [streamed(pairs[rank::2]) for rank in (0, 1)]
    np.testing.assert_allclose(ranks[0]._counts + ranks[1]._counts, one._counts)


# ------------------------------------------------------- results and reports


class FakeResult:
    """What `ObjectMetrics.scores` reads of an `EvaluationResult`."""

    class metrics:
        names = ["background", "building"]


def big_and_small_scene():
    """One 10 x 10 building found, four 2 x 2 sheds missed."""
    label = np.zeros((20, 20), np.int64)
    label[:10, :10] = 1
    for column in (12, 15, 18):
        label[15:17, column:column + 2] = 1
    label[12:14, 12:14] = 1
    pred = np.zeros_like(label)
    pred[:10, :10] = 1
    return pred, label


def test_small_objects_missed_is_flagged_while_iou_looks_fine(tmp_path):
    pred, label = big_and_small_scene()
    objects = ObjectMetrics(size_buckets=[16, 64])
    objects.begin(2, 255, False, class_names=["background", "building"])
    objects.update(pred[None], label[None])
    confusion = ConfusionMatrix(2)
    confusion.update(pred[None], label[None])
    result = summarize(confusion, 1, [DegenerateResultCheck(), objects], str(tmp_path),
                       class_names=["background", "building"])
    flag = result.reports["degenerate"]["small_objects_missed"]
    assert "all 4 of its objects smaller than 16 px are missed" in flag["message"]
    assert "stride-4" in flag["fix"] and flag["names"] == ["building"]
    building = result.reports["object_metrics"]["classes"][0]
    assert building["by_size"]["<16"] == {"objects": 4, "matched": 0, "recall": 0.0}
    assert building["recall"] == 0.2 and building["precision"] == 1.0
    saved = json.loads((tmp_path / "eval" / "latest.json").read_text())
    assert saved["object_metrics"]["classes"][0]["by_size"]["16-63"]["recall"] is None

    class Writer:
        scalars = {}

        def add_scalar(self, tag, value, step):
            self.scalars[tag] = value

    writer = Writer()
    log_to_visualdl(result, writer, 3)
    assert writer.scalars["Evaluate/ObjectRecall/building"] == 0.2
    assert writer.scalars["Evaluate/ObjectF1/building"] == pytest.approx(1 / 3)


def test_evaluate_streams_objects_and_writes_the_json(demo_root, tmp_path):
    import paddle
    from paddleseg.datasets import Dataset
    from paddleseg.transforms import Normalize

    class Threshold(paddle.nn.Layer):
        """Foreground where the red channel is bright."""

        def forward(self, image):
            red = image[:, :1]
            return [paddle.concat([-red, red], axis=1)]

    root = os.path.join(str(demo_root), "binary")
    dataset = Dataset(mode="val", dataset_root=root, val_path=os.path.join(root, "val.txt"),
                      transforms=[Normalize()], num_classes=2)
    result = evaluate(Threshold(), dataset, evaluators=[ObjectMetrics()],
                      save_dir=str(tmp_path), print_detail=False)
    row = result.objects.row(0)
    assert row["label_objects"] > 0 and row["name"] == "1"
    saved = json.loads((tmp_path / "eval" / "latest.json").read_text())
    assert saved["object_metrics"]["classes"][0]["label_objects"] == row["label_objects"]
    assert list(saved["object_metrics"]["classes"][0]["by_size"]) == bucket_names(
        [16, 64, 256, 1024])


def test_gallery_ranks_by_missed_objects_and_outlines_them(tmp_path):
    import cv2
    import paddle

    pred, label = big_and_small_scene()
    image_path = str(tmp_path / "tile.png")
    cv2.imwrite(image_path, np.zeros((20, 20, 3), np.uint8))

    class Dataset:
        num_classes, ignore_index, file_list = 2, 255, [[image_path, None]] * 2

    gallery = ErrorGallery(1, Dataset(), rank_by="missed_objects")
    gallery(0, paddle.to_tensor(label[None]), paddle.to_tensor(label[None]))  # none missed
    gallery(1, paddle.to_tensor(pred[None]), paddle.to_tensor(label[None]))
    gallery.write(str(tmp_path))
    listing = json.loads((tmp_path / "errors" / "errors.json").read_text())["images"]
    assert [entry["missed_objects"] for entry in listing] == [4]
    picture = cv2.imread(str(tmp_path / "errors" / listing[0]["overlay"]))
    yellow = np.all(picture == (0, 255, 255), axis=-1)
    found = match_objects(label == 1, pred == 1)
    np.testing.assert_array_equal(yellow, missed_outline([found]))
    assert yellow[15:17, 12:14].all() and not yellow[:10, :10].any()


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("options, key, fix", [
    ({"connectivity": 6}, "evaluators[1].connectivity", "use 4"),
    ({"match": "centre"}, "evaluators[1].match", "`iou`"),
    ({"size_buckets": [64, 16]}, "evaluators[1].size_buckets", "increasing"),
    ({"threshold": 1.5}, "evaluators[1].threshold", "(0, 1]"),
    ({"classes": "building"}, "evaluators[1].classes", "list of class names"),
])
def test_bad_options_name_the_key(options, key, fix):
    with pytest.raises(ValueError) as error:
        build_evaluators([{"type": "SegMetrics"}, dict(type="ObjectMetrics", **options)])
    assert key in str(error.value) and fix in str(error.value)


def val_argv(config, tmp_path):
    model = tmp_path / "model.pdparams"
    model.write_bytes(b"")
    return ["--config", config, "--model_path", str(model), "--device", "cpu"]


@pytest.mark.parametrize("entry, fragments", [
    ({"type": "ObjectMetrics", "size_buckets": [64, 16]},
     ["evaluators[1].size_buckets", "increasing"]),
    ({"type": "ObjectMetrics", "connectivity": 6}, ["evaluators[1].connectivity", "use 4"]),
    ({"type": "ObjectMetrics", "match": "centre"}, ["evaluators[1].match", "`coverage`"]),
    ({"type": "ObjectMetrics", "classes": ["road"]},
     ["evaluators[1].classes", "['road']", "leave `classes` out"]),
])
def test_val_exits_2_before_loading_the_model(demo_root, tmp_path, capsys, entry, fragments):
    config = tiny_config(demo_root, tmp_path, evaluators=[{"type": "SegMetrics"}, entry])
    from paddleseg_imbalance.engine.val import main
    with pytest.raises(SystemExit) as stop:
        run_in_process(main, val_argv(config, tmp_path))
    assert stop.value.code == 2
    message = capsys.readouterr().err
    for fragment in fragments:
        assert fragment in message, message


def test_save_errors_by_without_save_errors_is_refused(demo_root, tmp_path, capsys):
    config = tiny_config(demo_root, tmp_path)
    from paddleseg_imbalance.engine.val import main
    with pytest.raises(SystemExit) as stop:
        run_in_process(main, val_argv(config, tmp_path) + ["--save_errors_by",
                                                           "missed_objects"])
    assert stop.value.code == 2
    assert "add --save_errors K" in capsys.readouterr().err


def test_val_tool_exits_2_on_bad_size_buckets(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path, evaluators=[
        {"type": "SegMetrics"}, {"type": "ObjectMetrics", "size_buckets": [16, 16]}])
    result = run_tool("val", *val_argv(config, tmp_path), timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "evaluators[1].size_buckets" in result.stderr and "increasing" in result.stderr


def test_class_list_names_known_classes_in_process():
    from paddleseg.cvlibs import Config

    from paddleseg_imbalance.engine.val import evaluation_options
    from tests.helpers import DEMO_CONFIG
    config = Config(DEMO_CONFIG)
    config.dic["evaluators"] = [{"type": "ObjectMetrics", "classes": [1, 5]}]
    with pytest.raises(ConfigError, match=r"evaluators\[0\].classes.*\[5\]"):
        evaluation_options(config, {})
