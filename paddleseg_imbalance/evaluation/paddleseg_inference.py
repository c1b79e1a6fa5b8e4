"""PaddleSeg's inference of one image, chosen by one options object.

`evaluate`, `tools/predict.py`'s multi-label writer and anything else that scores a model
run it through `infer_image`, so that the choice between `infer.inference` and
`infer.aug_inference` (sliding window, scales, flips) and the AMP context are made once.
"""
import contextlib
import dataclasses
from typing import Optional, Sequence, Union

import paddle
import paddle.nn.functional as F
from paddleseg.core import infer


@dataclasses.dataclass(frozen=True)
class InferenceOptions:
    """PaddleSeg's inference options, with PaddleSeg's defaults: the YAML `test_config`
    keys, the tools' flags (``--aug_eval``/``--aug_pred``, ``--is_slide``, ...) and the
    training AMP settings.

    Attributes:
        aug_eval: average the softmax over `scales` and flips (`infer.aug_inference`).
        scales, flip_horizontal, flip_vertical: the augmentations of `aug_eval`.
        is_slide, stride, crop_size: sliding-window inference.
        precision, amp_level: ``"fp16"`` runs inference under AMP at `amp_level`.
    """
    aug_eval: bool = False
    scales: Union[float, Sequence[float]] = 1.0
    flip_horizontal: bool = False
    flip_vertical: bool = False
    is_slide: bool = False
    stride: Optional[Sequence[int]] = None
    crop_size: Optional[Sequence[int]] = None
    precision: str = "fp32"
    amp_level: str = "O1"

    @classmethod
    def keys(cls):
        """The option names, as `test_config` may give them."""
        return {field.name for field in dataclasses.fields(cls)}


def _autocast(precision, amp_level):
    """PaddleSeg's AMP context for evaluation (fp16), or no context."""
    if precision != "fp16":
        return contextlib.nullcontext()
    return paddle.amp.auto_cast(level=amp_level, enable=True,
                                custom_white_list={"elementwise_add", "batch_norm",
                                                   "sync_batch_norm"},
                                custom_black_list={"bilinear_interp_v2"})


def infer_image(model, image, trans_info, options=InferenceOptions(), multilabel=False):
    """Run `model` on one batch-1 `image` tensor as PaddleSeg's evaluation does.

    Returns:
        (pred, logit): `logit` (1, C, H, W) at the label's size (`trans_info` undone);
        `pred` its argmax (1, 1, H, W), or with `multilabel` ``sigmoid(logit)`` in float32.
    """
    with _autocast(options.precision, options.amp_level):
        if options.aug_eval:
            pred, logit = infer.aug_inference(
                model, image, trans_info=trans_info, scales=options.scales,
                flip_horizontal=options.flip_horizontal, flip_vertical=options.flip_vertical,
                is_slide=options.is_slide, stride=options.stride, crop_size=options.crop_size)
        else:
            pred, logit = infer.inference(model, image, trans_info=trans_info,
                                          is_slide=options.is_slide, stride=options.stride,
                                          crop_size=options.crop_size)
    if multilabel:
        pred = F.sigmoid(logit.astype("float32"))
    return pred, logit
