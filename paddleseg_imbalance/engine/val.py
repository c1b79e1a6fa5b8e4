"""`tools/val.py`: evaluate a trained model with the plugin's evaluators.

The config's `evaluators:` list chooses them (default: SegMetrics and
DegenerateResultCheck); `class_names:` names the classes in tables and files. Results go
to `<save_dir>/eval/latest.json` (and the evaluators' files beside it). `--sweep_thresholds`
adds `ThresholdSweep` (binary and multi-label models): `<save_dir>/eval/thresholds.json`.
`--thresholds` scores such a file (tuned on other data, e.g. the train set) on val, and
`--threshold T` one number: the metrics are those of the thresholded decision.
"""
import dataclasses
import os

from paddleseg.utils import logger

from paddleseg_imbalance.config.sections import is_multilabel
from paddleseg_imbalance.engine.args import val_parser
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.config_lint import lint_before_run
from paddleseg_imbalance.engine.decision_thresholds import (decision_threshold_hook,
                                                             decision_thresholds,
                                                             output_channels)
from paddleseg_imbalance.engine.error_gallery import ErrorGallery
from paddleseg_imbalance.engine.evaluation_options import (evaluation_options,
                                                           inference_options,
                                                           multilabel_evaluation_options)
from paddleseg_imbalance.engine.multilabel_channels import auxiliary_channels, label_names
from paddleseg_imbalance.engine.run_report import report_after_run
from paddleseg_imbalance.engine.session import Session
from paddleseg_imbalance.evaluation import ObjectMetrics, ThresholdSweep, evaluate
from paddleseg_imbalance.evaluation.threshold_sweep import scored_channels


def run(args):
    """Evaluate `args.model_path` on the config's val_dataset; returns the
    `EvaluationResult`."""
    if args.save_errors_by != "foreground_iou" and not args.save_errors:
        raise ConfigError(f"--save_errors_by {args.save_errors_by} ranks the images that "
                          "--save_errors K draws, but --save_errors is not given: add "
                          "--save_errors K (e.g. 8), or leave --save_errors_by out.")
    if not args.no_lint:
        lint_before_run(args)
    session = Session(args)
    multilabel = args.use_multilabel or is_multilabel(session.config.dic)
    options = evaluation_options(session.config,
                                 inference_options(args, session.config, "aug_eval"),
                                 multilabel, args.sweep_thresholds)
    options = dataclasses.replace(options,
                                  **multilabel_evaluation_options(args, session.config))
    model = session.load_weights(args.model_path)
    hook = _threshold_hook(args, session.config, multilabel, options)
    if hook is not None:
        model.register_forward_post_hook(hook)
    val_dataset = session.dataset("val_dataset")
    save_dir = args.save_dir or os.path.dirname(os.path.abspath(args.model_path))
    objects = [e for e in options.evaluators or [] if isinstance(e, ObjectMetrics)]
    gallery = ErrorGallery(
        args.save_errors, val_dataset, rank_by=args.save_errors_by,
        matching=objects[0].matching if objects else None,
        names=_channel_names(session.config, options),
        multilabel_threshold=options.threshold if options.use_multilabel else None,
        skip_channels=options.skip_channels if options.use_multilabel else ()
    ) if args.save_errors else None
    result = evaluate(model, val_dataset, options, save_dir=save_dir,
                      num_workers=args.num_workers, on_sample=gallery)
    if gallery is not None:
        paths = gallery.write(save_dir)
        worst = ("most missed objects (outlined in yellow)"
                 if args.save_errors_by == "missed_objects" else "lowest foreground IoU")
        logger.info(f"The {len(paths)} val images with the {worst} are drawn in "
                    f"{os.path.join(save_dir, 'errors')} (green TP, red FP, blue FN).")
    report_after_run(args, session.config, save_dir)
    return result


def _channel_names(config, options):
    """One name per output channel: `class_names`, else (multi-label) "background" for
    the auxiliary channel and the labels' names; None: the channel numbers."""
    if options.class_names or not options.use_multilabel:
        return options.class_names
    skipped = options.skip_channels
    channels = output_channels(config)
    labels = iter(label_names(config, channels - len(skipped)))
    return ["background" if c in skipped else next(labels) for c in range(channels)]


def _threshold_hook(args, config, multilabel, options):
    """The hook that puts `--thresholds` (either kind of model) or a binary model's
    `--threshold` into the logits, or None (argmax; a multi-label `--threshold` is the
    evaluation's own `threshold`)."""
    if args.thresholds is None and (multilabel or args.threshold is None):
        return None
    thresholds = decision_thresholds(args, config, multilabel)
    if options.inference.aug_eval or any(isinstance(e, ThresholdSweep)
                                          for e in options.evaluators or []):
        raise ConfigError("--thresholds/--threshold shift the logits before evaluation, "
                          "which --aug_eval (averaged probabilities) and a threshold sweep "
                          "(--sweep_thresholds or ThresholdSweep in `evaluators`, which "
                          "sweeps the unshifted probabilities) cannot be combined with: "
                          "leave one of them out.")
    num_classes = output_channels(config)
    channels = scored_channels(num_classes, multilabel, auxiliary_channels(config))
    logger.info("Scoring the decision thresholds " + ", ".join(
        f"channel {c}: {t}" for c, t in zip(channels, thresholds)) + ".")
    return decision_threshold_hook(thresholds, num_classes, channels, multilabel)


def main(argv=None):
    return run(val_parser().parse_args(argv))
