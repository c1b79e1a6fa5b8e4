"""The run report (`paddleseg-imbalance report`, written by train --do_eval and val) and
the error panels of `--save_errors`: a binary, a multi-label and a degenerate run."""
import paddleseg_imbalance  # noqa: F401  (first: zlib before paddle)
import base64
import io
import json
import os
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
import yaml
from PIL import Image

from paddleseg_imbalance.engine import train, val
from paddleseg_imbalance.engine.error_gallery import ErrorGallery
from paddleseg_imbalance.engine.error_panels import MIN_SIDE, tile_indices
from paddleseg_imbalance.evaluation import (ConfusionMatrixReport, DegenerateResultCheck,
                                            ObjectMetrics, SegMetrics, evaluate)
from paddleseg_imbalance.report import SECTIONS, write_report
from tests.helpers import REPO, on_demo_data, tiny_config

EVALUATORS = [{"type": "SegMetrics"}, {"type": "DegenerateResultCheck"},
              {"type": "ConfusionMatrixReport"}, {"type": "ObjectMetrics"}]
MULTILABEL_CONFIG = os.path.join(REPO, "configs", "multilabel",
                                 "pp_liteseg_stdc1_demo_multilabel.yml")


class Page(HTMLParser):
    """The section ids, image sources, links and text of a report page."""

    def __init__(self, text):
        super().__init__()
        self.sections, self.images, self.links, self.text = [], [], [], []
        self.by_section = {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs.get("id"))
            self.by_section[attrs.get("id")] = []
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        self.links += [value for key, value in attrs.items() if key in ("href", "src")]

    def handle_data(self, data):
        self.text.append(data)
        if self.sections:
            self.by_section[self.sections[-1]].append(data)


def read_page(save_dir):
    """The parsed report, checked: every section, images embedded PNGs, no URL."""
    raw = (save_dir / "report.html").read_text(encoding="utf-8")
    page = Page(raw)
    assert page.sections == [key for key, _ in SECTIONS]
    assert "http://" not in raw and "https://" not in raw
    assert all(link.startswith(("#", "data:image/png;base64,")) for link in page.links)
    for source in page.images:
        picture = Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))
        assert picture.format == "PNG" and picture.width > 0
    page.joined = " ".join(page.text)
    return page


def panel_listing(save_dir):
    return json.loads((save_dir / "errors" / "errors.json").read_text())["images"]


@pytest.fixture(scope="module")
def binary_run(demo_root, tmp_path_factory):
    """2 iterations evaluated at each, then tools/val.py --save_errors into the same dir."""
    directory = tmp_path_factory.mktemp("binary")
    config = tiny_config(demo_root, directory, evaluators=EVALUATORS)
    save_dir = directory / "out"
    train.main(["--config", config, "--device", "cpu", "--do_eval", "--save_interval", "1",
                "--log_iters", "1", "--save_dir", str(save_dir)])
    trained_report = (save_dir / "report.html").read_text()
    val.main(["--config", config, "--device", "cpu", "--save_dir", str(save_dir),
              "--model_path", str(save_dir / "best_model" / "model.pdparams"),
              "--save_errors", "2", "--sweep_thresholds"])
    return save_dir, trained_report


def test_train_and_val_write_the_report(binary_run):
    save_dir, trained_report = binary_run
    assert "No error panels" in trained_report  # written by train, before val ran
    page = read_page(save_dir)
    assert (save_dir / "run_config.yml").is_file()
    # curves, confusion, object recall, 2 panels (no class_stats.json without weight: auto)
    assert len(page.images) == 5
    assert "IoU @best" in page.joined and "recall 16-63 px" in page.joined
    assert "tools/val.py (eval/latest.json)" in page.joined  # val's evaluation is the last


def test_binary_panels_are_enlarged_with_a_caption(binary_run):
    save_dir, _ = binary_run
    listing = panel_listing(save_dir)
    assert [entry["rank"] for entry in listing] == [1, 2]
    for entry in listing:
        panel = np.asarray(Image.open(save_dir / "errors" / entry["panel"]))
        assert panel.shape[0] > MIN_SIDE and panel.shape[1] >= 4 * MIN_SIDE
        overlay = np.asarray(Image.open(save_dir / "errors" / entry["overlay"]))
        assert overlay.shape == (64, 64, 3)
        assert set(entry["iou_by_class"]) == {"foreground"}
        assert "missed_by_class" in entry  # ObjectMetrics ran


def test_tile_size_rule():
    rows, cols = tile_indices(64, 100)
    assert (len(rows), len(cols)) == (256, 400) and rows[3] == 0 and rows[4] == 1
    rows, cols = tile_indices(300, 2000)  # shrunk towards a 1024 long side, short >= 256
    assert (len(rows), len(cols)) == (256, 1707)


def test_multilabel_report_and_one_panel_row_per_label(demo_root, tmp_path):
    with open(MULTILABEL_CONFIG) as file:
        config = yaml.safe_load(file)
    on_demo_data(config, os.path.join(str(demo_root), "multilabel"))
    config.update(batch_size=2, iters=2, evaluators=EVALUATORS)
    path = tmp_path / "multilabel.yml"
    path.write_text(yaml.safe_dump(config))
    save_dir = tmp_path / "out"
    train.main(["--config", str(path), "--device", "cpu", "--do_eval", "--save_interval", "1",
                "--log_iters", "1", "--save_dir", str(save_dir), "--no_report"])
    assert not (save_dir / "report.html").exists()
    val.main(["--config", str(path), "--device", "cpu", "--save_dir", str(save_dir),
              "--model_path", str(save_dir / "best_model" / "model.pdparams"),
              "--save_errors", "2"])
    page = read_page(save_dir)
    assert "road" in page.joined and "built_up" in page.joined
    assert "background (auxiliary)" in page.joined
    listing = panel_listing(save_dir)
    assert listing and set(listing[0]["iou_by_class"]) == {"road", "built_up"}
    panel = Image.open(save_dir / "errors" / listing[0]["panel"])
    assert panel.height > 2 * MIN_SIDE  # two label rows
    overlay = Image.open(save_dir / "errors" / listing[0]["overlay"])
    assert overlay.size == (64, 128)  # the labels' errors tiles, top to bottom


def background_model():
    """A model that predicts the background everywhere."""
    import paddle

    class Background(paddle.nn.Layer):
        def forward(self, image):
            zeros = paddle.zeros_like(image[:, :1])
            return [paddle.concat([zeros + 5, zeros - 5], axis=1)]

    return Background()


def test_degenerate_run_says_so_at_the_top(demo_root, tmp_path):
    from paddleseg.datasets import Dataset
    from paddleseg.transforms import Normalize

    root = os.path.join(str(demo_root), "binary")
    dataset = Dataset(mode="val", dataset_root=root, val_path=os.path.join(root, "val.txt"),
                      transforms=[Normalize()], num_classes=2)
    gallery = ErrorGallery(2, dataset, matching={}, names=["background", "road"])
    evaluate(background_model(), dataset, save_dir=str(tmp_path), iteration=4, on_sample=gallery,
             evaluators=[SegMetrics(), DegenerateResultCheck(), ConfusionMatrixReport(),
                         ObjectMetrics()], print_detail=False)
    gallery.write(str(tmp_path))
    write_report(str(tmp_path))
    page = read_page(tmp_path)
    verdict = " ".join(page.by_section["verdict"])
    assert "This run never predicted the foreground" in verdict
    assert "never_predicted" in verdict and "Fix:" in verdict
    assert "One evaluation only (iteration 4)" in page.joined
    assert "No threshold sweep" in page.joined and "No config recorded" in page.joined
    listing = panel_listing(tmp_path)
    assert all(entry["iou_by_class"]["road"] == 0 for entry in listing)


def run_report_cli(*args):
    launcher = os.path.join(REPO, "paddleseg_imbalance_launcher.py")
    return subprocess.run([sys.executable, launcher, "report", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_cli_rewrites_the_report_without_paddle(binary_run, tmp_path):
    save_dir, _ = binary_run
    result = run_report_cli(save_dir, "--config", save_dir / "run_config.yml")
    assert result.returncode == 0, result.stderr
    assert "repaired PaddleSeg" not in result.stdout + result.stderr  # no paddle imported
    read_page(save_dir)


@pytest.mark.parametrize("make, expected", [
    (lambda d: d / "missing", "is not a folder"),
    (lambda d: d, "holds no eval/ nor errors/ folder"),
])
def test_not_a_run_is_bad_input(tmp_path, make, expected):
    result = run_report_cli(make(tmp_path))
    assert result.returncode == 2 and expected in result.stderr
    assert "Traceback" not in result.stderr and "SAVE_DIR" in result.stderr


def test_broken_evaluation_json_is_bad_input(tmp_path):
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "iter_3.json").write_text('{"iteration": 3, ')
    result = run_report_cli(tmp_path)
    assert result.returncode == 2 and "iter_3.json" in result.stderr
    assert "run the evaluation again" in result.stderr and "Traceback" not in result.stderr
