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
