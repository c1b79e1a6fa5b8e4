"""Config rules on num_classes, class_names and ignore_index: valid, and the same everywhere.

PaddleSeg's config checker asserts some of these when the config loads (a bare
`RuntimeError` without the key), and checks others only at the first iteration, or
never (`num_classes: 1` passes its `num_classes < 1` check).
"""
from paddleseg_imbalance.component_traits import applies_softmax
from paddleseg_imbalance.config.sections import DEFAULT_IGNORE_INDEX, is_positive_int
from paddleseg_imbalance.lint.findings import ERROR, WARNING, Violation, rule

# Top-level keys PaddleSeg's DefaultPrimaryRule requires.
REQUIRED_KEYS = ("batch_size", "iters", "train_dataset", "optimizer", "lr_scheduler", "loss",
                 "model")


@rule("PSI007", "missing-section", ERROR,
      "a top-level key PaddleSeg requires (model, loss, train_dataset, ...) is missing",
      "PaddleSeg's config checker (DefaultPrimaryRule) requires batch_size, iters, "
      "train_dataset, optimizer, lr_scheduler, loss and model, and refuses the config when "
      "it loads. A fragment (a `_base_` file, a partial config) is not complete by design, "
      "so the rule does not run on it.",
      "add the section, or fix the `_base_` path that should bring it")
def missing_sections(ctx):
    """A key that PaddleSeg's DefaultPrimaryRule requires is absent (not in fragments)."""
    if ctx.fragment:
        return
    for key in REQUIRED_KEYS:
        if key not in ctx.config:
            yield Violation((key,), f"`{key}` is missing: PaddleSeg refuses a config "
                            "without it", f"add a `{key}:` section (check the `_base_` path "
                            "if it should come from a base file)")


@rule("PSI001", "num-classes-mismatch", ERROR,
      "num_classes differs between model, train_dataset and val_dataset",
      "The model makes one output channel per class and the datasets say how many classes "
      "the labels hold; PaddleSeg does not compare them. Too few channels fail inside the "
      "loss (a device-side assertion on the GPU); too many train channels that no label "
      "uses and report their IoU as 0 in the evaluation. The train set describes the labels, "
      "so the fix follows it.",
      "set num_classes to the number of classes in the labels (background included) in "
      "model, train_dataset and val_dataset")
def num_classes_mismatch(ctx):
    """Model, train_dataset and val_dataset disagree on num_classes (among the
    valid values; PSI008 reports the others)."""
    sources = [source for source in ctx.num_classes_sources() if is_positive_int(source[2])]
    if len({value for _, _, value in sources}) < 2:
        return
    # The train set describes the labels; the other places must follow it.
    reference = next((s for s in sources if s[1].startswith("train_dataset")), sources[0])
    everywhere = ", ".join(f"{label} {value}" for _, label, value in sources)
    for path, label, value in sources:
        if value != reference[2]:
            yield Violation(
                path, f"{label} is {value} but {reference[1]} is {reference[2]} "
                f"({everywhere})",
                f"set num_classes to the number of classes in the labels (background "
                f"included) in model, train_dataset and val_dataset, e.g. {reference[2]}")


@rule("PSI002", "num-classes-missing", ERROR,
      "a `Dataset` section (or a model without a dataset to take it from) has no num_classes",
      "PaddleSeg's generic `Dataset` cannot know how many classes the labels hold, and "
      "refuses to be built without num_classes; a model without num_classes takes the "
      "train dataset's, so with neither it cannot be built.",
      "add `num_classes: N` (classes in the labels, background included) to the dataset "
      "and the model")
def num_classes_missing(ctx):
    """A `Dataset` section, or the model, has no num_classes to use."""
    for section in ctx.datasets():
        if section.type == "Dataset" and "num_classes" not in section.cfg:
            yield Violation(section.path, f"`{'.'.join(section.path)}` is a `Dataset` "
                            "without num_classes: PaddleSeg refuses it",
                            "add `num_classes: N` (classes in the labels, background "
                            "included) to the dataset and the model")
    invalid = any(not is_positive_int(value) for _, _, value in ctx.num_classes_sources())
    if "model" in ctx.config and ctx.num_classes() is None and not invalid and not ctx.fragment:
        yield Violation(("model",), "the model has no num_classes and no dataset gives one",
                        "add `num_classes: N` to model")


@rule("PSI008", "num-classes-invalid", ERROR,
      "a num_classes that is not a positive integer (0, -1, 1.5, \"two\")",
      "num_classes is the number of output channels and of classes in the labels. PaddleSeg "
      "accepts some invalid values when the config loads (a float, a string) and fails "
      "later, when the model or the loss is built, with an error that names no key.",
      "set num_classes to the number of classes in the labels, background included (2 for "
      "binary segmentation)")
def num_classes_invalid(ctx):
    """A num_classes that is not a positive integer, at the key that states it."""
    sources = ctx.num_classes_sources()
    valid = [(label, value) for _, label, value in sources if is_positive_int(value)]
    if len({value for _, value in valid}) == 1:
        example = f"num_classes: {valid[0][1]}, as {valid[0][0]} says"
    else:
        example = "e.g. num_classes: 2 for background and one foreground class"
    for path, label, value in sources:
        if not is_positive_int(value):
            yield Violation(
                path, f"{label} is {value!r} ({type(value).__name__}): num_classes "
                "must be a positive integer, the number of classes in the labels (background "
                "included)", f"set `{label}` to that number ({example})")


@rule("PSI009", "class-names-count", ERROR,
      "`class_names` is not a list of one name per class (num_classes)",
      "The evaluation names each class's IoU with `class_names` and refuses a list of "
      "another length, but only at the first evaluation of a training run, after the "
      "iterations before it are spent.",
      "give one name per class in class-index order, background first, or fix num_classes")
def class_names_count(ctx):
    """`class_names` that is not a list of num_classes names (the evaluation
    refuses it, at the first evaluation of a training run)."""
    names = ctx.config.get("class_names")
    num_classes = ctx.num_classes()
    if names is None or (isinstance(names, list) and num_classes in (None, len(names))):
        return
    found = (f"has {len(names)} name{'s' if len(names) != 1 else ''} ({names})"
             if isinstance(names, list) else f"is {names!r}, not a list")
    expected = (f"num_classes is {num_classes}" if num_classes is not None
                else "it must be a list")
    yield Violation(
        ("class_names",), f"class_names {found} but {expected}: the evaluation "
        "refuses it at the first evaluation of a training run, after the iterations before "
        "it are spent",
        "give one name per class in class-index order, background first (e.g. "
        f"`class_names: [background, foreground]` for 2 classes), or fix num_classes")


_BINARY_FIX = ("for binary segmentation use num_classes: 2 (background and foreground, "
               "labels 0/1) in model, train_dataset and val_dataset")


def _single_channel_softmax_losses(ctx):
    """The sorted softmax loss types of a `num_classes: 1` config (None: not one channel)."""
    if ctx.num_classes() != 1:
        return None
    return sorted({entry["type"] for _, entry in ctx.loss_entries() if applies_softmax(entry)})


def _num_classes_path(ctx):
    return ("model", "num_classes") if "num_classes" in ctx.section("model") else ("model",)


@rule("PSI003", "single-channel-softmax", ERROR,
      "num_classes: 1 with a softmax loss: the argmax of one channel is always 0",
      "A softmax over one channel is always 1, so a softmax loss (cross-entropy, Dice, "
      "Lovasz-Softmax, this plugin's losses in `mode: multiclass`) is constant and nothing "
      "is learned; PaddleSeg accepts the config and trains without an error.",
      _BINARY_FIX)
def single_channel_softmax(ctx):
    """`num_classes: 1` with a loss that takes a softmax across the channels."""
    softmax = _single_channel_softmax_losses(ctx)
    if softmax:
        yield Violation(_num_classes_path(ctx), f"num_classes is 1 with {', '.join(softmax)}"
                        ": a softmax over one channel is always 1 and its argmax always 0, "
                        "so the loss is constant and nothing is learned", _BINARY_FIX)


@rule("PSI004", "single-channel-argmax", WARNING,
      "num_classes: 1: PaddleSeg's evaluation and prediction take the argmax over channels",
      "With a sigmoid loss (BCE) one channel can train, but PaddleSeg's evaluation and "
      "prediction take the argmax over the channels, which is always 0 with one channel: "
      "mIoU and the predicted masks never show foreground.",
      _BINARY_FIX)
def single_channel_argmax(ctx):
    """`num_classes: 1` without a softmax loss (PSI003 reports those)."""
    if _single_channel_softmax_losses(ctx) == []:
        yield Violation(_num_classes_path(ctx), "num_classes is 1: PaddleSeg's evaluation and "
                        "prediction take the argmax over channels, which is always 0 with one "
                        "channel, so mIoU and the predicted masks never show foreground",
                        _BINARY_FIX)


def _is_class(ctx, value):
    num_classes = ctx.num_classes()
    return num_classes is not None and isinstance(value, int) and 0 <= value < num_classes


def _not_a_class(ctx, candidates):
    """The first of `candidates` that is no class index (so ignoring it loses no class),
    else PaddleSeg's 255."""
    return next((value for value in candidates
                 if isinstance(value, int) and not _is_class(ctx, value)), DEFAULT_IGNORE_INDEX)


@rule("PSI005", "ignore-index-mismatch", ERROR,
      "ignore_index differs between a loss and the datasets, or between train and val",
      "PaddleSeg copies the dataset's ignore_index into each loss that does not set one. A "
      "loss with another value trains on the pixels the dataset marks as ignored (the "
      "padded border, unlabelled areas), or fails on the value 255; a val set with another "
      "value measures pixels the training ignored.",
      "use one ignore_index, a value that is no class index (255), in both datasets, and "
      "remove it from the losses")
def ignore_index_mismatch(ctx):
    """Ignore_index differs between train and val, or a loss and the datasets.

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
        yield Violation(val.path + ("ignore_index",),
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
                yield Violation(
                    path + ("ignore_index",),
                    f"{entry.get('type')} has ignore_index {entry['ignore_index']} but {where}: "
                    "the loss would train on the pixels the dataset marks as ignored", fix)


RULES = (missing_sections, num_classes_mismatch, num_classes_missing, single_channel_softmax,
         single_channel_argmax, ignore_index_mismatch, num_classes_invalid, class_names_count)
