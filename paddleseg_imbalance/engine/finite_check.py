"""Stop a training run at its first non-finite loss, and never save non-finite parameters.

A NaN learning rate or a NaN/Inf loss weight trains NaN parameters, and PaddleSeg 2.8.0's
loop carries on: it evaluates them (the argmax of NaN logits is class 0, which scores a
plausible mIoU), saves them as `best_model/` and exits 0. `FiniteTraining` checks the
summed loss of every iteration (one scalar read, as PaddleSeg's own logging does) and the
parameters before each evaluation and checkpoint, and stops with a `ConfigError` naming
the iteration and the config values that are likely to blame.
"""
import contextlib
import math
import numbers

import paddle

from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.paddleseg_loop import loss_observed



def non_finite_values(value, key):
    """(key, value) of every non-finite number in a config value, keys spelled as in YAML."""
    if isinstance(value, dict):
        items = [(f"{key}.{name}", item) for name, item in value.items()]
    elif isinstance(value, (list, tuple)):
        items = [(f"{key}[{index}]", item) for index, item in enumerate(value)]
    elif isinstance(value, numbers.Real) and not math.isfinite(value):
        return [(key, value)]
    else:
        return []
    return [found for name, item in items for found in non_finite_values(item, name)]


def likely_causes(config, precision):
    """What to look at when the loss of a run with `config` is not finite: the config's
    non-finite values first, then the usual suspects."""
    found = [f"`{key}` is {value}" for section in ("lr_scheduler", "optimizer", "loss")
             for key, value in non_finite_values(config.dic.get(section), section)]
    learning_rate = (config.dic.get("lr_scheduler") or {}).get("learning_rate")
    usual = [f"a learning rate too high (`lr_scheduler.learning_rate` is {learning_rate}, "
             "--learning_rate overrides it)",
             "loss weights or coefficients that are negative, zero for every class, or huge "
             "(`loss.types[i].weight`, `loss.coef`)",
             "labels outside 0..num_classes-1 other than ignore_index (paddleseg-imbalance "
             "lint --scan-data lists them)"]
    if precision == "fp16":
        usual.append("fp16 overflow under AMP (--precision fp16): train with fp32")
    text = "; ".join(found) + ". Otherwise look at: " if found else "Likely causes: "
    return text + "; ".join(usual) + "."


class FiniteTraining:
    """Checks that one training run's loss and parameters stay finite.

    Args:
        causes: the text of `likely_causes`, appended to every error.
        start_iteration: the iteration the run resumes from (0 for a new run).
    """

    def __init__(self, causes, start_iteration=0):
        self.causes, self.iteration = causes, start_iteration

    @contextlib.contextmanager
    def loss_checked(self):
        """Check the loss of every iteration of PaddleSeg's loop in the `with` block.

        Observes the loop's `loss_computation`: the loss is checked before its backward
        pass, so the parameters and the last checkpoint stay finite. Models that compute
        their own loss (`model.loss_computation`) bypass it; `check_parameters` before each
        checkpoint still catches them.
        """
        def check_loss(logits_list, labels, loss_list):
            self.iteration += 1
            loss = float(sum(loss_list))
            if not math.isfinite(loss):
                parts = ", ".join(f"{float(part):.4g}" for part in loss_list)
                raise ConfigError(f"training stopped at iteration {self.iteration}: the loss "
                                  f"is {loss} (its terms: {parts}); no checkpoint of this "
                                  f"iteration was written. {self.causes}")

        with loss_observed("finite-loss-check", check_loss):
            yield

    def check_checkpoint(self, state, path):
        """`check_parameters` for a model file (`*.pdparams`) about to be written to `path`."""
        if path.endswith(".pdparams"):
            self.check_parameters(state, f"before writing {path}")

    def check_parameters(self, state_dict, where):
        """Raise `ConfigError` if a floating-point tensor of `state_dict` is not finite;
        `where` says what was about to happen with it ("before evaluating iteration 3")."""
        bad = [name for name, value in state_dict.items()
               if isinstance(value, paddle.Tensor) and value.is_floating_point()
               and not bool(paddle.isfinite(value).all())]
        if bad:
            listed = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
            raise ConfigError(f"training stopped {where}: the parameters are not finite "
                              f"(NaN or Inf in {listed}); they were not saved. {self.causes}")
