"""PP-LiteSeg at output stride 4 (`backbone_indices: [1, 2, 3, 4]`): the shipped recipe
trains, exports and runs multi-label; the lint knows its 4 training outputs."""
import os

import numpy as np
import pytest
import yaml

from paddleseg_imbalance.lint import lint
from paddleseg_imbalance.lint.model_outputs import train_output_count
from tests.helpers import (REPO, base_config, on_demo_data, run_tool, tiny_config,
                           train_with_eval, write)

STRIDE4 = os.path.join(REPO, "configs", "demo", "pp_liteseg_stdc1_demo_recommended_stride4.yml")
STRIDE4_WIDE = os.path.join(REPO, "configs", "demo",
                            "pp_liteseg_stdc1_demo_recommended_stride4_wide.yml")
PADDLESEG_STRIDE4 = os.path.join(
    REPO, "configs", "demo", "pp_liteseg_stdc1_demo_paddleseg_ce_dice_adamw_light_aux_stride4.yml")
MULTILABEL = os.path.join(REPO, "configs", "multilabel", "pp_liteseg_stdc1_demo_multilabel.yml")
STRIDE4_MODEL = {"backbone_indices": [1, 2, 3, 4], "arm_out_chs": [32, 32, 64, 128],
                 "seg_head_inter_chs": [32, 32, 64, 64]}


def findings(path, code):
    return [f for f in lint(path).findings if f.code == code]


def stride4_base(loss_entries):
    config = base_config()
    config["model"].update(STRIDE4_MODEL)
    config["loss"] = {"types": [{"type": "CrossEntropyLoss"}] * loss_entries,
                      "coef": [1] * loss_entries}
    return config


# ------------------------------------------------------------------------------ lint


@pytest.mark.parametrize("config", [STRIDE4, STRIDE4_WIDE, PADDLESEG_STRIDE4])
def test_the_shipped_configs_are_clean_with_four_losses(config):
    from paddleseg_imbalance.config.resolve import resolve_config

    report = lint(config)
    assert report.findings == [], report.text()
    resolved = resolve_config(config).data
    assert train_output_count(resolved["model"]) == 4
    assert len(resolved["loss"]["types"]) == len(resolved["loss"]["coef"]) == 4
    assert resolved["loss"]["coef"] == [1, 0.4, 0.4, 0.4]


def test_four_outputs_with_three_losses_is_psi011_naming_loss_types_and_the_fix(tmp_path):
    [finding] = findings(write(tmp_path, stride4_base(3)), "PSI011")
    assert finding.severity == "error" and finding.key == "loss.coef"
    assert "backbone_indices [1, 2, 3, 4] returns 4 outputs" in finding.message
    assert "4 != 3" in finding.message
    assert "`loss.types` 4 entries" in finding.fix and "`coef: [1, 1, 1, 1]`" in finding.fix
    assert findings(write(tmp_path, stride4_base(4)), "PSI011") == []


def test_one_type_repeated_for_four_coef_is_accepted(tmp_path):
    config = stride4_base(4)
    config["loss"]["types"] = config["loss"]["types"][:1]
    assert findings(write(tmp_path, config), "PSI010") == []
    assert findings(write(tmp_path, config), "PSI011") == []


def test_stride4_with_three_stage_channel_lists_is_psi015(tmp_path):
    config = stride4_base(4)
    config["model"]["arm_out_chs"] = [32, 64, 128]
    del config["model"]["seg_head_inter_chs"]  # PaddleSeg's default: 3 entries
    found = {f.key: f for f in findings(write(tmp_path, config), "PSI015")}
    assert set(found) == {"model.arm_out_chs", "model.backbone_indices"}
    assert "[32, 64, 128] has 3 entries" in found["model.arm_out_chs"].message
    assert "4 entries" in found["model.arm_out_chs"].fix
    assert "default seg_head_inter_chs" in found["model.backbone_indices"].message


def test_stride4_with_three_stage_channel_lists_stops_the_tool(demo_root, tmp_path):
    """Without the lint, PaddleSeg stops with a wrapped AssertionError when it builds."""
    config = tiny_config(demo_root, tmp_path, model=dict(
        base_config()["model"], backbone_indices=[1, 2, 3, 4]))
    result = run_tool("train", "--config", config, "--device", "cpu",
                      "--save_dir", tmp_path / "out", timeout=120)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "PSI015" in result.stderr and "model.arm_out_chs 4 entries" in result.stderr


# ------------------------------------------------------------------ train and export


@pytest.fixture(scope="module")
def trained(demo_root, tmp_path_factory):
    """The shipped stride-4 recipe, 2 iterations with evaluation; (config, save_dir)."""
    directory = tmp_path_factory.mktemp("stride4")
    config = tiny_config(demo_root, directory, base=STRIDE4)
    save_dir = directory / "out"
    train_with_eval(config, save_dir, timeout=300)
    return config, save_dir


def test_training_two_iterations_evaluates_and_saves(trained):
    _, save_dir = trained
    assert (save_dir / "iter_2" / "model.pdparams").is_file()
    assert (save_dir / "eval" / "iter_2.json").is_file()


def test_the_model_returns_four_logits_in_training_at_full_size(trained):
    import paddle
    from paddleseg.cvlibs import Config, SegBuilder

    config, _ = trained
    model = SegBuilder(Config(config)).model
    model.train()
    logits = model(paddle.zeros([1, 3, 64, 64]))
    assert [list(logit.shape) for logit in logits] == [[1, 2, 64, 64]] * 4


def dynamic_argmax(config, weights, images):
    import paddle
    from paddleseg.cvlibs import Config, SegBuilder
    from paddleseg.utils import load_entire_model

    model = SegBuilder(Config(config)).model
    load_entire_model(model, str(weights))
    model.eval()
    with paddle.no_grad():
        return model(paddle.to_tensor(images))[0].argmax(axis=1).numpy()


def test_export_matches_the_dynamic_model(trained, tmp_path):
    from paddleseg_imbalance.engine.inference import create_predictor, run_predictor

    config, save_dir = trained
    weights = save_dir / "iter_2" / "model.pdparams"
    result = run_tool("export", "--config", config, "--model_path", weights,
                      "--save_dir", tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    images = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype("float32")
    exported = run_predictor(create_predictor(str(tmp_path)), images)
    dynamic = dynamic_argmax(config, weights, images)
    assert exported.shape == (2, 64, 64)
    assert (exported == dynamic).mean() > 0.999


def test_export_onnx_matches_the_dynamic_model(trained, tmp_path):
    import paddle

    pytest.importorskip("onnxruntime", reason='install "paddleseg-imbalance[onnx]"')
    try:
        import paddle2onnx  # noqa: F401
    except ImportError:
        pytest.skip('paddle2onnx is not installed: pip install "paddleseg-imbalance[onnx]"')
    except ValueError as error:  # paddle2onnx 2.x on Paddle 2.x
        pytest.skip(f"this paddle2onnx does not run on Paddle {paddle.__version__} ({error})")
    import onnxruntime

    config, save_dir = trained
    weights = save_dir / "iter_2" / "model.pdparams"
    # 128 px: ONNX's AveragePool cannot pool the 2 x 2 stride-32 features of 64 px into 4 bins.
    result = run_tool("export", "--config", config, "--model_path", weights, "--save_dir",
                      tmp_path, "--format", "onnx", "--input_shape", "-1", "3", "128", "128",
                      timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"),
                                           providers=["CPUExecutionProvider"])
    images = np.random.default_rng(0).standard_normal((2, 3, 128, 128)).astype("float32")
    exported = session.run(None, {session.get_inputs()[0].name: images})[0]
    dynamic = dynamic_argmax(config, weights, images)
    assert exported.shape == (2, 128, 128)
    assert (exported == dynamic).mean() > 0.999


# -------------------------------------------------------------------------- multi-label


def test_multilabel_demo_config_trains_at_stride4(demo_root, tmp_path):
    with open(MULTILABEL) as file:
        config = yaml.safe_load(file)
    on_demo_data(config, os.path.join(str(demo_root), "multilabel"))
    config["model"].update(STRIDE4_MODEL)
    config["loss"]["types"].append(config["loss"]["types"][-1])
    config["loss"]["coef"].append(1)
    config.update(batch_size=2, iters=2)
    path = write(tmp_path, config)
    assert lint(path).findings == [], lint(path).text()
    result = run_tool("train", "--config", path, "--device", "cpu", "--do_eval",
                      "--save_interval", "2", "--save_dir", tmp_path / "out", timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    evaluation = yaml.safe_load(open(tmp_path / "out" / "eval" / "iter_2.json"))
    assert [row["name"] for row in evaluation["labels"]] == ["road", "built_up"]
