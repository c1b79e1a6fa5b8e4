"""`tools/val.py --save_errors K`: the K val images the model gets most wrong, as pictures.

Each image is scored by its foreground IoU: the pixels predicted as their own foreground
class over the pixels that are foreground in the label or the prediction (every class but
the background counts as foreground; ignored pixels are excluded). The K lowest are drawn over the image:
true positives green, false positives red (foreground predicted on background or on
another class), false negatives blue (foreground missed). An image with no foreground in
its label nor in its prediction has nothing to get wrong and is never listed.
"""
import heapq
import json
import os

import cv2
import numpy as np

COLOURS_BGR = {"true_positive": (0, 200, 0), "false_positive": (0, 0, 255),
               "false_negative": (255, 64, 0)}
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


def overlay(image_bgr, pred, label, background_index=0, ignore_index=255):
    """The image with TP, FP and FN pixels tinted in `COLOURS_BGR`."""
    picture = image_bgr.astype(np.float32)
    masks = error_masks(pred, label, background_index, ignore_index)
    for mask, colour in zip(masks, COLOURS_BGR.values()):
        picture[mask] = (1 - _ALPHA) * picture[mask] + _ALPHA * np.array(colour, np.float32)
    return picture.round().astype(np.uint8)


class ErrorGallery:
    """Keeps the `count` worst-scoring val images; `write` draws them.

    Use as `evaluate(..., on_sample=gallery)`. Memory holds `count` prediction/label
    pairs at most.
    """

    def __init__(self, count, dataset, background_index=0):
        self.count = count
        self.dataset = dataset
        self.background_index = background_index
        self._worst = []  # max-heap on IoU via negation: (-iou, index, pred, label)

    def __call__(self, index, pred, label):
        pred = np.asarray(pred.numpy()).reshape(pred.shape[-2:]).astype(np.int64)
        label = np.asarray(label.numpy()).reshape(label.shape[-2:]).astype(np.int64)
        iou = foreground_iou(pred, label, self.background_index, self.dataset.ignore_index)
        if iou is None:
            return
        entry = (-iou, index, pred, label)
        if len(self._worst) < self.count:
            heapq.heappush(self._worst, entry)
        elif -iou > self._worst[0][0]:
            heapq.heapreplace(self._worst, entry)

    def write(self, save_dir):
        """Write `errors/rank_XX_<image>.png` and `errors/errors.json`; returns the paths."""
        directory = os.path.join(save_dir, "errors")
        os.makedirs(directory, exist_ok=True)
        listing, paths = [], []
        ranked = sorted(self._worst, key=lambda entry: (-entry[0], entry[1]))
        for rank, (negative_iou, index, pred, label) in enumerate(ranked, 1):
            image_path = self.dataset.file_list[index][0]
            image = cv2.imread(image_path, cv2.IMREAD_COLOR)
            if image.shape[:2] != pred.shape:
                image = cv2.resize(image, pred.shape[::-1], interpolation=cv2.INTER_LINEAR)
            name = f"rank_{rank:02d}_{os.path.splitext(os.path.basename(image_path))[0]}.png"
            path = os.path.join(directory, name)
            cv2.imwrite(path, overlay(image, pred, label, self.background_index,
                                      self.dataset.ignore_index))
            paths.append(path)
            listing.append({"rank": rank, "image": image_path, "overlay": name,
                            "foreground_iou": -negative_iou})
        with open(os.path.join(directory, "errors.json"), "w") as file:
            json.dump({"colours_bgr": COLOURS_BGR, "images": listing}, file, indent=1)
        return paths
