"""benchmarks/quality.py (its bookkeeping, one short two-stage run end to end) and
benchmarks/head_resolution_ceiling.py."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.helpers import REPO

spec = importlib.util.spec_from_file_location(
    "quality", os.path.join(REPO, "benchmarks", "quality.py"))
quality = importlib.util.module_from_spec(spec)
spec.loader.exec_module(quality)


def test_stage_iterations_add_up():
    assert quality.stage_iterations(300, [2 / 3, 1 / 3]) == [200, 100]
    assert quality.stage_iterations(4, [2 / 3, 1 / 3]) == [3, 1]
    assert quality.stage_iterations(7, [1]) == [7]


def test_time_per_iteration_leaves_out_the_first_window(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("[TRAIN] epoch: 1, iter: 10/30, loss: 1.0, lr: 0.01, batch_cost: 9.0, x\n"
                   "[EVAL] not a training line batch_cost: 100\n"
                   "[TRAIN] epoch: 2, iter: 20/30, loss: 1.0, lr: 0.01, batch_cost: 2.0, x\n"
                   "[TRAIN] epoch: 3, iter: 30/30, loss: 1.0, lr: 0.01, batch_cost: 4.0, x\n")
    assert quality.seconds_per_iteration(str(log)) == 3.0


def test_summary_table_and_verdicts_use_the_same_run_baseline():
    results = [dict(recipe=r, seed=s, iou=iou, dice=0.5, recall=0.5, precision=0.5,
                    s_per_iter=t)
               for r, s, iou, t in [("ce", 0, 0.0, 2.0), ("ce", 1, 0.0, 2.0),
                                    ("paddleseg_ce_dice", 0, 0.3, 2.1),
                                    ("paddleseg_ce_dice", 1, 0.2, 2.1),
                                    ("recommended", 0, 0.5, 2.2),
                                    ("recommended", 1, 0.4, 2.4)]]
    summary = quality.summarise(results, ["ce", "paddleseg_ce_dice", "recommended"])
    assert summary["recommended"]["iou"] == (pytest.approx(0.45), pytest.approx(0.05))
    text = quality.table(summary)
    assert "0.450 ± 0.050" in text and "1.15" in text  # 2.3 s / 2.0 s
    lines = quality.verdicts(summary)
    assert lines[0].endswith("met") and "+0.200" in lines[1] and lines[2].endswith("met")
    summary["recommended"]["iou"] = (0.3, 0.0)
    assert quality.verdicts(summary)[0].endswith("MISSED")


def test_margin_is_taken_against_the_best_paddleseg_only_recipe():
    results = [dict(recipe=r, seed=0, iou=iou, dice=0.5, recall=0.5, precision=0.5,
                    s_per_iter=2.0)
               for r, iou in [("ce", 0.0), ("paddleseg_ce_dice", 0.26),
                              ("paddleseg_ce_dice_adamw", 0.42), ("recommended", 0.45)]]
    recipes = ["ce", "paddleseg_ce_dice", "paddleseg_ce_dice_adamw", "recommended"]
    margin_line = quality.verdicts(quality.summarise(results, recipes))[1]
    assert "(paddleseg_ce_dice_adamw) +0.030" in margin_line
    assert margin_line.endswith("MISSED")
    without_adamw = quality.summarise(results, ["ce", "paddleseg_ce_dice", "recommended"])
    assert quality.verdicts(without_adamw)[1].endswith("+0.190 >= +0.05: met")


def test_threshold_columns_and_stride4_targets():
    results = [dict(recipe=r, seed=s, iou=iou, dice=0.5, recall=0.5, precision=0.5,
                    s_per_iter=t, threshold=0.3, tuned_iou=iou + 0.02, tuned_recall=0.6,
                    tuned_precision=0.4)
               for r, s, iou, t in [("ce", 0, 0.0, 2.0),
                                    ("paddleseg_ce_dice_adamw_light_aux_stride4", 0, 0.6, 2.4),
                                    ("recommended_stride4", 0, 0.7, 2.8)]]
    summary = quality.summarise(results, [r["recipe"] for r in results])
    assert "+0.020" in quality.table(summary)
    lines = quality.verdicts(summary)
    assert any("recommended_stride4 fg IoU 0.700 >= 0.6: met" in line for line in lines)
    assert any("+0.100 >= +0.05: met" in line for line in lines)
    assert any("1.40x CE <= 1.3x: MISSED" in line for line in lines)
    assert any("scored on val: +0.020" in line and "met" in line for line in lines)


def test_cracks_data_points_both_datasets_at_the_cracks():
    opts = quality.dataset_opts("cracks")
    assert "train_dataset.train_path=data/demo/cracks/train.txt" in opts
    assert "val_dataset.val_path=data/demo/cracks/val.txt" in opts
    assert quality.dataset_opts("demo") == []


def test_two_stage_recipe_runs_end_to_end(demo_root, tmp_path):
    workdir = tmp_path / "work"
    shutil.copytree(demo_root, workdir / "data" / "demo")
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "benchmarks", "quality.py"), "--recipes",
         "two_stage", "--seeds", "0", "--iters", "30", "--jobs", "1", "--out", str(out),
         "--workdir", str(workdir), "--tune_thresholds"], capture_output=True, text=True,
        timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = json.loads((out / "two_stage" / "seed_0" / "result.json").read_text())
    assert set(run) >= {"iou", "dice", "recall", "precision", "s_per_iter", "threshold",
                        "tuned_iou"}
    # Tuned on the train list, scored on the val list, with the final stage's model.
    tuned = json.loads((out / "two_stage" / "seed_0" / "tune" / "eval" / "thresholds.json")
                       .read_text())["classes"][0]
    train_labels = sorted((workdir / "data" / "demo" / "binary" / "labels").glob("train_*"))
    assert tuned["positive_pixels"] == sum(int((np.array(Image.open(p)) == 1).sum())
                                           for p in train_labels)
    scored = json.loads((out / "two_stage" / "seed_0" / "scored" / "eval" / "latest.json")
                        .read_text())
    assert 0 < run["threshold"] < 1 and run["tuned_iou"] == scored["classes"][1]["iou"]
    assert "threshold (train)" in result.stdout
    stage_two_log = (out / "two_stage" / "seed_0" / "stage_2" / "train.log").read_text()
    assert "stage_1/iter_20/model.pdparams" in stage_two_log  # started from stage 1
    assert "variables loaded into PPLiteSeg" in stage_two_log
    assert "two_stage" in result.stdout and "fg IoU" in result.stdout


ceiling_spec = importlib.util.spec_from_file_location(
    "head_resolution_ceiling", os.path.join(REPO, "benchmarks", "head_resolution_ceiling.py"))
ceiling = importlib.util.module_from_spec(ceiling_spec)
ceiling_spec.loader.exec_module(ceiling)


def test_resolution_ceiling_is_exact_at_stride_one_and_low_for_a_thin_line():
    """A 1 px diagonal road cannot be drawn by a map at 1/8 resized bilinearly; a block can."""
    thin = np.zeros((1, 32, 32), "int64")
    thin[0, np.arange(32), np.arange(32)] = 1
    thin[0, :2, :] = 255
    block = np.zeros((1, 32, 32), "int64")
    block[0, 8:24, 8:24] = 1
    assert ceiling.fit_ceiling(thin, 1, 50)[0] == 1.0
    thin_fit, thin_area = ceiling.fit_ceiling(thin, 8, 200)
    block_fit, _ = ceiling.fit_ceiling(block, 8, 200)
    assert thin_fit < 0.5 < 0.95 < block_fit
    assert thin_area == 0.0


def test_pooled_iou_matches_sklearn_jaccard():
    from sklearn.metrics import jaccard_score

    rng = np.random.default_rng(0)
    predicted, target = rng.random((2, 3, 8, 8)) < 0.3
    valid = rng.random((3, 8, 8)) < 0.8
    expected = jaccard_score(target[valid], predicted[valid])
    assert ceiling.pooled_iou(predicted, target, valid) == pytest.approx(expected)
