"""The plugin's evaluation inside PaddleSeg's own training loop.

PaddleSeg 2.8.0's `core.train.train` calls the module-level `evaluate` at every
`save_interval` and keeps `best_model/` by the first number it returns. During a run,
`evaluation_in_training` puts `TrainingEvaluation` there instead: the plugin's evaluators
run, their files go to `<save_dir>/eval/iter_<N>.*`, and the number PaddleSeg compares is
the `--best_metric` (default mIoU over present classes). Once `best_model/model.pdparams`
is saved (`TrainingEvaluation.checkpoint_saved`), its metric, value and iteration are
recorded in `<save_dir>/best_metric.json`, so the record never names a model not written.

PaddleSeg's own best-model log line calls every metric mIoU and, when no evaluation had a
defined value (a val set whose labels are all ignore_index), says the best model "was saved
at iter -1"; it is left out during the run and `TrainingEvaluation` logs a true one.
"""
import contextlib
import dataclasses
import math
import os
import re

from paddleseg.utils import logger

from paddleseg_imbalance.config.errors import DataError
from paddleseg_imbalance.engine.checkpoints import write_json_atomically
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.paddleseg_loop import replaced_in_loop
from paddleseg_imbalance.evaluation import evaluate

BEST_METRIC_FILE = "best_metric.json"
BEST_MODEL_FILE = os.path.join("best_model", "model.pdparams")
_PADDLESEG_BEST_LINE = "[EVAL] The model with the best validation mIoU"
_METRIC_NAME = re.compile(r"^(miou|fg_miou|dice|fg_dice|acc|macc|kappa|"
                          r"(iou|dice|precision|recall)/.+)$")


def check_best_metric(name):
    """Raise `ConfigError` before training for a `--best_metric` no evaluation can give."""
    if not _METRIC_NAME.match(name):
        raise ConfigError(f"--best_metric '{name}' is not a metric; use miou, fg_miou, dice, "
                          "fg_dice, acc, macc, kappa, or iou/<class> (also dice/, "
                          "precision/, recall/ with a class name or index).")


def start_iteration(resume_model):
    """The iteration a run resumed from `resume_model` (`.../iter_<N>`) starts at: the
    number after the directory name's last `_`, as PaddleSeg's `resume` reads it."""
    if not resume_model:
        return 0
    match = re.search(r"_(\d+)$", os.path.basename(os.path.normpath(resume_model)))
    return int(match.group(1)) if match else 0


class TrainingEvaluation:
    """Stands in for `paddleseg.core.train.evaluate` during one training run.

    Args:
        model: the model being trained (evaluations of any other model, PaddleSeg's EMA
            copy, are written under `eval/ema/` and never recorded as best).
        options: the run's `EvaluationOptions` (evaluators, class names, test_config).
        save_dir, save_interval, iters, resume_model: the run's settings, to name each
            evaluation by its iteration.
        best_metric: the `EvaluationResult.value` name that selects best_model.
        log_writer: a VisualDL LogWriter for per-class scalars, or None.
        check_parameters: called as `check_parameters(state_dict, where)` before each
            evaluation; raises to stop a run whose parameters cannot be evaluated.
    """

    def __init__(self, model, options, save_dir, save_interval, iters, resume_model,
                 best_metric, log_writer=None, check_parameters=lambda state, where: None):
        self.model, self.options, self.save_dir = model, options, save_dir
        self.best_metric, self.log_writer = best_metric, log_writer
        self.check_parameters = check_parameters
        first = (start_iteration(resume_model) // save_interval + 1) * save_interval
        self._iterations = iter([*range(first, iters, save_interval), iters])
        self.iteration = None
        # PaddleSeg's loop saves best_model when the value beats its start of -1.0; the
        # same rule here keeps the record and the saved model in step.
        self.best = self.ema_best = -1.0
        self.pending = None
        self.saved = None

    def __call__(self, model, eval_dataset, num_workers=0, precision="fp32", amp_level="O1",
                 **test_config):
        ema = model is not self.model
        if not ema:
            self.iteration = next(self._iterations, self.iteration)
        self.check_parameters(model.state_dict(),
                              f"before evaluating iteration {self.iteration}")
        save_dir = os.path.join(self.save_dir, "ema") if ema else self.save_dir
        inference = dataclasses.replace(self.options.inference, precision=precision,
                                        amp_level=amp_level, **test_config)
        result = evaluate(model, eval_dataset,
                          dataclasses.replace(self.options, inference=inference),
                          save_dir=save_dir, iteration=self.iteration, num_workers=num_workers,
                          log_writer=None if ema else self.log_writer)
        try:
            value = result.value(self.best_metric)
        except KeyError as error:
            raise ConfigError(f"--best_metric {self.best_metric}: {error}") from error
        logger.info(f"[EVAL] {self.best_metric}: {value:.4f} at iter {self.iteration}"
                    + (" (EMA model)" if ema else ""))
        if ema:
            self._judge_ema(value)
        else:
            self._judge(value)
        # PaddleSeg's loop unpacks five values and keeps best_model by the first.
        return value, result.value("acc"), None, None, None

    def _judge(self, value):
        """Note a new best (recorded once its model is saved) or log why there is none."""
        if value > self.best:
            self.best = value
            self.pending = {"metric": self.best_metric, "value": value,
                            "iteration": self.iteration, "model": BEST_MODEL_FILE}
            return
        kept = (f"best_model/ keeps iter {self.saved['iteration']} "
                f"({self.best_metric} {self.saved['value']:.4f})" if self.saved
                else "no best_model/ has been saved yet")
        if math.isnan(value):
            logger.warning(f"[EVAL] {self.best_metric} is undefined at iter {self.iteration}: "
                           "no val pixel counts for it (see the evaluation above), so it "
                           f"cannot pick a best model; {kept}.")
        else:
            logger.info(f"[EVAL] {kept}.")

    def _judge_ema(self, value):
        """PaddleSeg's loop fails (UnboundLocalError) when no EMA evaluation so far has
        beaten -1.0: stop with the reason instead."""
        if value > self.ema_best:
            self.ema_best = value
        elif self.ema_best == -1.0:
            raise DataError(f"--use_ema: {self.best_metric} of the EMA model is {value} at "
                            f"iter {self.iteration} (undefined when no val pixel counts "
                            "for it, see the evaluation above), and PaddleSeg 2.8.0 cannot "
                            "keep an EMA best model without a value: fix the val labels, "
                            "pick a --best_metric the val set defines, or train without "
                            "--use_ema.")

    def checkpoint_saved(self, path):
        """After PaddleSeg's loop saved `path`: when it is best_model's, record it in
        best_metric.json (written atomically, as the model was)."""
        best_path = os.path.join(self.save_dir, BEST_MODEL_FILE)
        if self.pending is None or os.path.normpath(path) != os.path.normpath(best_path):
            return
        self.saved, self.pending = self.pending, None
        write_json_atomically(os.path.join(self.save_dir, BEST_METRIC_FILE), self.saved)
        logger.info(f"[EVAL] best_model/ now holds iter {self.saved['iteration']} "
                    f"({self.best_metric} {self.saved['value']:.4f}).")


class _LoggerWithoutBestModelLine:
    """PaddleSeg's logger for its training loop, less the loop's best-model line."""

    def __getattr__(self, name):
        return getattr(logger, name)

    def info(self, message=""):
        if not str(message).startswith(_PADDLESEG_BEST_LINE):
            logger.info(message)


@contextlib.contextmanager
def evaluation_in_training(evaluation):
    """Install `evaluation` as PaddleSeg's training-loop `evaluate`, and its best-model
    log line in place of PaddleSeg's, for the `with` block."""
    with replaced_in_loop(evaluate=evaluation, logger=_LoggerWithoutBestModelLine()):
        yield evaluation
