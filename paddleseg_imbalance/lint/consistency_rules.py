"""Config rules on num_classes, class_names and ignore_index: valid, and the same everywhere.

PaddleSeg's config checker asserts some of these when the config loads (a bare
`RuntimeError` without the key), and checks others only at the first iteration, or
never (`num_classes: 1` passes its `num_classes < 1` check).
"""
from paddleseg_imbalance.lint.context import DEFAULT_IGNORE_INDEX, is_positive_int
from paddleseg_imbalance.lint.resolve import format_key

# Top-level keys PaddleSeg's DefaultPrimaryRule requires.
REQUIRED_KEYS = ("batch_size", "iters", "train_dataset", "optimizer", "lr_scheduler", "loss",
                 "model")
# Losses that take a softmax (or argmax) across the channels: with one channel the
# prediction is always class 0.
SOFTMAX_LOSSES = {"CrossEntropyLoss", "OhemCrossEntropyLoss", "LovaszSoftmaxLoss", "DiceLoss",
                  "BootstrappedCrossEntropyLoss", "DistillCrossEntropyLoss",
                  "MultiClassFocalLoss", "PixelContrastCrossEntropyLoss",
                  "PointCrossEntropyLoss"}
# This plugin's losses are softmax losses in their default `mode: multiclass`.
MODE_LOSSES = {"WeightedIoULoss", "TverskyLoss", "SoftClDiceLoss"}


def missing_sections(ctx):
    """PSI007: a key that PaddleSeg's DefaultPrimaryRule requires is absent (not in fragments)."""
    if ctx.fragment:
        return
    for key in REQUIRED_KEYS:
        if key not in ctx.config:
            yield ctx.finding("PSI007", (key,), f"`{key}` is missing: PaddleSeg refuses a "
                              "config without it", f"add a `{key}:` section (check the "
                              "`_base_` path if it should come from a base file)")


def _num_classes_sources(ctx):
    """[(key path, label, value)] of every place that states num_classes."""
    sources = []
    model_value = ctx.section("model").get("num_classes")
    if model_value is not None:
        sources.append((("model", "num_classes"), "model.num_classes", model_value))
    for section in ctx.datasets():
        if "num_classes" in section.cfg:
            path = section.path + ("num_classes",)
            sources.append((path, ".".join(path), section.cfg["num_classes"]))
        elif ctx.dataset_constant(section, "num_classes") is not None:
            sources.append((section.path + ("type",), f"{section.type}.NUM_CLASSES",
                            ctx.dataset_constant(section, "num_classes")))
    for path, transform in ctx.aux_transforms():
        if transform.get("num_classes") is not None:
            path = path + ("num_classes",)
            sources.append((path, format_key(path), transform["num_classes"]))
    return sources


def num_classes_mismatch(ctx):
    """PSI001: model, train_dataset and val_dataset disagree on num_classes (among the
    valid values; PSI008 reports the others)."""
    sources = [source for source in _num_classes_sources(ctx) if is_positive_int(source[2])]
    if len({value for _, _, value in sources}) < 2:
        return
    # The train set describes the labels; the other places must follow it.
    reference = next((s for s in sources if s[1].startswith("train_dataset")), sources[0])
    everywhere = ", ".join(f"{label} {value}" for _, label, value in sources)
    for path, label, value in sources:
        if value != reference[2]:
            yield ctx.finding(
                "PSI001", path, f"{label} is {value} but {reference[1]} is {reference[2]} "
                f"({everywhere})",
                f"set num_classes to the number of classes in the labels (background "
                f"included) in model, train_dataset and val_dataset, e.g. {reference[2]}")


def num_classes_missing(ctx):
    """PSI002: a `Dataset` section, or the model, has no num_classes to use."""
    for section in ctx.datasets():
        if section.type == "Dataset" and "num_classes" not in section.cfg:
            yield ctx.finding("PSI002", section.path, f"`{'.'.join(section.path)}` is a "
                              "`Dataset` without num_classes: PaddleSeg refuses it",
                              "add `num_classes: N` (classes in the labels, background "
                              "included) to the dataset and the model")
    invalid = any(not is_positive_int(value) for _, _, value in _num_classes_sources(ctx))
    if "model" in ctx.config and ctx.num_classes() is None and not invalid and not ctx.fragment:
        yield ctx.finding("PSI002", ("model",), "the model has no num_classes and no dataset "
                          "gives one", "add `num_classes: N` to model")


def num_classes_invalid(ctx):
    """PSI008: a num_classes that is not a positive integer, at the key that states it."""
    sources = _num_classes_sources(ctx)
    valid = [(label, value) for _, label, value in sources if is_positive_int(value)]
    if len({value for _, value in valid}) == 1:
        example = f"num_classes: {valid[0][1]}, as {valid[0][0]} says"
    else:
        example = "e.g. num_classes: 2 for background and one foreground class"
    for path, label, value in sources:
        if not is_positive_int(value):
            yield ctx.finding(
                "PSI008", path, f"{label} is {value!r} ({type(value).__name__}): num_classes "
                "must be a positive integer, the number of classes in the labels (background "
                "included)", f"set `{label}` to that number ({example})")


def class_names_count(ctx):
    """PSI009: `class_names` that is not a list of num_classes names (the evaluation
    refuses it, at the first evaluation of a training run)."""
    names = ctx.config.get("class_names")
    num_classes = ctx.num_classes()
    if names is None or (isinstance(names, list) and num_classes in (None, len(names))):
        return
    found = (f"has {len(names)} name{'s' if len(names) != 1 else ''} ({names})"
             if isinstance(names, list) else f"is {names!r}, not a list")
    expected = (f"num_classes is {num_classes}" if num_classes is not None
                else "it must be a list")
    yield ctx.finding(
        "PSI009", ("class_names",), f"class_names {found} but {expected}: the evaluation "
        "refuses it at the first evaluation of a training run, after the iterations before "
        "it are spent",
        "give one name per class in class-index order, background first (e.g. "
        f"`class_names: [background, foreground]` for 2 classes), or fix num_classes")


def single_channel(ctx):
    """PSI003 / PSI004: `num_classes: 1`, where the argmax of one channel is always 0."""
    if ctx.num_classes() != 1:
        return
    softmax = [entry["type"] for _, entry in ctx.loss_entries()
               if entry.get("type") in SOFTMAX_LOSSES
               or (entry.get("type") in MODE_LOSSES and entry.get("mode", "multiclass")
                   == "multiclass")]
    path = ("model", "num_classes") if "num_classes" in ctx.section("model") else ("model",)
    fix = ("for binary segmentation use num_classes: 2 (background and foreground, labels "
           "0/1) in model, train_dataset and val_dataset")
    if softmax:
        yield ctx.finding("PSI003", path, f"num_classes is 1 with {', '.join(sorted(set(softmax)))}"
                          ": a softmax over one channel is always 1 and its argmax always 0, "
                          "so the loss is constant and nothing is learned", fix)
    else:
        yield ctx.finding("PSI004", path, "num_classes is 1: PaddleSeg's evaluation and "
                          "prediction take the argmax over channels, which is always 0 with "
                          "one channel, so mIoU and the predicted masks never show foreground",
                          fix)


def _is_class(ctx, value):
    num_classes = ctx.num_classes()
    return num_classes is not None and isinstance(value, int) and 0 <= value < num_classes


def _not_a_class(ctx, candidates):
    """The first of `candidates` that is no class index (so ignoring it loses no class),
    else PaddleSeg's 255."""
    return next((value for value in candidates
                 if isinstance(value, int) and not _is_class(ctx, value)), DEFAULT_IGNORE_INDEX)


def ignore_index_mismatch(ctx):
    """PSI005: ignore_index differs between train and val, or a loss and the datasets.

    The fix never suggests a value that is a class index: ignoring it would drop that
    class from the loss and the metrics."""
    train = ctx.dataset("train_dataset")
    if train is None:
        return
    expected = ctx.ignore_index(train)
    where = f"{'.'.join(train.path)} ignore_index {expected}"
    val = ctx.dataset("val_dataset")
    if val is not None and ctx.ignore_index(val) != expected:
        suggested = _not_a_class(ctx, [expected, ctx.ignore_index(val)])
        yield ctx.finding("PSI005", val.path + ("ignore_index",),
                          f"val_dataset ignore_index is {ctx.ignore_index(val)} but {where}",
                          f"use one ignore_index, a value that is no class index, in both "
                          f"datasets, e.g. ignore_index: {suggested}")
    if not _is_class(ctx, expected):
        fix = (f"remove ignore_index from the loss (PaddleSeg copies the dataset's) or set it "
               f"to {expected}")
    else:
        fix = (f"{where} is a class index, so that class would be ignored: set ignore_index: {DEFAULT_IGNORE_INDEX} in the datasets and "
               "remove it from the loss (PaddleSeg copies the dataset's)")
    for loss_key in ("loss", "distill_loss"):
        for path, entry in ctx.loss_entries(loss_key):
            if "ignore_index" in entry and entry["ignore_index"] != expected:
                yield ctx.finding(
                    "PSI005", path + ("ignore_index",),
                    f"{entry.get('type')} has ignore_index {entry['ignore_index']} but {where}: "
                    "the loss would train on the pixels the dataset marks as ignored", fix)


CHECKS = (missing_sections, num_classes_mismatch, num_classes_missing, single_channel,
          ignore_index_mismatch, num_classes_invalid, class_names_count)
