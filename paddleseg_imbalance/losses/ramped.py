"""`RampedLoss`: any loss, weighted by a coefficient that moves linearly over training."""
import math
import numbers

import paddle.nn as nn
from paddleseg.cvlibs import manager

from paddleseg_imbalance.registry import register


def linear_ramp(iteration, iters, start, end):
    """start + (end - start) * min(iteration / iters, 1): the weight at `iteration` (0-based)."""
    return start + (end - start) * min(iteration / iters, 1.0)


def _check_coefficient(name, value):
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value < 0):
        raise ValueError(f"RampedLoss `{name}` is {value!r}; expected a finite number >= 0 "
                         "(the loss's weight at the first or last iteration).")


@register(manager.LOSSES)
class RampedLoss(nn.Layer):
    r"""A loss whose weight ramps linearly from `start` to `end` over the training run.

    At training iteration t (0-based) of a run of T iterations,

    .. math::

        w_t = \mathrm{start} + (\mathrm{end} - \mathrm{start}) \min(t / T, 1), \qquad
        L_t = w_t \, \ell(\mathrm{logit}, \mathrm{label})

    where ell is the wrapped `loss`. The use it was built for: a surrogate of the
    evaluation's IoU (PaddleSeg's `LovaszHingeLoss`) that helps most once the
    pixel losses have roughly placed the objects; Berman et al. (CVPR 2018) train with
    cross-entropy first and fine-tune with the Lovasz loss, and a ramp does both in one
    run. In a `MixedLoss` the member's `coef` multiplies w_t.

    ```yaml
    - type: RampedLoss
      loss: {type: LovaszHingeLoss}
      start: 0.5          # weight at the first iteration
      end: 3.0            # weight at the last; `iters` is the run's unless given
    ```

    t counts the calls: PaddleSeg's training loop computes each loss once per iteration,
    and its evaluation computes none. The plugin's `tools/train.py` fills in `iters`
    (the run's `iters`) when it is not given, and starts t at the resumed iteration with
    `--resume_model`; PaddleSeg's own `tools/train.py` does neither, so there give `iters`
    and expect the ramp to start again on resume. Past T the weight stays at `end`.

    Shapes: those of the wrapped loss; the result is its result times w_t (a Python float,
    so the dtype is the wrapped loss's).

    Args:
        loss: the loss to weight: a config mapping with `type` (PaddleSeg builds it) or a
            built `nn.Layer`. Its `weight: auto` / `weight: batch` are resolved by the
            tools as for any other loss entry.
        start: weight at iteration 0, a finite number >= 0. Default 0.
        end: weight from iteration `iters` on, a finite number >= 0. Default 1.
        iters: T, the iterations the ramp spans, a positive integer; None (the default)
            takes the run's `iters` (set by the plugin's tools).
        ignore_index: the dataset's ignore label, which PaddleSeg's builder adds to every
            loss entry for dataset types other than `Dataset` (Cityscapes, ...). The
            wrapped loss is built already with its own `ignore_index`, so the two must
            agree; a mismatch is a `ValueError`, never a silently wrong loss. Default None.
    """

    def __init__(self, loss, start=0.0, end=1.0, iters=None, ignore_index=None):
        super().__init__()
        if not callable(loss):
            raise ValueError(f"RampedLoss `loss` is {loss!r}; expected a loss, e.g. "
                             "`loss: {type: LovaszHingeLoss}`.")
        _check_coefficient("start", start)
        _check_coefficient("end", end)
        wrapped_ignore = getattr(loss, "ignore_index", ignore_index)
        if ignore_index is not None and wrapped_ignore != ignore_index:
            raise ValueError(f"RampedLoss `ignore_index` is {ignore_index} (the dataset's) but "
                             f"its wrapped {type(loss).__name__} ignores {wrapped_ignore}; set "
                             f"`ignore_index: {ignore_index}` in the wrapped `loss` entry.")
        self.loss = loss
        self.start, self.end = float(start), float(end)
        self.iters = None
        if iters is not None:
            self.set_iters(iters)
        self.iteration = 0

    def set_iters(self, iters):
        if isinstance(iters, bool) or not isinstance(iters, int) or iters <= 0:
            raise ValueError(f"RampedLoss `iters` is {iters!r}; expected a positive integer "
                             "(the training iterations the ramp spans), or leave it out to "
                             "use the run's `iters`.")
        self.iters = iters

    def current_weight(self):
        """w_t of the next call."""
        if self.iters is None:
            raise RuntimeError("RampedLoss has no `iters`: give `iters:` in its config entry "
                               "(PaddleSeg's own tools/train.py does not fill it in), or "
                               "train with this plugin's tools/train.py.")
        return linear_ramp(self.iteration, self.iters, self.start, self.end)

    def forward(self, logit, label):
        weight = self.current_weight()
        self.iteration += 1
        return weight * self.loss(logit, label)
