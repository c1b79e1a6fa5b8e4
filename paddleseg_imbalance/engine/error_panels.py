"""The panels of `tools/val.py --save_errors`: image | label | prediction | errors per row.

One row per scored class map: a single-label image has one row (all classes), a
multi-label image one row per label (that label's 0/1 mask). Tiles are enlarged with
nearest-neighbour sampling to at least `MIN_SIDE` pixels on the short side (so a 64 px
demo tile shows its pixels), or shrunk to `MAX_SIDE` on the long side where that keeps the
short side at `MIN_SIDE`. A caption above (image name, IoU, missed objects) and a legend
below make each picture readable on its own. Drawn with OpenCV: a panel takes a few ms.
"""
import dataclasses

import cv2
import numpy as np

from paddleseg_imbalance.evaluation.object_metrics import missed_outline

MIN_SIDE, MAX_SIDE = 256, 1024
COLUMNS = ("image", "label", "prediction", "errors")
BACKGROUND_BGR, IGNORE_BGR = (0, 0, 0), (128, 128, 128)
# Class colours (BGR) for the label and prediction tiles; class k > 0 takes entry k - 1.
CLASS_BGR = [(255, 255, 255), (0, 165, 255), (255, 0, 255), (255, 255, 0), (180, 105, 255),
             (0, 128, 128), (128, 0, 128), (255, 128, 128), (128, 255, 128), (0, 215, 255)]
_GAP, _FONT, _TEXT_SCALE, _LINE = 6, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 20


@dataclasses.dataclass
class PanelRow:
    """One row: a title, a (H, W) prediction and label of class indices (multi-label: 0/1
    of one label, ignored pixels as `ignore_index`) and the `ObjectMatch`es whose missed
    objects are outlined (empty: none)."""
    title: str
    pred: np.ndarray
    label: np.ndarray
    objects: list = dataclasses.field(default_factory=list)


def tile_indices(height, width):
    """Row and column source indices of the enlarged (or shrunk) tile (module docstring)."""
    scale = max(MIN_SIDE / min(height, width), 1.0)
    if scale == 1.0 and max(height, width) > MAX_SIDE:
        scale = max(MAX_SIDE / max(height, width), MIN_SIDE / min(height, width))
    elif scale > 1.0:
        scale = float(np.ceil(scale))  # whole pixels: every source pixel the same size
    rows = (np.arange(round(height * scale)) / scale).astype(np.int64)
    cols = (np.arange(round(width * scale)) / scale).astype(np.int64)
    return rows, cols


def class_colour(index, background_index=0):
    """The colour of class `index` in the label and prediction tiles."""
    if index == background_index:
        return BACKGROUND_BGR
    return CLASS_BGR[(index - 1) % len(CLASS_BGR)]


def colour_map(classes, background_index, ignore_index):
    """A (H, W, 3) uint8 picture of a class map: background black, ignored grey."""
    picture = np.zeros(classes.shape + (3,), np.uint8)
    for value in np.unique(classes):
        colour = (IGNORE_BGR if value == ignore_index
                  else class_colour(int(value), background_index))
        picture[classes == value] = colour
    return picture


def _text_lines(text, width, scale=_TEXT_SCALE):
    """`text` cut at spaces into lines that fit `width` pixels."""
    lines, line = [], ""
    for word in text.split(" "):
        candidate = f"{line} {word}".strip()
        if line and cv2.getTextSize(candidate, _FONT, scale, 1)[0][0] > width - 2 * _GAP:
            lines.append(line)
            candidate = word
        line = candidate
    return lines + [line]


def _text_block(text, width, bold=False):
    lines = _text_lines(text, width)
    block = np.full((len(lines) * _LINE + _GAP, width, 3), 255, np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(block, line, (_GAP, (i + 1) * _LINE - 4), _FONT, _TEXT_SCALE, (0, 0, 0),
                    2 if bold else 1, cv2.LINE_AA)
    return block


def _legend(entries, width):
    """Colour swatches with names, wrapped to `width`: entries are (name, BGR)."""
    rows, row, x = [], [], _GAP
    for name, colour in entries:
        step = 18 + cv2.getTextSize(name, _FONT, _TEXT_SCALE, 1)[0][0] + 3 * _GAP
        if row and x + step > width:
            rows.append(row)
            row, x = [], _GAP
        row.append((x, name, colour))
        x += step
    rows.append(row)
    block = np.full((len(rows) * _LINE + _GAP, width, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        top = i * _LINE + 4
        for x, name, colour in row:
            cv2.rectangle(block, (x, top), (x + 14, top + 14), colour, -1)
            cv2.rectangle(block, (x, top), (x + 14, top + 14), (0, 0, 0), 1)
            cv2.putText(block, name, (x + 18 + _GAP // 2, top + 12), _FONT, _TEXT_SCALE,
                        (0, 0, 0), 1, cv2.LINE_AA)
    return block


def _hstack(tiles):
    gap = np.full((tiles[0].shape[0], _GAP, 3), 255, np.uint8)
    parts = [tiles[0]]
    for tile in tiles[1:]:
        parts += [gap, tile]
    return np.concatenate(parts, axis=1)


def draw_panel(image_bgr, rows, caption, legend, overlay_fn, background_index=0,
               ignore_index=255):
    """The panel of one image (uint8 BGR).

    Args:
        image_bgr: (H, W, 3) uint8, the size of the rows' maps.
        rows: `PanelRow`s.
        caption: the text above the tiles.
        legend: (name, BGR) entries of the legend below the tiles.
        overlay_fn: ``overlay_fn(image, pred, label, outline)``, the errors tile.
    """
    rows_at, cols_at = tile_indices(*image_bgr.shape[:2])
    image = image_bgr[rows_at][:, cols_at]
    tile_width = len(cols_at)
    header = _hstack([_text_block(name, tile_width) for name in COLUMNS])
    width = header.shape[1]
    parts = [_text_block(caption, width, bold=True), header]
    for row in rows:
        pred, label = row.pred[rows_at][:, cols_at], row.label[rows_at][:, cols_at]
        enlarged = [dataclasses.replace(found, label_ids=found.label_ids[rows_at][:, cols_at])
                    for found in row.objects]
        outline = missed_outline(enlarged) if enlarged else None
        if row.title:
            parts.append(_text_block(row.title, width))
        parts.append(_hstack([image, colour_map(label, background_index, ignore_index),
                              colour_map(pred, background_index, ignore_index),
                              overlay_fn(image, pred, label, outline)]))
        parts.append(np.full((_GAP, width, 3), 255, np.uint8))
    parts.append(_legend(legend, width))
    return np.concatenate(parts, axis=0)
