"""`RareClassCrop`: a random crop that, most of the time, contains a rare class."""
import numpy as np
from paddleseg.cvlibs import manager

from paddleseg_imbalance.registry import register
from paddleseg_imbalance.transforms.rare_classes import (check_classes, label_pixel_counts,
                                                         rare_classes_present)


@register(manager.TRANSFORMS)
class RareClassCrop:
    """Crop a window that contains a rare class with probability `prob`, else anywhere.

    A drop-in for PaddleSeg's `RandomPaddingCrop` on imbalanced data, where a plain random
    crop of a large image often holds background only. Guided (class-balanced) cropping as
    in MONAI's `RandCropByLabelClasses` and nnU-Net's foreground oversampling:

    1. Pad the image (with `im_padding_value`) and every gt field (with
       `label_padding_value`, the ignore value) at the bottom and right up to the crop
       size, as RandomPaddingCrop does.
    2. With probability `prob`, and if the label holds a rare class: pick one rare class
       present in the label uniformly, one of its pixels uniformly, and a window of the
       crop size at a uniformly random offset that contains that pixel, shifted to lie
       inside the image. Otherwise: a window at a uniformly random position.
    3. With `cat_max_ratio < 1`, reject a window in which one class takes that share or
       more of the non-ignored pixels (or that holds fewer than 2 classes), and draw
       again (step 2, same mode), at most `max_tries` windows. As in mmsegmentation's
       RandomCrop, but every window is checked, the last one too, and when none passes
       the window with the smallest largest-class share is kept.
    4. Crop the image and every key in `gt_fields` with the same window.

    Which classes are rare (`classes`): see `rare_classes` — "auto" means every class
    except the most frequent one in this label (for multi-label (H, W, C) labels: every
    channel except `skip_channels`); the tools may set an explicit list from dataset
    statistics. A pixel has a class in a class map when it equals it, in a multi-label
    label when that channel is 1.

    Randomness comes from `np.random`, like PaddleSeg's transforms, so PaddleSeg's
    `worker_init_fn` and `paddleseg.utils.set_seed` seed it.

    Args:
        crop_size: (width, height) of the crop, as in PaddleSeg.
        classes: "auto" or a list of class indices (channel indices for multi-label).
        prob: probability of a rare-class window, in [0, 1].
        cat_max_ratio: the share one class must stay below in a window, in (0, 1]; 1 turns
            the check off. Class maps only.
        ignore_index: label value of ignored pixels; they are no class.
        im_padding_value: value of padded image pixels.
        label_padding_value: value of padded label pixels (keep it `ignore_index`).
        max_tries: windows drawn at most for the `cat_max_ratio` check, >= 1.
        skip_channels: channels of a multi-label (H, W, C) label that "auto" never
            treats as rare: the auxiliary background channel 0 that
            AddMultiLabelAuxiliaryCategory adds. Use [] when RareClassCrop comes before
            AddMultiLabelAuxiliaryCategory or there is no auxiliary channel.
    """

    def __init__(self, crop_size=(512, 512), classes="auto", prob=0.8, cat_max_ratio=1.0,
                 ignore_index=255, im_padding_value=127.5, label_padding_value=255,
                 max_tries=10, skip_channels=(0,)):
        if (not isinstance(crop_size, (list, tuple)) or len(crop_size) != 2
                or not all(isinstance(s, (int, np.integer)) and s > 0 for s in crop_size)):
            raise ValueError(f"RareClassCrop: crop_size is {crop_size!r}; give [width, height] "
                             "in pixels, e.g. [512, 512].")
        if not 0 <= prob <= 1:
            raise ValueError(f"RareClassCrop: prob is {prob}; it is a probability, set it "
                             "in [0, 1].")
        if not 0 < cat_max_ratio <= 1:
            raise ValueError(f"RareClassCrop: cat_max_ratio is {cat_max_ratio}; it is a "
                             "share of the window, set it in (0, 1] (1 turns it off).")
        if int(max_tries) != max_tries or max_tries < 1:
            raise ValueError(f"RareClassCrop: max_tries is {max_tries}; set a whole "
                             "number >= 1.")
        self.crop_width, self.crop_height = int(crop_size[0]), int(crop_size[1])
        self.classes = check_classes(classes, "RareClassCrop")
        self.prob = float(prob)
        self.cat_max_ratio = float(cat_max_ratio)
        self.ignore_index = ignore_index
        self.im_padding_value = im_padding_value
        self.label_padding_value = label_padding_value
        self.max_tries = int(max_tries)
        self.skip_channels = tuple(int(c) for c in skip_channels)

    def __call__(self, data):
        fields = list(data.get("gt_fields", []))
        for key in fields:
            if data[key].shape[:2] != data["img"].shape[:2]:
                raise ValueError(
                    f"RareClassCrop: '{key}' has height and width {data[key].shape[:2]}, "
                    f"the image {data['img'].shape[:2]}; they must match before cropping "
                    "(for PaddleSeg's multi-label strips, convert the label to (H, W, C) "
                    "first, e.g. with AddMultiLabelAuxiliaryCategory).")
        data["img"] = self._pad(data["img"], self.im_padding_value)
        for key in fields:
            data[key] = self._pad(data[key], self.label_padding_value)
        label = data["label"] if "label" in fields else None
        if label is not None and label.ndim == 3 and self.cat_max_ratio < 1:
            raise ValueError("RareClassCrop: cat_max_ratio < 1 needs a class map, the label "
                             f"has shape {label.shape}; in a multi-label label one pixel may "
                             "hold several classes, so a class share is undefined. Set "
                             "cat_max_ratio: 1.0.")
        top, left = self._choose_window(data["img"].shape[:2], label)
        rows = slice(top, top + self.crop_height)
        columns = slice(left, left + self.crop_width)
        data["img"] = data["img"][rows, columns]
        for key in fields:
            data[key] = data[key][rows, columns]
        return data

    def _pad(self, array, value):
        pad_height = max(self.crop_height - array.shape[0], 0)
        pad_width = max(self.crop_width - array.shape[1], 0)
        if pad_height == 0 and pad_width == 0:
            return array
        padding = [(0, pad_height), (0, pad_width)] + [(0, 0)] * (array.ndim - 2)
        return np.pad(array, padding, mode="constant", constant_values=value)

    def _choose_window(self, shape, label):
        """(top, left) of the window in an image of `shape`, by steps 2 and 3 of the class doc."""
        targets = self._rare_pixels(label) if np.random.rand() < self.prob else None
        checked = label is not None and self.cat_max_ratio < 1
        best, best_share = None, np.inf
        for _ in range(self.max_tries if checked else 1):
            window = self._draw_window(shape, targets)
            if not checked:
                return window
            share = self._largest_class_share(label, window)
            if best is None or share < best_share:
                best, best_share = window, share
            if share < self.cat_max_ratio:
                break
        return best

    def _rare_pixels(self, label):
        """(rows, columns) of the pixels of one rare class picked uniformly; None if none."""
        if label is None:
            return None
        multilabel = label.ndim == 3
        counts = label_pixel_counts(label, self.ignore_index)
        rare = rare_classes_present(counts, self.classes, self.skip_channels, multilabel)
        if not rare:
            return None
        chosen = rare[np.random.randint(len(rare))]
        return np.nonzero(label[..., chosen] == 1 if multilabel else label == chosen)

    def _draw_window(self, shape, targets):
        height, width = shape
        if targets is None:
            return (np.random.randint(height - self.crop_height + 1),
                    np.random.randint(width - self.crop_width + 1))
        pick = np.random.randint(len(targets[0]))
        row, column = int(targets[0][pick]), int(targets[1][pick])
        # A window holding (row, column) starts at row - crop_height + 1 ... row; shifting
        # it into the image keeps the pixel inside because the window fits the image.
        top = row - np.random.randint(self.crop_height)
        left = column - np.random.randint(self.crop_width)
        return (min(max(top, 0), height - self.crop_height),
                min(max(left, 0), width - self.crop_width))

    def _largest_class_share(self, label, window):
        """The largest class's share of the window's non-ignored pixels (inf: < 2 classes)."""
        top, left = window
        counts = label_pixel_counts(
            label[top:top + self.crop_height, left:left + self.crop_width], self.ignore_index)
        counts = counts[counts > 0]
        return counts.max() / counts.sum() if len(counts) > 1 else np.inf
