"""`tools/predict.py`: PaddleSeg's prediction and visualisation for images on disk."""
import os

from paddleseg.core import predict
from paddleseg.transforms import Compose
from paddleseg.utils import get_image_list

from paddleseg_imbalance.engine.args import predict_parser
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.session import Session
from paddleseg_imbalance.engine.val import inference_options


def run(args):
    """Predict every image under `args.image_path`; writes PaddleSeg's pseudo-colour
    masks and overlays into `args.save_dir`, and returns the list of images."""
    if not os.path.exists(args.image_path):
        raise ConfigError(f"--image_path '{args.image_path}' does not exist; pass an image, "
                          "a directory of images, or a file list.")
    session = Session(args)
    session.check_model_path(args.model_path)
    try:
        image_list, image_dir = get_image_list(args.image_path)
    except RuntimeError as error:
        raise ConfigError(f"--image_path '{args.image_path}' holds no images (.jpg, .jpeg, "
                          ".png or .bmp).") from error
    transforms = Compose(session.builder.val_transforms)
    options = inference_options(args, session.config, "aug_pred")
    predict(session.model, model_path=args.model_path, transforms=transforms,
            image_list=image_list, image_dir=image_dir, save_dir=args.save_dir,
            custom_color=args.custom_color, **options)
    return image_list


def main(argv=None):
    return run(predict_parser().parse_args(argv))
