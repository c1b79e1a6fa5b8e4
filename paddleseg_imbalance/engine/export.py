"""`tools/export.py`: a static inference model and PaddleSeg's `deploy.yaml`.

The output is what PaddleSeg's deploy tools and `paddle.inference` load:
`model.pdmodel` (Paddle 2.6) or `model.json` (Paddle 3's PIR format), `model.pdiparams`,
and `deploy.yaml` naming them with the val transforms.

A multi-label model (`--use_multilabel`, or a multi-label config) is exported with
`--output_op threshold` by default: sigmoid and `--threshold` inside the graph, output
(N, C, H, W) int32 0/1 for the C labels, the auxiliary background channel left out;
`sigmoid` gives the probabilities instead. `--thresholds` (the thresholds.json of
`val.py --sweep_thresholds`) puts a tuned threshold per label into the graph; for a binary
model it (or `--threshold`) makes the output a 0/1 class map where softmax[1] > t.
`--format onnx` converts the exported model to `model.onnx` with paddle2onnx.
"""
import inspect
import os

import paddle
import paddle.nn.functional as F
import yaml
from paddleseg.utils import logger

from paddleseg_imbalance.component_traits import AUX_TRANSFORM
from paddleseg_imbalance.config.sections import is_multilabel
from paddleseg_imbalance.engine.args import export_parser
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.config_lint import lint_before_run
from paddleseg_imbalance.engine.decision_thresholds import (decision_thresholds,
                                                            output_channels)
from paddleseg_imbalance.engine.multilabel_channels import auxiliary_channels, label_names
from paddleseg_imbalance.engine.session import Session

SINGLE_LABEL_OUTPUT_OPS = ("argmax", "softmax", "none")
MULTILABEL_OUTPUT_OPS = ("threshold", "sigmoid", "none")
ONNX_FILE = "model.onnx"
# Bilinear resizing as PP-LiteSeg and most PaddleSeg models use it needs ONNX opset 11.
_ONNX_OPSET = 11


class OutputOp(paddle.nn.Layer):
    """The model's first output, followed by argmax (int32 class map), softmax, or nothing.
    A binary model can end in threshold instead: int32 class map, 1 where softmax[1] >
    `thresholds[0]`. A multi-label model ends in threshold (int32 0/1 where sigmoid(logit)
    > its label's threshold, `thresholds` one per label) or sigmoid, on the label channels
    only (from `first_label` on: the background channel 0 of
    AddMultiLabelAuxiliaryCategory is left out)."""

    def __init__(self, model, output_op, thresholds=(0.5,), first_label=0, multilabel=False):
        super().__init__()
        self.model = model
        self.output_op = output_op
        self.multilabel = multilabel
        self.first_label = first_label
        # A (1, labels, 1, 1) constant, saved with the parameters: one threshold per label.
        self.register_buffer("thresholds", paddle.to_tensor(
            [float(t) for t in thresholds], dtype="float32").reshape([1, -1, 1, 1]))

    def forward(self, x):
        logit = self.model(x)[0]
        if self.output_op == "argmax":
            return paddle.argmax(logit, axis=1, dtype="int32")
        if self.output_op == "softmax":
            return paddle.nn.functional.softmax(logit, axis=1)
        if self.output_op == "threshold" and not self.multilabel:
            foreground = F.softmax(logit, axis=1)[:, 1:2] > self.thresholds
            return foreground.astype("int32").squeeze(1)
        if self.output_op in ("threshold", "sigmoid"):
            probability = F.sigmoid(logit[:, self.first_label:])
            if self.output_op == "sigmoid":
                return probability
            return (probability > self.thresholds).astype("int32")
        return logit


def resolve_output_op(requested, multilabel, thresholded=False):
    """The `--output_op` to use: the request, or the default for the kind of model
    (argmax; threshold for multi-label, or for a binary model given a threshold);
    `ConfigError` for one of the other kind, or argmax/softmax/none beside a binary
    model's threshold (which they would ignore)."""
    if requested is None:
        return "threshold" if multilabel or thresholded else "argmax"
    allowed = MULTILABEL_OUTPUT_OPS if multilabel else SINGLE_LABEL_OUTPUT_OPS
    if thresholded and not multilabel:
        allowed = ("threshold",)
    if requested not in allowed:
        if thresholded and not multilabel:
            raise ConfigError(f"--output_op {requested} ignores the foreground threshold "
                              "given by --threshold/--thresholds: use --output_op threshold "
                              "(or leave it out), or drop the threshold flag.")
        kind = "multi-label" if multilabel else "single-label"
        raise ConfigError(f"--output_op {requested} does not fit a {kind} model; use one of "
                          f"{', '.join(allowed)}" + (" (the config is multi-label: "
                                                     "MultiLabelDataset or "
                                                     "AddMultiLabelAuxiliaryCategory)."
                                                     if multilabel else
                                                     "; threshold with a binary model's "
                                                     "--threshold/--thresholds."))
    return requested


def export_onnx(save_dir, model_file):
    """Convert the exported model in `save_dir` to `save_dir/model.onnx` (paddle2onnx 1.x
    reads Paddle 2.6's model.pdmodel, 2.x Paddle 3's model.json); returns its path."""
    try:
        import paddle2onnx
    except ImportError as error:
        raise ConfigError("--format onnx needs paddle2onnx and onnxruntime: pip install "
                          "\"paddleseg-imbalance[onnx]\" (with Paddle 2.6: also "
                          "\"paddle2onnx<2\").") from error
    except ValueError as error:  # paddle2onnx 2.x refuses Paddle 2.x on import
        raise ConfigError(f"--format onnx: paddle2onnx does not run on Paddle "
                          f"{paddle.__version__} ({error}). With Paddle 2.6 install "
                          "\"paddle2onnx<2\".") from error
    options = {}
    if "optimize_tool" in inspect.signature(paddle2onnx.export).parameters:
        # paddle2onnx 2.x's default optimiser, Polygraphy, pip-installs missing packages
        # while it runs and can upgrade numpy to 2, which breaks PaddleSeg's OpenCV.
        options["optimize_tool"] = "onnxoptimizer"
    save_file = os.path.join(save_dir, ONNX_FILE)
    paddle2onnx.export(os.path.join(save_dir, model_file),
                       os.path.join(save_dir, "model.pdiparams"), save_file,
                       opset_version=_ONNX_OPSET, **options)
    if not os.path.isfile(save_file):
        raise RuntimeError(f"paddle2onnx wrote no {save_file}.")
    return save_file


def _written_model_file(save_dir):
    for name in ("model.pdmodel", "model.json"):
        if os.path.isfile(os.path.join(save_dir, name)):
            return name
    raise RuntimeError(f"paddle.jit.save wrote no model file into {save_dir}.")


def check_onnx_input_shape(input_shape):
    """`ConfigError` unless `--input_shape` fixes the height and width, which ONNX export
    needs: paddle2onnx 2.x aborts the whole process (SIGABRT, no message) on PP-LiteSeg's
    adaptive pooling when they are dynamic."""
    if input_shape is None or min(input_shape[2:]) < 1:
        raise ConfigError(f"--format onnx needs a fixed height and width in --input_shape "
                          f"(found {input_shape}): e.g. --input_shape -1 3 512 512 (the batch "
                          "size may stay -1); images must then be resized to that size.")


def check_input_channels(input_shape, img_channels):
    """`ConfigError` unless `--input_shape`'s C is the model's input channels (the
    config's `val_dataset.img_channels`, default 3)."""
    if input_shape is not None and input_shape[1] != img_channels:
        raise ConfigError(f"--input_shape {' '.join(map(str, input_shape))}: C is "
                          f"{input_shape[1]} but the model takes {img_channels} channels "
                          "(`val_dataset.img_channels`); give N C H W with C = "
                          f"{img_channels}, e.g. --input_shape -1 {img_channels} 512 512.")


def run(args):
    """Export the config's model (with `args.model_path` weights); returns the save dir."""
    if args.format == "onnx":
        check_onnx_input_shape(args.input_shape)
    if not args.no_lint:
        lint_before_run(args)
    session = Session(args)
    config = session.config
    img_channels = config.val_dataset_cfg.get("img_channels", 3)
    check_input_channels(args.input_shape, img_channels)
    multilabel = args.use_multilabel or is_multilabel(config.dic)
    thresholds = decision_thresholds(args, config, multilabel)
    output_op = resolve_output_op(args.output_op, multilabel, thresholds is not None)
    model = session.load_weights(args.model_path) if args.model_path else session.model
    if not args.model_path:
        logger.warning("No --model_path: exporting randomly initialised weights.")
    model.eval()
    first_label = len(auxiliary_channels(config)) if multilabel else 0
    shape = args.input_shape or [-1, img_channels, -1, -1]
    static = paddle.jit.to_static(
        OutputOp(model, output_op, thresholds or (0.5,), first_label, multilabel),
        input_spec=[paddle.static.InputSpec(shape=shape, dtype="float32", name="x")])
    os.makedirs(args.save_dir, exist_ok=True)
    paddle.jit.save(static, os.path.join(args.save_dir, "model"))
    deploy = {
        "Deploy": {
            "model": _written_model_file(args.save_dir),
            "params": "model.pdiparams",
            "transforms": _deploy_transforms(config),
            "input_shape": shape,
            "output_op": output_op,
            "output_dtype": "int32" if output_op in ("argmax", "threshold") else "float32",
        }
    }
    if output_op == "threshold" or multilabel:
        # One number where every label has the same threshold, else one per label.
        deploy["Deploy"]["threshold"] = (thresholds[0] if len(set(thresholds)) == 1
                                         else thresholds)
    if multilabel:
        deploy["Deploy"]["labels"] = label_names(config, output_channels(config) - first_label)
    if args.format == "onnx":
        deploy["Deploy"]["onnx_model"] = os.path.basename(
            export_onnx(args.save_dir, deploy["Deploy"]["model"]))
    with open(os.path.join(args.save_dir, "deploy.yaml"), "w") as file:
        yaml.safe_dump(deploy, file, sort_keys=False)
    logger.info(f"Exported the inference model to {os.path.abspath(args.save_dir)}")
    return args.save_dir


def _deploy_transforms(config):
    """The val transforms for deployment. AddMultiLabelAuxiliaryCategory only acts on
    labels, which deployment has none of, and PaddleSeg's deploy code does not know it."""
    return [entry for entry in config.val_dataset_cfg.get("transforms", [])
            if not (isinstance(entry, dict) and entry.get("type") == AUX_TRANSFORM)]


def main(argv=None):
    return run(export_parser().parse_args(argv))
