"""The error pictures of `tools/val.py --save_errors`: masks and scores by hand."""
import numpy as np

from paddleseg_imbalance.engine.error_gallery import COLOURS_BGR, error_masks, foreground_iou
from paddleseg_imbalance.engine.error_gallery import overlay

LABEL = np.array([[0, 1, 1, 255],
                  [0, 2, 0, 0]])
PRED = np.array([[1, 1, 0, 1],
                 [0, 1, 0, 0]])


def test_masks_by_hand():
    tp, fp, fn = error_masks(PRED, LABEL)
    np.testing.assert_array_equal(tp, [[0, 1, 0, 0], [0, 0, 0, 0]])
    # (0,0): fg on background; (1,1): class 1 on class 2; (0,3) is ignored.
    np.testing.assert_array_equal(fp, [[1, 0, 0, 0], [0, 1, 0, 0]])
    # (0,2) missed; (1,1) labelled 2 but predicted 1.
    np.testing.assert_array_equal(fn, [[0, 0, 1, 0], [0, 1, 0, 0]])
    assert foreground_iou(PRED, LABEL) == 1 / (1 + 2 + 2 - 1)  # pixel (1,1) counted once


def test_no_foreground_has_no_score():
    zeros = np.zeros((2, 2), int)
    assert foreground_iou(zeros, zeros) is None


def test_overlay_tints_only_error_pixels():
    image = np.full((2, 4, 3), 100, np.uint8)
    picture = overlay(image, PRED, LABEL)
    untouched = ~np.any(error_masks(PRED, LABEL), axis=0)
    np.testing.assert_array_equal(picture[untouched], image[untouched])
    tinted = 0.4 * 100 + 0.6 * np.array(COLOURS_BGR["true_positive"])
    np.testing.assert_array_equal(picture[0, 1], tinted.round())
