"""`tools/export.py`: a static inference model and PaddleSeg's `deploy.yaml`.

The output is what PaddleSeg's deploy tools and `paddle.inference` load:
`model.pdmodel` (Paddle 2.6) or `model.json` (Paddle 3's PIR format), `model.pdiparams`,
and `deploy.yaml` naming them with the val transforms.
"""
import os

import paddle
import yaml
from paddleseg.utils import logger

from paddleseg_imbalance.engine.args import export_parser
from paddleseg_imbalance.engine.session import Session


class OutputOp(paddle.nn.Layer):
    """The model's first output, followed by argmax (int32 class map), softmax, or nothing."""

    def __init__(self, model, output_op):
        super().__init__()
        self.model = model
        self.output_op = output_op

    def forward(self, x):
        logit = self.model(x)[0]
        if self.output_op == "argmax":
            return paddle.argmax(logit, axis=1, dtype="int32")
        if self.output_op == "softmax":
            return paddle.nn.functional.softmax(logit, axis=1)
        return logit


def _written_model_file(save_dir):
    for name in ("model.pdmodel", "model.json"):
        if os.path.isfile(os.path.join(save_dir, name)):
            return name
    raise RuntimeError(f"paddle.jit.save wrote no model file into {save_dir}.")


def run(args):
    """Export the config's model (with `args.model_path` weights); returns the save dir."""
    session = Session(args)
    model = session.load_weights(args.model_path) if args.model_path else session.model
    if not args.model_path:
        logger.warning("No --model_path: exporting randomly initialised weights.")
    model.eval()
    img_channels = session.config.val_dataset_cfg.get("img_channels", 3)
    shape = args.input_shape or [-1, img_channels, -1, -1]
    static = paddle.jit.to_static(
        OutputOp(model, args.output_op),
        input_spec=[paddle.static.InputSpec(shape=shape, dtype="float32", name="x")])
    os.makedirs(args.save_dir, exist_ok=True)
    paddle.jit.save(static, os.path.join(args.save_dir, "model"))
    deploy = {
        "Deploy": {
            "model": _written_model_file(args.save_dir),
            "params": "model.pdiparams",
            "transforms": session.config.val_dataset_cfg.get("transforms", []),
            "input_shape": shape,
            "output_op": args.output_op,
            "output_dtype": "int32" if args.output_op == "argmax" else "float32",
        }
    }
    with open(os.path.join(args.save_dir, "deploy.yaml"), "w") as file:
        yaml.safe_dump(deploy, file, sort_keys=False)
    logger.info(f"Exported the inference model to {os.path.abspath(args.save_dir)}")
    return args.save_dir


def main(argv=None):
    return run(export_parser().parse_args(argv))
