"""Config rules on what the train transforms do to labels: padding values, interpolation.

Only the train transforms touch labels: in `mode: val` PaddleSeg's `Dataset` leaves the
label out of `gt_fields`, so geometric transforms move the image alone. A label padded
with a value other than `ignore_index` trains the border as that class; a label resized
with a non-nearest interpolation gets values between classes (PaddleSeg 2.8.0's
ScalePadding resizes labels with INTER_CUBIC).
"""
from paddleseg_imbalance.component_traits import REMAP_TRANSFORM, traits
from paddleseg_imbalance.lint.findings import ERROR, WARNING, Violation, rule


def _train_transforms(ctx):
    train = ctx.dataset("train_dataset")
    return (train, train.transforms()) if train else (None, [])


def _label_padding(transform):
    """The value `transform` (a config entry) pads labels with; None if it pads none."""
    default = traits(transform["type"]).label_padding
    return None if default is None else transform.get("label_padding_value", default)


@rule("PSI030", "label-padding-value", WARNING,
      "a transform pads labels with a value other than ignore_index",
      "Padding, padded crops, rotations and affine transforms fill the new label pixels "
      "with `label_padding_value` (255 by default). When that is not ignore_index, the "
      "padded border is trained as a class. Only the train transforms matter: in "
      "`mode: val` PaddleSeg's Dataset moves the image alone.",
      "set `label_padding_value` to the dataset's ignore_index")
def label_padding_value(ctx):
    """A train transform pads labels with a value other than ignore_index."""
    train, transforms = _train_transforms(ctx)
    if train is None:
        return
    ignore_index = ctx.ignore_index(train)
    for index, transform in transforms:
        name = transform["type"]
        value = _label_padding(transform)
        if value is not None and value != ignore_index:
            yield Violation(
                train.path + ("transforms", index, "label_padding_value"),
                f"{name} pads labels with {value} but ignore_index is {ignore_index}: the "
                f"padded border is trained as class {value}",
                f"label_padding_value: {ignore_index}")


@rule("PSI031", "label-interpolation", WARNING,
      "a transform resizes labels with a non-nearest interpolation",
      "A label resized with a non-nearest interpolation gets values between the classes at "
      "every boundary (PaddleSeg 2.8.0's ScalePadding resizes labels with INTER_CUBIC): "
      "new classes, or values the loss rejects.",
      "pad and resize with transforms that keep labels exact (nearest-neighbour), e.g. "
      "`PaddingByAspectRatio` then `Resize`")
def label_interpolation(ctx):
    """A train transform resizes labels with a non-nearest interpolation."""
    train, transforms = _train_transforms(ctx)
    for index, transform in transforms:
        interpolation = traits(transform["type"]).label_resize
        if interpolation:
            yield Violation(
                train.path + ("transforms", index),
                f"{transform['type']} resizes labels with {interpolation} in PaddleSeg 2.8.0: "
                "labels get values between classes at every boundary",
                "pad and resize with transforms that use nearest-neighbour for labels, e.g. "
                "`PaddingByAspectRatio` then `Resize` (both keep labels exact)")


@rule("PSI032", "remap-after-padding", ERROR,
      "RemapLabels after a padding transform remaps the padded ignore pixels",
      "A padding transform fills the label border with its pad value (ignore_index); a "
      "RemapLabels after it that maps that value turns the padded border into a class, "
      "trained as if it were labelled.",
      "put RemapLabels first in the transforms, before any crop, padding or rotation")
def remap_after_padding(ctx):
    """RemapLabels maps the pad value, after a transform that padded the label."""
    train, transforms = _train_transforms(ctx)
    padded = {}
    for index, transform in transforms:
        name = transform["type"]
        pad = _label_padding(transform)
        if pad is not None:
            padded.setdefault(pad, name)
        mapping = transform.get("mapping") if name == REMAP_TRANSFORM else None
        hit = [key for key in (mapping or {}) if key in padded] if isinstance(mapping, dict) \
            else []
        for key in hit:
            yield Violation(
                train.path + ("transforms", index),
                f"RemapLabels maps {key} -> {mapping[key]} after {padded[key]} padded the "
                f"label with {key}: the padded border becomes class {mapping[key]}",
                f"move RemapLabels to the top of `{'.'.join(train.path)}.transforms`, before "
                "any crop, padding or rotation")


RULES = (label_padding_value, label_interpolation, remap_after_padding)
