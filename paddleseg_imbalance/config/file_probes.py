"""What a data file's header says, read without decoding the pixels.

The config checks (the lint's data scan, the tools' preflight, `stats`) compare the files
a config lists with what it says about them; the header is enough for a size.
"""
from PIL import Image

# EXIF orientations 5 to 8 rotate by 90 degrees: cv2.imread (what PaddleSeg uses for
# images) applies them, PIL's size does not.
_EXIF_ORIENTATION = 0x0112
_TRANSPOSED_ORIENTATIONS = {5, 6, 7, 8}


def image_size(path, apply_exif):
    """(height, width) of the image at `path`, as cv2 would decode it if `apply_exif`."""
    with Image.open(path) as image:
        width, height = image.size
        if apply_exif and image.getexif().get(_EXIF_ORIENTATION) in _TRANSPOSED_ORIENTATIONS:
            width, height = height, width
    return height, width
