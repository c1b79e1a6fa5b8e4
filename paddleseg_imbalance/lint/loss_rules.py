"""Config rules on the `loss` section: types/coef, one loss per model output, weights.

PaddleSeg's DefaultLossRule accepts `types` and `coef` of equal length, or a single type
that it repeats `len(coef)` times; anything else fails when the config loads. The
number of losses (`len(coef)`) must equal the number of logits the model returns in
training, which PaddleSeg checks only at the first iteration. A per-class `weight` of
the wrong length fails inside `forward`, on the device. Weights and coefficients that
are not finite non-negative numbers fail nowhere: a NaN or an infinity makes the loss
NaN, a negative one rewards the mistakes it should punish, all zeros train nothing,
and a string in `coef` multiplies a loss to an empty value.
"""
import math
import numbers

from paddleseg_imbalance.component_traits import takes_class_weights
from paddleseg_imbalance.config.resolve import format_key
from paddleseg_imbalance.lint.findings import ERROR, Violation, rule
from paddleseg_imbalance.lint.model_outputs import selected_backbone_stages, train_output_count

# `weight:` values this plugin's tools resolve before PaddleSeg builds the loss.
WEIGHT_KEYWORDS = ("auto", "batch")


def _loss_lists(ctx):
    """(types, coef) of `loss` when both are lists, else None."""
    loss = ctx.section("loss")
    types, coef = loss.get("types"), loss.get("coef")
    if isinstance(types, list) and isinstance(coef, list):
        return types, coef
    return None


@rule("PSI010", "loss-coef-mismatch", ERROR,
      "loss `types` and `coef` missing, or of lengths PaddleSeg rejects",
      "PaddleSeg's DefaultLossRule needs a `types` list and a `coef` list of the same length, "
      "or a single type that it repeats once per coef, and refuses anything else when the "
      "config loads.",
      "give one type per coef, or one type with as many coef as the model has outputs")
def types_coef_mismatch(ctx):
    """`types`/`coef` missing, or lengths that PaddleSeg's DefaultLossRule rejects."""
    if "loss" not in ctx.config:
        return
    loss = ctx.section("loss")
    for key in ("types", "coef"):
        if not isinstance(loss.get(key), list):
            yield Violation(("loss", key) if key in loss else ("loss",),
                            f"loss.{key} is {'missing' if key not in loss else 'not a list'}: "
                            "PaddleSeg needs both `types` and `coef` lists",
                            "write e.g. `loss: {types: [{type: CrossEntropyLoss}], coef: [1]}`, "
                            "one coef per model output")
    lists = _loss_lists(ctx)
    if lists and len(lists[0]) not in (1, len(lists[1])):
        types, coef = lists
        yield Violation(("loss", "coef"),
                        f"loss has {len(types)} types and {len(coef)} coef: PaddleSeg needs "
                        "as many types as coef, or a single type that it repeats",
                        f"give {len(types)} coef (one per type), or one type with "
                        f"{len(coef)} coef")


@rule("PSI011", "loss-output-count", ERROR,
      "the number of losses differs from the number of outputs the model returns in training",
      "In training a model returns its main output and its auxiliary heads (PP-LiteSeg: one "
      "per `backbone_indices` entry), and PaddleSeg pairs them with the losses one by one. "
      "It checks the counts only at the first iteration, after the data loaders have "
      "started, with 'The length of logits_list should equal to the types of loss config'. "
      "`coef` weights the outputs, not the classes.",
      "give `loss.types` and `loss.coef` one entry per model output (main head first), or "
      "one type that PaddleSeg repeats with one coef per output")
def loss_output_count(ctx):
    """The number of losses differs from the model's training outputs."""
    lists = _loss_lists(ctx)
    model = ctx.section("model")
    outputs = train_output_count(model)
    if not lists or outputs is None or len(lists[0]) not in (1, len(lists[1])):
        return
    types, coef = lists
    if len(coef) == outputs:
        return
    single = len(types) == 1
    found = (f"1 type repeated for {len(coef)} coef" if single and len(coef) > 1
             else f"{len(coef)} loss{'es' if len(coef) > 1 else ''}")
    ones = ", ".join(["1"] * outputs)
    # Users mistake coef for class weights (PaddleSeg issue #2524).
    hint = ("; `coef` weights the model outputs, class weights go in the loss's `weight`"
            if len(coef) == ctx.num_classes() else "")
    stages = selected_backbone_stages(model)
    # One output per backbone stage: changing backbone_indices (e.g. to [1, 2, 3, 4] for
    # PP-LiteSeg at stride 4) changes the number of losses needed.
    model_name = (f"{model['type']} with backbone_indices {stages}" if stages is not None
                  else model["type"])
    heads = ("; the first output is the main head, the others auxiliary heads at coarser "
             "strides (one per backbone_indices entry after the first)" if stages is not None
             else "; the first output is the main head")
    yield Violation(
        ("loss", "coef"),
        f"{model_name} returns {outputs} output{'s' if outputs > 1 else ''} in training "
        f"but the loss config has {found}: PaddleSeg stops at the first iteration with "
        f"'The length of logits_list should equal to the types of loss config: {outputs} != "
        f"{len(coef)}'",
        f"one loss per output: give `loss.types` {outputs} entries and `loss.coef` {outputs} "
        f"values, or one type (PaddleSeg repeats it) with `coef: [{ones}]`{heads}{hint}")


def _expected_weights(entry, num_classes):
    """Length a per-class weight list must have: classes (2 for binary mode's one channel)."""
    if entry.get("mode") == "binary":
        return 2
    return num_classes


@rule("PSI012", "loss-weight-length", ERROR,
      "a per-class loss `weight` list whose length is not the number of classes",
      "Cross-entropy, Dice and this plugin's overlap losses take one weight per class "
      "(channel). A list of another length fails inside the loss's forward, on the GPU as a "
      "device-side assertion; a string other than this plugin's `auto` and `batch` fails "
      "when the loss is built.",
      "give one weight per class in class-index order (background first), or `weight: "
      "auto` to compute them from the train set")
def weight_length(ctx):
    """A per-class `weight` list whose length is not the number of classes."""
    num_classes = ctx.num_classes()
    for loss_key in ("loss", "distill_loss"):
        for path, entry in ctx.loss_entries(loss_key):
            if not takes_class_weights(entry.get("type")) or entry.get("weight") is None:
                continue
            weight = entry["weight"]
            if isinstance(weight, str):
                if weight not in WEIGHT_KEYWORDS:
                    yield Violation(
                        path + ("weight",),
                        f"`{format_key(path + ('weight',))}` is '{weight}': {entry['type']} "
                        "takes a list of class weights, 'auto' or 'batch'",
                        "`weight: auto` computes the weights from the train set; or give one "
                        "number per class")
                continue
            expected = _expected_weights(entry, num_classes)
            if expected is None or not isinstance(weight, list) or len(weight) == expected:
                continue
            yield Violation(
                path + ("weight",),
                f"{entry['type']} has {len(weight)} class weights but the model has "
                f"{expected} classes: the loss fails inside forward (on the GPU, as a device "
                "assertion)",
                f"give {expected} weights, one per class in class-index order (background "
                "first), or `weight: auto` to compute them from the train set")


def _is_weight(value):
    """A finite, non-negative number (YAML's `true` is not one)."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value) and value >= 0)


def _bad_numbers(values, positive_sum=True):
    """What is wrong with a list of weights or coefficients ("" when nothing)."""
    bad = [value for value in values if not _is_weight(value)]
    if bad:
        return f"holds {', '.join(repr(value) for value in bad)}"
    if positive_sum and values and not sum(values) > 0:
        return "is all zeros"
    return ""


WEIGHT_RULE = ("class weights must be finite non-negative numbers with a positive sum (NaN "
               "or infinity makes the loss NaN, a negative weight rewards errors, all zeros "
               "train nothing)")
WEIGHT_FIX = ("give one finite number >= 0 per class, e.g. `weight: [1, 5]`, or "
              "`weight: auto` to compute them from the train set")


def weight_problem(entry):
    """What is wrong with a loss entry's `weight` value ("" when nothing). Strings are not
    judged here (PSI012 on per-class losses; other losses own theirs, such as BCELoss's
    `dynamic`). The tools' weight resolution applies the same rule."""
    weight = entry.get("weight")
    if isinstance(weight, list):
        return _bad_numbers(weight)
    if weight is not None and not isinstance(weight, str) \
            and takes_class_weights(entry.get("type")):
        return f"is the single value {weight!r}, not a list"
    return ""


@rule("PSI013", "loss-weight-value", ERROR,
      "a loss `weight` that is not finite non-negative numbers with a positive sum",
      "Nothing checks the values of class weights: a NaN or an infinity makes the loss NaN, "
      "a negative weight rewards the mistakes it should punish, all zeros train nothing, "
      "and a single number where a per-class loss wants a list fails inside the loss.",
      WEIGHT_FIX)
def weight_value(ctx):
    """A loss `weight` that is not a list of finite non-negative numbers with a
    positive sum (see `weight_problem`)."""
    for loss_key in ("loss", "distill_loss"):
        for path, entry in ctx.loss_entries(loss_key):
            problem = weight_problem(entry)
            if not problem:
                continue
            key = format_key(path + ("weight",))
            yield Violation(path + ("weight",), f"`{key}` {problem}: {WEIGHT_RULE}",
                            WEIGHT_FIX)


def _coefficients(ctx):
    """(key path, values, whether they need a positive sum) of every loss coefficient:
    `loss.coef`, a MixedLoss's `coef`, a RampedLoss's `start` and `end` (either may be 0)."""
    for loss_key in ("loss", "distill_loss"):
        coef = ctx.section(loss_key).get("coef")
        if isinstance(coef, list):
            yield (loss_key, "coef"), coef, True
        for path, entry in ctx.loss_entries(loss_key):
            if isinstance(entry.get("coef"), list):
                yield path + ("coef",), entry["coef"], True
            if entry.get("type") == "RampedLoss":
                for key in ("start", "end"):
                    if key in entry:
                        yield path + (key,), [entry[key]], False


@rule("PSI014", "loss-coef-value", ERROR,
      "a loss `coef` (or RampedLoss start/end) that is not finite non-negative numbers",
      "A loss coefficient multiplies its loss: NaN or infinity makes the total loss NaN, a "
      "negative one rewards errors, a string multiplies the loss to an empty value, and all "
      "zeros train nothing. PaddleSeg checks none of it.",
      "write numbers >= 0 (0 switches an auxiliary output's loss off), with a positive sum")
def coef_value(ctx):
    """A loss coefficient that is not a finite non-negative number, or all zeros."""
    for path, values, needs_positive_sum in _coefficients(ctx):
        problem = _bad_numbers(values, needs_positive_sum)
        if not problem:
            continue
        key = format_key(path)
        yield Violation(
            path,
            f"`{key}` {problem}: loss coefficients must be finite non-negative numbers "
            f"{'with a positive sum ' if needs_positive_sum else ''}(NaN or infinity makes "
            "the loss NaN, a negative one rewards errors, a string is no number)",
            "write numbers >= 0, e.g. `coef: [1, 1, 1]`; 0 switches an auxiliary output's "
            "loss off")


RULES = (types_coef_mismatch, loss_output_count, weight_length, weight_value, coef_value)
