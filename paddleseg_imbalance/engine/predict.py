"""`tools/predict.py`: PaddleSeg's prediction and visualisation for images on disk.

A multi-label model (`--use_multilabel`, or a multi-label config) gets its own writer,
`predict_multilabel`: per image, one binary mask per label and a colour overlay, with the
background channel of AddMultiLabelAuxiliaryCategory left out. `--thresholds` (the
thresholds.json of `val.py --sweep_thresholds`) or `--threshold` sets the decision rule:
per label for a multi-label model, softmax[1] > t for a binary one (default argmax).
"""
import os

import cv2
import numpy as np
import paddle
from paddleseg.core import predict
from paddleseg.transforms import Compose
from paddleseg.utils import get_image_list, logger, progbar
from paddleseg.utils.visualize import get_color_map_list

from paddleseg_imbalance.config.sections import is_multilabel
from paddleseg_imbalance.engine.args import predict_parser
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.config_lint import lint_before_run
from paddleseg_imbalance.engine.model_loading import check_model_path
from paddleseg_imbalance.engine.decision_thresholds import (decision_threshold_hook,
                                                             decision_thresholds)
from paddleseg_imbalance.engine.evaluation_options import inference_options
from paddleseg_imbalance.engine.multilabel_channels import auxiliary_channels, label_names
from paddleseg_imbalance.engine.preflight import check_file_list
from paddleseg_imbalance.engine.session import Session
from paddleseg_imbalance.evaluation import InferenceOptions, infer_image


def run(args):
    """Predict every image under `args.image_path`; writes PaddleSeg's pseudo-colour
    masks and overlays into `args.save_dir`, and returns the list of images."""
    if not os.path.exists(args.image_path):
        raise ConfigError(f"--image_path '{args.image_path}' does not exist; pass an image, "
                          "a directory of images, or a file list.")
    if not args.no_lint:
        lint_before_run(args)
    check_model_path(args.model_path)
    session = Session(args)
    try:
        image_list, image_dir = get_image_list(args.image_path)
    except RuntimeError as error:
        raise ConfigError(f"--image_path '{args.image_path}' holds no images (.jpg, .jpeg, "
                          ".png or .bmp).") from error
    check_file_list([(path, None) for path in image_list], "--image_path")
    multilabel = args.use_multilabel or is_multilabel(session.config.dic)
    thresholds = decision_thresholds(args, session.config, multilabel)
    transforms = Compose(session.builder.val_transforms)
    options = inference_options(args, session.config, "aug_pred")
    if thresholds is not None and not multilabel and options.get("aug_pred"):
        raise ConfigError("--aug_pred averages softmax probabilities over scales and flips, "
                          "which a binary foreground threshold (--threshold/--thresholds) "
                          "cannot be applied inside; leave one of them out.")
    model = session.load_weights(args.model_path)
    if multilabel:
        inference = InferenceOptions(aug_eval=options.pop("aug_pred", False), **options)
        predict_multilabel(model, session.config, transforms, image_list, image_dir,
                           args.save_dir, thresholds, args.custom_color, inference)
        return image_list
    hook = None
    if thresholds is not None:
        logger.info(f"Binary prediction: foreground where softmax[1] > {thresholds[0]}.")
        hook = model.register_forward_post_hook(decision_threshold_hook(
            thresholds, 2, [1], multilabel=False))
    try:
        # PaddleSeg's predict loads `model_path` again (every parameter: checked above).
        predict(model, model_path=args.model_path, transforms=transforms,
                image_list=image_list, image_dir=image_dir, save_dir=args.save_dir,
                custom_color=args.custom_color, **options)
    finally:
        if hook is not None:
            hook.remove()
    return image_list


# The image's share of an overlay pixel that has a label (PaddleSeg's overlays use 0.6).
_IMAGE_WEIGHT = 0.6


def _relative_path(image_path, image_dir):
    """`image_path` below `image_dir` (or its file name), as PaddleSeg's predict names
    its outputs."""
    if image_dir is None:
        return os.path.basename(image_path)
    return os.path.relpath(image_path, image_dir)


def _write(path, image):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cv2.imwrite(path, image)


def predict_multilabel(model, config, transforms, image_list, image_dir, save_dir,
                       thresholds=(0.5,), custom_color=None, inference=InferenceOptions()):
    """Predict a multi-label model on `image_list` and write, for each image (path `rel`
    below `image_dir`):

    - ``save_dir/masks/<label name>/<rel stem>.png``: one uint8 mask per label, 255 where
      sigmoid(logit) > its threshold (`thresholds`: one per label, or one for all), else 0
      (viewable as is; the plugin reads 0/255 masks back as binary labels);
    - ``save_dir/added_prediction/<rel>``: the image with each label's pixels tinted in
      its colour (PaddleSeg's colour map, or `custom_color` R G B triples indexed by
      output channel).

    The auxiliary background channel is in neither. Images are shared among ranks as in
    PaddleSeg's predict; `inference` holds PaddleSeg's inference options (``--aug_pred``
    is its `aug_eval`).
    """
    skipped = auxiliary_channels(config)
    colours = np.array(get_color_map_list(256, custom_color=custom_color),
                       np.float32).reshape(-1, 3)[:, ::-1]  # RGB to BGR
    rank, nranks = paddle.distributed.get_rank(), paddle.distributed.get_world_size()
    images = image_list[rank::nranks]
    model.eval()
    logger.info(f"Predicting {len(images)} images (multi-label, thresholds "
                f"{list(thresholds)})...")
    bar = progbar.Progbar(target=len(images), verbose=1)
    with paddle.no_grad():
        for step, image_path in enumerate(images):
            data = transforms({"img": image_path})
            image = paddle.to_tensor(data["img"][np.newaxis, ...])
            probability, _ = infer_image(model, image, data["trans_info"], inference,
                                         multilabel=True)
            probability = probability.numpy()[0]
            channels = [c for c in range(probability.shape[0]) if c not in skipped]
            names = label_names(config, len(channels))
            positive = probability[channels] > np.reshape(
                np.broadcast_to(thresholds, len(channels)), (-1, 1, 1))
            relative = _relative_path(image_path, image_dir)
            stem = os.path.splitext(relative)[0]
            overlay = cv2.imread(image_path, cv2.IMREAD_COLOR).astype(np.float32)
            for channel, name, mask in zip(channels, names, positive):
                _write(os.path.join(save_dir, "masks", name, stem + ".png"),
                       mask.astype(np.uint8) * 255)
                overlay[mask] = (_IMAGE_WEIGHT * overlay[mask]
                                 + (1 - _IMAGE_WEIGHT) * colours[channel])
            _write(os.path.join(save_dir, "added_prediction", relative),
                   overlay.round().astype(np.uint8))
            bar.update(step + 1)
    logger.info(f"Masks are in {os.path.join(save_dir, 'masks')}, overlays in "
                f"{os.path.join(save_dir, 'added_prediction')}.")


def main(argv=None):
    return run(predict_parser().parse_args(argv))
