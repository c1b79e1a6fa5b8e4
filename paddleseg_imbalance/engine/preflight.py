"""Check a dataset's image and label files before the training loop starts.

On Paddle 2.6 an exception inside `__getitem__` with `num_workers: 0` hangs training, and
a file that `cv2.imread` cannot decode surfaces as an unrelated `NoneType` error. So
every listed file is opened here first (headers only: PIL reads the size without
decoding the pixels), in parallel, and all problems are reported together.
"""
import os
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

# EXIF orientations 5 to 8 rotate by 90 degrees: cv2.imread (what PaddleSeg uses for
# images) applies them, PIL's size does not.
_EXIF_ORIENTATION = 0x0112
_TRANSPOSED_ORIENTATIONS = {5, 6, 7, 8}
_MAX_LISTED = 10


class DataError(ValueError):
    """Dataset files that cannot be trained on; the message lists them and the fix."""


def image_size(path, apply_exif):
    """(height, width) of the image at `path`, as cv2 would decode it if `apply_exif`."""
    with Image.open(path) as image:
        width, height = image.size
        if apply_exif and image.getexif().get(_EXIF_ORIENTATION) in _TRANSPOSED_ORIENTATIONS:
            width, height = height, width
    return height, width


def _check_pair(pair, expected_label_size):
    """Problems (strings) with one (image, label) pair; empty when it is usable."""
    image_path, label_path = pair
    problems = []
    sizes = {}
    for role, path, apply_exif in (("image", image_path, True), ("label", label_path, False)):
        if path is None:
            continue
        if not os.path.isfile(path):
            problems.append(f"{role} file '{path}' does not exist")
            continue
        try:
            sizes[role] = image_size(path, apply_exif)
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            problems.append(f"{role} file '{path}' cannot be decoded as an image ({error})")
    if len(sizes) == 2:
        expected = expected_label_size(sizes["image"])
        if sizes["label"] != expected:
            problems.append(
                f"label '{label_path}' is {sizes['label'][0]}x{sizes['label'][1]} (HxW) but "
                f"its image '{image_path}' needs a {expected[0]}x{expected[1]} label "
                "(an image with EXIF rotation is read rotated)")
    return problems


def same_size(image_size):
    """The label size PaddleSeg's `Dataset` expects: the image's own."""
    return image_size


def check_file_list(file_list, yaml_key, expected_label_size=same_size, workers=8,
                    progress=True):
    """Raise `DataError` if any (image, label) pair in `file_list` is unusable.

    Args:
        file_list: the dataset's `file_list`, a list of [image_path, label_path]
            (label_path None for test sets).
        yaml_key: the config section the list came from, named in the error.
        expected_label_size: maps an image (height, width) to the label's expected
            (height, width); multi-label strip layouts differ from the image.
        workers: threads that open files in parallel.
        progress: show a progress bar.
    """
    if not file_list:
        raise DataError(f"`{yaml_key}`: the file list names no samples; add lines "
                        "'image_path label_path' to it.")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(lambda pair: _check_pair(pair, expected_label_size), file_list)
        results = list(tqdm(results, total=len(file_list), disable=not progress,
                            desc=f"checking {yaml_key} files", leave=False))
    problems = [(line, text) for line, found in enumerate(results, 1) for text in found]
    if not problems:
        return
    listed = "\n".join(f"  sample {line}: {text}" for line, text in problems[:_MAX_LISTED])
    more = len(problems) - _MAX_LISTED
    more_text = f"\n  ... and {more} more" if more > 0 else ""
    raise DataError(
        f"`{yaml_key}`: {len(problems)} problem(s) in the dataset files:\n{listed}{more_text}\n"
        "Fix or remove these samples from the file list (paths are joined to "
        "`dataset_root`; label PNGs must have the same height and width as their image).")
