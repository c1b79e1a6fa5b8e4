"""`paddleseg-imbalance stats` and crop coverage, against numpy counts and hand-made labels."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from paddleseg_imbalance.analysis import METHODS, ClassStats, class_weights
from paddleseg_imbalance.analysis.class_stats import count_label_array
from paddleseg_imbalance.analysis.crop_coverage import (crop_hits, crop_windows, read_label_fast,
                                                        scan_class_map, scan_labels)
from paddleseg_imbalance.cli import main as cli_main
from paddleseg_imbalance.labels import read_label
from paddleseg_imbalance.stats_report import (JSON_NAME, PNG_NAME, StatsInputError, compute,
                                              inputs_from_config, inputs_from_list)
from tests.helpers import base_config, write


def train_labels(root):
    lines = (root / "train.txt").read_text().split("\n")
    return [np.asarray(Image.open(root / line.split()[1])) for line in lines if line]


def test_stats_of_a_config_match_numpy_counts(demo_root, tmp_path):
    config = base_config(str(demo_root / "binary"))
    config["class_names"] = ["background", "foreground"]
    report = compute(inputs_from_config(write(tmp_path, config)), workers=1, progress=False)
    labels = train_labels(demo_root / "binary")
    pixels = np.array([sum(int((label == c).sum()) for label in labels) for c in (0, 1)])
    images = np.array([sum(bool((label == c).any()) for label in labels) for c in (0, 1)])
    np.testing.assert_array_equal(report.stats.pixel_counts, pixels)
    np.testing.assert_allclose(report.stats.pixel_share, pixels / pixels.sum())
    np.testing.assert_array_equal(report.stats.image_counts, images)
    assert report.stats.num_images == len(labels) == 8  # demo_root: 8 train, 4 val
    assert set(report.weights) == set(METHODS)
    np.testing.assert_allclose(report.weights["inverse"], class_weights(report.stats, "inverse"))
    assert report.coverage is None  # no crop transform in the config, no --crop-size
    table = report.table().get_string()
    assert "foreground" in table and "w median_frequency" in table


def test_file_list_inputs_and_the_crop_size_of_the_config(demo_root, tmp_path):
    binary = demo_root / "binary"
    inputs = inputs_from_list(str(binary), str(binary / "val.txt"), 2)
    assert len(inputs.pairs) == 4 and inputs.class_names == ["0", "1"]
    config = base_config(str(binary))
    config["train_dataset"]["transforms"].insert(0, {"type": "RandomPaddingCrop",
                                                     "crop_size": [32, 16]})
    assert inputs_from_config(write(tmp_path, config)).crop_size == (32, 16)
    with pytest.raises(StatsInputError, match="val.txt"):
        inputs_from_list(str(binary), str(binary / "nope" / "val.txt"), 2)


def test_multilabel_config_counts_each_label(demo_root, tmp_path):
    root = demo_root / "multilabel"
    config = base_config(str(root))
    for section in ("train_dataset", "val_dataset"):
        config[section].update(type="MultiLabelDataset", num_classes=3)
        config[section]["transforms"].insert(0, {"type": "AddMultiLabelAuxiliaryCategory"})
    inputs = inputs_from_config(write(tmp_path, config))
    assert inputs.multilabel and inputs.num_classes == 2  # labels, from the strip width
    stats, _ = scan_labels([label for _, label in inputs.pairs], 2, multilabel=True, workers=1,
                           progress=False)
    strips = train_labels(root)
    expected = [sum(int(strip[:, c * 64:(c + 1) * 64].sum()) for strip in strips) for c in (0, 1)]
    np.testing.assert_array_equal(stats.pixel_counts, expected)


def test_cli_prints_the_table_and_writes_json_and_png(demo_root, tmp_path, capsys):
    config = write(tmp_path, base_config(str(demo_root / "binary")))
    code = cli_main(["stats", config, "--crop-size", "32", "--crops-per-image", "5",
                     "--workers", "2", "--output", str(tmp_path / "out")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "crop share 32x32" in printed and "random 32x32 crops hold no foreground" in printed
    document = json.loads((tmp_path / "out" / JSON_NAME).read_text())
    assert document["crops"]["crops"] == 8 * 5 and len(document["pixel_share"]) == 2
    assert set(document["weights"]) == set(METHODS)
    with Image.open(tmp_path / "out" / PNG_NAME) as image:
        assert image.format == "PNG" and image.size[0] > 100


def test_cli_without_a_dataset_exits_2(capsys):
    assert cli_main(["stats"]) == 2
    assert "--dataset-root" in capsys.readouterr().err


def test_parallel_and_serial_scans_agree(demo_root):
    binary = demo_root / "binary"
    labels = [str(binary / line.split()[1]) for line in
              (binary / "train.txt").read_text().split("\n") if line]
    serial = scan_labels(labels, 2, crop_size=(16, 16), crops_per_image=7, workers=1,
                         progress=False)
    parallel = scan_labels(labels, 2, crop_size=(16, 16), crops_per_image=7, workers=2,
                           progress=False)
    np.testing.assert_array_equal(serial[0].pixel_counts, parallel[0].pixel_counts)
    np.testing.assert_array_equal(serial[1].hits, parallel[1].hits)
    assert serial[1].empty == parallel[1].empty


# --- crop coverage against hand-computed windows ---------------------------------------

def test_crop_windows_stay_inside_and_cover_every_position():
    rng = np.random.default_rng(0)
    windows = crop_windows(5, 7, (3, 2), 2000, rng)
    assert (windows.h, windows.w) == (2, 3)
    assert set(windows.ys.tolist()) == {0, 1, 2, 3} and set(windows.xs.tolist()) == {0, 1, 2, 3, 4}
    windows = crop_windows(5, 7, (10, 10), 10, rng)  # crop > label: padded, so all of it
    assert (windows.h, windows.w) == (5, 7) and not windows.ys.any() and not windows.xs.any()


def test_crop_hits_match_slicing_each_window():
    label = np.zeros((6, 8), np.uint8)
    label[0, 0] = 1          # a corner pixel: in few windows
    label[2:4, 5:7] = 2      # a block in the middle
    label[5, :] = 255        # ignored row: no class
    count = 200
    coverage = crop_hits(label, 3, (3, 3), count, np.random.default_rng(1))
    drawn = crop_windows(6, 8, (3, 3), count, np.random.default_rng(1))
    windows = [label[y:y + drawn.h, x:x + drawn.w] for y, x in zip(drawn.ys, drawn.xs)]
    expected = [sum(bool((win == c).any()) for win in windows) for c in range(3)]
    np.testing.assert_array_equal(coverage.hits, expected)
    assert coverage.empty == sum(not ((win == 1) | (win == 2)).any() for win in windows)
    # By hand: (0, 0) is in a 3x3 window only when the corner is (0, 0): 1 of 4 * 6 corners.
    assert abs(coverage.share[1] - 1 / 24) < 0.05


def test_crop_hits_of_a_multilabel_label():
    label = np.zeros((4, 4, 2), np.uint8)
    label[..., 0] = 1        # label 0 everywhere, label 1 nowhere
    coverage = crop_hits(label, 2, (2, 2), 10, np.random.default_rng(0), multilabel=True)
    np.testing.assert_array_equal(coverage.hits, [10, 0])
    assert coverage.empty == 0


def test_a_crop_larger_than_the_label_sees_all_of_it(tmp_path):
    label = np.zeros((4, 4), np.uint8)
    label[3, 3] = 1
    path = tmp_path / "l.png"
    Image.fromarray(label).save(path)
    stats, coverage = scan_labels([path], 2, crop_size=(8, 8), crops_per_image=4, workers=1,
                                  progress=False)
    assert isinstance(stats, ClassStats) and stats.pixel_counts.tolist() == [15, 1]
    np.testing.assert_array_equal(coverage.hits, [4, 4])
    assert coverage.share.tolist() == [1.0, 1.0] and coverage.empty_share == 0.0


def test_no_plot_writes_the_json_only(demo_root, tmp_path):
    config = write(tmp_path, base_config(str(demo_root / "binary")))
    assert cli_main(["stats", config, "--no-plot", "--workers", "1",
                     "--output", str(tmp_path / "o")]) == 0
    assert os.listdir(tmp_path / "o") == [JSON_NAME]


def test_scan_class_map_counts_as_count_label_array_does():
    # The fast per-class counter must agree with the reference counter on any label:
    # ignore_index inside or outside the classes, values above them, negative values.
    rng = np.random.default_rng(0)
    for _ in range(300):
        num_classes = int(rng.integers(1, 6))
        ignore_index = int(rng.choice([255, 0, 2, 7]))
        values = rng.choice([0, 1, 2, 3, 4, 7, 9, 255, 300, -3], size=int(rng.integers(1, 5)))
        label = rng.choice(values, size=tuple(rng.integers(1, 12, 2))).astype(np.int64)
        windows = crop_windows(*label.shape, tuple(rng.integers(1, 8, 2)), 5, rng)
        expected = count_label_array(label, num_classes, ignore_index)
        stats, present = scan_class_map(label, num_classes, ignore_index, windows)
        assert stats.to_json() == expected.to_json(), (label, num_classes, ignore_index)
        for c in range(num_classes):
            by_hand = [c != ignore_index and bool((label[y:y + windows.h, x:x + windows.w]
                                                   == c).any())
                       for y, x in zip(windows.ys, windows.xs)]
            assert present[c].tolist() == by_hand


@pytest.mark.parametrize("mode,dtype", [("L", np.uint8), ("P", np.uint8), ("I;16", np.uint16)])
def test_read_label_fast_reads_what_paddleseg_reads(tmp_path, mode, dtype):
    array = (np.arange(24).reshape(4, 6) % 5).astype(dtype)
    image = Image.fromarray(array)
    if mode == "P":
        image = image.convert("P")
    image.save(tmp_path / "label.png")
    fast = read_label_fast(tmp_path / "label.png")
    np.testing.assert_array_equal(fast, read_label(tmp_path / "label.png"))
    assert fast.dtype == read_label(tmp_path / "label.png").dtype
