"""Command-line flags of the tools, spelled as PaddleSeg's own tools spell them.

One parser per tool; flags shared by several tools are added by one function each, so
`tools/*.py` and `paddleseg-imbalance train|val|predict|export` accept the same thing.
Numeric flags are checked by their `type=` function: a value out of range stops the tool
with argparse's usage error (exit code 2) naming the flag, before anything is loaded.
"""
import argparse
import math

DEVICES = ["cpu", "gpu", "xpu", "npu", "mlu"]
# numpy's (and so PaddleSeg's set_seed's) seed range.
_MAX_SEED = 2 ** 32 - 1


def _number(text, kind):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not {'an integer' if kind is int else 'a number'}") from None


def integer_at_least(minimum, hint="", maximum=None):
    """An argparse `type=` for integers in [minimum, maximum]; `hint` ends the error."""
    def parse(text):
        value = _number(text, int)
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            raise argparse.ArgumentTypeError(
                f"{value} is out of range: give an integer of at least {minimum}{upper}"
                + (f"; {hint}" if hint else ""))
        return value
    return parse


def positive_number(text):
    """An argparse `type=` for finite floats above 0 (no nan, inf or negative)."""
    value = _number(text, float)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a finite number above 0")
    return value


def probability(text):
    """An argparse `type=` for floats strictly between 0 and 1."""
    value = _number(text, float)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a probability strictly between 0 "
                                         "and 1 (a pixel is positive where "
                                         "sigmoid(logit) > threshold; default 0.5)")
    return value


def shape_dimension(text):
    """An argparse `type=` for one `--input_shape` entry: a size of at least 1, or -1 for
    a dynamic dimension (no other negative number means dynamic)."""
    value = _number(text, int)
    if value != -1 and value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a size: give a size of at least 1, "
                                         "or -1 for a dynamic dimension")
    return value


positive_int = integer_at_least(1)
non_negative_int = integer_at_least(0)


def _add_common(parser):
    parser.add_argument("--config", required=True, help="PaddleSeg YAML config file.")
    parser.add_argument("--device", default="gpu", choices=DEVICES,
                        help="Device; falls back to cpu when Paddle has no such device.")
    parser.add_argument("--opts", nargs="+", default=None,
                        help="Override config keys: --opts batch_size=4 iters=100")
    parser.add_argument("--no_lint", action="store_true",
                        help="Skip the config lint that runs first (paddleseg-imbalance "
                             "lint; its errors stop the tool).")


def _add_report_option(parser, when):
    parser.add_argument("--no_report", action="store_true",
                        help=f"Do not write save_dir/report.html ({when}written at the end; "
                             "paddleseg-imbalance report SAVE_DIR writes it later).")


def _add_inference_options(parser, flip_default):
    parser.add_argument("--is_slide", action="store_true", help="Sliding-window inference.")
    parser.add_argument("--crop_size", nargs=2, type=positive_int, default=None,
                        help="Sliding window (width height).")
    parser.add_argument("--stride", nargs=2, type=positive_int, default=None,
                        help="Sliding stride (width height).")
    parser.add_argument("--scales", nargs="+", type=positive_number, default=1.0,
                        help="Scales for augmented inference.")
    parser.add_argument("--flip_horizontal", action="store_true", default=flip_default,
                        help="Horizontal flip for augmented inference.")
    parser.add_argument("--flip_vertical", action="store_true",
                        help="Vertical flip for augmented inference.")


def _add_multilabel_options(parser, threshold_help):
    parser.add_argument("--use_multilabel", action="store_true",
                        help="Multi-label model: a sigmoid per output channel. On by itself "
                             "when the config uses MultiLabelDataset or "
                             "AddMultiLabelAuxiliaryCategory.")
    parser.add_argument("--threshold", type=probability, default=None,
                        help=threshold_help + " Default 0.5.")


def _add_decision_threshold_options(parser, tool):
    parser.add_argument("--thresholds", default=None, metavar="PATH",
                        help="thresholds.json written by `val.py --sweep_thresholds`: "
                             f"{tool} with the tuned threshold of each label (multi-label), "
                             "or foreground where softmax[1] > threshold (binary, 2 classes; "
                             "--threshold T does the same with one number). Default: argmax "
                             "(single-label), 0.5 (multi-label).")


def train_parser():
    parser = argparse.ArgumentParser(description="Train a PaddleSeg model (with the "
                                     "paddleseg-imbalance plugin loaded).")
    _add_common(parser)
    parser.add_argument("--save_dir", default="./output", help="Checkpoints and logs.")
    parser.add_argument("--iters", type=integer_at_least(
                            1, "leave --iters out to train the config's `iters`"),
                        default=None, help="Overrides `iters`.")
    parser.add_argument("--batch_size", type=positive_int, default=None,
                        help="Per-device batch size; overrides `batch_size`.")
    parser.add_argument("--learning_rate", type=positive_number, default=None,
                        help="Overrides `lr_scheduler.learning_rate`.")
    parser.add_argument("--do_eval", action="store_true",
                        help="Evaluate on val_dataset at each save_interval.")
    _add_report_option(parser, "with --do_eval, ")
    parser.add_argument("--best_metric", default="miou",
                        help="Metric that picks best_model: miou, fg_miou, dice, fg_dice, acc, "
                             "macc, kappa, or iou/<class> (and dice/, precision/, recall/).")
    parser.add_argument("--save_interval", type=positive_int, default=1000,
                        help="Iterations between checkpoints (and evaluations).")
    parser.add_argument("--keep_checkpoint_max", type=non_negative_int, default=5,
                        help="Most recent iter_<N> checkpoints kept (best_model aside); "
                             "0 keeps them all, as in PaddleSeg.")
    parser.add_argument("--log_iters", type=positive_int, default=10,
                        help="Iterations between log lines.")
    parser.add_argument("--num_workers", type=non_negative_int, default=0,
                        help="Data loader workers (0: load in the main process).")
    parser.add_argument("--use_vdl", action="store_true", help="Log to VisualDL.")
    parser.add_argument("--use_ema", action="store_true", help="Keep an EMA model.")
    parser.add_argument("--resume_model", default=None, help="Checkpoint dir to resume.")
    parser.add_argument("--seed", type=integer_at_least(0, maximum=_MAX_SEED), default=None,
                        help="Random seed.")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "fp16"])
    parser.add_argument("--amp_level", default="O1", choices=["O1", "O2"])
    _add_multilabel_options(parser, "Multi-label evaluation: a pixel has a label where "
                                    "sigmoid(logit) > threshold.")
    return parser


def val_parser():
    parser = argparse.ArgumentParser(description="Evaluate a trained PaddleSeg model.")
    _add_common(parser)
    parser.add_argument("--model_path", required=True, help="model.pdparams to evaluate.")
    parser.add_argument("--num_workers", type=non_negative_int, default=0,
                        help="Data loader workers (0: load in the main process).")
    parser.add_argument("--aug_eval", action="store_true",
                        help="Multi-scale and flip evaluation.")
    parser.add_argument("--save_dir", default=None,
                        help="Where eval/ (and errors/) go; default the model's directory.")
    parser.add_argument("--save_errors", type=non_negative_int, default=0, metavar="K",
                        help="Draw the K val images with the lowest foreground IoU.")
    parser.add_argument("--save_errors_by", default="foreground_iou",
                        choices=["foreground_iou", "missed_objects"],
                        help="How --save_errors ranks the images: lowest foreground IoU, or "
                             "most label objects missed (matched as the ObjectMetrics "
                             "evaluator in the config matches them; each missed object is "
                             "outlined in yellow).")
    _add_multilabel_options(parser, "Multi-label evaluation: a pixel has a label where "
                                    "sigmoid(logit) > threshold; binary (2 classes): "
                                    "foreground where softmax[1] > threshold.")
    parser.add_argument("--sweep_thresholds", action="store_true",
                        help="Binary or multi-label model: also sweep the foreground "
                             "threshold in the same pass (the ThresholdSweep evaluator) and "
                             "write eval/thresholds.json, for predict/export --thresholds.")
    _add_report_option(parser, "")
    _add_decision_threshold_options(parser, "score")
    _add_inference_options(parser, flip_default=False)
    return parser


def predict_parser():
    parser = argparse.ArgumentParser(description="Predict with a trained PaddleSeg model.")
    _add_common(parser)
    parser.add_argument("--model_path", required=True, help="model.pdparams to use.")
    parser.add_argument("--image_path", required=True,
                        help="An image, a directory of images, or a file list.")
    parser.add_argument("--save_dir", default="./output/result", help="Where to write.")
    parser.add_argument("--aug_pred", action="store_true",
                        help="Multi-scale and flip prediction.")
    _add_inference_options(parser, flip_default=False)
    parser.add_argument("--custom_color", nargs="+", type=integer_at_least(0, maximum=255),
                        default=None,
                        help="Colour map as R G B triples, one per class.")
    _add_multilabel_options(parser, "Multi-label masks: a pixel has a label where "
                                    "sigmoid(logit) > threshold.")
    _add_decision_threshold_options(parser, "predict")
    return parser


def export_parser():
    parser = argparse.ArgumentParser(description="Export a trained PaddleSeg model for "
                                     "Paddle Inference.")
    _add_common(parser)
    parser.set_defaults(device="cpu")
    parser.add_argument("--model_path", default=None, help="model.pdparams to export.")
    parser.add_argument("--save_dir", default="./output/inference_model")
    parser.add_argument("--input_shape", nargs=4, type=shape_dimension, default=None,
                        help="Input shape N C H W, -1 for a dynamic dimension; C must be "
                             "the model's input channels; default [-1, C, -1, -1].")
    parser.add_argument("--output_op", default=None,
                        choices=["argmax", "softmax", "none", "threshold", "sigmoid"],
                        help="Operator appended to the model output. Single-label: argmax "
                             "(default, int32 class map), softmax or none (logits). "
                             "Binary with --threshold(s): threshold (then the default, "
                             "int32 0/1 where softmax[1] > threshold). "
                             "Multi-label: threshold (default, int32 0/1 per label), "
                             "sigmoid (probability per label) or none (all logits); "
                             "threshold and sigmoid leave the background channel out.")
    _add_multilabel_options(parser, "With --output_op threshold: a pixel has a label where "
                                    "sigmoid(logit) > threshold (multi-label), is foreground "
                                    "where softmax[1] > threshold (binary).")
    _add_decision_threshold_options(parser, "export (--output_op threshold)")
    parser.add_argument("--format", default="paddle", choices=["paddle", "onnx"],
                        help="onnx: also convert the exported model to model.onnx with "
                             "paddle2onnx (pip install \"paddleseg-imbalance[onnx]\").")
    return parser
