"""The plugin's transforms; importing this package registers them in `manager.TRANSFORMS`."""
from paddleseg_imbalance.transforms.copy_paste import CopyPaste
from paddleseg_imbalance.transforms.multilabel_aux import AddMultiLabelAuxiliaryCategory
from paddleseg_imbalance.transforms.random_transpose import RandomTranspose
from paddleseg_imbalance.transforms.rare_class_crop import RareClassCrop
from paddleseg_imbalance.transforms.remap_labels import RemapLabels

__all__ = ["AddMultiLabelAuxiliaryCategory", "CopyPaste", "RandomTranspose", "RareClassCrop",
           "RemapLabels"]
