"""Dataset files checked before training: each case once hung, crashed or trained silently
wrong; now the tools stop with exit code 2 and a message naming the file and the fix."""
import os
import shutil
import struct
import zlib

import numpy as np
import paddle
import pytest
import yaml
from PIL import Image

from paddleseg_imbalance.engine import train
from paddleseg_imbalance.engine.batching import check_batch_count
from paddleseg_imbalance.engine.preflight import DataError, check_file_list
from paddleseg_imbalance.lint import lint
from tests.helpers import REPO, run_tool, tiny_config

@pytest.fixture
def data(demo_root, tmp_path):
    """A private copy of the demo binary dataset (8 train, 4 val)."""
    root = tmp_path / "data"
    shutil.copytree(demo_root / "binary", root / "binary")
    return root


def config(data, tmp_path, transforms=None, **overrides):
    path = tiny_config(data, tmp_path, **overrides)
    if transforms is not None:
        with open(path) as file:
            cfg = yaml.safe_load(file)
        cfg["train_dataset"]["transforms"] = transforms
        with open(path, "w") as file:
            yaml.safe_dump(cfg, file)
    return path


def train_args(config_path, tmp_path, *extra):
    return ["--config", config_path, "--iters", "1", "--device", "cpu", "--num_workers", "0",
            "--save_dir", str(tmp_path / "out"), *extra]


def refused(config_path, tmp_path, *extra):
    """The DataError text `train.main` stops with before any iteration."""
    with pytest.raises(DataError) as error:
        train.main(train_args(config_path, tmp_path, *extra))
    return str(error.value)


def truncate(path):
    with open(path, "rb") as file:
        data = file.read()
    with open(path, "wb") as file:
        file.write(data[:len(data) // 2])


def label(data, split="train", index=0):
    return str(data / "binary" / "labels" / f"{split}_{index:04d}.png")


def image(data, split="train", index=0):
    return str(data / "binary" / "images" / f"{split}_{index:04d}.png")


def rewrite_labels(data, convert):
    """Rewrite every label PNG as `convert(array)` returns it (an array or a PIL image)."""
    folder = data / "binary" / "labels"
    for name in os.listdir(folder):
        array = np.asarray(Image.open(folder / name))
        result = convert(array)
        (result if isinstance(result, Image.Image) else Image.fromarray(result)).save(
            folder / name)


# ------------------------------------------------------------- 4: truncated files


def test_truncated_train_label_is_named_before_training(data, tmp_path):
    truncate(label(data, index=3))
    result = run_tool("train", *train_args(config(data, tmp_path), tmp_path), timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "train_0003.png" in result.stderr and "cannot be decoded" in result.stderr


def test_truncated_val_label_is_named_before_training(data, tmp_path):
    truncate(label(data, "val", 1))
    text = refused(config(data, tmp_path), tmp_path, "--do_eval")
    assert "`val_dataset`" in text and "val_0001.png" in text


def test_truncated_image_is_named(data):
    truncate(image(data, index=2))
    pairs = [(image(data, index=i), label(data, index=i)) for i in range(4)]
    with pytest.raises(DataError, match="train_0002.png.*cannot be decoded"):
        check_file_list(pairs, "train_dataset", progress=False)


def test_every_file_decodes_fast(data, tmp_path):
    """2000 small pairs decode well within the time a user would notice (rate in the notes)."""
    import time

    pairs = [(image(data, index=i % 8), label(data, index=i % 8)) for i in range(2000)]
    start = time.perf_counter()
    sizes = check_file_list(pairs, "train_dataset", progress=False)
    assert time.perf_counter() - start < 20
    assert sizes[0] == (64, 64)


# --------------------------------------------------- 5: sizes that cannot be batched


def test_images_of_two_sizes_without_a_crop_are_refused(data, tmp_path):
    """An EXIF-rotated JPEG (labelled as seen, rotated) is another size than the rest."""
    pixels = np.asarray(Image.open(image(data, index=5)).convert("RGB"))[:, :40]
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees: cv2 reads it as 40x64
    Image.fromarray(pixels).save(data / "binary" / "images" / "rotated.jpg", exif=exif)
    Image.fromarray(np.zeros((40, 64), np.uint8)).save(data / "binary" / "labels" / "rotated.png")
    with open(data / "binary" / "train.txt", "a") as file:
        file.write("images/rotated.jpg labels/rotated.png\n")
    text = refused(config(data, tmp_path), tmp_path, "--batch_size", "2")
    assert "rotated.jpg" in text and "40x64" in text and "RandomPaddingCrop" in text
    # With a crop to one size, it trains.
    fixed = config(data, tmp_path, transforms=[
        {"type": "RandomPaddingCrop", "crop_size": [32, 32]}, {"type": "Normalize"}])
    train.main(train_args(fixed, tmp_path, "--batch_size", "2"))


def test_random_scaling_without_a_crop_is_refused(data, tmp_path):
    path = config(data, tmp_path, transforms=[
        {"type": "ResizeStepScaling", "min_scale_factor": 0.5, "max_scale_factor": 2.0},
        {"type": "Normalize"}])
    text = refused(path, tmp_path, "--batch_size", "2")
    assert "ResizeStepScaling" in text and "RandomPaddingCrop" in text


# --------------------------------------------------------------- 6: batch count


def test_batch_larger_than_the_train_set_is_refused(data, tmp_path):
    result = run_tool("train", *train_args(config(data, tmp_path), tmp_path, "--batch_size",
                                           "9"), timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "batch_size is 9" in result.stderr and "8 samples" in result.stderr


def test_batch_count_counts_ranks_and_zero():
    check_batch_count("train_dataset", 8, 4, 2)
    with pytest.raises(DataError, match="over 3 ranks, 3 per rank"):
        check_batch_count("train_dataset", 8, 4, 3)
    with pytest.raises(DataError, match="batch_size is 0"):
        check_batch_count("train_dataset", 8, 0, 1)


def test_batch_count_uses_the_wrapped_length(data, tmp_path):
    """ClassBalancedDataset with 2 epochs gives 16 or more samples: a batch of 9 trains."""
    path = config(data, tmp_path)
    with open(path) as file:
        cfg = yaml.safe_load(file)
    cfg["train_dataset"] = {"type": "ClassBalancedDataset", "dataset": cfg["train_dataset"],
                            "epochs": 2}
    with open(path, "w") as file:
        yaml.safe_dump(cfg, file)
    train.main(train_args(path, tmp_path, "--batch_size", "9", "--no_lint"))


# ------------------------------------------------------------- 7: 16-bit labels


def test_16_bit_labels_reach_the_loss_as_integers(data, tmp_path):
    rewrite_labels(data, lambda a: Image.fromarray(a.astype(np.uint16)))
    assert Image.open(label(data)).mode.startswith("I;16")
    from paddleseg.cvlibs import Config, SegBuilder

    dataset = SegBuilder(Config(config(data, tmp_path))).train_dataset
    index = next(i for i in range(8) if np.asarray(Image.open(label(data, index=i))).any())
    sample = dataset[index]["label"]
    assert sample.dtype != np.uint16
    loaded = paddle.to_tensor(sample[None]).astype("int64").numpy()
    assert loaded.sum() == np.asarray(Image.open(label(data, index=index))).sum() > 0
    report = lint(config(data, tmp_path), scan_data=True, workers=1, progress=False,
                  dry_run_samples=0)
    codes = [f for f in report.findings if f.code == "PSI113"]
    assert codes and "16-bit" in codes[0].message and codes[0].data_files


# --------------------------------------- 11: 0/255 masks with 255 ignored, always checked


def test_binary_255_masks_are_refused_without_do_eval(data, tmp_path):
    rewrite_labels(data, lambda a: (a > 0).astype(np.uint8) * 255)
    result = run_tool("train", *train_args(config(data, tmp_path), tmp_path), timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "only 0 and 255" in result.stderr and "RemapLabels" in result.stderr
    assert "mapping: {255: 1}" in result.stderr


def test_binary_255_masks_with_remap_labels_train(data, tmp_path):
    rewrite_labels(data, lambda a: (a > 0).astype(np.uint8) * 255)
    path = config(data, tmp_path, transforms=[
        {"type": "RemapLabels", "mapping": {255: 1}}, {"type": "Normalize"}])
    train.main(train_args(path, tmp_path, "--no_lint"))


# -------------------------------------------------- 14: tracebacks that are now errors


@pytest.mark.parametrize("mode", ["RGB", "LA"])
def test_label_with_channels_is_refused(data, tmp_path, mode):
    rewrite_labels(data, lambda a: Image.fromarray(a).convert(mode))
    text = refused(config(data, tmp_path), tmp_path)
    assert "train_0000.png" in text and "channels" in text and "single-channel" in text


def _png_header_claiming(path, width, height):
    """Rewrite the IHDR of the PNG at `path` to claim `width` x `height`."""
    with open(path, "rb") as file:
        data = bytearray(file.read())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    with open(path, "wb") as file:
        file.write(bytes(data))


def test_huge_label_header_is_named(data, tmp_path):
    _png_header_claiming(label(data, index=1), 20000, 20000)
    text = refused(config(data, tmp_path), tmp_path)
    assert "train_0001.png" in text and "too large" in text and "tiles" in text


LIST_CASES = {
    "missing column": ("images/train_0000.png\n", "line 2", "names no label"),
    "three columns": ("images/train_0000.png labels/train_0000.png x\n", "line 2",
                      "3 columns"),
    "space in a path": ("images/my file.png labels/train_0000.png\n", "line 2", "separator"),
}


@pytest.mark.parametrize("case", sorted(LIST_CASES))
def test_bad_file_list_lines_are_named(data, tmp_path, case):
    line, where, what = LIST_CASES[case]
    list_path = data / "binary" / "train.txt"
    lines = list_path.read_text().splitlines(keepends=True)
    list_path.write_text(lines[0] + line + "".join(lines[1:]))
    text = refused(config(data, tmp_path), tmp_path)
    assert "train.txt" in text and where in text and what in text
    report = lint(config(data, tmp_path), scan_data=True, workers=1, progress=False,
                  dry_run_samples=0)
    found = [f for f in report.findings if f.code == "PSI114"]
    assert report.exit_code() == 1 and found and where in found[0].message


def test_empty_train_list_is_refused(data, tmp_path):
    (data / "binary" / "train.txt").write_text("")
    result = run_tool("train", *train_args(config(data, tmp_path), tmp_path), timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "train.txt" in result.stderr and "names no sample" in result.stderr
    report = lint(config(data, tmp_path), scan_data=True, workers=1, progress=False,
                  dry_run_samples=0)
    assert any(f.code == "PSI114" for f in report.findings)


def test_lint_scan_data_reports_a_truncated_label(data, tmp_path):
    truncate(label(data, index=3))
    report = lint(config(data, tmp_path), scan_data=True, workers=1, progress=False,
                  dry_run_samples=0)
    found = [f for f in report.findings if f.code == "PSI100"]
    assert found and any("train_0003.png" in f for f in found[0].data_files)


def test_stats_on_a_truncated_label_exits_2(data, tmp_path):
    import subprocess
    import sys

    truncate(label(data, index=3))
    result = subprocess.run(
        [sys.executable, "-m", "paddleseg_imbalance", "stats", config(data, tmp_path),
         "--no-plot", "--workers", "1", "--output", str(tmp_path / "stats")],
        capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "train_0003.png" in result.stderr and "Traceback" not in result.stderr


def test_truncated_multilabel_label_is_named(demo_root, tmp_path):
    from paddleseg_imbalance.engine.multilabel_preflight import check_multilabel_files

    root = tmp_path / "multilabel"
    shutil.copytree(demo_root / "multilabel", root)
    first = (root / "train.txt").read_text().split()[1]
    truncate(str(root / first))

    class Dataset:  # what check_multilabel_files reads of a MultiLabelDataset
        file_list = [[str(root / i), str(root / l)] for i, l in
                     (line.split() for line in (root / "train.txt").read_text().splitlines())]

    with pytest.raises(DataError, match=os.path.basename(first)):
        check_multilabel_files(Dataset(), "train_dataset", progress=False)
