"""`tools/val.py`: PaddleSeg's evaluation of a trained model, input checked first."""
from paddleseg.core import evaluate

from paddleseg_imbalance.engine.args import val_parser
from paddleseg_imbalance.engine.session import Session


def inference_options(args, config, aug_flag):
    """Keyword arguments for PaddleSeg's inference: the YAML `test_config`, then flags.

    Flags given on the command line win over `test_config`, as in PaddleSeg's tools.
    """
    options = config.test_config
    if getattr(args, aug_flag):
        options.update(scales=args.scales, flip_horizontal=args.flip_horizontal,
                       flip_vertical=args.flip_vertical)
        options[aug_flag] = True
    if args.is_slide:
        options.update(is_slide=True, crop_size=args.crop_size, stride=args.stride)
    return options


def run(args):
    """Evaluate `args.model_path` on the config's val_dataset; returns PaddleSeg's tuple
    (mIoU, accuracy, class IoU, class precision, kappa)."""
    session = Session(args)
    val_dataset = session.dataset("val_dataset")
    model = session.load_weights(args.model_path)
    return evaluate(model, val_dataset, num_workers=args.num_workers,
                    **inference_options(args, session.config, "aug_eval"))


def main(argv=None):
    return run(val_parser().parse_args(argv))
