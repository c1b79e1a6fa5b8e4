"""The embedded demo datasets: thin roads and small buildings on textured ground, or cracks.

`write_demo_dataset` (and `paddleseg-imbalance demo-data DIR`) writes two PaddleSeg-format
datasets built from the same synthetic aerial-style images, about 2 % of whose pixels are
foreground. A model that predicts background everywhere scores 98 % pixel accuracy on them,
yet the foreground is learnable from local colour and shape: that is the point of the demo.
``kind="cracks"`` writes a second kind of thin structure instead: dark, jagged, branching
crack-like curves 1-5 px wide (about 1.5 % of the pixels) on a grainy pavement texture,
so that a recipe for thin foreground can be checked on more than one kind of data.
``kind="multilabel_nested"`` writes a second multi-label layout, blob-like and nested:
fenced ``parcel`` lots (about 9 % of the pixels) holding ``building`` roofs (about 2 %),
some with ``solar`` panels (about 0.35 %): a solar pixel is also building and parcel, a
building pixel also parcel, so that a multi-label recipe is checked on labels that contain
one another rather than on thin ones.

Layout under ``root`` (``S`` is ``size``)::

    root/binary/                    PaddleSeg `Dataset`, num_classes 2
        images/train_0000.png ...   RGB uint8, S x S
        labels/train_0000.png ...   single channel uint8, 0 background, 1 foreground
        train.txt, val.txt          lines "images/x.png labels/x.png", relative to root/binary
        dataset.json, README.txt    classes, measured pixel shares, seed, size
    root/multilabel/                PaddleSeg multi-label layout, 2 labels: road, built_up
        images/...                  the same images as binary/
        labels/...                  single channel uint8, S x 2S, values 0/1: label c
                                    (0 road, 1 built_up) fills columns [c*S, (c+1)*S)
        train.txt, val.txt, dataset.json, README.txt
    root/cracks/                    only with kind "cracks": the binary layout, other images,
        images/, labels/ ...        labels 0 background, 1 crack
        train.txt, val.txt, dataset.json, README.txt
    root/multilabel_nested/         only with kind "multilabel_nested": the multi-label
        images/, labels/ ...        layout, other images, S x 3S strips of 3 labels
        train.txt, val.txt, ...     (0 parcel, 1 building, 2 solar)

``road`` marks asphalt and dirt roads; ``built_up`` marks buildings and the paved band
(road surface and pavement) of asphalt roads, so asphalt road pixels carry both labels and
dirt roads only ``road``. The binary foreground is their union.

Everything is drawn from `numpy.random.Generator` seeded by ``(seed, split, index)``, so
the same seed writes byte-identical files, and a sample does not change when the number of
images in the other split does. This module imports numpy and OpenCV only, never paddle.
"""
import json
import math
import shutil
from pathlib import Path

import cv2
import numpy as np

LABEL_NAMES = ("road", "built_up")
NESTED_LABEL_NAMES = ("parcel", "building", "solar")
BINARY_CLASSES = ("background", "foreground")
CRACK_CLASSES = ("background", "crack")
KINDS = ("binary", "multilabel", "both", "cracks", "multilabel_nested")
SPLITS = ("train", "val")
MIN_SIZE = 32

# Colours are RGB. Roads and roofs differ from the ground, but the ground's patches and
# per-pixel noise overlap their ranges, so a global colour threshold does not separate them.
_GRASS = (78, 112, 52)
_DRY_FIELD = (146, 138, 92)
_PATCH_COLOURS = ((42, 72, 38), (128, 100, 72), (160, 166, 104))  # forest, soil, crop
_ASPHALT = (104, 104, 110)
_PAVEMENT = (170, 168, 160)
_DIRT = (182, 158, 118)
_ROOFS = ((168, 82, 62), (92, 92, 98), (196, 192, 184), (102, 116, 140))

# These rates set the foreground share (about 2 %); they are per 128 x 128 pixels and
# scale with the image so that the share does not depend on `size`.
_EMPTY_IMAGE_PROB = 0.15
_ROADS_PER_128 = 0.8
_BUILDINGS_PER_128 = 4.0
_ASPHALT_PROB = 0.5
_STEP = 3.0  # road centreline sampling step, pixels

# Cracks: rates per 128 x 128 pixels as for the roads; they set the share (about 1.5 %).
_PAVEMENTS = ((150, 148, 142), (112, 110, 108), (178, 172, 160))  # concrete, asphalt, light
_EMPTY_CRACK_IMAGE_PROB = 0.1
_CRACKS_PER_128 = 1.5
_BRANCHES_PER_CRACK = 0.8
_CRACK_WIDTHS = (1, 2, 3, 4, 5)
_CRACK_WIDTH_PROBS = (0.3, 0.3, 0.2, 0.12, 0.08)
_STAINS_PER_128 = 2.0  # dark blobs that look like cracks in colour but not in shape
_CRACK_STEP = 2.0

# Nested labels: parcels (lawn inside a dark fence), roofs inside them, panels on roofs.
_LAWN = (96, 150, 70)
_FENCE = (60, 52, 44)
_PANEL = (36, 48, 92)
_PARCELS_PER_128 = 2.5
_BUILDINGS_PER_PARCEL = 1.2
_PANEL_PROB = 0.6


def make_sample(rng, size=128):
    """Draw one synthetic sample.

    Args:
        rng (numpy.random.Generator): the only source of randomness.
        size (int): image side in pixels, at least ``MIN_SIZE``.

    Returns:
        (image, labels): ``image`` is (size, size, 3) uint8 RGB; ``labels`` is
        (size, size, 2) uint8 with values 0/1, channel 0 ``road`` and channel 1 ``built_up``
        (see the module docstring). Labels mark what is visible: an object drawn over
        another replaces its labels.
    """
    image = _ground(rng, size)
    labels = np.zeros((size, size, len(LABEL_NAMES)), np.uint8)
    if rng.random() >= _EMPTY_IMAGE_PROB:
        paths = _draw_roads(rng, image, labels)
        _draw_buildings(rng, image, labels, paths)
    return _sensor(rng, image), labels


def make_crack_sample(rng, size=128):
    """Draw one crack sample: ``(image, labels)`` as `make_sample` returns them, with one
    label channel, ``crack``."""
    image = _pavement(rng, size)
    labels = np.zeros((size, size, 1), np.uint8)
    if rng.random() >= _EMPTY_CRACK_IMAGE_PROB:
        for _ in range(max(1, rng.poisson(_CRACKS_PER_128 * size / 128))):
            _draw_crack(rng, image, labels)
    return _sensor(rng, image), labels


def make_nested_sample(rng, size=128):
    """Draw one sample of nested labels: ``(image, labels)`` as `make_sample` returns them,
    with the channels of ``NESTED_LABEL_NAMES`` (solar within building within parcel)."""
    image = _ground(rng, size)
    labels = np.zeros((size, size, len(NESTED_LABEL_NAMES)), np.uint8)
    if rng.random() >= _EMPTY_IMAGE_PROB:
        for _ in range(max(1, rng.poisson(_PARCELS_PER_128 * (size / 128) ** 2))):
            _draw_parcel(rng, image, labels)
    return _sensor(rng, image), labels


def binary_label(labels):
    """(H, W, C) 0/1 labels -> (H, W) uint8 binary mask: 1 where any label is set."""
    return labels.max(axis=-1).astype(np.uint8)


def multilabel_strips(labels):
    """(H, W, C) labels -> (H, C*W) uint8 strips, label c in columns [c*W, (c+1)*W)."""
    return np.concatenate([labels[..., c] for c in range(labels.shape[-1])], axis=1)


def write_demo_dataset(root, kind="both", size=128, num_train=64, num_val=16, seed=0,
                       force=False):
    """Write the demo dataset(s) under ``root``; see the module docstring for the layout.

    Args:
        root (str | Path): target directory; created if missing. It must be empty unless
            ``force`` is true, in which case only the subdirectories that ``kind`` writes
            (``binary``, ``multilabel``, ``cracks``) are deleted and rewritten; nothing
            else in ``root`` is touched.
        kind (str): ``"binary"``, ``"multilabel"``, ``"both"`` (those two) or
            ``"cracks"``.
        size (int): image side in pixels (>= 32).
        num_train, num_val (int): number of images per split (>= 1).
        seed (int): non-negative seed; the same seed writes byte-identical files.
        force (bool): allow a non-empty ``root``.

    Returns:
        dict: ``root``, ``seed``, ``size``, ``num_train``, ``num_val`` and ``datasets``,
        which maps each written kind to its ``path``, ``train_list``, ``val_list``, class
        or label names, ``pixel_share`` (per split and ``all``) and
        ``images_without_foreground``. The same information is in each ``dataset.json``.

    Raises:
        ValueError: an argument is out of range.
        FileExistsError: ``root`` is not empty and ``force`` is false, or is a file.
    """
    _check_args(kind, size, num_train, num_val, seed)
    root = Path(root)
    _prepare_root(root, force)
    kinds = _KIND_SUBDIRS[kind]
    for name in kinds:
        if (root / name).exists():
            shutil.rmtree(root / name)
        (root / name / "images").mkdir(parents=True)
        (root / name / "labels").mkdir()

    counts = {}
    for split, num in zip(SPLITS, (num_train, num_val)):
        counts[split] = _write_split(root, kinds, split, num, size, seed)

    info = {"root": str(root), "seed": seed, "size": size,
            "num_train": num_train, "num_val": num_val, "datasets": {}}
    for name in kinds:
        meta = _dataset_meta(name, counts, size, seed, num_train, num_val)
        (root / name / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n")
        (root / name / "README.txt").write_text(_readme(name, meta))
        info["datasets"][name] = dict(meta, path=str(root / name),
                                      train_list=str(root / name / "train.txt"),
                                      val_list=str(root / name / "val.txt"))
    return info


def format_summary(info):
    """A few human-readable lines about what `write_demo_dataset` wrote."""
    lines = [f"wrote the demo data to {info['root']} (seed {info['seed']}, "
             f"{info['size']}x{info['size']} px, {info['num_train']} train + "
             f"{info['num_val']} val images)"]
    for name, meta in info["datasets"].items():
        share = meta["pixel_share"]["all"]
        empty = sum(meta["images_without_foreground"].values())
        total = info["num_train"] + info["num_val"]
        shares = ", ".join(f"{key} {100 * value:.2f} %" for key, value in share.items())
        lines.append(f"  {name:<10} {meta['path']}")
        lines.append(f"             pixel share: {shares}; "
                     f"{empty} of {total} images without foreground")
    return "\n".join(lines)


# --- drawing -------------------------------------------------------------------------


def _ground(rng, size):
    """Textured ground as float32 RGB: a grass/field mix, soft patches, fine texture."""
    mix = 1.0 / (1.0 + np.exp(-2.5 * _smooth_noise(rng, size, cells=3)))
    image = _lerp(_GRASS, _DRY_FIELD, mix[..., None])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for _ in range(rng.integers(2, 5)):
        centre = rng.uniform(0, size, 2)
        radius = rng.uniform(0.12, 0.35) * size
        colour = _PATCH_COLOURS[rng.integers(len(_PATCH_COLOURS))]
        # A ragged edge: the blob's falloff is modulated by mid-scale noise.
        ragged = np.clip(0.6 + 0.5 * _smooth_noise(rng, size, cells=8), 0, 1)
        dist2 = ((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / radius ** 2
        alpha = (0.85 * np.exp(-dist2) * ragged)[..., None]
        image = _lerp(image, colour, alpha)
    brightness = 10.0 * _smooth_noise(rng, size, cells=max(4, size // 6))
    return image + brightness[..., None]


def _smooth_noise(rng, size, cells):
    """A (size, size) float32 field of roughly unit scale, smooth over size/cells px."""
    coarse = rng.standard_normal((cells + 1, cells + 1)).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)


def _lerp(a, b, t):
    return np.asarray(a, np.float32) * (1 - t) + np.asarray(b, np.float32) * t


def _jitter(rng, colour, spread):
    """One object's colour: the base colour shifted by a random per-object offset."""
    return np.asarray(colour, np.float32) + rng.uniform(-spread, spread, 3)


def _paint(image, labels, mask, colour, label_values):
    """Paint ``mask`` with ``colour`` and set its labels to ``label_values`` (visible wins)."""
    image[mask] = colour
    labels[mask] = label_values


def _draw_roads(rng, image, labels):
    """Draw the roads; return their centrelines (float (N, 2) x, y arrays)."""
    size = image.shape[0]
    count = rng.poisson(_ROADS_PER_128 * size / 128)
    roads = [(_road_path(rng, size), rng.random() < _ASPHALT_PROB, int(rng.integers(1, 4)))
             for _ in range(count)]
    # All pavement bands first, then all surfaces, so that crossings show road surface.
    for path, asphalt, width in roads:
        if asphalt:
            _paint(image, labels, _stroke(path, width + 2, size),
                   _jitter(rng, _PAVEMENT, 10), (0, 1))
    for path, asphalt, width in roads:
        colour, values = (_ASPHALT, (1, 1)) if asphalt else (_DIRT, (1, 0))
        _paint(image, labels, _stroke(path, width, size), _jitter(rng, colour, 12), values)
    return [path for path, _, _ in roads]


def _road_path(rng, size):
    """A wandering centreline: from the border across the image, or a short dead end."""
    if rng.random() < 0.75:
        side = rng.integers(4)
        along = rng.uniform(0.1, 0.9) * size
        start, heading = [((along, -1.0), math.pi / 2), ((along, size), -math.pi / 2),
                          ((-1.0, along), 0.0), ((size, along), math.pi)][side]
        heading += rng.normal(0, 0.4)
        length = 2.0 * size
    else:
        start = rng.uniform(0.2, 0.8, 2) * size
        heading = rng.uniform(0, 2 * math.pi)
        length = rng.uniform(0.25, 0.6) * size
    steps = int(length / _STEP)
    # A constant bend plus a random wobble makes gentle curves, not a random walk.
    headings = heading + np.cumsum(rng.normal(0, 0.02) + rng.normal(0, 0.06, steps))
    offsets = _STEP * np.stack([np.cos(headings), np.sin(headings)], axis=1)
    path = np.vstack([start, np.asarray(start) + np.cumsum(offsets, axis=0)])
    outside = np.flatnonzero((path < -2).any(axis=1) | (path > size + 1).any(axis=1))
    return path[:outside[0] + 1] if outside.size else path


def _stroke(path, width, size):
    """Boolean mask of a ``width``-px line along ``path`` (a 1-px line, dilated)."""
    mask = np.zeros((size, size), np.uint8)
    points = np.round(path * 16).astype(np.int32)  # 4 fractional bits, see shift=4
    cv2.polylines(mask, [points], False, 1, thickness=1, lineType=cv2.LINE_8, shift=4)
    if width > 1:
        # OpenCV's thick lines only come in odd widths; a disk-like kernel gives any width.
        shape = cv2.MORPH_ELLIPSE if width > 2 else cv2.MORPH_RECT
        mask = cv2.dilate(mask, cv2.getStructuringElement(shape, (width, width)))
    return mask.astype(bool)


def _draw_buildings(rng, image, labels, paths):
    """Draw small, mostly roadside buildings with a shadow to the lower right."""
    size = image.shape[0]
    for _ in range(rng.poisson(_BUILDINGS_PER_128 * (size / 128) ** 2)):
        width, height = rng.integers(3, 9, 2)
        angle = 0.0 if rng.random() < 0.5 else rng.uniform(-20, 20)
        centre = _building_site(rng, paths, size, max(width, height))
        corners = cv2.boxPoints((tuple(centre), (float(width), float(height)), angle))
        roof = _polygon(corners, size)
        shadow = _polygon(corners + 1.5, size) & ~roof
        image[shadow] *= 0.6  # a shadow darkens whatever is below; labels stay
        colour = _ROOFS[rng.integers(len(_ROOFS))]
        _paint(image, labels, roof, _jitter(rng, colour, 15), (0, 1))


def _building_site(rng, paths, size, extent):
    """A building centre: usually beside a road, else anywhere."""
    if paths and rng.random() < 0.75:
        path = paths[rng.integers(len(paths))]
        i = rng.integers(len(path) - 1)
        direction = path[i + 1] - path[i]
        normal = np.array([-direction[1], direction[0]]) / (np.linalg.norm(direction) + 1e-6)
        side = 1.0 if rng.random() < 0.5 else -1.0
        return path[i] + side * (extent / 2 + rng.uniform(3, 7)) * normal
    return rng.uniform(4, size - 4, 2)


def _polygon(corners, size):
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(corners * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
    return mask.astype(bool)


def _rotated_box(rng, centre, extent, angle, size):
    """Mask of a box of side lengths drawn from ``extent`` (low, high) px, turned ``angle``
    degrees about ``centre``."""
    width, height = rng.uniform(*extent, 2)
    box = ((float(centre[0]), float(centre[1])), (float(width), float(height)), float(angle))
    return _polygon(cv2.boxPoints(box), size)


def _draw_parcel(rng, image, labels):
    """A fenced lawn (parcel) with roofs (parcel + building), some with solar panels (all
    three labels). Later parcels cover earlier ones, labels included."""
    size = image.shape[0]
    scale = size / 128
    angle = 0.0 if rng.random() < 0.5 else rng.uniform(-30, 30)
    centre = rng.uniform(0.1, 0.9, 2) * size
    lot = _rotated_box(rng, centre, (16 * scale, 32 * scale), angle, size)
    if not lot.any():
        return
    _paint(image, labels, lot, _jitter(rng, _LAWN, 12), (1, 0, 0))
    inner = cv2.erode(lot.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    image[lot & ~inner] = _jitter(rng, _FENCE, 10)  # the fence is part of the parcel
    ys, xs = np.nonzero(inner)
    for _ in range(max(1, rng.poisson(_BUILDINGS_PER_PARCEL))):
        if not len(xs):
            return
        spot = int(rng.integers(len(xs)))
        roof = _rotated_box(rng, (xs[spot], ys[spot]), (6 * scale, 14 * scale), angle,
                            size) & inner
        _paint(image, labels, roof, _jitter(rng, _ROOFS[rng.integers(len(_ROOFS))], 15),
               (1, 1, 0))
        if roof.any() and rng.random() < _PANEL_PROB:
            ry, rx = np.nonzero(roof)
            panel = _rotated_box(rng, (rx.mean(), ry.mean()), (3 * scale, 6 * scale),
                                 angle, size) & roof
            _paint(image, labels, panel, _jitter(rng, _PANEL, 8), (1, 1, 1))


def _sensor(rng, image):
    """Camera blur and per-pixel noise; round to uint8."""
    image = cv2.GaussianBlur(image.astype(np.float32), (3, 3), 0.6)
    image = image + rng.normal(0, 6.0, image.shape).astype(np.float32)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _pavement(rng, size):
    """Grainy pavement as float32 RGB: a base grey, soft shading, aggregate, dark stains."""
    base = _jitter(rng, _PAVEMENTS[rng.integers(len(_PAVEMENTS))], 8)
    shading = 12.0 * _smooth_noise(rng, size, cells=3) + 5.0 * _smooth_noise(rng, size, 12)
    # Aggregate: lighter and darker pebbles of 1-3 px, a grain no colour threshold ignores.
    grain = cv2.GaussianBlur(rng.normal(0, 14.0, (size, size)).astype(np.float32), (3, 3), 0.8)
    image = base + (shading + grain)[..., None]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for _ in range(rng.poisson(_STAINS_PER_128 * (size / 128) ** 2)):
        centre = rng.uniform(0, size, 2)
        radius = rng.uniform(2, 7)
        dist2 = ((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / radius ** 2
        image *= (1 - rng.uniform(0.2, 0.4) * np.exp(-dist2))[..., None]
    return image


def _draw_crack(rng, image, labels):
    """One crack across or into the image, with a few thinner branches: darker than the
    pavement, ragged in shape."""
    size = image.shape[0]
    width = int(rng.choice(_CRACK_WIDTHS, p=_CRACK_WIDTH_PROBS))
    path = _crack_path(rng, _crack_start(rng, size), rng.uniform(0, 2 * math.pi),
                       rng.uniform(0.5, 1.5) * size, size)
    mask = _stroke(path, width, size)
    for _ in range(rng.poisson(_BRANCHES_PER_CRACK)):
        fork = path[rng.integers(len(path))]
        branch = _crack_path(rng, fork, rng.uniform(0, 2 * math.pi),
                             rng.uniform(0.15, 0.5) * size, size)
        mask |= _stroke(branch, max(1, width - 1 - int(rng.integers(2))), size)
    # The crack's floor is in shadow; its darkness varies along it as the depth does.
    depth = np.clip(0.55 + 0.15 * _smooth_noise(rng, size, cells=6), 0.3, 0.8)
    image[mask] *= depth[mask][:, None]
    labels[mask] = 1


def _crack_start(rng, size):
    """On the border (half of the cracks run into the image) or anywhere inside."""
    if rng.random() < 0.5:
        return rng.uniform(0.1, 0.9, 2) * size
    along, side = rng.uniform(0, size), rng.integers(4)
    return np.array([(along, 0.0), (along, size - 1.0), (0.0, along), (size - 1.0, along)][side])


def _crack_path(rng, start, heading, length, size):
    """A jagged polyline: the heading's deviation is mean-reverting noise, so the crack
    zig-zags but keeps its direction (a road's random bend would curl it)."""
    steps = max(2, int(length / _CRACK_STEP))
    deviation = np.zeros(steps)
    kicks = rng.normal(0, 0.45, steps)
    for i in range(1, steps):
        deviation[i] = 0.7 * deviation[i - 1] + kicks[i]
    headings = heading + deviation
    offsets = _CRACK_STEP * np.stack([np.cos(headings), np.sin(headings)], axis=1)
    path = np.vstack([start, np.asarray(start) + np.cumsum(offsets, axis=0)])
    outside = np.flatnonzero((path < -2).any(axis=1) | (path > size + 1).any(axis=1))
    return path[:outside[0] + 1] if outside.size else path


# --- writing -------------------------------------------------------------------------


# What each `kind` writes; one call writes either the road kinds or the cracks, which are
# drawn by another generator.
_KIND_SUBDIRS = {"binary": ("binary",), "multilabel": ("multilabel",),
                 "both": ("binary", "multilabel"), "cracks": ("cracks",),
                 "multilabel_nested": ("multilabel_nested",)}
_DRAW = {("cracks",): make_crack_sample, ("multilabel_nested",): make_nested_sample}
_MULTILABEL_KINDS = {"multilabel": LABEL_NAMES, "multilabel_nested": NESTED_LABEL_NAMES}


def _check_args(kind, size, num_train, num_val, seed):
    if kind not in KINDS:
        raise ValueError(f"kind is {kind!r}; expected one of {', '.join(KINDS)}")
    checks = (("size", size, MIN_SIZE), ("num_train", num_train, 1),
              ("num_val", num_val, 1), ("seed", seed, 0))
    for name, value, minimum in checks:
        if not isinstance(value, (int, np.integer)) or value < minimum:
            raise ValueError(f"{name} is {value!r}; expected an integer >= {minimum}; "
                             f"pass a larger {name}")


def _prepare_root(root, force):
    if root.exists() and not root.is_dir():
        raise FileExistsError(f"{root} is a file; expected a directory to write the demo "
                              "data into; pass another path")
    entries = sorted(p.name for p in root.iterdir()) if root.exists() else []
    if entries and not force:
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise FileExistsError(
            f"{root} is not empty (found {shown}); expected an empty or new directory. "
            "Pass --force (force=True) to rewrite the subdirectories this kind writes "
            "(binary/, multilabel/ or cracks/), or choose another directory")
    root.mkdir(parents=True, exist_ok=True)


def _sample_rng(seed, split, index):
    return np.random.default_rng([seed, SPLITS.index(split), index])


def _write_split(root, kinds, split, num, size, seed):
    """Write one split of every kind; return its pixel counts (see `_count_pixels`)."""
    width = max(4, len(str(num - 1)))
    draw = _DRAW.get(kinds, make_sample)
    counts = 0
    lines = []
    for index in range(num):
        image, labels = draw(_sample_rng(seed, split, index), size)
        name = f"{split}_{index:0{width}d}.png"
        # Encode once; cv2 wants BGR, the file holds RGB.
        image_png = _encode_png(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        for kind in kinds:
            label = (multilabel_strips(labels) if kind in _MULTILABEL_KINDS
                     else binary_label(labels))
            (root / kind / "images" / name).write_bytes(image_png)
            (root / kind / "labels" / name).write_bytes(_encode_png(label))
        lines.append(f"images/{name} labels/{name}\n")
        counts += _count_pixels(labels)
    for kind in kinds:
        (root / kind / f"{split}.txt").write_text("".join(lines))
    return counts


def _encode_png(array):
    ok, data = cv2.imencode(".png", array)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {array.shape} {array.dtype} PNG")
    return data.tobytes()


def _count_pixels(labels):
    """[pixels, foreground (any label), each label's pixels..., all labels at once,
    images without foreground] for one sample's (H, W, C) labels."""
    labels = labels.astype(bool)
    union = labels.any(axis=-1)
    return np.array([union.size, union.sum(), *labels.sum(axis=(0, 1)),
                     labels.all(axis=-1).sum(), not union.any()], np.int64)


def _shares(kind, counts):
    pixels, union = int(counts[0]), int(counts[1])
    if kind in ("binary", "cracks"):
        return {BINARY_CLASSES[1] if kind == "binary" else CRACK_CLASSES[1]:
                round(union / pixels, 6)}
    if kind == "multilabel_nested":
        return {**{name: round(int(c) / pixels, 6)
                   for name, c in zip(NESTED_LABEL_NAMES, counts[2:5])},
                "none": round(1 - union / pixels, 6)}
    road, built, both = (int(c) for c in counts[2:5])
    return {"road": round(road / pixels, 6), "built_up": round(built / pixels, 6),
            "both": round(both / pixels, 6),
            "none": round(1 - (road + built - both) / pixels, 6)}


def _dataset_meta(kind, counts, size, seed, num_train, num_val):
    per_split = dict(counts, all=sum(counts.values()))
    meta = {"name": f"paddleseg-imbalance demo data ({kind})", "seed": seed,
            "image_size": [size, size], "num_train": num_train, "num_val": num_val,
            "train_list": "train.txt", "val_list": "val.txt"}
    if kind in ("binary", "cracks"):
        classes = BINARY_CLASSES if kind == "binary" else CRACK_CLASSES
        meta.update(num_classes=2, classes=list(classes), label_values=[0, 1])
    else:
        names = _MULTILABEL_KINDS[kind]
        meta.update(num_labels=len(names), labels=list(names),
                    label_layout=f"(H, {len(names)}*W) strips, label c in columns "
                                 "[c*W, (c+1)*W), values 0/1",
                    num_classes_with_background=len(names) + 1)
    meta["pixel_share"] = {split: _shares(kind, c) for split, c in per_split.items()}
    meta["images_without_foreground"] = {split: int(c[-1]) for split, c in counts.items()}
    return meta


def _readme(kind, meta):
    share = ", ".join(f"{k} {100 * v:.2f} %" for k, v in meta["pixel_share"]["all"].items())
    size = meta["image_size"][0]
    paddleseg = ("PaddleSeg: type Dataset, num_classes 2, dataset_root this directory,\n"
                 "train_path train.txt, val_path val.txt.")
    if kind == "binary":
        labels = ("labels/*.png: single channel, 0 background, 1 foreground (roads and "
                  f"buildings).\n{paddleseg}")
    elif kind == "cracks":
        labels = f"labels/*.png: single channel, 0 background, 1 crack.\n{paddleseg}"
    elif kind == "multilabel_nested":
        labels = (f"labels/*.png: single channel {size} x {3 * size}, values 0/1; label 0 "
                  f"'parcel' in columns [0, {size}),\nlabel 1 'building' in [{size}, "
                  f"{2 * size}), label 2 'solar' in [{2 * size}, {3 * size}).\nLabels are "
                  "nested: solar within building within parcel. With a background "
                  "channel\nadded (AddMultiLabelAuxiliaryCategory) num_classes is 4.")
    else:
        labels = (f"labels/*.png: single channel {size} x {2 * size}, values 0/1; label 0 "
                  f"'road' in columns [0, {size}),\nlabel 1 'built_up' (buildings and asphalt "
                  f"roads with their pavement) in columns [{size}, {2 * size}).\nLabels "
                  "overlap on asphalt roads; most pixels have none. With a background "
                  "channel\nadded (AddMultiLabelAuxiliaryCategory) num_classes is 3.")
    if kind == "cracks":
        what = (f"Synthetic pavement images, {size} x {size} px: dark, jagged, branching "
                "cracks 1-5 px wide\non grainy concrete or asphalt with dark stains, generated "
                f"by `paddleseg-imbalance\ndemo-data --kind cracks --seed {meta['seed']}`.")
    elif kind == "multilabel_nested":
        what = (f"Synthetic aerial-style images, {size} x {size} px: fenced parcels with "
                "buildings, some\nwith solar panels, on textured ground, generated by "
                f"`paddleseg-imbalance demo-data\n--kind multilabel_nested --seed "
                f"{meta['seed']}`.")
    else:
        what = (f"Synthetic aerial-style images, {size} x {size} px: thin roads and small "
                "buildings on\ntextured ground, generated by `paddleseg-imbalance demo-data "
                f"--seed {meta['seed']}`.")
    return (f"{meta['name']}\n\n{what}\n{meta['num_train']} train and "
            f"{meta['num_val']} val images, listed in train.txt and val.txt\n"
            "(\"images/x.png labels/x.png\", relative to this directory).\n"
            f"images/*.png: RGB uint8.\n{labels}\nPixel share: {share}.\n")
