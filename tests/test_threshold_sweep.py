"""Decision thresholds (issue 19, item 4): the one-pass threshold sweep of val.py against a
numpy reference, thresholds.json, predict and export with a tuned threshold, bad input."""
import json
import shutil

import cv2
import numpy as np
import paddle
import pytest
import yaml
import paddleseg.transforms as T
from paddleseg.cvlibs import Config, SegBuilder
from paddleseg.utils.utils import load_entire_model
from PIL import Image

from paddleseg_imbalance.datasets import MultiLabelDataset
from paddleseg_imbalance.engine import export, predict, train, val
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.entry import run_tool as run_in_process
from paddleseg_imbalance.engine.inference import create_predictor, run_predictor
from paddleseg_imbalance.evaluation import ThresholdSweep, build_evaluators, evaluate
from paddleseg_imbalance.evaluation.threshold_sweep import best_index, sweep
from paddleseg_imbalance.transforms import AddMultiLabelAuxiliaryCategory
from tests.helpers import run_tool, tiny_config

IGNORE = 255


def brute_force(probabilities, labels, threshold):
    """IoU and F1 of `probabilities > threshold` against 0/1 `labels`, ignore left out."""
    scored = labels != IGNORE
    predicted, positive = probabilities[scored] > threshold, labels[scored] == 1
    tp = np.sum(predicted & positive)
    fp, fn = np.sum(predicted & ~positive), np.sum(~predicted & positive)
    return tp / (tp + fp + fn), 2 * tp / (2 * tp + fp + fn)


def swept(probabilities, labels, bins, batches=3):
    """A ThresholdSweep fed `probabilities`/`labels` (N, L, H, W) in a few batches."""
    evaluator = ThresholdSweep(bins=bins)
    evaluator.begin(labels.shape[1] + 1, list(range(1, labels.shape[1] + 1)), IGNORE, True)
    for p, l in zip(np.array_split(probabilities, batches), np.array_split(labels, batches)):
        evaluator.update(paddle.to_tensor(p), paddle.to_tensor(l))
    evaluator.all_reduce()
    return evaluator.histograms()


@pytest.mark.parametrize("bins", [10, 1000])
def test_sweep_matches_a_brute_force_numpy_reference(bins):
    rng = np.random.default_rng(bins)
    labels = (rng.random((6, 2, 24, 24)) < 0.2).astype(np.int64)
    # Informative probabilities: positives lean high, with much overlap.
    probabilities = np.clip(rng.normal(0.3 + 0.3 * labels, 0.2), 0, 1).astype(np.float32)
    labels[rng.random(labels.shape) < 0.1] = IGNORE
    histograms = swept(probabilities, labels, bins)
    for channel in range(2):
        p, l = probabilities[:, channel], labels[:, channel]
        assert histograms[channel].sum() == np.sum(l != IGNORE)
        curve = sweep(histograms[channel, 1], histograms[channel, 0])
        reference = np.array([brute_force(p, l, t) for t in curve["thresholds"]])
        np.testing.assert_allclose(curve["iou"], reference[:, 0], atol=1e-4)
        np.testing.assert_allclose(curve["f1"], reference[:, 1], atol=1e-4)
        best = best_index(curve["iou"], curve["thresholds"])
        assert abs(curve["iou"][best] - reference[:, 0].max()) < 1e-4
        # Off the bin edges nothing is better, to bin resolution: a finer brute-force grid
        # finds at most what the nearest edges give.
        grid = np.linspace(0.0005, 0.9995, 1000)
        fine = np.array([brute_force(p, l, t)[0] for t in grid])
        assert curve["iou"][best] <= fine.max() + 1e-4
        if bins == 1000:
            assert fine.max() - curve["iou"][best] < 2e-3
            assert abs(curve["thresholds"][best] - grid[fine.argmax()]) < 0.01


def test_best_threshold_of_a_plateau_is_the_one_closest_to_half():
    iou = np.array([0.2, 0.4, 0.4, 0.4, 0.1])
    assert best_index(iou, np.array([0.1, 0.3, 0.45, 0.7, 0.9])) == 2


@pytest.mark.parametrize("bins", [0, 3, 1.5, True])
def test_bins_must_be_an_even_integer(bins):
    with pytest.raises(ValueError, match="bins .* must be an even integer"):
        build_evaluators([{"type": "ThresholdSweep", "bins": bins}])


# PP-LiteSeg's last 1x1 convolution (no bias) in the head that inference uses.
_LAST_CONV = "seg_heads.0.conv_out.weight"


@pytest.fixture(scope="module")
def trained(demo_root, tmp_path_factory):
    """The tiny binary demo model after 2 iterations: (config, weights). Trained at a small
    learning rate (at the config's, 2 iterations from scratch give logits of 1e9, every
    probability 0 or 1), then its logits multiplied by 50 (its last convolution is) so
    that the probabilities spread over (0, 1) and a threshold moves pixels."""
    directory = tmp_path_factory.mktemp("threshold_sweep")
    config = tiny_config(demo_root, directory)
    train.main(["--config", config, "--device", "cpu", "--save_interval", "2",
                "--learning_rate", "0.0001", "--seed", "0", "--save_dir", str(directory / "out"),
                "--no_lint"])
    state = paddle.load(str(directory / "out" / "iter_2" / "model.pdparams"))
    state[_LAST_CONV] = state[_LAST_CONV] * 50
    weights = directory / "spread.pdparams"
    paddle.save(state, str(weights))
    return config, weights


@pytest.fixture(scope="module")
def thresholds_json(trained, tmp_path_factory):
    """val.py --sweep_thresholds run end to end as a tool: (save dir, its thresholds.json)."""
    config, weights = trained
    save_dir = tmp_path_factory.mktemp("val")
    result = run_tool("val", "--config", config, "--model_path", weights, "--device", "cpu",
                      "--save_dir", save_dir, "--sweep_thresholds", timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Threshold sweep" in result.stdout + result.stderr
    return save_dir, save_dir / "eval" / "thresholds.json"


def test_val_writes_thresholds_json_in_the_same_pass(thresholds_json):
    save_dir, path = thresholds_json
    content = json.loads(path.read_text())
    assert content["kind"] == "binary_softmax" and content["num_classes"] == 2
    assert content["selected_by"] == "IoU" and content["bins"] == 1000
    (entry,) = content["classes"]
    assert entry["channel"] == 1 and 0 < entry["threshold"] < 1
    assert entry["iou_at_best"] >= entry["iou_at_0.5"]
    # At 0.5 the sweep is the argmax the confusion matrix counted.
    latest = json.loads((save_dir / "eval" / "latest.json").read_text())
    assert latest["threshold_sweep"]["classes"][0]["threshold"] == entry["threshold"]
    assert abs(latest["classes"][1]["iou"] - entry["iou_at_0.5"]) < 1e-3


def with_threshold(path, directory, threshold, **changes):
    """A copy of thresholds.json with class 1's threshold (and top-level keys) changed."""
    content = json.loads(path.read_text())
    content["classes"][0]["threshold"] = threshold
    content.update(changes)
    copy = directory / f"thresholds_{threshold}_{len(changes)}.json"
    copy.write_text(json.dumps(content))
    return copy


def val_images(demo_root):
    """The demo val images (64 px), normalised as the config's Normalize does, and paths."""
    paths = sorted((demo_root / "binary" / "images").glob("val_*.png"))
    images = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]
    return ((np.stack(images).astype(np.float32) / 255 - 0.5) / 0.5).transpose(0, 3, 1, 2), paths


def foreground_probability(config, weights, images):
    """softmax[1] of the dynamic model."""
    model = SegBuilder(Config(config)).model
    load_entire_model(model, str(weights))
    model.eval()
    with paddle.no_grad():
        logit = model(paddle.to_tensor(images))[0]
        return paddle.nn.functional.softmax(logit, axis=1)[:, 1].numpy()


def clear_of(probability, threshold, margin=1e-3):
    clear = np.abs(probability - threshold) > margin
    assert clear.mean() > 0.98
    return clear


def moving_threshold(probability):
    """0.3 or 0.7, whichever decides more pixels otherwise than 0.5 does."""
    below = np.mean((probability > 0.3) & (probability <= 0.5))
    above = np.mean((probability > 0.5) & (probability <= 0.7))
    assert max(below, above) > 0.01, ("no pixel near the threshold, the test would be "
                                      f"vacuous: {np.quantile(probability, [0, 0.5, 1])}")
    return 0.3 if below > above else 0.7


def tuned_case(trained, thresholds_json, demo_root, tmp_path):
    """(config, weights, val images and paths, foreground probability, a threshold that
    moves pixels, a thresholds.json holding it)."""
    config, weights = trained
    images, paths = val_images(demo_root)
    probability = foreground_probability(config, weights, images)
    threshold = moving_threshold(probability)
    tuned = with_threshold(thresholds_json[1], tmp_path, threshold)
    return config, weights, images, paths, probability, threshold, tuned


def test_predict_with_thresholds_applies_softmax1_above_the_threshold(
        trained, thresholds_json, demo_root, tmp_path):
    config, weights, _, paths, probability, threshold, tuned = tuned_case(
        trained, thresholds_json, demo_root, tmp_path)
    image_dir = tmp_path / "images"
    image_dir.mkdir()
    for path in paths:
        shutil.copy(path, image_dir)
    for flags, name in (([], "argmax"), (["--thresholds", tuned], "tuned")):
        predict.main(["--config", config, "--device", "cpu", "--model_path", str(weights),
                      "--image_path", str(image_dir), "--save_dir", str(tmp_path / name),
                      "--no_lint", *map(str, flags)])
    masks = {name: np.stack([np.array(Image.open(tmp_path / name / "pseudo_color_prediction"
                                                 / (p.stem + ".png"))) for p in paths])
             for name in ("argmax", "tuned")}
    clear = clear_of(probability, threshold) & clear_of(probability, 0.5)
    np.testing.assert_array_equal(masks["tuned"][clear], (probability > threshold)[clear])
    np.testing.assert_array_equal(masks["argmax"][clear], (probability > 0.5)[clear])
    assert (masks["tuned"] != masks["argmax"]).any()


def test_export_with_a_tuned_threshold_matches_the_dynamic_model(
        trained, thresholds_json, demo_root, tmp_path):
    config, weights, images, _, probability, threshold, tuned = tuned_case(
        trained, thresholds_json, demo_root, tmp_path)
    save_dir = tmp_path / "exported"
    export.main(["--config", config, "--model_path", str(weights), "--save_dir",
                 str(save_dir), "--thresholds", str(tuned), "--no_lint"])
    deploy = yaml.safe_load(open(save_dir / "deploy.yaml"))["Deploy"]
    assert deploy["output_op"] == "threshold" and deploy["output_dtype"] == "int32"
    assert deploy["threshold"] == threshold
    exported = run_predictor(create_predictor(str(save_dir)), images)
    assert exported.dtype == np.int32 and exported.shape == probability.shape
    clear = clear_of(probability, threshold)
    np.testing.assert_array_equal(exported[clear], (probability > threshold)[clear])


def val_labels(paths):
    return np.stack([np.array(Image.open(str(p).replace("images", "labels")))
                     for p in paths])


def test_val_scores_a_tuned_threshold_against_a_numpy_reference(
        trained, thresholds_json, demo_root, tmp_path):
    """val.py --thresholds: foreground IoU of softmax[1] > t on val, as numpy counts it."""
    config, weights, _, paths, probability, threshold, tuned = tuned_case(
        trained, thresholds_json, demo_root, tmp_path)
    labels = val_labels(paths)
    assert set(np.unique(labels)) <= {0, 1}
    scores = {}
    for flags, name in (([], "argmax"), (["--thresholds", tuned], "tuned"),
                        (["--threshold", threshold], "one number")):
        val.main(["--config", config, "--device", "cpu", "--model_path", str(weights),
                  "--save_dir", str(tmp_path / name), "--no_lint", *map(str, flags)])
        latest = json.loads((tmp_path / name / "eval" / "latest.json").read_text())
        scores[name] = latest["classes"][1]["iou"]
    clear = clear_of(probability, threshold) & clear_of(probability, 0.5)
    for name, cut in (("argmax", 0.5), ("tuned", threshold), ("one number", threshold)):
        predicted = probability > cut
        reference = (predicted & (labels == 1)).sum() / (predicted | (labels == 1)).sum()
        # Pixels within 1e-3 of the threshold may go either way (float32 vs float64).
        slack = (~clear).sum() / max(1, (predicted | (labels == 1)).sum())
        assert abs(scores[name] - reference) <= slack + 1e-6, (name, scores, reference)
    assert scores["tuned"] == scores["one number"] != scores["argmax"]


def test_val_refuses_thresholds_beside_a_sweep(trained, thresholds_json, capsys, tmp_path):
    config, weights = trained
    message = bad_input(val.main, ["--config", config, "--device", "cpu", "--model_path",
                                   str(weights), "--save_dir", str(tmp_path), "--no_lint",
                                   "--thresholds", str(thresholds_json[1]),
                                   "--sweep_thresholds"], capsys)
    assert "--thresholds/--threshold" in message and "leave one of them out" in message


def test_export_default_stays_argmax(trained, tmp_path):
    config, weights = trained
    export.main(["--config", config, "--model_path", str(weights), "--save_dir",
                 str(tmp_path), "--no_lint"])
    deploy = yaml.safe_load(open(tmp_path / "deploy.yaml"))["Deploy"]
    assert deploy["output_op"] == "argmax" and "threshold" not in deploy


# ------------------------------------------------------------------------- bad input


def bad_input(main, argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        run_in_process(main, argv)
    assert stopped.value.code == 2
    return capsys.readouterr().err


def predict_argv(trained, demo_root, tmp_path, *flags):
    config, weights = trained
    return ["--config", config, "--device", "cpu", "--model_path", str(weights),
            "--image_path", str(demo_root / "binary" / "images"), "--save_dir",
            str(tmp_path / "pred"), "--no_lint", *map(str, flags)]


@pytest.mark.parametrize("content, fragments", [
    ("{not json", ["is not valid JSON", "--sweep_thresholds"]),
    ('{"kind": "binary_softmax"}', ["lacks the keys", "num_classes", "--sweep_thresholds"]),
    (None, ["num_classes 3", "num_classes 2", "sweep the thresholds of this model"]),
    ("kind", ["multilabel_sigmoid", "binary_softmax", "sweep the thresholds of this model"]),
    (1.5, ["has threshold 1.5", "probability in (0, 1)"]),
])
def test_a_bad_thresholds_file_is_named_with_the_fix(trained, thresholds_json, demo_root,
                                                    tmp_path, capsys, content, fragments):
    path = thresholds_json[1]
    if content is None:  # written for another number of classes
        bad = with_threshold(path, tmp_path, 0.4, num_classes=3)
    elif content == "kind":  # written for a multi-label model
        bad = with_threshold(path, tmp_path, 0.4, kind="multilabel_sigmoid")
    elif isinstance(content, float):
        bad = with_threshold(path, tmp_path, content)
    else:
        bad = tmp_path / "thresholds.json"
        bad.write_text(content)
    for main, argv in ((predict.main, predict_argv(trained, demo_root, tmp_path,
                                                   "--thresholds", bad)),
                       (export.main, ["--config", trained[0], "--save_dir",
                                      str(tmp_path / "exp"), "--no_lint", "--thresholds",
                                      str(bad)])):
        message = bad_input(main, argv, capsys)
        for fragment in [str(bad), *fragments]:
            assert fragment in message, message
    assert not (tmp_path / "pred").exists() and not (tmp_path / "exp").exists()


def test_threshold_flags_outside_0_1_stop_the_tools(trained, demo_root, tmp_path, capsys):
    for value in ("0", "1", "1.5"):
        message = bad_input(predict.main, predict_argv(trained, demo_root, tmp_path,
                                                       "--threshold", value), capsys)
        assert "--threshold" in message and "strictly between 0 and 1" in message


def test_threshold_and_thresholds_together_are_refused(trained, thresholds_json, demo_root,
                                                      tmp_path, capsys):
    message = bad_input(predict.main, predict_argv(trained, demo_root, tmp_path, "--threshold",
                                                   0.4, "--thresholds", thresholds_json[1]),
                        capsys)
    assert "--threshold and --thresholds both given: give one" in message


def test_export_output_op_argmax_beside_a_threshold_is_refused(trained, tmp_path, capsys):
    message = bad_input(export.main, ["--config", trained[0], "--save_dir", str(tmp_path),
                                      "--no_lint", "--threshold", "0.4", "--output_op",
                                      "argmax"], capsys)
    assert "--output_op argmax ignores the foreground threshold" in message
    assert "use --output_op threshold" in message


@pytest.fixture(scope="module")
def three_class_config(demo_root, tmp_path_factory):
    """The demo config with num_classes 3 everywhere (never trained: refused first)."""
    directory = tmp_path_factory.mktemp("three_classes")
    path = tiny_config(demo_root, directory)
    with open(path) as file:
        content = yaml.safe_load(file)
    for section in ("model", "train_dataset", "val_dataset"):
        content[section]["num_classes"] = 3
    with open(path, "w") as file:
        yaml.safe_dump(content, file)
    return path


def test_a_threshold_for_a_three_class_model_is_refused(three_class_config, thresholds_json,
                                                        demo_root, tmp_path, capsys):
    for flags in (["--thresholds", thresholds_json[1]], ["--threshold", "0.4"]):
        message = bad_input(export.main, ["--config", three_class_config, "--save_dir",
                                          str(tmp_path), "--no_lint", *map(str, flags)],
                            capsys)
        assert "num_classes 3, decided by argmax" in message
        assert "only for binary (num_classes 2) and multi-label models" in message
        assert f"leave {flags[0]} out" in message


def test_val_sweep_of_a_three_class_model_exits_2_before_inference(three_class_config,
                                                                   tmp_path):
    result = run_tool("val", "--config", three_class_config, "--model_path",
                      tmp_path / "missing.pdparams", "--device", "cpu", "--no_lint",
                      "--sweep_thresholds", timeout=120)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "--sweep_thresholds" in result.stderr and "has 3 classes" in result.stderr
    assert "binary (num_classes 2) or multi-label" in result.stderr


def test_yaml_threshold_sweep_of_a_three_class_model_names_the_key(three_class_config):
    with open(three_class_config) as file:
        content = yaml.safe_load(file)
    content["evaluators"] = [{"type": "ThresholdSweep"}]
    config = Config(three_class_config)
    config.dic["evaluators"] = content["evaluators"]
    with pytest.raises(ConfigError, match="`evaluators`: a threshold sweep needs a binary"):
        val.evaluation_options(config, {})


def test_multilabel_sweep_is_written_per_label(demo_root, tmp_path):
    """A multi-label evaluation sweeps each label channel, not the background channel."""
    root = demo_root / "multilabel"
    dataset = MultiLabelDataset("val", str(root), [AddMultiLabelAuxiliaryCategory(num_classes=3),
                                                   T.Normalize()],
                                num_classes=3, val_path=str(root / "val.txt"))

    class Ramp(paddle.nn.Layer):
        """Logits rising across each image: every threshold splits the pixels."""
        def forward(self, x):
            n, _, h, w = x.shape
            ramp = paddle.linspace(-3.0, 3.0, 3 * h * w).reshape([1, 3, h, w])
            return [ramp.tile([n, 1, 1, 1])]

    result = evaluate(Ramp(), dataset, evaluators=[ThresholdSweep(bins=100)],
                      save_dir=str(tmp_path), use_multilabel=True, skip_channels=(0,),
                      print_detail=False)
    content = json.loads((tmp_path / "eval" / "thresholds.json").read_text())
    assert content["kind"] == "multilabel_sigmoid" and content["num_classes"] == 3
    assert [entry["channel"] for entry in content["classes"]] == [1, 2]
    assert [entry["name"] for entry in content["classes"]] == list(result.metrics.names)
