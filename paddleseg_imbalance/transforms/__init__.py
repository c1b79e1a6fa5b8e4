"""The plugin's transforms; importing this package registers them in `manager.TRANSFORMS`."""
from paddleseg_imbalance.transforms.copy_paste import CopyPaste
from paddleseg_imbalance.transforms.rare_class_crop import RareClassCrop

__all__ = ["CopyPaste", "RareClassCrop"]
