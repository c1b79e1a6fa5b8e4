"""Multi-label per-label weights (`pos_weight: auto` / `weight: auto` in multi-label mode),
their bad input, the nested demo layout, and the recommended multi-label recipe."""
import importlib.util
import os
import shutil
import sys
import types

import numpy as np
import paddle
import pytest
import yaml
from paddleseg.cvlibs import Config
from paddleseg.models.losses import BCELoss
from PIL import Image

from paddleseg_imbalance.demo_data import NESTED_LABEL_NAMES, write_demo_dataset
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.loss_weights import resolve_loss_weights
from paddleseg_imbalance.losses import WeightedIoULoss
from tests.helpers import REPO, run_tool

CONFIGS = os.path.join(REPO, "configs", "multilabel")
BASE = os.path.join(CONFIGS, "pp_liteseg_stdc1_demo_multilabel.yml")
RECOMMENDED = os.path.join(CONFIGS, "pp_liteseg_stdc1_demo_multilabel_recommended.yml")
BCE_KEY, IOU_KEY = "loss.types[0].losses[0]", "loss.types[0].losses[1]"


def write_config(data, directory, base=BASE, loss_head=None, without_background=False):
    """`base` pointed at the multi-label data in `data`, 2 iterations of batch 2;
    `loss_head` replaces each of the 3 heads' loss (one mapping, as a YAML anchor makes)."""
    config = {"_base_": base, "batch_size": 2, "iters": 2}
    for section, list_key, name in (("train_dataset", "train_path", "train.txt"),
                                    ("val_dataset", "val_path", "val.txt")):
        config[section] = {"dataset_root": str(data), list_key: os.path.join(str(data), name)}
    if loss_head is not None:
        config["loss"] = {"types": [loss_head] * 3, "coef": [1, 1, 1]}
    if without_background:
        for section in ("train_dataset", "val_dataset"):
            transforms = [{"type": "Normalize"}]
            config[section].update(num_classes=2, transforms=transforms)
        config["model"] = {"num_classes": 2}
    path = os.path.join(str(directory), "config.yml")
    with open(path, "w") as file:
        yaml.dump(config, file)  # not safe_dump: the shared head becomes an anchor
    return path


def head(bce=None, iou=None):
    return {"type": "MixedLoss", "coef": [1.0, 1.0],
            "losses": [dict({"type": "BCELoss"}, **(bce or {})),
                       dict({"type": "WeightedIoULoss", "mode": "multilabel"}, **(iou or {}))]}


def train_set(data, num_classes=3):
    """What `resolve_loss_weights` reads of a train dataset."""
    with open(os.path.join(str(data), "train.txt")) as file:
        pairs = [line.split() for line in file if line.strip()]
    file_list = [(os.path.join(str(data), image), os.path.join(str(data), label))
                 for image, label in pairs]
    return types.SimpleNamespace(file_list=file_list, num_classes=num_classes,
                                 ignore_index=255, transforms=None)


def resolve(data, directory, loss_head, **options):
    config = Config(write_config(data, directory, loss_head=loss_head, **options))
    dataset = train_set(data, config.dic["model"]["num_classes"])
    return config, resolve_loss_weights(config, dataset, str(directory))


def counts_by_hand(data, num_labels):
    """(positive pixels per label, pixels per label) of the train labels, with numpy."""
    positive, total = np.zeros(num_labels), 0
    for _, label_path in train_set(data).file_list:
        strip = np.asarray(Image.open(label_path))
        width = strip.shape[1] // num_labels
        for c in range(num_labels):
            positive[c] += (strip[:, c * width:(c + 1) * width] == 1).sum()
        total += strip.shape[0] * width
    return positive, total


def test_auto_weights_match_a_count_by_hand(demo_root, tmp_path):
    data = demo_root / "multilabel"
    loss_head = head(bce={"pos_weight": "auto", "weight_method": "sqrt_inverse"},
                     iou={"weight": "auto"})
    config, settings = resolve(data, tmp_path, loss_head)
    positive, total = counts_by_hand(data, 2)
    expected_positive = np.r_[1.0, np.sqrt((total - positive) / positive)]
    inverse = positive.sum() / positive
    expected_channel = np.r_[0.0, inverse / inverse.mean()]
    # Every head gets the weights, though the three share one mapping (YAML anchor).
    assert {f"loss.types[{i}].losses[{j}]" for i in range(3) for j in range(2)} == set(settings)
    np.testing.assert_allclose(settings[BCE_KEY].weights, expected_positive, rtol=1e-5)
    np.testing.assert_allclose(settings[IOU_KEY].weights, expected_channel, rtol=1e-5)
    # The built losses get them in the shape they read: (C, 1, 1) and (C,).
    bce, iou = BCELoss(), WeightedIoULoss(mode="multilabel")
    settings[BCE_KEY].apply(bce, 255)
    settings[IOU_KEY].apply(iou, 255)
    assert bce.pos_weight.shape == [3, 1, 1]
    np.testing.assert_allclose(bce.pos_weight.numpy().ravel(), expected_positive, rtol=1e-5)
    np.testing.assert_allclose(iou.weight.numpy(), expected_channel, rtol=1e-5)
    assert config.dic["loss"]["types"][0]["losses"][0]["pos_weight"] is None
    assert os.path.isfile(tmp_path / "class_stats.json")


def test_batch_weights_follow_each_batch(demo_root, tmp_path):
    data = demo_root / "multilabel"
    loss_head = head(bce={"pos_weight": "batch", "weight_momentum": 0.0})
    _, settings = resolve(data, tmp_path, loss_head)
    bce = BCELoss()
    settings[BCE_KEY].apply(bce, 255)
    labels = np.zeros((2, 3, 8, 8), np.int64)
    labels[:, 1, :2] = 1          # road: 32 of 128 positions
    labels[:, 2, 0, 0] = 1        # built_up: 2 of 128
    labels[0, 2, 7, 7] = 255      # ignored: one element of built_up
    logits = paddle.zeros([2, 3, 8, 8])
    bce(logits, paddle.to_tensor(labels))
    # Positions per label: the valid elements over the labels, 255 of them / 2 labels.
    positions = 255 / 2
    expected = np.r_[1.0, (positions - 32) / 32, (positions - 2) / 2]
    np.testing.assert_allclose(bce.pos_weight.numpy().ravel(), expected, rtol=1e-5)


@pytest.mark.parametrize("weights, message", [
    ([5.0, 2.0], "has 2 entries but the model has 3 output channels (background, road, "
                 "built_up); it has one per label but none for the background channel"),
    ([1.0, 5.0, 2.0, 1.0], "has 4 entries but the model has 3 output channels"),
])
def test_per_label_weights_of_the_wrong_length(demo_root, tmp_path, weights, message):
    with pytest.raises(ConfigError) as error:
        resolve(demo_root / "multilabel", tmp_path, head(bce={"pos_weight": weights}))
    assert f"`{BCE_KEY}.pos_weight` {message}" in str(error.value)
    assert "give 3 numbers" in str(error.value) or "[1.0, 5.0, 2.0]" in str(error.value)


def test_wrong_length_without_the_background_channel(demo_root, tmp_path):
    with pytest.raises(ConfigError) as error:
        resolve(demo_root / "multilabel", tmp_path, head(iou={"weight": [1.0, 2.0, 3.0]}),
                without_background=True)
    assert (f"`{IOU_KEY}.weight` has 3 entries but the model has 2 output channels (road, "
            "built_up); give 2 numbers, one per label (road, built_up)") in str(error.value)


def test_weight_auto_on_bce_points_to_pos_weight(demo_root, tmp_path):
    with pytest.raises(ConfigError) as error:
        resolve(demo_root / "multilabel", tmp_path, head(bce={"weight": "auto"}))
    assert f"set `{BCE_KEY}.pos_weight: auto` instead" in str(error.value)


def test_label_without_positive_pixels_is_named(demo_root, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(demo_root / "multilabel", data)
    for label_path in (data / "labels").glob("*.png"):
        strip = np.asarray(Image.open(label_path)).copy()
        strip[:, strip.shape[1] // 2:] = 0  # no built_up anywhere
        Image.fromarray(strip).save(label_path)
    _, settings = resolve(data, tmp_path, head(bce={"pos_weight": "auto"}))
    out = capsys.readouterr().out
    assert "label(s) built_up have no positive pixel in the train set" in out
    road = settings[BCE_KEY].weights[1]
    assert settings[BCE_KEY].weights == [1.0, road, road]


def test_bad_weights_stop_the_train_tool_with_exit_2(demo_root, tmp_path):
    config = write_config(demo_root / "multilabel", tmp_path,
                          loss_head=head(bce={"pos_weight": [5.0, 2.0]}))
    result = run_tool("train", "--config", config, "--device", "cpu", "--save_dir",
                      tmp_path / "out", timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "pos_weight` has 2 entries but the model has 3 output channels" in result.stderr


def test_nested_layout_labels_contain_one_another(tmp_path):
    info = write_demo_dataset(tmp_path, kind="multilabel_nested", size=64, num_train=6,
                              num_val=2, seed=1)
    meta = info["datasets"]["multilabel_nested"]
    assert meta["labels"] == list(NESTED_LABEL_NAMES)
    assert meta["num_classes_with_background"] == 4
    share = meta["pixel_share"]["all"]
    assert share["parcel"] > share["building"] > share["solar"] > 0
    for label_path in (tmp_path / "multilabel_nested" / "labels").glob("*.png"):
        parcel, building, solar = np.split(np.asarray(Image.open(label_path)), 3, axis=1)
        assert (building <= parcel).all() and (solar <= building).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["multilabel_nested"]


def test_recommended_recipe_trains_two_iterations(demo_root, tmp_path):
    config = write_config(demo_root / "multilabel", tmp_path, base=RECOMMENDED)
    result = run_tool("train", "--config", config, "--device", "cpu", "--do_eval",
                      "--save_interval", 2, "--save_dir", tmp_path / "out", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert "pos_weight: auto` resolved to" in log
    assert os.path.isfile(tmp_path / "out" / "eval" / "iter_2.json")


def test_benchmark_reads_per_label_metrics(tmp_path):
    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location(
            "quality_multilabel", os.path.join(REPO, "benchmarks", "quality_multilabel.py"))
        benchmark = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(benchmark)
    finally:
        sys.path.pop(0)
    results = [dict(recipe=recipe, seed=seed, s_per_iter=seconds, miou=(a + b) / 2,
                    recall=0.5, precision=0.5, label_iou={"road": a, "built_up": b})
               for recipe, seed, a, b, seconds in [
                   ("paddleseg_bce_lovasz_adamw_light_aux_stride4", 0, 0.2, 0.4, 2.0),
                   ("paddleseg_bce_lovasz_adamw_light_aux_stride4", 1, 0.2, 0.4, 2.0),
                   ("recommended", 0, 0.35, 0.55, 2.2), ("recommended", 1, 0.35, 0.55, 2.2)]]
    summary = benchmark.summarise(results, ["paddleseg_bce_lovasz_adamw_light_aux_stride4",
                                            "recommended"])
    assert summary["recommended"]["label_iou"]["road"] == (0.35, 0.0)
    lines = benchmark.verdicts(summary)
    assert lines[0] == "recommended label mIoU 0.450 >= 0.4: met"
    assert lines[1] == "recommended worst label (road) IoU 0.350 >= 0.3: met"
    assert lines[2].startswith("margin over PaddleSeg-only "
                               "(paddleseg_bce_lovasz_adamw_light_aux_stride4) +0.150")
    assert "1.10x" in lines[3] and lines[3].endswith("met")
    assert "road IoU" in benchmark.table(summary)
    nested = benchmark.parse_args(["--layout", "nested", "--out", str(tmp_path)])
    with open(benchmark.recipe_config(nested, "recommended")) as file:
        written = yaml.safe_load(file)
    assert written["model"]["num_classes"] == 4
    assert written["train_dataset"]["label_names"] == list(NESTED_LABEL_NAMES)


def test_pos_weight_auto_needs_a_multilabel_config(demo_root, tmp_path):
    from tests.helpers import tiny_config

    config = Config(tiny_config(demo_root, tmp_path, loss={"type": "BCELoss",
                                                           "pos_weight": "auto"}))
    dataset = types.SimpleNamespace(file_list=[], num_classes=2, ignore_index=255,
                                    transforms=None)
    with pytest.raises(ConfigError) as error:
        resolve_loss_weights(config, dataset, str(tmp_path))
    assert "`loss.types[0].pos_weight: auto` needs a multi-label config" in str(error.value)
