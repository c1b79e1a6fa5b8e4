"""The plugin's evaluation inside PaddleSeg's own training loop.

PaddleSeg 2.8.0's `core.train.train` calls the module-level `evaluate` at every
`save_interval` and keeps `best_model/` by the first number it returns. During a run,
`evaluation_in_training` puts `TrainingEvaluation` there instead: the plugin's evaluators
run, their files go to `<save_dir>/eval/iter_<N>.*`, and the number PaddleSeg compares is
the `--best_metric` (default mIoU over present classes). The best value, its metric and
iteration are recorded in `<save_dir>/best_metric.json`.
"""
import contextlib
import importlib
import json
import math
import os
import re

import paddle
from paddleseg.utils import logger

from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.evaluation import evaluate

BEST_METRIC_FILE = "best_metric.json"
_METRIC_NAME = re.compile(r"^(miou|fg_miou|dice|fg_dice|acc|macc|kappa|"
                          r"(iou|dice|precision|recall)/.+)$")


def check_best_metric(name):
    """Raise `ConfigError` before training for a `--best_metric` no evaluation can give."""
    if not _METRIC_NAME.match(name):
        raise ConfigError(f"--best_metric '{name}' is not a metric; use miou, fg_miou, dice, "
                          "fg_dice, acc, macc, kappa, or iou/<class> (also dice/, "
                          "precision/, recall/ with a class name or index).")


def start_iteration(resume_model):
    """The iteration a run resumed from `resume_model` (`.../iter_<N>`) starts at."""
    if not resume_model:
        return 0
    match = re.search(r"iter_(\d+)", os.path.basename(os.path.normpath(resume_model)))
    return int(match.group(1)) if match else 0


class TrainingEvaluation:
    """Stands in for `paddleseg.core.train.evaluate` during one training run.

    Args:
        model: the model being trained (evaluations of any other model, PaddleSeg's EMA
            copy, are written under `eval/ema/` and never recorded as best).
        options: `evaluate` keyword arguments (evaluators, class names, test_config).
        save_dir, save_interval, iters, resume_model: the run's settings, to name each
            evaluation by its iteration.
        best_metric: the `EvaluationResult.value` name that selects best_model.
        log_writer: a VisualDL LogWriter for per-class scalars, or None.
    """

    def __init__(self, model, options, save_dir, save_interval, iters, resume_model,
                 best_metric, log_writer=None):
        self.model, self.options, self.save_dir = model, options, save_dir
        self.best_metric, self.log_writer = best_metric, log_writer
        first = (start_iteration(resume_model) // save_interval + 1) * save_interval
        self._iterations = iter([*range(first, iters, save_interval), iters])
        self.iteration = None
        self.best = -math.inf

    def __call__(self, model, eval_dataset, num_workers=0, precision="fp32", amp_level="O1",
                 **test_config):
        ema = model is not self.model
        if not ema:
            self.iteration = next(self._iterations, self.iteration)
        save_dir = os.path.join(self.save_dir, "ema") if ema else self.save_dir
        result = evaluate(model, eval_dataset, save_dir=save_dir, iteration=self.iteration,
                          num_workers=num_workers, precision=precision, amp_level=amp_level,
                          log_writer=None if ema else self.log_writer,
                          **{**self.options, **test_config})
        try:
            value = result.value(self.best_metric)
        except KeyError as error:
            raise ConfigError(f"--best_metric {self.best_metric}: {error}") from error
        logger.info(f"[EVAL] {self.best_metric}: {value:.4f} at iter {self.iteration}"
                    + (" (EMA model)" if ema else ""))
        if not ema and value > self.best:
            self.best = value
            self._record_best(value)
        # PaddleSeg's loop unpacks five values and keeps best_model by the first.
        return value, result.value("acc"), None, None, None

    def _record_best(self, value):
        if paddle.distributed.get_rank() != 0:
            return
        record = {"metric": self.best_metric, "value": value, "iteration": self.iteration,
                  "model": os.path.join("best_model", "model.pdparams")}
        with open(os.path.join(self.save_dir, BEST_METRIC_FILE), "w") as file:
            json.dump(record, file, indent=1)


@contextlib.contextmanager
def evaluation_in_training(evaluation):
    """Install `evaluation` as PaddleSeg's training-loop `evaluate` for the `with` block."""
    train_module = importlib.import_module("paddleseg.core.train")
    original = train_module.evaluate
    train_module.evaluate = evaluation
    try:
        yield evaluation
    finally:
        train_module.evaluate = original
