"""Confusion counts, metrics, evaluators and `evaluate()` against numpy and sklearn."""
import paddleseg_imbalance  # noqa: F401  (first: zlib before paddle, repairs, registration)

import json
import math

import cv2
import numpy as np
import paddle
import pytest
from paddleseg.datasets import Dataset
from paddleseg.transforms import Normalize
from sklearn import metrics as skm

from paddleseg_imbalance.demo_data import write_demo_dataset
from paddleseg_imbalance.evaluation import (EVALUATORS, ConfusionMatrix,
                                            ConfusionMatrixReport, DegenerateResultCheck,
                                            MultiLabelConfusion, SegMetrics, evaluate,
                                            multilabel_metrics, segmentation_metrics,
                                            summarize)

IGNORE = 255


def random_batches(rng, num_classes, batches=4, shape=(2, 16, 16), ignore_share=0.1,
                   missing=()):
    """(pred, label) int arrays; `missing` classes are neither labelled nor predicted."""
    allowed = np.array([c for c in range(num_classes) if c not in missing])
    for _ in range(batches):
        label = rng.choice(allowed, shape)
        label[rng.random(shape) < ignore_share] = IGNORE
        pred = rng.choice(allowed, shape)
        yield pred, label


def sklearn_matrix(pairs, num_classes, ignore=IGNORE):
    pred = np.concatenate([p.ravel() for p, _ in pairs])
    label = np.concatenate([l.ravel() for _, l in pairs])
    valid = label != ignore
    return skm.confusion_matrix(label[valid], pred[valid], labels=range(num_classes))


# ------------------------------------------------------------------ ConfusionMatrix


@pytest.mark.parametrize("channel_axis", [False, True])
def test_confusion_matrix_matches_sklearn_over_batches(channel_axis):
    rng = np.random.default_rng(0)
    pairs = list(random_batches(rng, 5, batches=5, missing=(3,)))
    confusion = ConfusionMatrix(5, ignore_index=IGNORE)
    for pred, label in pairs:
        if channel_axis:
            pred, label = pred[:, None], label[:, None]
        confusion.update(paddle.to_tensor(pred.astype("int32")), paddle.to_tensor(label))
    expected = sklearn_matrix(pairs, 5)
    assert confusion.matrix.dtype == np.int64
    np.testing.assert_array_equal(confusion.matrix, expected)
    assert confusion.ignored_pixels == sum(int((l == IGNORE).sum()) for _, l in pairs)
    assert confusion.valid_pixels == expected.sum()
    confusion.reset()
    assert confusion.matrix.sum() == 0 and confusion.ignored_pixels == 0


@pytest.mark.parametrize("ignore_index", [-1, 0, 2])
def test_ignore_index_below_or_inside_the_classes(ignore_index):
    rng = np.random.default_rng(1)
    label = rng.integers(0, 3, (2, 8, 8))
    label[:, :2] = ignore_index
    pred = rng.integers(0, 3, (2, 8, 8))
    confusion = ConfusionMatrix(3, ignore_index=ignore_index)
    confusion.update(pred, label)
    np.testing.assert_array_equal(
        confusion.matrix, sklearn_matrix([(pred, label)], 3, ignore=ignore_index))
    assert confusion.ignored_pixels == int((label == ignore_index).sum())


@pytest.mark.parametrize("bad", [3, 7, -1, 254])
def test_label_outside_the_classes_raises_naming_the_value(bad):
    label = np.zeros((1, 4, 4), np.int64)
    label[0, 0, :2] = [bad, IGNORE]
    with pytest.raises(ValueError, match=rf"\[{bad}\].*num_classes.*RemapLabels"):
        ConfusionMatrix(3).update(np.zeros_like(label), label)


@pytest.mark.parametrize("bad, cause", [(4, "num_classes 3"), (-1, "argmax")])
def test_prediction_outside_the_classes_raises(bad, cause):
    pred = np.array([[[0, bad], [1, 2]]])  # -1 in row 1 would count as (0, 2) if unchecked
    with pytest.raises(ValueError, match=rf"Predicted class indices \[{bad}\].*{cause}"):
        ConfusionMatrix(3).update(pred, np.array([[[0, 1], [1, 2]]]))


def test_logits_instead_of_indices_raise_a_shape_error():
    with pytest.raises(ValueError, match="argmax"):
        ConfusionMatrix(3).update(np.zeros((1, 3, 4, 4)), np.zeros((1, 4, 4), np.int64))


def test_all_reduce_on_one_rank_keeps_counts_and_refuses_twice():
    confusion = ConfusionMatrix(2)
    confusion.update(np.array([[0, 1, 1]]), np.array([[0, 1, 0]]))
    before = confusion.matrix
    np.testing.assert_array_equal(confusion.all_reduce().matrix, before)
    with pytest.raises(RuntimeError, match="reset"):
        confusion.all_reduce()


# --------------------------------------------------------------------------- metrics


def present_mean(values):
    values = np.asarray(values, float)
    return values[~np.isnan(values)].mean()


def test_metrics_match_sklearn_and_formulas():
    rng = np.random.default_rng(2)
    label = rng.integers(0, 4, 2000)
    pred = np.where(rng.random(2000) < 0.6, label, rng.integers(0, 4, 2000))
    pred[pred == 3] = 4  # class 3: labels but no predictions; class 4: false alarms only
    matrix = skm.confusion_matrix(label, pred, labels=range(6))  # class 5: absent
    m = segmentation_metrics(matrix, background_index=0)

    labels = list(range(6))
    jaccard = skm.jaccard_score(label, pred, labels=labels, average=None, zero_division=0)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        label, pred, labels=labels, zero_division=0)
    present = np.array([True] * 5 + [False])
    np.testing.assert_array_equal(m.present, present)
    np.testing.assert_allclose(m.iou[:5], jaccard[:5])
    np.testing.assert_allclose(m.dice[:5], f1[:5])
    np.testing.assert_allclose(m.precision[:5], precision[:5])
    np.testing.assert_allclose(m.recall[:5], recall[:5])
    np.testing.assert_array_equal(m.support, support)
    np.testing.assert_array_equal(m.predicted, matrix.sum(axis=0))
    assert m.iou[3] == 0 and m.iou[4] == 0  # missed class, false-alarm class
    for metric in (m.iou, m.dice, m.precision, m.recall):
        assert math.isnan(metric[5])  # absent: neither 0 nor 1
    assert m.miou == pytest.approx(jaccard[:5].mean())
    assert m.fg_miou == pytest.approx(jaccard[1:5].mean())
    assert m.mdice == pytest.approx(f1[:5].mean())
    assert m.fg_mdice == pytest.approx(f1[1:5].mean())
    assert m.pixel_accuracy == pytest.approx(skm.accuracy_score(label, pred))
    assert m.mean_accuracy == pytest.approx(recall[:4].mean())  # classes with labels
    assert m.kappa == pytest.approx(skm.cohen_kappa_score(label, pred))
    assert m.valid_pixels == 2000


def test_absent_class_is_null_in_json_and_dash_in_table(capsys):
    label, pred = np.array([[0, 0, 1, 1, 1]]), np.array([[0, 1, 0, 1, 1]])
    result = summarize(confusion_of(pred, label, 3), 1, [SegMetrics()],
                       class_names=["bg", "road", "roof"])
    m = result.metrics
    document = json.loads(json.dumps(m.to_json(), allow_nan=False))
    roof = document["classes"][2]
    assert roof["present"] is False and roof["iou"] is None and roof["dice"] is None
    assert document["summary"]["miou"] == pytest.approx(present_mean(m.iou[:2]))
    assert m.value("iou/road") == m.iou[1] == m.value("iou/1")
    assert math.isnan(m.value("iou/roof"))
    with pytest.raises(KeyError, match="known"):
        m.value("accuracy")
    row = [line for line in capsys.readouterr().out.splitlines() if "| roof" in line][0]
    assert row.split("|")[2].strip() == "-"


def test_background_index_none_and_kappa_of_one_class():
    matrix = np.array([[10, 0], [0, 0]])
    m = segmentation_metrics(matrix, background_index=None)
    assert m.fg_miou == m.miou == 1.0
    assert math.isnan(m.kappa)  # labels and predictions are all one class
    with pytest.raises(ValueError, match="background_index 2"):
        segmentation_metrics(matrix, background_index=2)


# ------------------------------------------------------------------------ multilabel


def test_multilabel_counts_match_sklearn_and_skip_the_auxiliary_channel():
    rng = np.random.default_rng(3)
    shape = (2, 3, 8, 8)
    label = rng.integers(0, 2, shape)
    label[:, :, :2] = IGNORE
    probs = rng.random(shape).astype("float32")
    confusion = MultiLabelConfusion(3, ignore_index=IGNORE, threshold=0.7, skip_channels=(0,))
    confusion.update(paddle.to_tensor(probs), paddle.to_tensor(label))

    counts = confusion.counts
    for c in range(3):
        lab, prob = label[:, c].ravel(), probs[:, c].ravel()
        valid = lab != IGNORE
        expected = skm.confusion_matrix(lab[valid], (prob[valid] > 0.7).astype(int),
                                        labels=[0, 1])
        np.testing.assert_array_equal(counts[c], expected)
    assert confusion.ignored_elements == int((label == IGNORE).sum())

    m = multilabel_metrics(counts, ["background", "road", "roof"], confusion.skip_channels)
    assert m.names == ("road", "roof") and m.auxiliary.names == ("background",)
    tn, fp, fn, tp = counts[1:].reshape(2, 4).T
    np.testing.assert_allclose(m.iou, tp / (tp + fp + fn))
    assert m.miou == pytest.approx(np.mean(tp / (tp + fp + fn)))
    aux = counts[0]
    assert m.auxiliary.iou[0] == pytest.approx(aux[1, 1] / (aux[1, 1] + aux[0, 1] + aux[1, 0]))
    assert m.pixel_accuracy == pytest.approx((tp + tn).sum() / counts[1:].sum())
    assert m.value("iou/background") == m.auxiliary.iou[0]
    assert "background" not in [row["name"] for row in m.to_json()["labels"]]


def test_multilabel_rejects_non_binary_values():
    label = np.zeros((1, 2, 2, 2), np.int64)
    label[0, 1, 0, 0] = 3
    with pytest.raises(ValueError, match=r"\[3\].*0/1"):
        MultiLabelConfusion(2).update(np.zeros((1, 2, 2, 2), np.float32), label)
    with pytest.raises(ValueError, match=r"\[2\]"):
        MultiLabelConfusion(2).update(np.full((1, 2, 2, 2), 2), np.zeros_like(label))


# ------------------------------------------------------------------------ evaluators


def confusion_of(pred, label, num_classes=2, ignore_index=IGNORE):
    confusion = ConfusionMatrix(num_classes, ignore_index)
    confusion.update(pred, label)
    return confusion.all_reduce()


def sparse_foreground_labels(rng, count=8, size=64):
    """(count, size, size) binary labels with about 2 % foreground in small squares."""
    label = np.zeros((count, size, size), np.int64)
    for image in label:
        for _ in range(2):
            y, x = rng.integers(0, size - 6, 2)
            image[y:y + 6, x:x + 6] = 1
    return label


def test_evaluators_write_csv_json_png(tmp_path):
    rng = np.random.default_rng(4)
    label = rng.integers(0, 3, (2, 16, 16))
    pred = np.where(rng.random(label.shape) < 0.7, label, 0)
    evaluators = [{"type": "SegMetrics"}, {"type": "ConfusionMatrixReport"},
                  {"type": "DegenerateResultCheck"}]
    result = summarize(confusion_of(pred, label, 3), 2, evaluators, str(tmp_path),
                       iteration=7, class_names=["bg", "road", "roof"])
    paths = result.reports["confusion_matrix"]
    with open(paths["csv"]) as file:
        rows = [line.strip().split(",") for line in file]
    assert rows[0][1:] == ["bg", "road", "roof"]
    np.testing.assert_array_equal(np.array([r[1:] for r in rows[1:]], int),
                                  skm.confusion_matrix(label.ravel(), pred.ravel()))
    with open(paths["json"]) as file:
        assert json.load(file)["matrix"] == result.confusion.matrix.tolist()
    image = cv2.imread(paths["png"])
    assert image is not None and image.shape[0] > 100
    with open(tmp_path / "eval" / "iter_7.json") as file:
        document = json.load(file)
    assert document["iteration"] == 7 and document["degenerate"] == {}
    assert document["summary"]["miou"] == pytest.approx(result.value("miou"))


def test_multilabel_report_and_table(tmp_path, capsys):
    rng = np.random.default_rng(9)
    label = rng.integers(0, 2, (2, 3, 8, 8))
    pred = rng.integers(0, 2, label.shape)
    pred[:, 2] = 0  # "roof" is never predicted
    confusion = MultiLabelConfusion(3)
    confusion.update(pred, label)
    result = summarize(confusion.all_reduce(), 2,
                       [SegMetrics(), ConfusionMatrixReport(), DegenerateResultCheck()],
                       str(tmp_path), class_names=["background", "road", "roof"])
    out = capsys.readouterr().out
    assert "Auxiliary channels" in out and "never predicted" in out
    flags = result.reports["degenerate"]
    assert flags["never_predicted"]["names"] == ["roof"]
    assert flags["dominant_prediction"]["names"] == ["roof"]
    assert flags["dominant_prediction"]["message"].startswith('Label "roof" is predicted absent')
    (tn, fp), (fn, tp) = skm.confusion_matrix(label[:, 0].ravel(), pred[:, 0].ravel())
    with open(result.reports["confusion_matrix"]["csv"]) as file:
        assert file.read().splitlines()[1] == f"0,background,auxiliary,{tn},{fp},{fn},{tp}"
    assert cv2.imread(result.reports["confusion_matrix"]["png"]) is not None


def test_degenerate_check_trips_on_all_background_prediction(capsys):
    label = sparse_foreground_labels(np.random.default_rng(5))
    assert 0.01 < label.mean() < 0.04
    result = summarize(confusion_of(np.zeros_like(label), label), len(label),
                       [DegenerateResultCheck()], class_names=["background", "foreground"])
    flags = result.reports["degenerate"]
    assert flags["dominant_prediction"]["name"] == "background"
    assert flags["never_predicted"]["names"] == ["foreground"]
    assert result.value("acc") > 0.95 and result.value("iou/foreground") == 0
    out = capsys.readouterr().out
    assert "WARNING" in out and "DEGENERATE EVALUATION RESULT" in out
    assert 'collapsed to "background"' in out


def test_degenerate_check_is_quiet_for_a_decent_prediction(capsys):
    label = sparse_foreground_labels(np.random.default_rng(6))
    pred = label.copy()
    pred[:, ::5] = 0  # misses a fifth of the foreground
    pred[:, 0, :3] = 1  # and a few false alarms
    result = summarize(confusion_of(pred, label), len(label), [DegenerateResultCheck()])
    assert result.reports["degenerate"] == {}
    assert "DEGENERATE" not in capsys.readouterr().out


@pytest.mark.parametrize("foreground_share", [0.02, 0.4])
def test_zero_255_masks_under_ignore_255_suggest_remap_labels(foreground_share):
    rng = np.random.default_rng(7)
    label = np.where(rng.random((4, 32, 32)) < foreground_share, 255, 0)
    result = summarize(confusion_of(np.zeros_like(label), label), 4,
                       [DegenerateResultCheck(ignore_share_warn=0.3)])
    flags = result.reports["degenerate"]
    assert "RemapLabels" in flags["labels_only_background"]["fix"]
    assert ("high_ignore_share" in flags) == (foreground_share > 0.3)
    if foreground_share > 0.3:
        assert "mapping: {255: 1}" in flags["high_ignore_share"]["fix"]


def test_only_ignore_and_absent_class_flags():
    label = np.full((1, 4, 4), IGNORE)
    flags = summarize(confusion_of(np.zeros_like(label), label), 1,
                      [DegenerateResultCheck()]).reports["degenerate"]
    assert list(flags) == ["labels_only_ignore"]
    label = np.array([[[0, 1], [0, 1]]])
    flags = summarize(confusion_of(np.array([[[0, 1], [2, 1]]]), label, 3), 1,
                      [DegenerateResultCheck()]).reports["degenerate"]
    assert flags["absent_from_labels"]["predicted"] == {"2": 1}


def test_unknown_evaluator_type_is_a_clear_error():
    assert {"SegMetrics", "ConfusionMatrixReport",
            "DegenerateResultCheck"} <= set(EVALUATORS.components_dict)
    confusion = confusion_of(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match="unknown type 'SegMetric'.*SegMetrics"):
        summarize(confusion, 1, [{"type": "SegMetric"}])
    with pytest.raises(ValueError, match="SegMetrics.*digit"):
        summarize(confusion, 1, [{"type": "SegMetrics", "digit": 3}])


# -------------------------------------------------------------------------- evaluate


class StandInModel(paddle.nn.Layer):
    """A fixed 1x1 convolution: logits (N, C, H, W) from the image, in a list."""

    def __init__(self, num_classes):
        super().__init__()
        paddle.seed(0)
        self.conv = paddle.nn.Conv2D(3, num_classes, 1)

    def forward(self, image):
        return [self.conv(image)]


class RecordingWriter:
    def __init__(self):
        self.scalars = {}

    def add_scalar(self, tag, value, step):
        self.scalars[tag] = (value, step)


def test_evaluate_matches_numpy_argmax_of_the_same_model(tmp_path):
    info = write_demo_dataset(tmp_path / "demo", kind="binary", size=64, num_train=4,
                              num_val=4)["datasets"]["binary"]
    dataset = Dataset(mode="val", dataset_root=info["path"], val_path=info["val_list"],
                      transforms=[Normalize()], num_classes=2)
    model = StandInModel(2)
    model.eval()
    expected = np.zeros((2, 2), np.int64)
    with paddle.no_grad():
        for i in range(len(dataset)):
            sample = dataset[i]
            logits = model(paddle.to_tensor(sample["img"][None]))[0].numpy()
            pred, label = logits.argmax(axis=1).ravel(), sample["label"].ravel()
            valid = label != IGNORE
            expected += np.bincount(label[valid] * 2 + pred[valid],
                                    minlength=4).reshape(2, 2)

    writer = RecordingWriter()
    result = evaluate(model, dataset, evaluators=[], save_dir=str(tmp_path / "out"),
                      iteration=3, class_names=["background", "foreground"],
                      log_writer=writer, print_detail=False)
    np.testing.assert_array_equal(result.confusion.matrix, expected)
    assert result.num_images == 4
    assert result.value("miou") == pytest.approx(segmentation_metrics(expected).miou)
    assert (tmp_path / "out" / "eval" / "iter_3.json").is_file()
    assert writer.scalars["Evaluate/IoU/foreground"] == (result.value("iou/foreground"), 3)
    assert "Evaluate/F1/background" in writer.scalars


class MultiLabelSamples(paddle.io.Dataset):
    """Random images with (3, H, W) 0/1 labels (channel 0 auxiliary), some ignored."""
    num_classes, ignore_index = 3, IGNORE

    def __init__(self):
        rng = np.random.default_rng(8)
        self.images = rng.standard_normal((3, 3, 8, 8)).astype("float32")
        self.labels = rng.integers(0, 2, (3, 3, 8, 8))
        self.labels[:, :, 0] = IGNORE

    def __getitem__(self, index):
        return {"img": self.images[index], "label": self.labels[index], "trans_info": []}

    def __len__(self):
        return len(self.images)


def test_evaluate_multilabel_thresholds_sigmoid_per_channel():
    dataset, model = MultiLabelSamples(), StandInModel(3)
    model.eval()
    with paddle.no_grad():
        logits = model(paddle.to_tensor(dataset.images))[0].numpy()
    positive = (1 / (1 + np.exp(-logits)) > 0.5).astype(int)
    result = evaluate(model, dataset, evaluators=[], use_multilabel=True,
                      print_detail=False)
    for c in range(3):
        label = dataset.labels[:, c].ravel()
        valid = label != IGNORE
        np.testing.assert_array_equal(
            result.confusion.counts[c],
            skm.confusion_matrix(label[valid], positive[:, c].ravel()[valid], labels=[0, 1]))
    assert result.metrics.channels == (1, 2)
