"""Structure widths (`stats`) and the output-stride lint rule PSI115."""
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from paddleseg_imbalance import stats_report
from paddleseg_imbalance.analysis.structure_width import (StructureWidths, label_widths,
                                                          local_widths, needed_stride)
from paddleseg_imbalance.lint import lint
from paddleseg_imbalance.lint.model_outputs import output_stride
from tests.helpers import REPO, tiny_config


@pytest.mark.parametrize("width", range(1, 10))
def test_straight_line_measures_its_width(width):
    horizontal = np.zeros((40, 64), bool)
    horizontal[10:10 + width, 4:60] = True
    assert np.median(local_widths(horizontal)) == width
    assert np.median(local_widths(horizontal.T)) == width


@pytest.mark.parametrize("angle", [30, 45, 60])
@pytest.mark.parametrize("width", [1, 3, 5, 8])
def test_oblique_line_within_two_pixels(width, angle):
    mask = np.zeros((200, 200), np.uint8)
    box = cv2.boxPoints(((100.0, 100.0), (160.0, float(width)), float(angle)))
    cv2.fillPoly(mask, [np.round(box * 16).astype(np.int32)], 1, shift=4)
    assert abs(np.median(local_widths(mask.astype(bool))) - width) <= 2


@pytest.mark.parametrize("radius", [5, 10, 20])
def test_disc_measures_about_its_diameter(radius):
    rows, cols = np.mgrid[:100, :100]
    disc = (rows - 50) ** 2 + (cols - 50) ** 2 <= radius ** 2
    assert abs(np.median(local_widths(disc)) - (2 * radius + 1)) <= 2


def test_thin_share_and_median_by_hand():
    # A 2 x 100 px line (200 px) and a 10 x 10 px square (100 px) of class 1.
    label = np.zeros((40, 140), np.uint8)
    label[5:7, 20:120] = 1
    label[20:30, 60:70] = 1
    widths = label_widths(label, 2)
    assert widths.median(0) is None  # the background is not measured
    assert widths.median(1) == 2.0  # 200 of the 300 pixels are 2 px wide
    assert widths.thin_share(1) == pytest.approx(200 / 300)
    assert widths.pixels(1) == 300
    assert widths.needed_stride(1) == 2
    doubled = widths + widths
    assert doubled.thin_share(1) == pytest.approx(200 / 300) and doubled.pixels(1) == 600


def test_multilabel_channels_are_measured_each():
    label = np.zeros((30, 30, 2), np.uint8)
    label[5:6, :, 0] = 1
    label[10:20, 10:20, 1] = 1
    widths = label_widths(label, 2, multilabel=True)
    assert widths.median(0) == 1.0 and abs(widths.median(1) - 10) <= 1
    assert widths.thinnest() == 0


def test_needed_stride_rule():
    assert [needed_stride(w) for w in (0.5, 1, 2.5, 4.5, 8, 15, 100)] == [1, 1, 2, 4, 8, 8, 32]


def test_class_filling_the_image_is_as_wide_as_counted():
    widths = StructureWidths.empty(1, multilabel=True)
    assert local_widths(np.ones((8, 8), bool)).min() > 100
    assert widths.median(0) is None


def test_output_stride_from_config():
    stdc = {"type": "STDC1"}
    assert output_stride({"type": "PPLiteSeg", "backbone": stdc}) == 8
    assert output_stride({"type": "PPLiteSeg", "backbone": stdc,
                          "backbone_indices": [1, 2, 3, 4]}) == 4
    assert output_stride({"type": "PPLiteSeg", "backbone": {"type": "ResNet50_vd"}}) is None
    assert output_stride({"type": "UNet"}) is None
    assert output_stride({"type": "PPLiteSeg", "backbone": stdc,
                          "backbone_indices": "x"}) is None


def test_stats_reports_widths(demo_root, tmp_path):
    binary = demo_root / "binary"
    inputs = stats_report.inputs_from_list(str(binary), str(binary / "train.txt"), 2)
    report = stats_report.compute(inputs, workers=1, progress=False)
    table = report.table().get_string()
    assert "median width px" in table and "stride needed" in table
    stats_report.write(report, str(tmp_path), plot=False)
    structure = json.load(open(tmp_path / "class_stats.json"))["structure"]
    assert structure["median_width_px"][0] is None
    assert 1 <= structure["median_width_px"][1] < 8  # thin roads and small buildings
    assert structure["needed_stride"][1] == needed_stride(structure["median_width_px"][1])
    # Worker processes give the same histograms as one process.
    parallel = stats_report.compute(inputs, workers=2, progress=False)
    assert (parallel.widths.histograms == report.widths.histograms).all()


def _stride4_model():
    return {"type": "PPLiteSeg", "backbone": {"type": "STDC1", "pretrained": None},
            "backbone_indices": [1, 2, 3, 4], "arm_out_chs": [32, 32, 64, 128],
            "seg_head_inter_chs": [32, 32, 64, 64], "pretrained": None}


def _psi115(report):
    return [f for f in report.findings if f.code == "PSI115"]


def test_lint_warns_on_stride_8_and_not_on_stride_4(demo_root, tmp_path):
    (tmp_path / "s8").mkdir()
    (tmp_path / "s4").mkdir()
    stride8 = tiny_config(demo_root, tmp_path / "s8")
    found = _psi115(lint(stride8, scan_data=True, workers=1, progress=False,
                         dry_run_samples=0))
    assert len(found) == 1 and found[0].severity == "warning"
    assert found[0].key == "model.backbone_indices"
    assert "1/8" in found[0].message and "foreground" in found[0].message
    assert "backbone_indices: [1, 2, 3, 4]" in found[0].fix
    assert "arm_out_chs: [32, 32, 64, 128]" in found[0].fix
    ce = {"type": "CrossEntropyLoss"}
    stride4 = tiny_config(demo_root, tmp_path / "s4", model=_stride4_model(),
                          loss={"types": [ce] * 4, "coef": [1, 0.4, 0.4, 0.4]})
    assert not _psi115(lint(stride4, scan_data=True, workers=1, progress=False,
                            dry_run_samples=0))


def test_lint_cli_names_the_rule(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path)
    # The console script's entry point (`python -m paddleseg_imbalance` logs to stdout).
    launch = "import sys; from paddleseg_imbalance_launcher import main; sys.exit(main())"
    result = subprocess.run([sys.executable, "-c", launch, "lint", config,
                             "--scan-data", "--format", "json", "--workers", "1"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr  # a warning alone keeps exit 0
    findings = json.loads(result.stdout)["findings"]
    assert [f["name"] for f in findings if f["code"] == "PSI115"] == ["output-stride-too-coarse"]
