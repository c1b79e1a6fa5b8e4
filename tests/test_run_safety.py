"""A training run loses nothing and never reports a broken run as success: the save dir,
checkpoints written whole, resume checks, one run per save dir, non-finite training."""
import json
import os
import re

import numpy as np
import paddle
import pytest
import yaml
from PIL import Image

from paddleseg_imbalance.engine.checkpoints import (atomic_checkpoints, check_resume_model,
                                                    write_atomically)
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.finite_check import FiniteTraining
from paddleseg_imbalance.engine.paddleseg_loop import paddleseg_train_module
from paddleseg_imbalance.engine.preflight import DataError
from paddleseg_imbalance.engine.run_directory import LOCK_FILE, prepare_save_dir, save_dir_lock
from paddleseg_imbalance.engine.train_evaluation import (BEST_METRIC_FILE, TrainingEvaluation,
                                                         start_iteration)
from paddleseg_imbalance.evaluation import EvaluationOptions
from tests.helpers import run_tool, tiny_config


def train(config, save_dir, *flags, timeout=120):
    return run_tool("train", "--config", config, "--device", "cpu", "--log_iters", "1",
                    "--save_dir", save_dir, *flags, timeout=timeout)


def assert_bad_input(result, *texts):
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    for text in texts:
        assert text in result.stderr, result.stderr[-3000:]


def write_checkpoint(directory):
    """A small but real checkpoint directory: model.pdparams and model.pdopt."""
    layer = paddle.nn.Linear(2, 2)
    optimizer = paddle.optimizer.Momentum(parameters=layer.parameters())
    layer(paddle.ones([1, 2])).sum().backward()
    optimizer.step()
    os.makedirs(directory, exist_ok=True)
    paddle.save(layer.state_dict(), os.path.join(directory, "model.pdparams"))
    paddle.save(optimizer.state_dict(), os.path.join(directory, "model.pdopt"))
    return layer.state_dict()


# --- the save dir -------------------------------------------------------------------------

def test_a_save_dir_that_is_a_file_is_refused_and_kept(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("keep\n")
    result = train(config, notes)
    assert_bad_input(result, f"--save_dir '{notes}'", "not a folder", "pass a folder path")
    assert notes.read_text() == "keep\n"


def test_an_unwritable_save_dir_is_refused_before_training(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    with pytest.raises(ConfigError, match=r"--save_dir '.*out' cannot be written "
                                          r"\(Permission denied\).*permissions"):
        prepare_save_dir(str(tmp_path / "out"))


def test_a_save_dir_under_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="--save_dir .* cannot be written"):
        prepare_save_dir(str(tmp_path / "file" / "out"))


def test_a_second_run_on_a_save_dir_in_use_is_refused(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path)
    save_dir = tmp_path / "out"
    prepare_save_dir(str(save_dir))
    with save_dir_lock(str(save_dir)):
        result = train(config, save_dir)
    assert_bad_input(result, f"--save_dir '{save_dir}' is in use by another training run",
                     f"pid {os.getpid()}", "pass another --save_dir")
    assert os.listdir(save_dir) == [LOCK_FILE]


def test_the_lock_is_released_when_the_run_ends(tmp_path):
    prepare_save_dir(str(tmp_path))
    with pytest.raises(RuntimeError):
        with save_dir_lock(str(tmp_path)):
            with pytest.raises(ConfigError, match=f"pid {os.getpid()}"):
                with save_dir_lock(str(tmp_path)):
                    pass
            raise RuntimeError("the run fails")
    with save_dir_lock(str(tmp_path)):
        pass


# --- checkpoints written whole --------------------------------------------------------------

def interrupted_save(obj, path, **options):
    """`paddle.save` interrupted (Ctrl+C) after half of the file is written."""
    with open(path, "wb") as file:
        file.write(b"\x80\x04half a pickle")
    raise KeyboardInterrupt


def test_an_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = str(tmp_path / "iter_2" / "model.pdparams")
    saved = write_checkpoint(tmp_path / "iter_2")
    before = open(path, "rb").read()
    monkeypatch.setattr(paddle, "save", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, lambda temporary: paddle.save(saved, temporary))
    assert open(path, "rb").read() == before
    assert sorted(os.listdir(tmp_path / "iter_2")) == ["model.pdopt", "model.pdparams"]


def test_an_interrupted_first_save_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(paddle, "save", interrupted_save)
    with atomic_checkpoints():
        with pytest.raises(KeyboardInterrupt):
            paddleseg_train_module.paddle.save({}, str(tmp_path / "m.pdparams"))
    assert os.listdir(tmp_path) == []


def test_the_training_loop_saves_atomically_only_inside_the_block(tmp_path):
    module = paddleseg_train_module
    saved = []
    with atomic_checkpoints(saved=saved.append):
        assert module.paddle is not paddle
        assert module.paddle.distributed is paddle.distributed
        module.paddle.save({"w": paddle.ones([2])}, str(tmp_path / "best_model" / "m.pdparams"))
    assert module.paddle is paddle
    assert saved == [str(tmp_path / "best_model" / "m.pdparams")]
    assert os.listdir(tmp_path / "best_model") == ["m.pdparams"]


class FakeResult:
    def __init__(self, value):
        self.values = {"miou": value, "acc": 0.9}

    def value(self, name):
        return self.values[name]


def evaluation_returning(values, save_dir, monkeypatch):
    """A `TrainingEvaluation` whose evaluations return `values` in turn."""
    results = iter(values)
    monkeypatch.setattr("paddleseg_imbalance.engine.train_evaluation.evaluate",
                        lambda *args, **kwargs: FakeResult(next(results)))
    model = paddle.nn.Linear(2, 2)
    return model, TrainingEvaluation(model, EvaluationOptions(), str(save_dir), 2, 4, None,
                                     "miou")


def test_best_metric_json_is_written_once_best_model_is_saved(tmp_path, monkeypatch):
    model, evaluation = evaluation_returning([0.5, 0.25], tmp_path, monkeypatch)
    assert evaluation(model, None)[0] == 0.5
    assert not (tmp_path / BEST_METRIC_FILE).exists()
    evaluation.checkpoint_saved(str(tmp_path / "iter_2" / "model.pdparams"))
    assert not (tmp_path / BEST_METRIC_FILE).exists()
    evaluation.checkpoint_saved(os.path.join(str(tmp_path), "best_model", "model.pdparams"))
    record = json.load(open(tmp_path / BEST_METRIC_FILE))
    assert record == {"metric": "miou", "value": 0.5, "iteration": 2,
                      "model": os.path.join("best_model", "model.pdparams")}
    evaluation(model, None)  # 0.25 at iteration 4: not a new best
    evaluation.checkpoint_saved(str(tmp_path / "best_model" / "model.pdparams"))
    assert json.load(open(tmp_path / BEST_METRIC_FILE))["iteration"] == 2


# --- resume ---------------------------------------------------------------------------------

@pytest.mark.parametrize("damage, expected", [
    (lambda d: None, None),
    (lambda d: os.remove(d / "model.pdopt"), "model.pdopt is missing"),
    (lambda d: os.remove(d / "model.pdparams"), "model.pdparams is missing"),
    (lambda d: (d / "model.pdparams").write_bytes(b"not a checkpoint"),
     "model.pdparams cannot be loaded"),
    (lambda d: open(d / "model.pdopt", "r+b").truncate(40), "model.pdopt cannot be loaded"),
    (lambda d: paddle.save([1, 2], str(d / "model.pdopt")), "holds a list, not a state dict"),
])
def test_resume_detects_an_incomplete_checkpoint(tmp_path, damage, expected):
    directory = tmp_path / "iter_4"
    write_checkpoint(directory)
    damage(directory)
    if expected is None:
        check_resume_model(str(directory))
        return
    with pytest.raises(ConfigError, match=f"--resume_model '{directory}'.*{expected}"):
        check_resume_model(str(directory))


@pytest.mark.parametrize("name, expected", [
    ("missing", "does not exist"), ("file", "is not a directory"),
    ("checkpoint", "must end in _<iteration>")])
def test_resume_needs_a_checkpoint_directory(tmp_path, name, expected):
    (tmp_path / "file").write_text("")
    write_checkpoint(tmp_path / "checkpoint")
    with pytest.raises(ConfigError, match=f"--resume_model .*{expected}.*output/iter_1000"):
        check_resume_model(str(tmp_path / name))


def test_resume_from_a_truncated_checkpoint_stops_before_training(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path)
    write_checkpoint(tmp_path / "out" / "iter_2")
    path = tmp_path / "out" / "iter_2" / "model.pdopt"
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    result = train(config, tmp_path / "out", "--resume_model", tmp_path / "out" / "iter_2")
    assert_bad_input(result, f"{path} cannot be loaded", "truncated",
                     "resume from an earlier iter_<N>")


def test_the_start_iteration_is_read_as_paddleseg_reads_it():
    assert start_iteration("output/iter_1000/") == 1000
    assert start_iteration("output/run_5") == 5
    assert start_iteration(None) == 0


# --- non-finite training --------------------------------------------------------------------

def test_a_non_finite_loss_stops_at_its_iteration(monkeypatch):
    losses = iter([[paddle.to_tensor(1.0)], [paddle.to_tensor(1.0), paddle.to_tensor(np.inf)]])
    monkeypatch.setattr(paddleseg_train_module, "loss_computation",
                        lambda **kwargs: next(losses))
    finite = FiniteTraining("CAUSES.", start_iteration=10)
    with finite.loss_checked():
        computation = paddleseg_train_module.loss_computation
        computation(logits_list=None, labels=None, edges=None, losses=None)
        with pytest.raises(ConfigError, match=r"stopped at iteration 12: the loss is inf "
                                              r"\(its terms: 1, inf\).*CAUSES\."):
            computation(logits_list=None, labels=None, edges=None, losses=None)
    assert paddleseg_train_module.loss_computation is not computation


def test_non_finite_parameters_are_never_saved(tmp_path):
    finite = FiniteTraining("CAUSES.")
    state = {"head.weight": paddle.to_tensor([1.0, np.nan]), "step": paddle.to_tensor([3])}
    path = str(tmp_path / "best_model" / "model.pdparams")
    with atomic_checkpoints(before_save=finite.check_checkpoint):
        with pytest.raises(ConfigError, match=rf"before writing {path}: .*NaN or Inf in "
                                              r"head.weight\); they were not saved"):
            paddleseg_train_module.paddle.save(state, path)
    assert not os.path.exists(path)


def nan_learning_rate_config(demo_root, directory):
    path = tiny_config(demo_root, directory)
    with open(path) as file:
        config = yaml.safe_load(file)
    config["lr_scheduler"]["learning_rate"] = float("nan")
    with open(path, "w") as file:
        yaml.safe_dump(config, file)
    return path


def test_a_nan_learning_rate_stops_training_and_saves_nothing(demo_root, tmp_path):
    # --no_lint: past the config checks, to the run's own backstop. One iteration trains
    # NaN parameters with a finite loss; the check before the evaluation stops the run.
    config = nan_learning_rate_config(demo_root, tmp_path)
    save_dir = tmp_path / "out"
    result = train(config, save_dir, "--iters", "1", "--save_interval", "1", "--do_eval",
                   "--no_lint", "--num_workers", "1")
    assert_bad_input(result, "training stopped before evaluating iteration 1",
                     "`lr_scheduler.learning_rate` is nan")
    assert sorted(os.listdir(save_dir)) == [LOCK_FILE]


def test_a_diverging_run_stops_at_the_first_non_finite_loss(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path, iters=3)
    save_dir = tmp_path / "out"
    result = train(config, save_dir, "--learning_rate", "1e30", "--save_interval", "3",
                   "--do_eval")
    # Iteration 1's loss is finite (the weights are still the initial ones); the update
    # by 1e30 makes a later one non-finite: iteration 2 on Paddle 3.3, 3 on Paddle 2.6.
    assert_bad_input(result, "a learning rate too high (`lr_scheduler.learning_rate` is 1e+30")
    assert re.search(r"training stopped at iteration [23]: the loss is (nan|inf)", result.stderr)
    assert sorted(os.listdir(save_dir)) == [LOCK_FILE]


# --- an evaluation with no defined metric -----------------------------------------------------

def test_an_all_ignore_val_set_says_no_best_model_was_saved(demo_root, tmp_path):
    labels = tmp_path / "labels"
    labels.mkdir()
    val_list = tmp_path / "val.txt"
    with open(demo_root / "binary" / "val.txt") as source, open(val_list, "w") as target:
        for line in source:
            image, label = line.split()
            Image.fromarray(np.full((64, 64), 255, np.uint8)).save(labels / os.path.basename(label))
            target.write(f"{demo_root / 'binary' / image} {labels / os.path.basename(label)}\n")
    config = tiny_config(demo_root, tmp_path)
    with open(config) as file:
        data = yaml.safe_load(file)
    data["val_dataset"].update(dataset_root=str(tmp_path), val_path=str(val_list))
    with open(config, "w") as file:
        yaml.safe_dump(data, file)
    save_dir = tmp_path / "out"
    result = train(config, save_dir, "--save_interval", "2", "--do_eval")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "miou is undefined at iter 2" in output
    assert "no best_model/ has been saved yet" in output
    assert "saved at iter -1" not in output
    assert not (save_dir / "best_model").exists() and not (save_dir / BEST_METRIC_FILE).exists()
    assert (save_dir / "iter_2" / "model.pdparams").is_file()


def test_an_undefined_ema_metric_is_a_clear_error(tmp_path, monkeypatch):
    # PaddleSeg's loop would fail with an UnboundLocalError logging its EMA best model.
    model, evaluation = evaluation_returning([float("nan"), float("nan")], tmp_path,
                                             monkeypatch)
    evaluation(model, None)
    with pytest.raises(DataError, match=r"--use_ema: miou of the EMA model is nan at iter 2 "
                                        r".*without --use_ema"):
        evaluation(paddle.nn.Linear(2, 2), None)
