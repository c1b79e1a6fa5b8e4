"""`CopyPaste`: paste rare-class regions cut from earlier samples into the current one."""
import collections

import cv2
import numpy as np
from paddleseg.cvlibs import manager

from paddleseg_imbalance.registry import register
from paddleseg_imbalance.transforms.rare_classes import (check_classes, label_pixel_counts,
                                                         rare_classes_present)

# One connected region of one class: its bounding-box image crop and its pixel mask.
Region = collections.namedtuple("Region", ["class_id", "image", "mask"])


@register(manager.TRANSFORMS)
class CopyPaste:
    """Paste connected regions of rare classes from earlier samples into this one.

    Class-aware copy-paste for semantic segmentation, after Ghiasi et al., "Simple
    Copy-Paste is a Strong Data Augmentation Method for Instance Segmentation",
    CVPR 2021, with connected components of a rare class in place of instances:

    1. Harvest: in the current sample, find the connected components (8-connected,
       `cv2.connectedComponentsWithStats`) of each rare class present; keep up to
       `max_pastes` of them, chosen at random (so the bank holds regions of at least
       bank_size / max_pastes samples), each as a copy of its bounding box of the image
       and its pixel mask. They enter a FIFO bank of at most `bank_size` regions. Only
       class pixels are ever taken: ignored and padded pixels are never in a mask.
    2. Paste (with probability `prob`, once the bank holds regions from earlier samples):
       pick 1 to `max_pastes` regions of the bank at random, scale each by a factor drawn
       uniformly from `scale_range` (shrunk if needed to fit the image), place it at a
       uniformly random position, and blend it in with alpha
       a = GaussianBlur(mask, blend_sigma) * mask, so edges fade inwards and nothing
       outside the mask changes. At every mask pixel whose label is not `ignore_index`
       the label becomes the region's class and the image a * region + (1 - a) * image;
       every other pixel, and every pixel labelled `ignore_index`, is left as it was.
    Regions are harvested before pasting, so pasted regions are not harvested again.

    Regions smaller than about 3 * blend_sigma pixels across are pasted semi-transparent
    (their centre alpha is below 1); `blend_sigma: 0` pastes them opaque.

    Place CopyPaste after the crop or resize (regions are then at training scale and no
    larger than the crop) and before photometric transforms and `Normalize`: the bank
    stores raw pixel values, and pasted regions should be distorted like their new
    surroundings. Works on uint8 and float images, (H, W) or (H, W, C); single-label
    class maps (H, W) only. Pastes only in training samples ('label' in `gt_fields`),
    and no other gt field may be present (it would not follow the paste).

    The bank lives in the transform object: each data-loader worker has its own, filled
    from the samples that worker has seen, and emptied when workers are restarted (every
    pass over a loader without `persistent_workers`). Memory is at most `bank_size`
    regions, each no larger than the samples it was cut from. Randomness comes from
    `np.random`, as in PaddleSeg's transforms.

    Args:
        prob: probability of pasting into a sample, in [0, 1].
        classes: "auto" (every class except the most frequent one of each label, see
            `rare_classes`) or a list of class indices.
        max_pastes: most regions pasted into one sample, and harvested from one, >= 1.
        bank_size: most regions kept, >= 1.
        scale_range: (low, high) of the uniform scale factor, 0 < low <= high.
        blend_sigma: standard deviation in pixels of the Gaussian that softens the mask
            edges, >= 0 (0: hard edges).
        ignore_index: label value of ignored pixels; never pasted over, never harvested.
    """

    def __init__(self, prob=0.5, classes="auto", max_pastes=3, bank_size=32,
                 scale_range=(0.8, 1.25), blend_sigma=1.0, ignore_index=255):
        if not 0 <= prob <= 1:
            raise ValueError(f"CopyPaste: prob is {prob}; it is a probability, set it in [0, 1].")
        for name, value in (("max_pastes", max_pastes), ("bank_size", bank_size)):
            if int(value) != value or value < 1:
                raise ValueError(f"CopyPaste: {name} is {value}; set a whole number >= 1.")
        if (not isinstance(scale_range, (list, tuple)) or len(scale_range) != 2
                or not 0 < scale_range[0] <= scale_range[1]):
            raise ValueError(f"CopyPaste: scale_range is {scale_range!r}; give [low, high] "
                             "with 0 < low <= high, e.g. [0.8, 1.25].")
        if not blend_sigma >= 0:
            raise ValueError(f"CopyPaste: blend_sigma is {blend_sigma}; set it >= 0 "
                             "(0: hard edges).")
        self.prob = float(prob)
        self.classes = check_classes(classes, "CopyPaste")
        self.max_pastes = int(max_pastes)
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.blend_sigma = float(blend_sigma)
        self.ignore_index = ignore_index
        self.bank = collections.deque(maxlen=int(bank_size))

    def __call__(self, data):
        fields = list(data.get("gt_fields", []))
        if "label" not in fields:
            return data
        if fields != ["label"]:
            raise ValueError(f"CopyPaste: gt_fields are {fields}; CopyPaste updates only "
                             "'label', so the others would no longer match the image. "
                             "Remove CopyPaste or the extra gt fields.")
        image, label = data["img"], data["label"]
        if label.ndim != 2:
            raise ValueError(f"CopyPaste: the label has shape {label.shape}; CopyPaste "
                             "supports single-label class maps (H, W). Multi-label labels "
                             "are not supported: remove CopyPaste from this config.")
        if label.shape != image.shape[:2]:
            raise ValueError(f"CopyPaste: the label is {label.shape}, the image "
                             f"{image.shape[:2]}; they must have the same height and width.")
        harvested = self._harvest(image, label)
        if self.bank and np.random.rand() < self.prob:
            data["img"], data["label"] = self._paste(image, label)
        self.bank.extend(harvested)
        return data

    def _harvest(self, image, label):
        """Up to `max_pastes` regions of rare classes of this sample, as copies."""
        counts = label_pixel_counts(label, self.ignore_index)
        components = []
        for class_id in rare_classes_present(counts, self.classes):
            mask = (label == class_id).astype(np.uint8)
            count, component_map, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
            for component in range(1, count):
                components.append((class_id, component_map, component, stats[component]))
        if not components:
            return []
        picks = np.random.choice(len(components), min(self.max_pastes, len(components)),
                                 replace=False)
        regions = []
        for pick in picks:
            class_id, component_map, component, stat = components[pick]
            left, top, width, height = (int(v) for v in stat[:4])
            box = (slice(top, top + height), slice(left, left + width))
            # Copies, so that the bank does not keep whole samples alive through views.
            regions.append(Region(class_id, image[box].copy(), component_map[box] == component))
        return regions

    def _paste(self, image, label):
        image, label = image.copy(), label.copy()
        count = np.random.randint(1, self.max_pastes + 1)
        for pick in np.random.choice(len(self.bank), min(count, len(self.bank)), replace=False):
            region = self.bank[pick]
            if region.image.shape[2:] != image.shape[2:]:
                continue  # a sample with another channel count; nothing to blend
            self._paste_region(image, label, region)
        return image, label

    def _paste_region(self, image, label, region):
        height, width = label.shape
        region_height, region_width = region.mask.shape
        scale = min(np.random.uniform(*self.scale_range),
                    height / region_height, width / region_width)
        size = (max(1, round(region_width * scale)), max(1, round(region_height * scale)))
        # Resize with premultiplied alpha: interpolating image * mask and mask, then
        # dividing, so the box's pixels outside the mask (background, ignored or padded
        # pixels of the source) never bleed into the region's edges.
        weight = region.mask.astype(np.float32)
        image_weight = weight[..., None] if region.image.ndim == 3 else weight
        premultiplied = cv2.resize(region.image.astype(np.float32) * image_weight, size,
                                   interpolation=cv2.INTER_LINEAR)
        weight = cv2.resize(weight, size, interpolation=cv2.INTER_LINEAR)
        mask = (weight >= 0.5).astype(np.float32)
        if not mask.any():
            return  # shrunk below one pixel
        if premultiplied.ndim < image.ndim:  # cv2 drops a trailing channel axis of length 1
            premultiplied = premultiplied[..., None]
        divisor = np.maximum(weight, 0.5)
        patch = premultiplied / (divisor[..., None] if image.ndim == 3 else divisor)
        alpha = mask
        if self.blend_sigma > 0:
            # Zeros around the box, so a mask touching the box edge fades there too.
            alpha = cv2.GaussianBlur(mask, (0, 0), self.blend_sigma,
                                     borderType=cv2.BORDER_CONSTANT) * mask
        top = np.random.randint(height - size[1] + 1)
        left = np.random.randint(width - size[0] + 1)
        box = (slice(top, top + size[1]), slice(left, left + size[0]))
        target_image, target_label = image[box], label[box]
        write = (mask > 0) & (target_label != self.ignore_index)
        if image.ndim == 3:
            alpha = alpha[..., None]
        blended = alpha * patch + (1 - alpha) * target_image.astype(np.float32)
        if np.issubdtype(image.dtype, np.integer):
            info = np.iinfo(image.dtype)
            blended = np.clip(np.rint(blended), info.min, info.max)
        target_image[write] = blended[write].astype(image.dtype)
        target_label[write] = region.class_id
