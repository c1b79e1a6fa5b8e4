"""The plugin's losses; importing this package registers them in `manager.LOSSES`.

Each loss is a thin `nn.Layer` over the pure functions of `functional`.
"""
from paddleseg_imbalance.losses import functional
from paddleseg_imbalance.losses.functional import BINARY, MULTICLASS, MULTILABEL
from paddleseg_imbalance.losses.cldice import SoftClDiceLoss
from paddleseg_imbalance.losses.lovasz_hinge import MultiLabelLovaszHingeLoss
from paddleseg_imbalance.losses.ramped import RampedLoss
from paddleseg_imbalance.losses.tversky import TverskyLoss
from paddleseg_imbalance.losses.weighted_iou import WeightedIoULoss

__all__ = ["BINARY", "MULTICLASS", "MULTILABEL", "MultiLabelLovaszHingeLoss", "RampedLoss",
           "SoftClDiceLoss", "TverskyLoss", "WeightedIoULoss", "functional"]
