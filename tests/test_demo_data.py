"""The demo dataset: deterministic, PaddleSeg layout, about 2 % foreground, via the CLI."""
import filecmp
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from paddleseg_imbalance.cli import main
from paddleseg_imbalance.demo_data import write_demo_dataset


def listed_pairs(root, list_name):
    return [line.split() for line in open(root / list_name).read().splitlines()]


def all_files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        write_demo_dataset(tmp_path / name, size=48, num_train=3, num_val=2, seed=seed)
    files = all_files(tmp_path / "a")
    assert files == all_files(tmp_path / "b")
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", files, shallow=False)
    assert not mismatch and not errors
    image = "binary/" + listed_pairs(tmp_path / "a" / "binary", "train.txt")[0][0]
    assert not filecmp.cmp(tmp_path / "a" / image, tmp_path / "c" / image, shallow=False)


@pytest.fixture(scope="module")
def default_demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("default_demo")
    write_demo_dataset(root)
    return root


def test_binary_layout_and_foreground_share(default_demo):
    root = default_demo / "binary"
    foreground = total = 0
    for list_name, expected in (("train.txt", 64), ("val.txt", 16)):
        pairs = listed_pairs(root, list_name)
        assert len(pairs) == expected
        for image_path, label_path in pairs:
            image = np.asarray(Image.open(root / image_path))
            label = np.asarray(Image.open(root / label_path))
            assert image.shape == (128, 128, 3) and label.shape == (128, 128)
            assert set(np.unique(label)) <= {0, 1}
            foreground += int(label.sum())
            total += label.size
    assert 0.015 <= foreground / total <= 0.03


def test_multilabel_strips_overlap(default_demo):
    root = default_demo / "multilabel"
    both = none = total = 0
    for list_name in ("train.txt", "val.txt"):
        for image_path, label_path in listed_pairs(root, list_name):
            assert np.asarray(Image.open(root / image_path)).shape == (128, 128, 3)
            strip = np.asarray(Image.open(root / label_path))
            assert strip.shape == (128, 256) and set(np.unique(strip)) <= {0, 1}
            road, built_up = strip[:, :128], strip[:, 128:]
            both += int((road & built_up).sum())
            none += int(((road | built_up) == 0).sum())
            total += road.size
    assert both > 0
    assert none / total > 0.95


def test_one_kind_writes_the_same_files_as_both(tmp_path):
    write_demo_dataset(tmp_path / "both", size=48, num_train=2, num_val=1, seed=1)
    write_demo_dataset(tmp_path / "binary", kind="binary", size=48, num_train=2, num_val=1,
                       seed=1)
    assert os.listdir(tmp_path / "binary") == ["binary"]
    files = all_files(tmp_path / "binary")
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "binary", tmp_path / "both", files,
                                           shallow=False)
    assert not mismatch and not errors


def test_generator_does_not_import_paddle():
    # Loaded as a plain file, so the package __init__ (which imports paddle) does not run.
    path = os.path.join(os.path.dirname(__file__), "..", "paddleseg_imbalance", "demo_data.py")
    code = ("import importlib.util, sys; "
            f"spec = importlib.util.spec_from_file_location('demo_data', {path!r}); "
            "spec.loader.exec_module(importlib.util.module_from_spec(spec)); "
            "assert 'paddle' not in sys.modules, 'demo_data imported paddle'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_cli_writes_and_refuses_a_non_empty_dir(tmp_path, capsys):
    target = tmp_path / "demo"
    assert main(["demo-data", str(target), "--size", "48", "--num-train", "2",
                 "--num-val", "1"]) == 0
    assert "pixel share" in capsys.readouterr().out
    assert os.path.isfile(target / "binary" / "train.txt")
    assert main(["demo-data", str(target)]) == 2
    error = capsys.readouterr().err
    assert str(target) in error and "--force" in error
    assert main(["demo-data", str(target), "--size", "48", "--num-train", "2",
                 "--num-val", "1", "--force"]) == 0


def test_bad_arguments_are_rejected(tmp_path, capsys):
    assert main(["demo-data", str(tmp_path / "x"), "--size", "8"]) == 2
    assert "size is 8" in capsys.readouterr().err


# --- the second kind of thin structure: cracks ------------------------------------------

def content_digest(root):
    """sha256 over every file's relative path and content (PNG files by their pixels)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(np.asarray(Image.open(path)).tobytes() if path.suffix == ".png"
                      else path.read_bytes())
    return digest.hexdigest()


def test_road_demo_is_unchanged_by_the_cracks_kind(tmp_path):
    # The quality benchmark's numbers depend on these exact images and labels.
    write_demo_dataset(tmp_path, size=48, num_train=3, num_val=2, seed=3)
    assert content_digest(tmp_path) == (
        "ad4cc45293868431c1fafdfe4abbe13a6d8c62fdc986d1a9112704b2bce5b1fd")


@pytest.fixture(scope="module")
def cracks(tmp_path_factory):
    root = tmp_path_factory.mktemp("cracks")
    info = write_demo_dataset(root, kind="cracks")
    return root, info


def test_cracks_binary_layout_thin_and_rare(cracks):
    import cv2

    root, info = cracks
    assert os.listdir(root) == ["cracks"]
    assert info["datasets"]["cracks"]["classes"] == ["background", "crack"]
    foreground = total = 0
    widths = []
    for list_name, expected in (("train.txt", 64), ("val.txt", 16)):
        pairs = listed_pairs(root / "cracks", list_name)
        assert len(pairs) == expected
        for image_path, label_path in pairs:
            image = np.asarray(Image.open(root / "cracks" / image_path))
            label = np.asarray(Image.open(root / "cracks" / label_path))
            assert image.shape == (128, 128, 3) and label.shape == (128, 128)
            assert set(np.unique(label)) <= {0, 1}
            foreground += int(label.sum())
            total += label.size
            # Local width: twice the distance to the background at the crack's pixels.
            distance = cv2.distanceTransform(label, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
            widths.append(2 * distance[label > 0])
    assert 0.008 <= foreground / total <= 0.025
    widths = np.concatenate(widths)
    assert np.median(widths) <= 4 and np.percentile(widths, 99) <= 6


def test_cracks_are_deterministic_by_seed(tmp_path):
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        write_demo_dataset(tmp_path / name, kind="cracks", size=48, num_train=2, num_val=1,
                           seed=seed)
    assert content_digest(tmp_path / "a") == content_digest(tmp_path / "b")
    assert content_digest(tmp_path / "a") != content_digest(tmp_path / "c")


def test_demo_config_trains_on_cracks_with_opts(tmp_path):
    from tests.helpers import DEMO_CONFIG, run_tool

    assert main(["demo-data", str(tmp_path / "data"), "--kind", "cracks", "--size", "64",
                 "--num-train", "4", "--num-val", "2"]) == 0
    data = tmp_path / "data" / "cracks"
    result = run_tool("train", "--config", DEMO_CONFIG, "--device", "cpu", "--iters", "2",
                      "--batch_size", "2", "--do_eval", "--save_dir", tmp_path / "out",
                      "--opts", f"train_dataset.dataset_root={data}",
                      f"train_dataset.train_path={data / 'train.txt'}",
                      f"val_dataset.dataset_root={data}",
                      f"val_dataset.val_path={data / 'val.txt'}", timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "out" / "eval" / "iter_2.json").is_file()
