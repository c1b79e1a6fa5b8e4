"""RampedLoss: its weight schedule against numpy, the wrapped loss scaled (value and
gradient), bad arguments, nested config entries (build, `weight: auto`/`batch`, lint) and
the tools' span and resume."""
import numpy as np
import paddle
import pytest
import yaml
from paddleseg.cvlibs import Config, SegBuilder, manager
from paddleseg.models.losses import MixedLoss

from paddleseg_imbalance.engine import train
from paddleseg_imbalance.engine.loss_ramps import start_ramps
from paddleseg_imbalance.engine.loss_weights import attach_batch_weights
from paddleseg_imbalance.lint import lint
from paddleseg_imbalance.lint.known_components import from_managers
from paddleseg_imbalance.losses import RampedLoss, WeightedIoULoss
from paddleseg_imbalance.losses.ramped import linear_ramp
from tests.helpers import tiny_config


def batch(seed=0):
    rng = np.random.default_rng(seed)
    logits = paddle.to_tensor(rng.normal(size=(2, 2, 8, 8)).astype("float32"),
                              stop_gradient=False)
    labels = paddle.to_tensor(rng.integers(0, 2, size=(2, 8, 8)).astype("int64"))
    return logits, labels


@pytest.mark.parametrize("start, end, iters", [(0.5, 3.0, 4), (2.0, 0.0, 7), (1.0, 1.0, 1)])
def test_linear_ramp_matches_numpy_interp(start, end, iters):
    for t in range(iters + 3):  # past the span the weight stays at `end`
        assert linear_ramp(t, iters, start, end) == pytest.approx(
            np.interp(t, [0, iters], [start, end]))


@pytest.mark.parametrize("wrapped", [lambda: manager.LOSSES["LovaszHingeLoss"](),
                                     lambda: WeightedIoULoss(mode="binary", log_loss=True)])
def test_each_call_is_the_wrapped_loss_times_the_next_weight(wrapped):
    ramped, reference = RampedLoss(wrapped(), start=0.5, end=3.0, iters=4), wrapped()
    for t in range(6):
        logits, labels = batch(seed=t)
        value = ramped(logits, labels)
        (grad,) = paddle.grad(value, logits)
        base = reference(logits, labels)
        (base_grad,) = paddle.grad(base, logits)
        weight = np.interp(t, [0, 4], [0.5, 3.0])
        np.testing.assert_allclose(value.numpy(), weight * base.numpy(), rtol=1e-6)
        np.testing.assert_allclose(grad.numpy(), weight * base_grad.numpy(), rtol=1e-5,
                                   atol=1e-8)
    assert ramped.iteration == 6


@pytest.mark.parametrize("kwargs, message", [
    ({"start": -1.0}, "`start` is -1.0; expected a finite number >= 0"),
    ({"end": float("nan")}, "`end` is nan; expected a finite number >= 0"),
    ({"start": True}, "`start` is True"),
    ({"iters": 0}, "`iters` is 0; expected a positive integer"),
    ({"iters": 2.5}, "`iters` is 2.5; expected a positive integer"),
])
def test_bad_arguments_say_what_was_expected(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RampedLoss(WeightedIoULoss(mode="binary"), **kwargs)


def test_a_loss_that_is_not_a_loss_is_refused():
    with pytest.raises(ValueError, match="`loss` is 'LovaszHingeLoss'; expected a loss, e.g. "
                                         "`loss: {type: LovaszHingeLoss}`"):
        RampedLoss("LovaszHingeLoss")


def test_without_iters_the_first_call_says_how_to_fix():
    ramped = RampedLoss(WeightedIoULoss(mode="binary"))
    with pytest.raises(RuntimeError, match="give `iters:` in its config entry"):
        ramped(*batch())


def test_start_ramps_fills_the_span_and_the_resumed_iteration():
    inner = RampedLoss(WeightedIoULoss(mode="binary"), start=0.0, end=1.0)
    explicit = RampedLoss(WeightedIoULoss(mode="binary"), start=1.0, end=3.0, iters=10)
    losses = {"types": [MixedLoss([WeightedIoULoss(mode="binary"), inner], [1.0, 1.0]),
                        explicit]}
    start_ramps(losses, iters=4, start_iter=2)
    assert (inner.iters, inner.iteration, inner.current_weight()) == (4, 2, 0.5)
    assert (explicit.iters, explicit.iteration) == (10, 2)
    assert explicit.current_weight() == pytest.approx(1.4)


def test_batch_weights_reach_the_loss_inside_a_ramp():
    inner = WeightedIoULoss(mode="binary")
    losses = {"types": [RampedLoss(inner, iters=2)]}
    attach_batch_weights(losses, {"loss.types[0].loss": {"weight_method": "inverse",
                                                         "weight_beta": None,
                                                         "weight_momentum": 0.0}},
                         num_classes=2, ignore_index=255)
    logits, labels = batch()
    losses["types"][0](logits, labels)
    counts = np.bincount(labels.numpy().ravel(), minlength=2)
    expected = 1 / (counts / counts.sum())
    np.testing.assert_allclose(inner.weight.numpy(), expected / expected.mean(), rtol=1e-5)


def test_a_yaml_ramp_trains_with_auto_weights_and_logs_its_span(demo_root, tmp_path, capsys):
    loss = {"type": "RampedLoss", "start": 0.5, "end": 3.0,
            "loss": {"type": "WeightedIoULoss", "mode": "binary", "weight": "auto"}}
    config = tiny_config(demo_root, tmp_path, loss=loss)
    train.main(["--config", config, "--device", "cpu", "--save_dir", str(tmp_path / "out"),
                "--log_iters", "1", "--save_interval", "2"])
    log = capsys.readouterr().out
    assert "`loss.types[0].loss.weight: auto` resolved to" in log
    assert ("`loss.types[0]`: WeightedIoULoss weighted 0.5 -> 3 over 2 iterations, now 0.5 "
            "(iteration 0)") in log
    assert (tmp_path / "out" / "iter_2" / "model.pdparams").is_file()


def test_lint_checks_the_loss_inside_a_ramp(tmp_path):
    config = {"model": {"type": "PPLiteSeg", "num_classes": 2,
                        "backbone": {"type": "STDC1"}},
              "loss": {"types": [{"type": "MixedLoss", "coef": [1, 1], "losses": [
                  {"type": "RampedLoss", "loss": {"type": "LovaszHingeLos"}},
                  {"type": "RampedLoss", "loss": {"type": "WeightedIoULoss",
                                                  "mode": "multiclass",
                                                  "weight": [1, 2, 3]}}]}] * 3,
                       "coef": [1, 1, 1]}}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))
    # A complete config as the tools lint it (without train_dataset `lint` alone would
    # take it for a fragment, where an unknown type is a warning).
    findings = {(f.code, f.key) for f in lint(str(path), known=from_managers(),
                                              fragment=False).findings}
    assert ("PSI006", "loss.types[0].losses[0].loss.type") in findings
    assert ("PSI012", "loss.types[0].losses[1].loss.weight") in findings


def test_paddleseg_builder_with_a_fixed_dataset_type_builds_a_ramp(tmp_path):
    # For train_dataset types other than `Dataset`, PaddleSeg's builder adds the class's
    # IGNORE_INDEX to every loss entry, so the ramp must take it.
    config = {"batch_size": 2, "iters": 2,
              "train_dataset": {"type": "Cityscapes", "dataset_root": str(tmp_path),
                                "mode": "train", "transforms": [{"type": "Normalize"}]},
              "model": {"type": "PPLiteSeg", "num_classes": 19, "backbone": {"type": "STDC1"}},
              "optimizer": {"type": "SGD", "momentum": 0.9},
              "lr_scheduler": {"type": "PolynomialDecay", "learning_rate": 0.01},
              "loss": {"types": [{"type": "RampedLoss", "loss": {"type": "LovaszSoftmaxLoss"},
                                  "start": 0.5, "end": 3.0}],
                       "coef": [1, 1, 1]}}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))
    ramps = SegBuilder(Config(str(path))).loss["types"]
    assert [(type(r).__name__, r.loss.ignore_index) for r in ramps] == [("RampedLoss", 255)] * 3


def test_an_ignore_index_the_wrapped_loss_does_not_share_is_refused():
    with pytest.raises(ValueError, match="`ignore_index` is 255 \\(the dataset's\\) but its "
                                         "wrapped WeightedIoULoss ignores 0; set "
                                         "`ignore_index: 255` in the wrapped `loss` entry"):
        RampedLoss(WeightedIoULoss(mode="binary", ignore_index=0), ignore_index=255)
