"""`RandomTranspose`: mirror a square sample along its main diagonal, for all 8 symmetries."""
import random

import numpy as np
from paddleseg.cvlibs import manager

from paddleseg_imbalance.registry import register
from paddleseg_imbalance.transforms.warn_once import WarnOnce

warn_not_square = WarnOnce(
    "RandomTranspose left a non-square sample as it is (a transposed H x W sample is W x H, "
    "and a batch of mixed shapes cannot be stacked). Put RandomTranspose after a square "
    "crop (RandomPaddingCrop or RareClassCrop with crop_size [S, S]) to use it on "
    "non-square images.")


@register(manager.TRANSFORMS)
class RandomTranspose:
    """Swap the height and width axes of the image and every gt field, with probability `prob`.

    Top-down imagery (aerial, satellite, microscopy) has no preferred orientation: a road
    turned by 90 degrees is still a road. PaddleSeg's flips reach 4 of the 8 symmetries of
    a square (identity, the two mirrors, the half turn); the transpose (a mirror along the
    main diagonal) reaches the other 4, the quarter turns among them. With

    ```yaml
    transforms:
      - type: RandomHorizontalFlip     # prob 0.5 (PaddleSeg's default)
      - type: RandomVerticalFlip
        prob: 0.5                      # PaddleSeg's default is 0.1
      - type: RandomTranspose          # prob 0.5
      - ...
    ```

    each of the 8 symmetries is drawn with probability 1/8: the three choices are
    independent and every symmetry of the square is one combination of them. For thin
    structures this costs nothing and loses nothing: the pixels are moved, never
    interpolated, so 1 px roads stay 1 px and labels keep their values.

    Works on class maps (H, W) and multi-label labels (H, W, C) alike: only the first two
    axes are swapped. A non-square sample is left as it is (its transpose would have the
    other shape, and PaddleSeg stacks a batch of equal shapes), with one warning per
    process; put the transform after a square crop for non-square images.

    Randomness comes from Python's `random`, like PaddleSeg's flips, so the seed that
    drives them (`--seed`, PaddleSeg's `worker_init_fn`) drives this one too.

    Args:
        prob: probability of the transpose, in [0, 1].
    """

    def __init__(self, prob=0.5):
        if isinstance(prob, bool) or not isinstance(prob, (int, float)) or not 0 <= prob <= 1:
            raise ValueError(f"RandomTranspose: prob is {prob!r}; it is a probability, set "
                             "it in [0, 1] (0.5 with both flips at 0.5 draws the 8 "
                             "symmetries alike).")
        self.prob = float(prob)

    def __call__(self, data):
        if random.random() >= self.prob:
            return data
        height, width = data["img"].shape[:2]
        if height != width:
            warn_not_square()
            return data
        for key in ["img", *data.get("gt_fields", [])]:
            data[key] = np.ascontiguousarray(np.swapaxes(data[key], 0, 1))
        return data
