"""`AddMultiLabelAuxiliaryCategory`: multi-label labels checked, with a background channel.

A multi-label model has one sigmoid output per label and, in PaddleSeg's recipe, one more
for "no label here" (the auxiliary background category, channel 0). So::

    num_classes = number of labels + 1

PaddleSeg develop's transform of this name adds the channel without checking anything: a
config with `num_classes` equal to the number of labels trains until `loss.backward()`
dies in a device-side `scatter` assertion, and an ordinary single-channel mask comes out
as an (H, W+1) array. This version reads every layout PaddleSeg uses (see
`paddleseg_imbalance.labels`), and raises a `ValueError` that says what was found and
how to fix it, on the first sample:

- the label fits no multi-label layout for its image's size (a strip whose width is not
  a multiple of the image width, a label of another image's size);
- a value is not 0, 1 or `ignore_index` (0/255 masks are read as binary, with one warning
  per process);
- `num_classes` is not the number of labels + 1 (a single-channel mask where several
  labels are expected is reported as not being multi-label data at all).

The functions `label_channels` and `check_label_count` are the same checks without the
background channel, for datasets that read multi-label data without this transform.
"""
import numpy as np
from paddleseg.cvlibs import manager

from paddleseg_imbalance.labels import multilabel_to_hwc
from paddleseg_imbalance.registry import register
from paddleseg_imbalance.transforms.warn_once import WarnOnce

# The name evaluation and prediction give the auxiliary channel 0.
BACKGROUND_NAME = "background"
# Labels travel through PaddleSeg's cv2-based transforms as uint8 arrays.
_LABEL_DTYPE = np.uint8
_MASK_VALUE = 255

warn_0_255_masks = WarnOnce(
    "Multi-label labels with values 0/255 are read as binary masks (255 = label set). "
    "A label holding only 0 and 255 is always read that way, even when 255 is "
    "ignore_index; if 255 marks ignored pixels in your 0/1 labels, set another "
    "ignore_index. Store labels as 0/1 to silence this warning.")


def _shape_text(shape):
    return "x".join(str(s) for s in shape)


def count_labels(label_shape, image_hw):
    """The number of labels C in a multi-label label of shape `label_shape` for an image of
    size `image_hw` (height, width): (H, W, C), (H, C*W) or (C*H, W); (H, W) is 1 label.

    Raises:
        ValueError: the shape fits none of these layouts.
    """
    height, width = (int(s) for s in image_hw)
    shape = tuple(int(s) for s in label_shape)
    expected = (f"multi-label labels for a {height}x{width} (HxW) image are ({height}, "
                f"C*{width}) or (C*{height}, {width}) strips, or ({height}, {width}, C) "
                "arrays, with C labels")
    if len(shape) == 3 and shape[:2] == (height, width):
        return shape[2]
    if len(shape) == 2:
        label_height, label_width = shape
        if label_height == height and label_width % width == 0:
            return label_width // width
        if label_width == width and label_height % height == 0:
            return label_height // height
        if label_height == height:
            raise ValueError(f"the label is {_shape_text(shape)} (HxW) and its image "
                             f"{height}x{width}: the strip width {label_width} is not a "
                             f"multiple of the image width {width}; {expected}.")
        if label_width == width:
            raise ValueError(f"the label is {_shape_text(shape)} (HxW) and its image "
                             f"{height}x{width}: the strip height {label_height} is not a "
                             f"multiple of the image height {height}; {expected}.")
    raise ValueError(f"the label has shape {shape} and its image is {height}x{width} "
                     f"(HxW): image and label sizes do not agree; {expected}. Check that "
                     "the file list pairs each image with its own label, and put "
                     "AddMultiLabelAuxiliaryCategory first in the transforms.")


def check_label_count(num_labels, num_classes, auxiliary, label_shape):
    """Raise `ValueError` unless `num_classes` fits `num_labels` labels: labels + 1 with the
    auxiliary background channel (`auxiliary`), else one channel per label."""
    expected = num_classes - 1 if auxiliary else num_classes
    if num_labels == expected:
        return
    if num_labels == 1 and len(label_shape) == 2:
        raise ValueError(
            f"the label is a single-channel {_shape_text(label_shape)} mask the size of its "
            f"image, so it holds 1 label, but num_classes {num_classes} means {expected} "
            "labels" + (" plus the background channel" if auxiliary else "") + ". This is "
            "not multi-label data: a class map (one class per pixel) belongs to a plain "
            "`Dataset` without AddMultiLabelAuxiliaryCategory. Multi-label labels hold one "
            "0/1 mask per label: label c in columns [c*W, (c+1)*W) of an (H, C*W) strip "
            "PNG, or an (H, W, C) .npy array.")
    if auxiliary:
        raise ValueError(
            f"num_classes is {num_classes} but the label holds {num_labels} label(s), and "
            "AddMultiLabelAuxiliaryCategory adds a background channel: the model needs "
            f"{num_labels} + 1 outputs: set num_classes: {num_labels + 1} for {num_labels} "
            "labels plus the background channel (model.num_classes, "
            "train_dataset.num_classes and val_dataset.num_classes).")
    raise ValueError(
        f"num_classes is {num_classes} but the label holds {num_labels} label(s); without "
        "AddMultiLabelAuxiliaryCategory the model outputs one channel per label. Set "
        f"num_classes: {num_labels} (model.num_classes, train_dataset.num_classes and "
        "val_dataset.num_classes), or add AddMultiLabelAuxiliaryCategory first in the "
        f"transforms and set num_classes: {num_labels + 1}.")


def _label_values(label):
    if label.dtype == np.uint8:
        return np.flatnonzero(np.bincount(label.ravel(), minlength=256))
    return np.unique(label)


def is_0_255_mask(values, ignore_index):
    """Whether multi-label label `values` are 0/255 masks, read as 0/1 (255 = label set)."""
    return _MASK_VALUE in values and 1 not in values and values <= {0, _MASK_VALUE,
                                                                     ignore_index}


def _binary(label, ignore_index):
    """`label` as uint8 0/1/`ignore_index`; 0/255 masks become 0/1 (warned once)."""
    values = set(_label_values(label).tolist())
    if is_0_255_mask(values, ignore_index):
        warn_0_255_masks()
        return np.where(label == _MASK_VALUE, 1, label).astype(_LABEL_DTYPE)
    unexpected = sorted(values - {0, 1, ignore_index})
    if unexpected:
        shown = ", ".join(str(v) for v in unexpected[:8]) + (", ..." if len(unexpected) > 8
                                                             else "")
        raise ValueError(
            f"the label holds the values {shown}, which are neither 0/1 nor ignore_index "
            f"{ignore_index}. Multi-label labels hold one 0/1 mask per label (0/255 masks "
            "are read as 0/1). A class map with values 0..K-1 is single-label data, not "
            "multi-label: use a plain `Dataset` without AddMultiLabelAuxiliaryCategory.")
    return label.astype(_LABEL_DTYPE)


def label_channels(label, image_hw, ignore_index=255, num_classes=None, auxiliary=True):
    """A multi-label label in any PaddleSeg layout as (H, W, C) uint8 of 0, 1 and
    `ignore_index`, checked.

    Args:
        label: (H, W, C), (H, C*W) or (C*H, W) array (see `count_labels`).
        image_hw: (height, width) of the label's image.
        ignore_index: label value of ignored pixels.
        num_classes: the config's num_classes, checked against C (None: not checked).
        auxiliary: whether a background channel is added (num_classes = C + 1).

    Raises:
        ValueError: layout, values or num_classes are wrong; the message says the fix.
    """
    label = np.asarray(label)
    num_labels = count_labels(label.shape, image_hw)
    if num_classes is not None:
        check_label_count(num_labels, num_classes, auxiliary, label.shape)
    return _binary(multilabel_to_hwc(label, num_labels, image_hw), ignore_index)


def _label_image_hw(data):
    """(H, W) the label must have. A label transformed with the image ('label' in
    `gt_fields`, training) has the image's current size; otherwise (PaddleSeg's val mode)
    the label is left alone and has the size the image had when read, which `trans_info`
    records before any resize or padding."""
    if "label" in data.get("gt_fields", []) or not data.get("trans_info"):
        return data["img"].shape[:2]
    return tuple(data["trans_info"][0][1])


@register(manager.TRANSFORMS)
class AddMultiLabelAuxiliaryCategory:
    """Turn a multi-label label into (H, W, C + 1): channel 0 "no label", then the C labels.

    Put it first in the train and val transforms. It reads the label in any PaddleSeg
    layout (an (H, C*W) or (C*H, W) strip as PaddleSeg's multi-label tools write it, or an
    (H, W, C) array, e.g. from an .npy file), checks it (see the module docstring), and
    prepends the background channel::

        background = 1 where no label is set, 0 where one is,
                     ignore_index where no label is set and some label is ignored

    (where a label is set, background is 0 whatever the others hold). Values stay 0, 1 and
    `ignore_index` in uint8, so PaddleSeg's geometric transforms with nearest-neighbour
    interpolation keep the labels binary. A sample without a label (prediction) passes
    unchanged.

    OpenCV limit: PaddleSeg's padding and rotation transforms (Padding, RandomPaddingCrop
    when it pads, RandomRotation, RandomAffine) give a multi-channel label their
    `label_padding_value` in channel 0 only, and fail with more than 4 channels.
    `MultiLabelDataset` runs them on each channel separately; with another dataset, keep
    the crop no larger than the images and leave out rotation.

    Args:
        num_classes: the model's number of outputs, labels + 1. None skips that check; the
            tools fill it in from the dataset's `num_classes` when the YAML leaves it out.
        ignore_index: label value of ignored pixels, 2..255 (labels are uint8).

    Raises:
        ValueError: on a sample whose label is not multi-label data, does not match its
            image, holds values other than 0/1/ignore, or does not fit `num_classes`.
    """

    def __init__(self, num_classes=None, ignore_index=255):
        if num_classes is not None and (int(num_classes) != num_classes or num_classes < 2):
            raise ValueError(f"AddMultiLabelAuxiliaryCategory: num_classes is {num_classes!r}; "
                             "it is the number of labels + 1 (the background channel), at "
                             "least 2.")
        if int(ignore_index) != ignore_index or not 2 <= ignore_index <= 255:
            raise ValueError(f"AddMultiLabelAuxiliaryCategory: ignore_index is "
                             f"{ignore_index!r}; multi-label labels are uint8 with 0/1 "
                             "values, so set ignore_index in 2..255 (PaddleSeg's default "
                             "is 255).")
        self.num_classes = None if num_classes is None else int(num_classes)
        self.ignore_index = int(ignore_index)

    def __call__(self, data):
        if data.get("label") is None:
            return data
        labels = label_channels(data["label"], _label_image_hw(data), self.ignore_index,
                                self.num_classes, auxiliary=True)
        is_set = (labels == 1).any(axis=-1)
        ignored = (labels == self.ignore_index).any(axis=-1)
        background = np.where(is_set, 0, np.where(ignored, self.ignore_index, 1))
        data["label"] = np.concatenate(
            [background[..., np.newaxis].astype(_LABEL_DTYPE), labels], axis=-1)
        return data
