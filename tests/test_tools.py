"""The drop-in tools end to end on the demo data, and the bad input they must reject."""
import json
import os
import shutil

import numpy as np
import paddleseg
import pytest
from PIL import Image

from tests.helpers import REPO, run_tool, tiny_config, train_with_eval


@pytest.fixture(scope="module")
def trained(demo_root, tmp_path_factory):
    """Train 2 iterations with evaluation; returns (config, save_dir)."""
    directory = tmp_path_factory.mktemp("trained")
    config = tiny_config(demo_root, directory)
    save_dir = directory / "out"
    return config, save_dir, train_with_eval(config, save_dir, "--best_metric", "fg_miou")


def test_train_evaluates_and_saves(trained):
    _, save_dir, log = trained
    assert "[EVAL] Per class" in log and "foreground" in log
    assert f"repaired PaddleSeg {paddleseg.__version__}" in log
    assert (save_dir / "iter_2" / "model.pdparams").is_file()
    assert (save_dir / "best_model" / "model.pdparams").is_file()
    evaluation = json.load(open(save_dir / "eval" / "iter_2.json"))
    best = json.load(open(save_dir / "best_metric.json"))
    assert best["metric"] == "fg_miou" and best["iteration"] == 2
    assert best["value"] == pytest.approx(evaluation["summary"]["fg_miou"])


def test_val_prints_per_class_table_and_draws_the_worst_images(trained, tmp_path):
    config, save_dir, _ = trained
    result = run_tool("val", "--config", config, "--device", "cpu", "--save_dir", tmp_path,
                      "--model_path", save_dir / "best_model" / "model.pdparams",
                      "--save_errors", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "[EVAL] Per class" in result.stdout + result.stderr
    assert (tmp_path / "eval" / "latest.json").is_file()
    listing = json.load(open(tmp_path / "errors" / "errors.json"))["images"]
    assert [entry["rank"] for entry in listing] == [1, 2]
    assert listing[0]["foreground_iou"] <= listing[1]["foreground_iou"]
    for entry in listing:
        assert np.asarray(Image.open(tmp_path / "errors" / entry["overlay"])).shape == (64, 64, 3)


def test_unknown_best_metric_stops_before_training(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path)
    result = run_tool("train", "--config", config, "--device", "cpu", "--do_eval",
                      "--best_metric", "mIoU", "--save_dir", tmp_path / "out")
    assert_bad_input(result, "--best_metric 'mIoU'", "fg_miou")
    assert not (tmp_path / "out").exists()


def test_predict_writes_masks_and_overlays(trained, demo_root, tmp_path):
    config, save_dir, _ = trained
    images = demo_root / "binary" / "images"
    result = run_tool("predict", "--config", config, "--device", "cpu",
                      "--model_path", save_dir / "best_model" / "model.pdparams",
                      "--image_path", images, "--save_dir", tmp_path / "pred")
    assert result.returncode == 0, result.stderr[-3000:]
    written = sorted(os.listdir(tmp_path / "pred" / "pseudo_color_prediction"))
    assert written == sorted(os.listdir(images))
    mask = np.array(Image.open(tmp_path / "pred" / "pseudo_color_prediction" / written[0]))
    assert mask.shape == (64, 64) and set(np.unique(mask)) <= {0, 1}


def test_export_matches_the_dynamic_model(trained, demo_root, tmp_path):
    import paddle
    from paddleseg.cvlibs import Config, SegBuilder
    from paddleseg.utils import load_entire_model

    from paddleseg_imbalance.engine.inference import create_predictor, run_predictor

    config, save_dir, _ = trained
    weights = save_dir / "best_model" / "model.pdparams"
    result = run_tool("export", "--config", config, "--model_path", weights,
                      "--save_dir", tmp_path / "export")
    assert result.returncode == 0, result.stderr[-3000:]
    images = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype("float32")
    exported = run_predictor(create_predictor(str(tmp_path / "export")), images)
    model = SegBuilder(Config(config)).model
    load_entire_model(model, str(weights))
    model.eval()
    with paddle.no_grad():
        dynamic = model(paddle.to_tensor(images))[0].argmax(axis=1).numpy()
    assert exported.shape == (2, 64, 64)
    assert (exported == dynamic).mean() > 0.999


# ------------------------------------------------------------------------ bad input


def assert_bad_input(result, *fragments):
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr[-2000:]


def train_once(config, tmp_path):
    return run_tool("train", "--config", config, "--device", "cpu",
                    "--save_dir", tmp_path / "out", timeout=300)


def test_missing_config(tmp_path):
    assert_bad_input(train_once(tmp_path / "nope.yml", tmp_path), "nope.yml", "--config")


def test_missing_dataset_root(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path)
    text = open(config).read().replace(str(demo_root / "binary"), str(tmp_path / "gone"), 1)
    open(config, "w").write(text)
    assert_bad_input(train_once(config, tmp_path), "dataset_root", str(tmp_path / "gone"),
                     "demo-data")


def copy_dataset(demo_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(demo_root / "binary", root)
    return root


def config_for(root, tmp_path, demo_root):
    config = tiny_config(demo_root, tmp_path)
    text = open(config).read().replace(str(demo_root / "binary"), str(root))
    open(config, "w").write(text)
    return config


def test_missing_file_list(demo_root, tmp_path):
    root = copy_dataset(demo_root, tmp_path)
    os.remove(root / "train.txt")
    result = train_once(config_for(root, tmp_path, demo_root), tmp_path)
    assert_bad_input(result, "train_dataset.train_path", "train.txt")


def first_pair(root):
    image, label = open(root / "train.txt").readline().split()
    return root / image, root / label


def test_missing_image(demo_root, tmp_path):
    root = copy_dataset(demo_root, tmp_path)
    image, _ = first_pair(root)
    os.remove(image)
    result = train_once(config_for(root, tmp_path, demo_root), tmp_path)
    assert_bad_input(result, str(image), "does not exist", "sample 1")


def test_undecodable_label(demo_root, tmp_path):
    root = copy_dataset(demo_root, tmp_path)
    _, label = first_pair(root)
    label.write_text("not a png")
    result = train_once(config_for(root, tmp_path, demo_root), tmp_path)
    assert_bad_input(result, str(label), "cannot be decoded")


def test_label_size_differs(demo_root, tmp_path):
    root = copy_dataset(demo_root, tmp_path)
    _, label = first_pair(root)
    Image.fromarray(np.zeros((32, 64), np.uint8)).save(label)
    result = train_once(config_for(root, tmp_path, demo_root), tmp_path)
    assert_bad_input(result, str(label), "32x64", "64x64")


def test_exif_rotated_image_is_checked_as_cv2_reads_it(demo_root, tmp_path):
    root = copy_dataset(demo_root, tmp_path)
    image, label = first_pair(root)
    # A 64x48 JPEG whose EXIF says "rotate 90": cv2 reads it as 48x64 (HxW).
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (48, 64)).save(image.with_suffix(".jpg"), exif=exif)
    Image.fromarray(np.zeros((64, 48), np.uint8)).save(label)
    text = open(root / "train.txt").read().replace(image.name, image.with_suffix(".jpg").name, 1)
    open(root / "train.txt", "w").write(text)
    result = train_once(config_for(root, tmp_path, demo_root), tmp_path)
    assert_bad_input(result, str(label), "64x48", "48x64", "EXIF")


def test_bad_opts(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path)
    result = run_tool("train", "--config", config, "--device", "cpu", "--opts", "iters")
    assert_bad_input(result, "--opts", "key=value")


def test_tools_run_from_any_directory(tmp_path):
    result = run_tool("train", "--help", cwd=str(tmp_path))
    assert result.returncode == 0 and "--do_eval" in result.stdout
    assert os.path.isdir(REPO)


def test_unknown_evaluator_stops_before_training(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path, evaluators=[{"type": "SegMetric"}])
    result = run_tool("train", "--config", config, "--device", "cpu", "--do_eval",
                      "--save_dir", tmp_path / "out")
    assert_bad_input(result, "`evaluators`", "SegMetric", "SegMetrics")


def test_missing_pretrained_model_names_the_key_and_stage_one(demo_root, tmp_path):
    # The second stage of a two-stage recipe started before the first has run.
    config = tiny_config(demo_root, tmp_path, model={
        "type": "PPLiteSeg", "backbone": {"type": "STDC1", "pretrained": None},
        "arm_out_chs": [32, 64, 128], "seg_head_inter_chs": [32, 64, 64],
        "pretrained": str(tmp_path / "stage1" / "model.pdparams")})
    assert_bad_input(train_once(config, tmp_path), "model.pretrained", "stage1",
                     "run stage 1")


def test_fine_tuning_loads_the_first_stage_model(trained, demo_root, tmp_path):
    _, save_dir, _ = trained
    stage_one = save_dir / "iter_2" / "model.pdparams"
    config = tiny_config(demo_root, tmp_path, model={
        "type": "PPLiteSeg", "backbone": {"type": "STDC1", "pretrained": None},
        "arm_out_chs": [32, 64, 128], "seg_head_inter_chs": [32, 64, 64],
        "pretrained": str(stage_one)})
    result = train_once(config, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "variables loaded into PPLiteSeg" in result.stdout + result.stderr
