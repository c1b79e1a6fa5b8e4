"""Config rules on what the train transforms do to labels: padding values, interpolation.

Only the train transforms touch labels: in `mode: val` PaddleSeg's `Dataset` leaves the
label out of `gt_fields`, so geometric transforms move the image alone. A label padded
with a value other than `ignore_index` trains the border as that class; a label resized
with a non-nearest interpolation gets values between classes (PaddleSeg 2.8.0's
ScalePadding resizes labels with INTER_CUBIC).
"""
REMAP_TRANSFORM = "RemapLabels"
# Transforms that pad (or rotate in) label pixels, with PaddleSeg's default pad value.
LABEL_PADDING_TRANSFORMS = {"Padding": 255, "PaddingByAspectRatio": 255,
                            "RandomPaddingCrop": 255, "ScalePadding": 255,
                            "RandomRotation": 255, "RandomAffine": 255, "RareClassCrop": 255}
# Transforms that resize labels with a non-nearest interpolation, and which one.
NON_NEAREST_LABEL_RESIZE = {"ScalePadding": "INTER_CUBIC"}


def _train_transforms(ctx):
    train = ctx.dataset("train_dataset")
    return (train, train.transforms()) if train else (None, [])


def label_padding_value(ctx):
    """PSI030: a train transform pads labels with a value other than ignore_index."""
    train, transforms = _train_transforms(ctx)
    if train is None:
        return
    ignore_index = ctx.ignore_index(train)
    for index, transform in transforms:
        name = transform["type"]
        if name not in LABEL_PADDING_TRANSFORMS:
            continue
        value = transform.get("label_padding_value", LABEL_PADDING_TRANSFORMS[name])
        if value != ignore_index:
            yield ctx.finding(
                "PSI030", train.path + ("transforms", index, "label_padding_value"),
                f"{name} pads labels with {value} but ignore_index is {ignore_index}: the "
                f"padded border is trained as class {value}",
                f"label_padding_value: {ignore_index}")


def label_interpolation(ctx):
    """PSI031: a train transform resizes labels with a non-nearest interpolation."""
    train, transforms = _train_transforms(ctx)
    for index, transform in transforms:
        interpolation = NON_NEAREST_LABEL_RESIZE.get(transform["type"])
        if interpolation:
            yield ctx.finding(
                "PSI031", train.path + ("transforms", index),
                f"{transform['type']} resizes labels with {interpolation} in PaddleSeg 2.8.0: "
                "labels get values between classes at every boundary",
                "pad and resize with transforms that use nearest-neighbour for labels, e.g. "
                "`PaddingByAspectRatio` then `Resize` (both keep labels exact)")


def remap_after_padding(ctx):
    """PSI032: RemapLabels maps the pad value, after a transform that padded the label."""
    train, transforms = _train_transforms(ctx)
    padded = {}
    for index, transform in transforms:
        name = transform["type"]
        if name in LABEL_PADDING_TRANSFORMS:
            padded.setdefault(transform.get("label_padding_value",
                                            LABEL_PADDING_TRANSFORMS[name]), name)
        mapping = transform.get("mapping") if name == REMAP_TRANSFORM else None
        hit = [key for key in (mapping or {}) if key in padded] if isinstance(mapping, dict) \
            else []
        for key in hit:
            yield ctx.finding(
                "PSI032", train.path + ("transforms", index),
                f"RemapLabels maps {key} -> {mapping[key]} after {padded[key]} padded the "
                f"label with {key}: the padded border becomes class {mapping[key]}",
                f"move RemapLabels to the top of `{'.'.join(train.path)}.transforms`, before "
                "any crop, padding or rotation")


CHECKS = (label_padding_value, label_interpolation, remap_after_padding)
