"""What the config lint must know about components it cannot import, by registered name.

The lint reads a config without importing paddle, so it cannot ask a loss whether its
`weight` is one number per class, or a transform what it pads labels with. This table
says it once, for PaddleSeg's components and this plugin's; the rule modules read it
through the functions below. tests/test_lint_rules.py checks it against the components'
own signatures (the plugin's, and those of the installed PaddleSeg), so a new loss or
transform with such an argument fails a test until it is listed here.

Importing this module does not import paddle.
"""
from dataclasses import dataclass
from typing import Optional

# Names the lint and the tools look for in configs.
REMAP_TRANSFORM = "RemapLabels"
AUX_TRANSFORM = "AddMultiLabelAuxiliaryCategory"
MULTILABEL_DATASET = "MultiLabelDataset"

ALWAYS, MULTICLASS_MODE = "always", "multiclass mode"


@dataclass(frozen=True)
class Traits:
    """What a component does that a config rule depends on.

    Attributes:
        softmax: whether a loss takes a softmax (or argmax) across the channels: "" no,
            `ALWAYS`, or `MULTICLASS_MODE` (only with `mode: multiclass`, its default).
        class_weights: a loss's `weight` is one number per class (channel).
        label_padding: the default `label_padding_value` of a transform that pads (or
            rotates in) label pixels; None if it does not.
        label_resize: the interpolation a transform resizes labels with when it is not
            nearest-neighbour ("" when it is, or when it does not resize labels).
    """

    softmax: str = ""
    class_weights: bool = False
    label_padding: Optional[int] = None
    label_resize: str = ""


_SOFTMAX = Traits(softmax=ALWAYS)
_SOFTMAX_WEIGHTED = Traits(softmax=ALWAYS, class_weights=True)
_MODE_WEIGHTED = Traits(softmax=MULTICLASS_MODE, class_weights=True)
_PADS_255 = Traits(label_padding=255)

TRAITS = {
    # PaddleSeg's losses.
    "CrossEntropyLoss": _SOFTMAX_WEIGHTED,
    "DistillCrossEntropyLoss": _SOFTMAX_WEIGHTED,
    "DiceLoss": _SOFTMAX_WEIGHTED,
    "PointCrossEntropyLoss": _SOFTMAX_WEIGHTED,
    "BootstrappedCrossEntropyLoss": _SOFTMAX_WEIGHTED,
    "OhemCrossEntropyLoss": _SOFTMAX_WEIGHTED,   # `weight` per class on PaddleSeg develop
    "LovaszSoftmaxLoss": _SOFTMAX,
    "MultiClassFocalLoss": _SOFTMAX,
    "PixelContrastCrossEntropyLoss": _SOFTMAX,
    # This plugin's losses (`mode: multiclass | binary | multilabel`).
    "WeightedIoULoss": _MODE_WEIGHTED,
    "TverskyLoss": _MODE_WEIGHTED,
    "SoftClDiceLoss": _MODE_WEIGHTED,
    # PaddleSeg's transforms.
    "Padding": _PADS_255,
    "PaddingByAspectRatio": _PADS_255,
    "RandomPaddingCrop": _PADS_255,
    # PaddleSeg 2.8.0 resizes labels with INTER_CUBIC here.
    "ScalePadding": Traits(label_padding=255, label_resize="INTER_CUBIC"),
    "RandomRotation": _PADS_255,
    "RandomAffine": _PADS_255,
    # This plugin's transforms.
    "RareClassCrop": _PADS_255,
}
_NONE = Traits()


def traits(name):
    """The `Traits` of the component registered as `name` (none known: all defaults)."""
    return TRAITS.get(name, _NONE) if isinstance(name, str) else _NONE


def applies_softmax(loss_entry):
    """Whether the loss config `loss_entry` ({type: ..., mode: ...}) takes a softmax."""
    softmax = traits(loss_entry.get("type")).softmax
    return softmax == ALWAYS or (softmax == MULTICLASS_MODE
                                 and loss_entry.get("mode", "multiclass") == "multiclass")


def takes_class_weights(name):
    """Whether loss `name` takes `weight` as one number per class."""
    return traits(name).class_weights
