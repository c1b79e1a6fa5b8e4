"""`tools/val.py --save_errors K`: the K val images the model gets most wrong, as pictures.

Each image is scored by its foreground IoU: the pixels predicted as their own foreground
class over the pixels that are foreground in the label or the prediction (every class but
the background counts as foreground; ignored pixels are excluded). The K lowest are drawn over the image:
true positives green, false positives red (foreground predicted on background or on
another class), false negatives blue (foreground missed). An image with no foreground in
its label nor in its prediction has nothing to get wrong and is never listed.

With ``rank_by="missed_objects"`` (`--save_errors_by missed_objects`) the images are ranked
by the number of label objects that `ObjectMetrics` matching misses (most first; images
missing none are not listed), and each missed object is outlined in yellow.
"""
import heapq
import json
import os

import cv2
import numpy as np

from paddleseg_imbalance.evaluation.object_metrics import image_objects, missed_outline

COLOURS_BGR = {"true_positive": (0, 200, 0), "false_positive": (0, 0, 255),
               "false_negative": (255, 64, 0), "missed_object_outline": (0, 255, 255)}
RANKINGS = ("foreground_iou", "missed_objects")
_ALPHA = 0.6


def error_masks(pred, label, background_index=0, ignore_index=255):
    """Boolean (TP, FP, FN) maps of foreground pixels for one (H, W) prediction/label pair."""
    valid = label != ignore_index
    pred_fg = (pred != background_index) & valid
    label_fg = (label != background_index) & valid
    true_positive = pred_fg & label_fg & (pred == label)
    false_positive = pred_fg & ~true_positive
    false_negative = label_fg & ~true_positive
    return true_positive, false_positive, false_negative


def foreground_iou(pred, label, background_index=0, ignore_index=255):
    """|TP| / |foreground in label or prediction|, or None when there is no foreground."""
    tp, fp, fn = error_masks(pred, label, background_index, ignore_index)
    union = (tp | fp | fn).sum()
    return None if union == 0 else float(tp.sum()) / float(union)


def overlay(image_bgr, pred, label, background_index=0, ignore_index=255, outline=None):
    """The image with TP, FP and FN pixels tinted in `COLOURS_BGR`, and the pixels of
    `outline` (boolean, or None) painted in the missed-object colour."""
    picture = image_bgr.astype(np.float32)
    masks = error_masks(pred, label, background_index, ignore_index)
    for mask, colour in zip(masks, COLOURS_BGR.values()):
        picture[mask] = (1 - _ALPHA) * picture[mask] + _ALPHA * np.array(colour, np.float32)
    if outline is not None:
        picture[outline] = COLOURS_BGR["missed_object_outline"]
    return picture.round().astype(np.uint8)


class ErrorGallery:
    """Keeps the `count` worst-scoring val images; `write` draws them.

    Use as `evaluate(..., on_sample=gallery)`. Memory holds `count` prediction/label
    pairs at most. `rank_by` is one of `RANKINGS`; `matching` the `ObjectMetrics`
    matching options (``connectivity``, ``match``, ``threshold``) for ``missed_objects``.
    """

    def __init__(self, count, dataset, background_index=0, rank_by="foreground_iou",
                 matching=None):
        self.count = count
        self.dataset = dataset
        self.background_index = background_index
        self.rank_by, self.matching = rank_by, dict(matching or {})
        self._worst = []  # min-heap on badness: (badness, index, pred, label)

    def _objects(self, pred, label):
        channels = [c for c in range(self.dataset.num_classes) if c != self.background_index]
        return image_objects(pred, label, channels, self.dataset.ignore_index,
                             **self.matching).values()

    def _badness(self, pred, label):
        """Higher is worse: the negated foreground IoU, or the missed objects; None when
        the image has nothing to show."""
        if self.rank_by == "missed_objects":
            missed = sum(int((~found.matched).sum()) for found in self._objects(pred, label))
            return missed or None
        iou = foreground_iou(pred, label, self.background_index, self.dataset.ignore_index)
        return None if iou is None else -iou

    def __call__(self, index, pred, label):
        pred = np.asarray(pred.numpy()).reshape(pred.shape[-2:]).astype(np.int64)
        label = np.asarray(label.numpy()).reshape(label.shape[-2:]).astype(np.int64)
        badness = self._badness(pred, label)
        if badness is None:
            return
        entry = (badness, -index, pred, label)  # of equal badness, the first image stays
        if len(self._worst) < self.count:
            heapq.heappush(self._worst, entry)
        elif entry > self._worst[0]:
            heapq.heapreplace(self._worst, entry)

    def write(self, save_dir):
        """Write `errors/rank_XX_<image>.png` and `errors/errors.json`; returns the paths."""
        directory = os.path.join(save_dir, "errors")
        os.makedirs(directory, exist_ok=True)
        listing, paths = [], []
        ranked = sorted(self._worst, key=lambda entry: (-entry[0], -entry[1]))
        for rank, (badness, negative_index, pred, label) in enumerate(ranked, 1):
            index = -negative_index
            image_path = self.dataset.file_list[index][0]
            image = cv2.imread(image_path, cv2.IMREAD_COLOR)
            if image.shape[:2] != pred.shape:
                image = cv2.resize(image, pred.shape[::-1], interpolation=cv2.INTER_LINEAR)
            name = f"rank_{rank:02d}_{os.path.splitext(os.path.basename(image_path))[0]}.png"
            path = os.path.join(directory, name)
            outline = (missed_outline(self._objects(pred, label))
                       if self.rank_by == "missed_objects" else None)
            cv2.imwrite(path, overlay(image, pred, label, self.background_index,
                                      self.dataset.ignore_index, outline))
            paths.append(path)
            score = ({"missed_objects": badness} if self.rank_by == "missed_objects"
                     else {"foreground_iou": -badness})
            listing.append({"rank": rank, "image": image_path, "overlay": name, **score})
        with open(os.path.join(directory, "errors.json"), "w") as file:
            json.dump({"colours_bgr": COLOURS_BGR, "images": listing}, file, indent=1)
        return paths
