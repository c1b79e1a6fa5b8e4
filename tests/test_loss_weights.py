"""`weight: auto` and `weight: batch` in YAML loss entries, through tools/train.py's engine."""
import json

import numpy as np
import paddle
import pytest
import yaml
from paddleseg.models.losses import CrossEntropyLoss
from PIL import Image

from paddleseg_imbalance.analysis import class_weights
from paddleseg_imbalance.analysis.class_stats import ClassStats
from paddleseg_imbalance.engine import train
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.loss_weights import STATS_FILE, BatchClassWeights
from tests.helpers import tiny_config


def train_log(config, save_dir, capsys):
    train.main(["--config", config, "--device", "cpu", "--save_dir", str(save_dir),
                "--log_iters", "1", "--save_interval", "2"])
    return capsys.readouterr().out


def numpy_counts(root, list_name="train.txt"):
    counts = np.zeros(2, np.int64)
    for line in open(root / list_name):
        label = np.asarray(Image.open(root / line.split()[1]))
        counts += np.bincount(label[label != 255].ravel(), minlength=2)
    return counts


def test_auto_weights_from_the_train_set_are_cached_by_file_list(demo_root, tmp_path, capsys):
    loss = {"type": "CrossEntropyLoss", "weight": "auto", "weight_method": "sqrt_inverse"}
    config = tiny_config(demo_root, tmp_path, loss=loss)
    save_dir = tmp_path / "out"
    log = train_log(config, save_dir, capsys)
    counts = numpy_counts(demo_root / "binary")
    expected = 1 / np.sqrt(counts / counts.sum())
    expected /= expected.mean()
    assert "weight: auto` resolved to" in log and "counting 8 label files" in log
    cached = json.load(open(save_dir / STATS_FILE))
    (entry,) = cached.values()
    np.testing.assert_array_equal(entry["pixel_counts"], counts)
    for value in expected:
        assert f"{value:.4f}" in log

    assert "reusing" in train_log(config, save_dir, capsys)

    binary = demo_root / "binary"
    shorter = tmp_path / "train_short.txt"
    shorter.write_text("".join(open(binary / "train.txt").readlines()[:6]))
    data = yaml.safe_load(open(config))
    data["train_dataset"]["train_path"] = str(shorter)
    yaml.safe_dump(data, open(config, "w"))
    log = train_log(config, save_dir, capsys)
    assert "counting 6 label files" in log
    assert len(json.load(open(save_dir / STATS_FILE))) == 2


def test_batch_weights_follow_each_batch(demo_root, tmp_path, capsys):
    loss = {"type": "CrossEntropyLoss", "weight": "batch", "weight_momentum": 0.5}
    config = tiny_config(demo_root, tmp_path, loss=loss)
    log = train_log(config, tmp_path / "out", capsys)
    assert "iter: 2/2" in log and "weight: auto" not in log


def test_batch_hook_sets_smoothed_weights():
    loss = CrossEntropyLoss()
    hook = BatchClassWeights(2, 255, "inverse", None, momentum=0.5)
    loss.register_forward_pre_hook(hook)
    logits = paddle.zeros([1, 2, 2, 2])
    first = paddle.to_tensor(np.array([[[0, 0], [0, 1]]]))     # 3 bg, 1 fg
    second = paddle.to_tensor(np.array([[[0, 1], [1, 255]]]))  # 1 bg, 2 fg
    loss(logits, first)
    counts = np.array([3.0, 1.0])
    expected = class_weights(stats_from(counts, [4.0, 4.0]), "inverse")
    np.testing.assert_allclose(loss.weight.numpy(), expected, rtol=1e-6)
    loss(logits, second)
    counts = 0.5 * counts + 0.5 * np.array([1.0, 2.0])
    expected = class_weights(stats_from(counts, [3.5, 3.5]), "inverse")
    np.testing.assert_allclose(loss.weight.numpy(), expected, rtol=1e-6)


def stats_from(counts, image_pixels):
    stats = ClassStats.empty(len(counts))
    stats.pixel_counts, stats.image_pixels = np.asarray(counts), np.asarray(image_pixels)
    return stats


@pytest.mark.parametrize("entry,message", [
    ({"weight": "balanced"}, "weight` is 'balanced'"),
    ({"weight": "auto", "weight_method": "magic"}, "weight_method is 'magic'"),
    ({"weight": "batch", "weight_momentum": 1.5}, "weight_momentum` is 1.5"),
    ({"weight": [1.0, 2.0], "weight_method": "inverse_x"}, "without `weight: auto`"),
])
def test_bad_weight_entries_name_the_key(demo_root, tmp_path, entry, message):
    config = tiny_config(demo_root, tmp_path, loss={"type": "CrossEntropyLoss", **entry})
    with pytest.raises(ConfigError, match="loss.types\\[0\\]") as error:
        train.main(["--config", config, "--device", "cpu", "--save_dir", str(tmp_path)])
    assert message in str(error.value)


def test_other_weight_strings_are_left_to_the_loss(demo_root, tmp_path, capsys):
    # BCELoss computes `weight: dynamic` itself from each batch.
    config = tiny_config(demo_root, tmp_path, loss={"type": "BCELoss", "weight": "dynamic"})
    assert "iter: 2/2" in train_log(config, tmp_path / "out", capsys)
