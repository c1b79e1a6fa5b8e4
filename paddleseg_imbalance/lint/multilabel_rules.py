"""Config rules on multi-label setups (PaddleSeg's strip labels + AddMultiLabelAuxiliaryCategory).

`AddMultiLabelAuxiliaryCategory` turns C label channels into C + 1 (a background
channel 0 for pixels with no label), so the model needs `num_classes: C + 1`; it must
run first (it reads the file's strip layout, which later transforms would resize as an
ordinary image); the val labels need it as much as the train labels. And PaddleSeg's
`LovaszHingeLoss` reads any 2-channel logit as a 2-class softmax and collapses it, so a
2-channel multi-label model (1 label + background, or 2 labels) trains on the wrong
problem.
"""
from paddleseg_imbalance.component_traits import AUX_TRANSFORM
from paddleseg_imbalance.config.resolve import format_key
from paddleseg_imbalance.lint.findings import ERROR, Violation, rule

_AUX_YAML = f"- type: {AUX_TRANSFORM}"


@rule("PSI020", "multilabel-num-classes", ERROR,
      "AddMultiLabelAuxiliaryCategory with num_classes other than labels + 1",
      "AddMultiLabelAuxiliaryCategory turns C label channels into C + 1: it adds a "
      "background channel 0 for the pixels with no label. The model and the datasets need "
      "num_classes: C + 1, or the loss compares tensors of different shapes.",
      "set num_classes to the number of labels + 1 in model, train_dataset and val_dataset")
def aux_num_classes(ctx):
    """The auxiliary channel is there but num_classes is not labels + 1."""
    if not ctx.has_aux_channel() or ctx.num_labels is None:
        return
    labels = ctx.num_labels
    expected = labels.value + 1
    places = [(("model", "num_classes"), ctx.section("model").get("num_classes"))]
    places += [(s.path + ("num_classes",), ctx.dataset_num_classes(s)) for s in ctx.datasets()]
    places += [(path + ("num_classes",), t.get("num_classes")) for path, t in ctx.aux_transforms()]
    for path, value in places:
        if value is not None and value != expected:
            yield Violation(
                path,
                f"{format_key(path)} is {value}, but the data has {labels.value} "
                f"label{'s' if labels.value > 1 else ''} (from {labels.source}) and "
                f"{AUX_TRANSFORM} adds a background channel: {labels.value} + 1 = {expected} "
                "channels",
                f"set num_classes: {expected} in model, train_dataset and val_dataset")


@rule("PSI021", "multilabel-aux-not-first", ERROR,
      "AddMultiLabelAuxiliaryCategory is not the first transform",
      "AddMultiLabelAuxiliaryCategory reads PaddleSeg's multi-label strip layout (the labels "
      "side by side, C times the image width). A crop or resize before it sees the strips "
      "as one wide image and cuts across the labels.",
      "move it to the top of the dataset's transforms")
def aux_not_first(ctx):
    """AddMultiLabelAuxiliaryCategory is not the first transform."""
    for section in ctx.datasets():
        for position, (index, transform) in enumerate(section.transforms()):
            if transform["type"] == AUX_TRANSFORM and position > 0:
                yield Violation(
                    section.path + ("transforms", index),
                    f"{AUX_TRANSFORM} is transform {position + 1} of `{section.name}`: the "
                    "transforms before it see the label strips as one wide image (a crop or "
                    "resize cuts across labels)",
                    f"move it to the top of `{'.'.join(section.path)}.transforms`:\n"
                    f"transforms:\n  {_AUX_YAML}\n  ...")


@rule("PSI022", "multilabel-aux-split", ERROR,
      "AddMultiLabelAuxiliaryCategory in the train transforms but not in val (or the reverse)",
      "The split without it keeps the strip layout and has no background channel, so its "
      "labels do not match the model's output shape: the evaluation (or the training) fails "
      "or measures the wrong channels.",
      "add it first in the transforms of both train_dataset and val_dataset")
def aux_split(ctx):
    """The auxiliary transform in one split's transforms but not the other's."""
    train, val = ctx.dataset("train_dataset"), ctx.dataset("val_dataset")
    if train is None or val is None:
        return
    in_train = AUX_TRANSFORM in train.transform_types()
    in_val = AUX_TRANSFORM in val.transform_types()
    if in_train == in_val:
        return
    missing, present = (val, train) if in_train else (train, val)
    yield Violation(
        missing.path + ("transforms",),
        f"{AUX_TRANSFORM} is in `{present.name}` but not in `{missing.name}`: the "
        f"{missing.name.split('_')[0]} labels keep the strip layout and have no background "
        "channel, so their shape does not match the model output",
        f"add it first in `{'.'.join(missing.path)}.transforms`:\n"
        f"transforms:\n  {_AUX_YAML}\n  ...")


@rule("PSI023", "multilabel-lovasz-hinge", ERROR,
      "PaddleSeg's LovaszHingeLoss on a 2-channel multi-label output collapses the channels",
      "PaddleSeg's LovaszHingeLoss reads any 2-channel logit as a 2-class softmax and "
      "collapses it to one channel, so a 2-channel multi-label model (1 label + background, "
      "or 2 labels) trains one label (or the background) only.",
      "use this plugin's per-channel hinge: `type: MultiLabelLovaszHingeLoss`")
def lovasz_hinge_two_channels(ctx):
    """PaddleSeg's LovaszHingeLoss on a 2-channel multi-label output."""
    if not ctx.is_multilabel() or ctx.num_classes() != 2:
        return
    for path, entry in ctx.loss_entries():
        if entry.get("type") == "LovaszHingeLoss":
            yield Violation(
                path + ("type",),
                "PaddleSeg's LovaszHingeLoss reads a 2-channel logit as a 2-class softmax "
                "and collapses it to one channel, so this 2-channel multi-label model trains "
                "one label (or the background) only",
                "use this plugin's per-channel hinge: `type: MultiLabelLovaszHingeLoss`")


RULES = (aux_num_classes, aux_not_first, aux_split, lovasz_hinge_two_channels)
