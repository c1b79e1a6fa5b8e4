"""`weight: auto`, its cache and `stats` under issue 18's inputs: remapped 0/255 masks,
labels changed in place, a corrupt cache, 16-bit and truncated labels, non-finite weights."""
import json
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from paddleseg.datasets import Dataset
from paddleseg.transforms import Normalize
from PIL import Image

from paddleseg_imbalance.analysis import ClassStats, class_weights, count_classes
from paddleseg_imbalance.cli import main as cli_main
from paddleseg_imbalance.datasets import ClassBalancedDataset
from paddleseg_imbalance.engine import train
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.loss_weights import (STATS_FILE, resolve_loss_weights,
                                                     train_set_stats)
from paddleseg_imbalance.engine.preflight import DataError
from paddleseg_imbalance.stats_report import compute, inputs_from_config
from paddleseg_imbalance.transforms import RemapLabels
from tests.helpers import REPO, run_tool, tiny_config

REMAP = {"type": "RemapLabels", "mapping": {255: 1}}


@pytest.fixture
def masks(demo_root, tmp_path):
    """The demo's binary train set with 0/255 masks (foreground stored as 255)."""
    root = tmp_path / "masks"
    shutil.copytree(demo_root / "binary", root)
    for line in (root / "train.txt").read_text().split("\n"):
        if line:
            path = root / line.split()[1]
            label = np.asarray(Image.open(path))
            Image.fromarray(np.where(label == 1, 255, label).astype(np.uint8)).save(path)
    return root


def foreground_pixels(root):
    total = 0
    for line in (root / "train.txt").read_text().split("\n"):
        if line:
            label = np.asarray(Image.open(root / line.split()[1]))
            total += int(np.count_nonzero((label == 1) | (label == 255)))
    return total


def train_dataset(root, transforms):
    return Dataset(transforms=transforms + [Normalize()], dataset_root=str(root),
                   num_classes=2, mode="train", train_path=str(root / "train.txt"))


def auto_config():
    return SimpleNamespace(dic={"loss": {"types": [{"type": "CrossEntropyLoss",
                                                    "weight": "auto"}]}})


def edit_yaml(path, change):
    data = yaml.safe_load(open(path))
    change(data)
    yaml.safe_dump(data, open(path, "w"))
    return path


def config_on(root, directory, transforms=(), **tiny):
    """`tiny_config` with both datasets on the copy `root` of the demo's binary set,
    `transforms` put first in their transforms."""
    def point(data):
        for section, list_key in (("train_dataset", "train_path"), ("val_dataset", "val_path")):
            data[section]["dataset_root"] = str(root)
            data[section][list_key] = str(root / os.path.basename(data[section][list_key]))
            data[section]["transforms"][:0] = [dict(t) for t in transforms]
    return edit_yaml(tiny_config(root.parent, directory, **tiny), point)


# --- item 9: count labels as RemapLabels leaves them ------------------------------------

def test_auto_weights_count_remapped_masks(masks, tmp_path):
    dataset = train_dataset(masks, [RemapLabels({255: 1})])
    stats = train_set_stats(dataset, str(tmp_path / "out"))
    assert stats.pixel_counts[1] == foreground_pixels(masks) > 0
    assert stats.ignored_pixels == 0
    config = auto_config()
    resolve_loss_weights(config, dataset, str(tmp_path / "out"))
    weights = config.dic["loss"]["types"][0]["weight"]
    assert weights[1] > 10 * weights[0]


def test_train_with_remapped_masks_and_auto_weights_end_to_end(masks, tmp_path):
    config = config_on(masks, tmp_path, [REMAP], loss={"type": "CrossEntropyLoss",
                                                        "weight": "auto"}, iters=1)
    result = run_tool("train", "--config", config, "--device", "cpu", "--save_dir",
                      tmp_path / "out", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "no pixels" not in result.stdout + result.stderr
    (entry,) = json.load(open(tmp_path / "out" / STATS_FILE)).values()
    assert entry["pixel_counts"][1] == foreground_pixels(masks)


def test_stats_counts_remapped_masks(masks, tmp_path, capsys):
    config = config_on(masks, tmp_path, [REMAP])
    report = compute(inputs_from_config(config), workers=1, progress=False)
    assert report.stats.pixel_counts[1] == foreground_pixels(masks)
    assert not any("no pixels" in note for note in report.notes)
    assert cli_main(["stats", config, "--output", str(tmp_path / "stats"), "--no-plot",
                     "--workers", "2"]) == 0
    share = json.load(open(tmp_path / "stats" / "class_stats.json"))["pixel_share"][1]
    assert share > 0.005


def test_stats_with_a_bad_remap_names_the_key(masks, tmp_path, capsys):
    config = config_on(masks, tmp_path, [{"type": "RemapLabels", "mapping": {255: "one"}}])
    assert cli_main(["stats", config, "--no-plot", "--output", str(tmp_path / "s")]) == 2
    error = capsys.readouterr().err
    assert "train_dataset.transforms[0]" in error and "RemapLabels" in error


def test_remap_label_values_only_maps_values():
    label = np.array([[0, 255], [7, 255]], np.uint8)
    mapped = RemapLabels({255: 1, 7: 300}).map_values(label)
    np.testing.assert_array_equal(mapped, [[0, 1], [300, 1]])
    assert RemapLabels.LABEL_VALUE_MAP is True


# --- item 9: the cache follows the label files and the mapping; a corrupt cache ----------

def test_cache_recounts_labels_changed_in_place(demo_root, tmp_path):
    root = tmp_path / "binary"
    shutil.copytree(demo_root / "binary", root)
    save_dir = str(tmp_path / "out")
    first = train_set_stats(train_dataset(root, []), save_dir)
    label = root / (root / "train.txt").read_text().split("\n")[0].split()[1]
    Image.fromarray(np.ones((64, 64), np.uint8)).save(label)
    second = train_set_stats(train_dataset(root, []), save_dir)
    assert second.pixel_counts[1] > first.pixel_counts[1]
    np.testing.assert_array_equal(count_classes(
        [root / line.split()[1] for line in (root / "train.txt").read_text().split("\n")
         if line], 2, workers=1, progress=False).pixel_counts, second.pixel_counts)


def test_cache_recounts_when_the_mapping_changes(masks, tmp_path):
    save_dir = str(tmp_path / "out")
    plain = train_set_stats(train_dataset(masks, []), save_dir)
    assert plain.pixel_counts[1] == 0
    remapped = train_set_stats(train_dataset(masks, [RemapLabels({255: 1})]), save_dir)
    assert remapped.pixel_counts[1] > 0


def test_corrupt_cache_is_recounted_with_a_warning(demo_root, tmp_path, capsys):
    save_dir = tmp_path / "out"
    save_dir.mkdir()
    (save_dir / STATS_FILE).write_text('{"abc": [1, 2')
    stats = train_set_stats(train_dataset(demo_root / "binary", []), str(save_dir))
    assert stats.pixel_counts[1] > 0
    assert STATS_FILE in capsys.readouterr().out
    (entry,) = json.load(open(save_dir / STATS_FILE)).values()
    assert entry["pixel_counts"] == stats.pixel_counts.tolist()


# --- 16-bit and undecodable labels --------------------------------------------------------

def test_16_bit_labels_count_as_integers(tmp_path):
    label = np.zeros((8, 8), np.uint16)
    label[:2] = 1
    path = tmp_path / "label16.png"
    Image.fromarray(label).save(path)
    assert Image.open(path).mode.startswith("I")
    stats = count_classes([path, path], 2, workers=1, progress=False)
    np.testing.assert_array_equal(stats.pixel_counts, [96, 32])


def test_16_bit_labels_in_stats(demo_root, tmp_path):
    root = tmp_path / "binary"
    shutil.copytree(demo_root / "binary", root)
    lines = [line for line in (root / "train.txt").read_text().split("\n") if line]
    for line in lines:
        path = root / line.split()[1]
        Image.fromarray(np.asarray(Image.open(path)).astype(np.uint16)).save(path)
    config = config_on(root, tmp_path)
    report = compute(inputs_from_config(config), workers=1, progress=False)
    assert report.stats.pixel_counts[1] == foreground_pixels(demo_root / "binary")


def truncate(path):
    data = open(path, "rb").read()
    open(path, "wb").write(data[:len(data) // 2])


def test_count_classes_names_an_undecodable_label(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 2, (64, 64), np.uint8)).save(path)
    truncate(path)
    with pytest.raises(DataError, match="cut.png"):
        count_classes([path], 2, workers=1, progress=False)
    with pytest.raises(DataError, match="cut.png"):
        count_classes([path, path, path], 2, workers=2, progress=False)


def test_stats_on_a_truncated_label_exits_2_naming_it(demo_root, tmp_path):
    root = tmp_path / "binary"
    shutil.copytree(demo_root / "binary", root)
    label = (root / "train.txt").read_text().split("\n")[2].split()[1]
    truncate(root / label)
    command = [sys.executable, "-m", "paddleseg_imbalance", "stats", "--dataset-root", root,
               "--file-list", root / "train.txt", "--num-classes", "2", "--no-plot",
               "--output", tmp_path / "stats"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-3000:]
    assert os.path.basename(label) in result.stderr and "Traceback" not in result.stderr


# --- item 8: finite, non-zero weights; config errors name the key -------------------------

@pytest.mark.parametrize("method", ["inverse", "sqrt_inverse", "median_frequency",
                                    "effective_number"])
def test_a_class_without_pixels_gets_a_finite_weight(method, recwarn):
    stats = ClassStats.empty(3)
    stats.pixel_counts[:] = [10 ** 9, 0, 1]
    stats.image_pixels[:] = [10 ** 9, 0, 10 ** 9]
    weights = class_weights(stats, method)
    assert np.isfinite(weights).all() and (weights > 0).all()


def test_negative_counts_are_an_error():
    stats = ClassStats.empty(2)
    stats.pixel_counts[:] = [-5, 3]
    with pytest.raises(ValueError, match="negative"):
        class_weights(stats, "inverse")


@pytest.mark.parametrize("weight", [[1, float("nan")], [1, float("inf")], [1, -5], [0, 0],
                                    [1, "x"], [1, True]])
def test_explicit_weights_must_be_finite_and_positive(weight):
    config = SimpleNamespace(dic={"loss": {"types": [
        {"type": "CrossEntropyLoss"},
        {"type": "MixedLoss", "losses": [{"type": "CrossEntropyLoss", "weight": weight}],
         "coef": [1]}]}})
    with pytest.raises(ConfigError, match=r"loss\.types\[1\]\.losses\[0\]\.weight"):
        resolve_loss_weights(config, None, "unused")


@pytest.mark.parametrize("option", [{"weight_momentum": "x"}, {"weight_beta": "x"},
                                    {"weight_beta": float("nan")},
                                    {"weight_method": ["inverse"]}])
def test_bad_weight_option_types_are_config_errors(option):
    config = SimpleNamespace(dic={"loss": {"types": [
        {"type": "CrossEntropyLoss", "weight": "batch", **option}]}})
    with pytest.raises(ConfigError, match=r"loss\.types\[0\]"):
        resolve_loss_weights(config, None, "unused")


def test_train_with_nan_weight_and_no_lint_exits_2(demo_root, tmp_path):
    loss = {"type": "CrossEntropyLoss", "weight": [1, float("nan")]}
    config = tiny_config(demo_root, tmp_path, loss=loss)
    with pytest.raises(ConfigError, match=r"loss\.types\[0\]\.weight"):
        train.main(["--config", config, "--device", "cpu", "--save_dir",
                    str(tmp_path / "out"), "--no_lint"])


def test_auto_weights_on_a_dataset_without_a_file_list_name_the_key(tmp_path):
    dataset = SimpleNamespace(num_classes=2, ignore_index=255, transforms=None)
    with pytest.raises(ConfigError, match=r"loss\.types\[0\]\.weight: auto.*file_list"):
        resolve_loss_weights(auto_config(), dataset, str(tmp_path))


@pytest.mark.parametrize("flags", [["--workers", "-1"], ["--crops-per-image", "-1"],
                                   ["--crop-size", "0"], ["--num-classes", "0"],
                                   ["--seed", "-1"]])
def test_stats_refuses_out_of_range_flags(demo_root, flags, capsys):
    binary = demo_root / "binary"
    arguments = ["stats", "--dataset-root", str(binary), "--file-list",
                 str(binary / "train.txt"), "--num-classes", "2", *flags]
    with pytest.raises(SystemExit) as exit_code:
        cli_main(arguments)
    assert exit_code.value.code == 2 and flags[0] in capsys.readouterr().err


def test_stats_into_an_output_that_is_a_file_exits_2(demo_root, tmp_path, capsys):
    binary = demo_root / "binary"
    output = tmp_path / "notes.txt"
    output.write_text("keep")
    assert cli_main(["stats", "--dataset-root", str(binary), "--file-list",
                     str(binary / "train.txt"), "--num-classes", "2", "--no-plot",
                     "--output", str(output)]) == 2
    assert "notes.txt" in capsys.readouterr().err and output.read_text() == "keep"


def test_class_balanced_sampling_sees_remapped_masks(masks):
    dataset = ClassBalancedDataset(train_dataset(masks, [RemapLabels({255: 1})]),
                                   oversample_thr=0.5)
    assert dataset.class_presence[:, 1].any()
