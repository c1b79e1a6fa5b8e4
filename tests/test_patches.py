"""One registry of the plugin's changes to PaddleSeg: a training run with every per-run
hook leaves PaddleSeg as it found it, and no hook is applied twice."""
import importlib

import paddle
import paddle.io
import pytest

import paddleseg_imbalance  # noqa: F401  (before paddle is used: zlib, registration)
from paddleseg_imbalance import compat, patches
from paddleseg_imbalance.engine import train
from paddleseg_imbalance.engine.checkpoints import atomic_checkpoints
from paddleseg_imbalance.engine.finite_check import FiniteTraining
from paddleseg_imbalance.engine.paddleseg_loop import (loss_observed, paddle_in_loop,
                                                       paddleseg_train_module,
                                                       replaced_in_loop)
from tests.helpers import wrapped_train_config

PATCHED_MODULES = ("paddleseg.core.train", "paddle.io", "paddleseg.models.losses")


def attributes(module_names):
    """Every public attribute (and its function defaults) of the named modules."""
    found = {}
    for module_name in module_names:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            found[f"{module_name}.{name}"] = value
            if callable(value) and getattr(value, "__defaults__", None) is not None:
                found[f"{module_name}.{name}.__defaults__"] = value.__defaults__
    return found


def test_the_registry_names_every_change_once():
    registry = patches.registry()
    names = [patch.name for patch in registry]
    assert len(names) == len(set(names))
    assert {patch.name for patch in registry if patch.kind == patches.PERMANENT} == {
        repair.name for repair in compat.repairs()}
    assert {"evaluation-in-training", "hard-example-feedback", "loss-ramps",
            "atomic-checkpoints", "finite-loss-check"} <= set(names)
    for patch in registry:
        assert patch.fixes and patch.applies_to and patch.kind in (patches.PERMANENT,
                                                                    patches.PER_RUN)
    assert "hard-example-feedback [per_run]" in patches.format_registry(registry)


def test_a_permanent_repair_is_removable_and_reinstallable():
    from paddleseg.models import losses

    repair = next(patch for patch in compat.repairs() if patch.name == "dice-label-in-place")
    repaired = losses.DiceLoss.forward
    repair.remove()
    try:
        assert losses.DiceLoss.forward is repaired.__paddleseg_original__
    finally:
        assert repair.install()
    assert losses.DiceLoss.forward is compat.dice_forward


def test_a_run_with_every_per_run_hook_leaves_paddleseg_unchanged(demo_root, tmp_path,
                                                                   monkeypatch):
    loss = {"type": "RampedLoss", "start": 0.5, "end": 1.0, "loss": {"type": "CrossEntropyLoss"}}
    config = wrapped_train_config(demo_root, tmp_path, {"type": "HardExampleDataset"},
                                  loss=loss, iters=2, batch_size=2)
    entered = []
    install = patches.PerRunPatches.install

    def recording_install(self, name, **arguments):
        entered.append(name)
        return install(self, name, **arguments)

    monkeypatch.setattr(patches.PerRunPatches, "install", recording_install)
    before = attributes(PATCHED_MODULES)
    train.main(["--config", config, "--device", "cpu", "--save_dir", str(tmp_path / "out"),
                "--do_eval", "--save_interval", "2", "--log_iters", "1"])
    assert sorted(entered) == sorted(patch.name for patch in patches.PER_RUN_PATCHES)
    assert (tmp_path / "out" / "hard_examples.json").is_file()
    after = attributes(PATCHED_MODULES)
    changed = [name for name in before if after.get(name) is not before[name]]
    assert changed == []
    assert paddle.io.DataLoader is before["paddle.io.DataLoader"]


def test_no_per_run_hook_is_applied_twice():
    with patches.per_run_patches() as hooks:
        hooks.install("atomic-checkpoints")
        with pytest.raises(RuntimeError, match="atomic-checkpoints is installed already"):
            hooks.install("atomic-checkpoints")
        with patches.per_run_patches() as other_run:
            with pytest.raises(RuntimeError, match="applied twice"):
                other_run.install("atomic-checkpoints")
    with patches.per_run_patches() as hooks:  # removed with its block: installable again
        hooks.install("atomic-checkpoints")
    assert paddleseg_train_module.paddle is paddle


def test_the_loop_mechanisms_refuse_a_second_application():
    original_loss = paddleseg_train_module.loss_computation
    with atomic_checkpoints(), pytest.raises(RuntimeError, match="paddle attribute save"):
        with atomic_checkpoints():
            pass
    with FiniteTraining("").loss_checked(), pytest.raises(RuntimeError, match="observer"):
        with loss_observed("finite-loss-check", lambda *batch: None):
            pass
    with replaced_in_loop(evaluate=None), pytest.raises(RuntimeError, match="evaluate"):
        with replaced_in_loop(evaluate=None):
            pass
    assert paddleseg_train_module.paddle is paddle
    assert paddleseg_train_module.loss_computation is original_loss


def test_two_hooks_share_one_loss_wrapper_and_one_paddle_stand_in():
    original_loss = paddleseg_train_module.loss_computation
    seen = []
    with loss_observed("a", lambda *batch: seen.append("a")), \
            loss_observed("b", lambda *batch: seen.append("b")):
        wrapper = paddleseg_train_module.loss_computation
        assert wrapper.original is original_loss  # wrapped once, not twice
    with atomic_checkpoints(), paddle_in_loop(io__DataLoader=list):
        assert paddleseg_train_module.paddle.io.DataLoader is list
        assert paddleseg_train_module.paddle.io.DistributedBatchSampler is \
            paddle.io.DistributedBatchSampler
        assert paddle.io.DataLoader is not list
    assert paddleseg_train_module.paddle is paddle
    assert paddleseg_train_module.loss_computation is original_loss


def test_the_patches_command_lists_the_registry(capsys):
    from paddleseg_imbalance.cli import main

    assert main(["patches"]) == 0
    out = capsys.readouterr().out
    for patch in patches.registry():
        assert f"{patch.name} [{patch.kind}]" in out
    needed = [p.name for p in compat.repairs() if p.needed]
    assert all(f"{name} [permanent] (installed here)" in out for name in needed)
