"""Check a dataset's image and label files before the training loop starts.

On Paddle 2.6 an exception inside `__getitem__` with `num_workers: 0` hangs training
(with workers: "Blocking queue is killed"), and a file that `cv2.imread` cannot decode
surfaces as an unrelated `NoneType` error. So every listed file is decoded here once, in
full and by the reader training uses (images by OpenCV, labels by PIL), in parallel
threads (both decoders release the GIL), and all problems are reported together: a
missing, truncated or oversized file, a label with colour channels, a label whose size
is not its image's. The image sizes found are returned for `engine.batching`.
"""
import os
from concurrent.futures import ThreadPoolExecutor

import cv2
from PIL import Image
from tqdm import tqdm

from paddleseg_imbalance.config.errors import DataError
from paddleseg_imbalance.config.file_list import (list_key, problems_text, read_file_list,
                                                  reads_file_list)

_MAX_LISTED = 10
# What PIL raises on a broken file: truncated (OSError), bad chunks (SyntaxError),
# unknown format (UnidentifiedImageError, an OSError), over its pixel limit.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def _decode_image(path):
    """(height, width) of the image at `path`, decoded in full by `cv2.imread` as PaddleSeg's
    `Compose` decodes it (EXIF orientation applied); None when cv2 cannot decode it."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    return None if image is None else image.shape[:2]


def _decode_label(path, class_map):
    """((height, width), problem or None) of the label at `path`, decoded in full by PIL as
    PaddleSeg's `Compose` decodes it (`np.asarray(Image.open(path))`). With `class_map`, a
    label with channels (RGB, LA, ...) is a problem: it is read as (H, W, C), not classes."""
    with Image.open(path) as image:
        image.load()
        width, height = image.size
        bands = image.getbands()
    if class_map and len(bands) > 1:
        return (height, width), (
            f"label '{path}' has {len(bands)} channels (mode {image.mode}): PaddleSeg reads "
            f"it as an (H, W, {len(bands)}) array, not a class map; save it as a single-channel "
            "(or palette, mode P) PNG of class indices (`paddleseg-imbalance lint --scan-data` "
            "lists its colours, PSI103)")
    return (height, width), None


def _decode_problem(role, path, error):
    if isinstance(error, Image.DecompressionBombError):
        return (f"{role} file '{path}' is too large for PIL, which PaddleSeg reads labels with "
                f"({error}); cut the image and its label into tiles")
    return f"{role} file '{path}' cannot be decoded ({type(error).__name__}: {error})"


def _check_pair(pair, expected_label_size, class_map_labels):
    """(image (height, width) or None, [problems]) of one (image, label) pair."""
    image_path, label_path = pair
    problems = []
    if not os.path.isfile(image_path):
        problems.append(f"image file '{image_path}' does not exist")
        image_hw = None
    else:
        image_hw = _decode_image(image_path)
        if image_hw is None:
            problems.append(f"image file '{image_path}' cannot be decoded by OpenCV "
                            "(truncated, or not an image)")
    if label_path is None:
        return image_hw, problems
    if not os.path.isfile(label_path):
        return image_hw, problems + [f"label file '{label_path}' does not exist"]
    try:
        label_hw, problem = _decode_label(label_path, class_map_labels)
    except _DECODE_ERRORS as error:
        return image_hw, problems + [_decode_problem("label", label_path, error)]
    if problem:
        problems.append(problem)
    elif image_hw is not None and label_hw != expected_label_size(image_hw):
        expected = expected_label_size(image_hw)
        problems.append(
            f"label '{label_path}' is {label_hw[0]}x{label_hw[1]} (HxW) but its image "
            f"'{image_path}' needs a {expected[0]}x{expected[1]} label (an image with EXIF "
            "rotation is read rotated)")
    return image_hw, problems


def check_list_lines(dataset_cfg, section):
    """`DataError` naming each line of the section's file list that PaddleSeg's `Dataset`
    would reject (or a list naming no sample), before the dataset is built; datasets not
    read from a file list are left alone."""
    if not reads_file_list(dataset_cfg):
        return
    key = list_key(dataset_cfg)
    list_path = dataset_cfg.get(key)
    if key is None or not isinstance(list_path, str) or not os.path.isfile(list_path):
        return  # the path checks (`config.check_dataset_paths`) report these
    separator = dataset_cfg.get("separator", " ")
    _, problems = read_file_list(list_path, str(dataset_cfg.get("dataset_root", "")), separator,
                                 labelled=key != "test_path")
    if problems:
        raise DataError(
            f"`{section}.{key}` '{list_path}': {len(problems)} problem(s):\n"
            f"{problems_text(problems)}\nEach line must be 'image_path{separator}label_path' "
            "(relative to dataset_root), one sample per line.")


def same_size(image_size):
    """The label size PaddleSeg's `Dataset` expects: the image's own."""
    return image_size


def check_file_list(file_list, yaml_key, expected_label_size=same_size, workers=8,
                    progress=True, class_map_labels=True):
    """Decode every file of `file_list`; return the images' sizes, or raise `DataError`.

    Args:
        file_list: the dataset's `file_list`, a list of [image_path, label_path]
            (label_path None for test sets).
        yaml_key: the config section the list came from, named in the error.
        expected_label_size: maps an image (height, width) to the label's expected
            (height, width); multi-label strip layouts differ from the image.
        workers: threads that decode files in parallel.
        progress: show a progress bar.
        class_map_labels: labels are class maps, read as PaddleSeg's `Compose` reads
            them: a label with channels is a problem.

    Returns:
        [(height, width)] of each image, as `cv2.imread` decodes it.
    """
    if not file_list:
        raise DataError(f"`{yaml_key}`: the file list names no samples; add lines "
                        "'image_path label_path' to it.")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(lambda pair: _check_pair(pair, expected_label_size,
                                                    class_map_labels), file_list)
        results = list(tqdm(results, total=len(file_list), disable=not progress,
                            desc=f"decoding {yaml_key} files", leave=False))
    problems = [(line, text) for line, (_, found) in enumerate(results, 1) for text in found]
    if not problems:
        return [image_hw for image_hw, _ in results]
    listed = "\n".join(f"  sample {line}: {text}" for line, text in problems[:_MAX_LISTED])
    more = len(problems) - _MAX_LISTED
    more_text = f"\n  ... and {more} more" if more > 0 else ""
    raise DataError(
        f"`{yaml_key}`: {len(problems)} problem(s) in the dataset files:\n{listed}{more_text}\n"
        "Fix or remove these samples from the file list (paths are joined to "
        "`dataset_root`; label PNGs must have the same height and width as their image).")
