"""Evaluators: reports built from a finished evaluation, chosen in YAML under `evaluators:`.

Each evaluator is called once per evaluation with the `EvaluationResult` (the confusion
counts, summed over ranks, and the metrics computed from them once) and returns a dict
that is merged into the evaluation JSON. Evaluators do not see images: anything they need
must follow from the counts, so adding one costs nothing per sample. The exception is an
evaluator with ``needs_probabilities = True`` (`ThresholdSweep`): `evaluate` calls its
``begin(num_classes, channels, ignore_index, multilabel)``, then ``update(probabilities,
labels)`` per sample with the foreground probabilities of the swept channels, and
``all_reduce()`` once, before calling it with the result. Likewise an evaluator with
``needs_predictions = True`` (`ObjectMetrics`) gets ``begin(num_classes, ignore_index,
multilabel, skip_channels, background_index, class_names)``, ``update(predictions,
labels)`` per sample (numpy class indices, or multi-label 0/1 masks) and ``all_reduce()``;
its ``add_to_result(result)`` runs before every evaluator, so all of them see its scores.

    evaluators:
      - type: SegMetrics                # per-class table and summary line
      - type: ConfusionMatrixReport     # CSV, JSON and PNG heat map of the counts
      - type: DegenerateResultCheck     # loud warning when the numbers are meaningless
        max_pred_share: 0.95

Every evaluator accepts both a single-label result (`SegmentationMetrics`, K x K matrix)
and a multi-label one (`MultiLabelMetrics`, per-label 2 x 2 counts).
"""
import csv
import json
import math
import os

import numpy as np
from paddleseg.utils import logger
from prettytable import PrettyTable

from paddleseg_imbalance.config.sections import IGNORE_SHARE_LIMIT
from paddleseg_imbalance.evaluation.manager import EVALUATORS
from paddleseg_imbalance.registry import register


class Evaluator:
    """Base class: ``evaluator(result, save_dir) -> dict`` merged into the evaluation JSON.

    `save_dir` is None where no file must be written (no save dir, or a rank other than
    0); the result is the same on every rank.
    """

    def __call__(self, result, save_dir=None):
        raise NotImplementedError


class EvaluatorArgumentError(ValueError):
    """A bad evaluator argument; `build_evaluators` names it as ``evaluators[i].<argument>``."""

    def __init__(self, argument, message):
        super().__init__(f"{argument}: {message}")
        self.argument, self.message = argument, message


def build_evaluators(specs):
    """Evaluator instances from YAML entries (``{type: Name, **kwargs}``) or instances."""
    evaluators = []
    for position, spec in enumerate(specs):
        if isinstance(spec, Evaluator):
            evaluators.append(spec)
            continue
        if not isinstance(spec, dict) or "type" not in spec:
            raise ValueError(f"evaluators: entry {spec!r} is not a mapping with `type`; "
                             "write e.g. `- type: SegMetrics`.")
        kwargs = dict(spec)
        name = kwargs.pop("type")
        if name not in EVALUATORS.components_dict:
            raise ValueError(f"evaluators: unknown type {name!r}; known: "
                             f"{sorted(EVALUATORS.components_dict)}.")
        try:
            evaluators.append(EVALUATORS.components_dict[name](**kwargs))
        except EvaluatorArgumentError as error:
            raise ValueError(f"evaluators[{position}].{error.argument} ({name}): "
                             f"{error.message}") from error
        except TypeError as error:  # an unknown or missing argument
            raise ValueError(f"evaluators: {name}: {error}; see help({name}) for the "
                             "arguments.") from error
    return evaluators


def default_evaluators():
    """What `evaluate` runs when given none: the table and the degenerate-result check."""
    return [SegMetrics(), DegenerateResultCheck()]


def eval_dir(save_dir):
    """`save_dir/eval`, created."""
    directory = os.path.join(save_dir, "eval")
    os.makedirs(directory, exist_ok=True)
    return directory


def _is_multilabel(result):
    return result.metrics.kind == "multilabel"


# ------------------------------------------------------------------------ SegMetrics


def _number(value, digits):
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def _percent(value):
    return "-" if math.isnan(value) else f"{100 * value:.2f}"


def class_table(scores, digits=4, title="Class"):
    """A prettytable of `ClassScores`: IoU, Dice/F1, precision, recall, label pixels,
    label and predicted shares in percent; "-" marks an absent class."""
    table = PrettyTable([title, "IoU", "Dice/F1", "Precision", "Recall", "Label px",
                         "Label %", "Pred %"])
    for i, name in enumerate(scores.names):
        table.add_row([name] + [_number(getattr(scores, m)[i], digits)
                                for m in ("iou", "dice", "precision", "recall")]
                      + [int(scores.support[i]), _percent(scores.support_share[i]),
                         _percent(scores.predicted_share[i])])
    table.align = "r"
    table.align[title] = "l"
    return table.get_string()


@register(EVALUATORS)
class SegMetrics(Evaluator):
    """Logs the per-class table and a one-line summary (the metrics are in every
    evaluation JSON already, so it returns nothing to merge).

    Single-label summary: mIoU over present classes, foreground mIoU, pixel accuracy,
    mean accuracy, kappa, mean Dice. Multi-label: mIoU, mean Dice, element accuracy and
    mean accuracy over the scored labels, and the auxiliary channels in a table of their
    own.

    Args:
        digits (int): decimals of the metrics in the table and the summary.
    """

    def __init__(self, digits=4):
        self.digits = int(digits)

    def __call__(self, result, save_dir=None):
        metrics, d = result.metrics, self.digits
        if _is_multilabel(result):
            logger.info(
                f"[EVAL] #Images: {result.num_images} multi-label "
                f"mIoU: {_number(metrics.miou, d)} "
                f"({int(metrics.present.sum())}/{len(metrics.names)} labels present) "
                f"Dice: {_number(metrics.mdice, d)} Acc: {_number(metrics.pixel_accuracy, d)} "
                f"mAcc: {_number(metrics.mean_accuracy, d)}")
            logger.info("[EVAL] Per label:\n" + class_table(metrics, d, "Label"))
            if metrics.auxiliary.names:
                logger.info("[EVAL] Auxiliary channels (in no mean):\n"
                            + class_table(metrics.auxiliary, d, "Channel"))
            return {}
        logger.info(
            f"[EVAL] #Images: {result.num_images} mIoU: {_number(metrics.miou, d)} "
            f"({int(metrics.present.sum())}/{len(metrics.names)} classes present) "
            f"fg-mIoU: {_number(metrics.fg_miou, d)} "
            f"Acc: {_number(metrics.pixel_accuracy, d)} "
            f"mAcc: {_number(metrics.mean_accuracy, d)} Kappa: {_number(metrics.kappa, d)} "
            f"Dice: {_number(metrics.mdice, d)}")
        logger.info("[EVAL] Per class:\n" + class_table(metrics, d))
        return {}


# ------------------------------------------------------------- ConfusionMatrixReport


def row_normalised(matrix):
    """Each row divided by its sum (the share of a label's pixels per prediction); NaN
    rows where a label has no pixels."""
    matrix = np.asarray(matrix, float)
    totals = matrix.sum(axis=-1, keepdims=True)
    return np.where(totals > 0, matrix / np.maximum(totals, 1), np.nan)


def _draw_heat_map(axes, shares, x_names, y_names, title, annotate):
    image = axes.imshow(np.ma.masked_invalid(shares), cmap="Blues", vmin=0.0, vmax=1.0)
    axes.set_xticks(range(len(x_names)))
    axes.set_xticklabels(x_names, rotation=90 if len(x_names) > 4 else 0)
    axes.set_yticks(range(len(y_names)))
    axes.set_yticklabels(y_names)
    axes.set_xlabel("prediction")
    axes.set_ylabel("label")
    axes.set_title(title)
    if annotate:
        for (row, column), share in np.ndenumerate(shares):
            text = "no labels" if math.isnan(share) else f"{100 * share:.1f}%"
            axes.text(column, row, text, ha="center", va="center", fontsize=8,
                      color="white" if share > 0.5 else "black")
    return image


def _save_figure(figure, path):
    # The Agg canvas is attached directly: no pyplot, no global backend switch.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=100, bbox_inches="tight")


@register(EVALUATORS)
class ConfusionMatrixReport(Evaluator):
    """Writes the raw counts of every evaluation under ``save_dir/eval``:

    - ``<stem>_confusion.csv``: single-label, a K x K table (rows labels, columns
      predictions, first row and column the class names); multi-label, one row per
      channel with TN, FP, FN, TP.
    - ``<stem>_confusion.json``: the same counts, names and ignored pixels.
    - ``<stem>_confusion.png``: a heat map normalised by label row (the share of each
      label's pixels given to each prediction); multi-label, one 2 x 2 map per channel.

    ``<stem>`` is ``iter_<iteration>``, or ``latest`` without an iteration.

    Args:
        annotate_max (int): write the percentage into each cell when there are at most
            this many classes.
    """

    def __init__(self, annotate_max=20):
        self.annotate_max = int(annotate_max)

    def __call__(self, result, save_dir=None):
        if save_dir is None:
            return {}
        stem = os.path.join(eval_dir(save_dir), f"{result.output_stem}_confusion")
        paths = {"csv": stem + ".csv", "json": stem + ".json", "png": stem + ".png"}
        if _is_multilabel(result):
            self._write_multilabel(result, paths)
        else:
            self._write_multiclass(result, paths)
        return {"confusion_matrix": paths}

    def _write_multiclass(self, result, paths):
        matrix, names = result.confusion.matrix, result.metrics.names
        with open(paths["csv"], "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["label \\ prediction", *names])
            for name, row in zip(names, matrix):
                writer.writerow([name, *row.tolist()])
        _write_json(paths["json"], {
            "classes": list(names), "rows": "label", "columns": "prediction",
            "matrix": matrix.tolist(), "ignored_pixels": result.confusion.ignored_pixels})

        from matplotlib.figure import Figure
        side = min(max(4.0, 0.5 * len(names) + 2.0), 30.0)  # 30 inches: about 60 classes
        figure = Figure(figsize=(side + 1.0, side))
        axes = figure.add_subplot(1, 1, 1)
        image = _draw_heat_map(
            axes, row_normalised(matrix), names, names,
            f"Confusion matrix, share of each label row ({result.output_stem})",
            len(names) <= self.annotate_max)
        figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
        _save_figure(figure, paths["png"])

    def _write_multilabel(self, result, paths):
        counts, metrics = result.confusion.counts, result.metrics
        names = _channel_names(metrics)
        auxiliary = set(metrics.auxiliary_channels)
        with open(paths["csv"], "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["channel", "name", "role", "TN", "FP", "FN", "TP"])
            for channel, name in enumerate(names):
                (tn, fp), (fn, tp) = counts[channel].tolist()
                role = "auxiliary" if channel in auxiliary else "label"
                writer.writerow([channel, name, role, tn, fp, fn, tp])
        _write_json(paths["json"], {
            "channels": list(names), "auxiliary_channels": sorted(auxiliary),
            "layout": "[[TN, FP], [FN, TP]]: rows label 0/1, columns prediction 0/1",
            "counts": counts.tolist(), "ignored_elements": result.confusion.ignored_elements})

        from matplotlib.figure import Figure
        figure = Figure(figsize=(3.2 * len(names), 3.4))
        for channel, name in enumerate(names):
            axes = figure.add_subplot(1, len(names), channel + 1)
            title = f"{name} (auxiliary)" if channel in auxiliary else name
            _draw_heat_map(axes, row_normalised(counts[channel]), ["0", "1"], ["0", "1"],
                           title, annotate=True)
        _save_figure(figure, paths["png"])


def _channel_names(metrics):
    """Names of all channels of a `MultiLabelMetrics`, in channel order."""
    by_channel = dict(zip(metrics.channels, metrics.names))
    by_channel.update(zip(metrics.auxiliary_channels, metrics.auxiliary.names))
    return [by_channel[c] for c in sorted(by_channel)]


def _write_json(path, content):
    with open(path, "w") as file:
        json.dump(content, file, indent=1)


# ------------------------------------------------------------- DegenerateResultCheck

_REMAP_FIX = ("If the masks are 0/255 (foreground saved as 255), the foreground is being "
              "ignored: add `{type: RemapLabels, mapping: {255: 1}}` to the transforms of "
              "train_dataset and val_dataset.")
_IMBALANCE_FIX = ("Weight the rare classes (`weight: auto` on the loss), train with "
                  "WeightedIoULoss or TverskyLoss, or show the model more of them "
                  "(RareClassCrop, ClassBalancedDataset).")
_LABEL_FIX = "Check the label files, the val file list, num_classes and ignore_index."
_SMALL_OBJECT_FIX = ("The model keeps the large objects and loses the small ones: predict at a "
                     "finer output stride (the stride-4 recipe, configs/demo/"
                     "pp_liteseg_stdc1_demo_recommended_stride4.yml), do not shrink the "
                     "images, crop around the rare class (RareClassCrop) and weight it "
                     "(`weight: auto`); `tools/val.py --save_errors K --save_errors_by "
                     "missed_objects` outlines the missed objects.")


def _flag(message, fix, **details):
    return dict(details, message=message, fix=fix)


@register(EVALUATORS)
class DegenerateResultCheck(Evaluator):
    """Warns loudly (one multi-line WARNING block) when the metrics do not measure what
    they seem to, and returns ``{"degenerate": {flag: {..., "message", "fix"}}}`` (empty
    when nothing is wrong). Flags:

    - ``dominant_prediction``: one class takes more than `max_pred_share` of the
      predictions *and* of the pixels labelled as other classes: the model predicts it
      everywhere (e.g. background on a 2 % foreground set: 98 % accuracy, foreground IoU
      0). Multi-label: a label predicted absent (or present) almost everywhere,
      including where it is present (absent).
    - ``never_predicted``: classes with label pixels that are never predicted.
    - ``absent_from_labels``: classes that never occur in the validation labels; their
      metrics say nothing about the model.
    - ``labels_only_background``: the labels hold only the background class.
    - ``labels_only_ignore``: every label pixel is ``ignore_index``.
    - ``small_objects_missed`` (with `ObjectMetrics` in the list): a class whose pixel IoU
      is at least `small_object_iou` misses every one of its objects below some size
      (at least `min_small_objects` of them): the large objects carry the IoU.
    - ``high_ignore_share``: more than `ignore_share_warn` of the label pixels are
      ``ignore_index``. With 255 these are most likely 0/255 masks whose foreground is
      ignored; the fix (the `RemapLabels` transform with ``mapping: {255: 1}``) is given
      here, and in ``labels_only_background`` when the only other value is 255.

    Args:
        max_pred_share (float): in (0, 1]; see ``dominant_prediction``.
        ignore_share_warn (float): in [0, 1]; see ``high_ignore_share``.
        small_object_iou (float): in [0, 1]; see ``small_objects_missed``.
        min_small_objects (int): see ``small_objects_missed``.
    """

    def __init__(self, max_pred_share=0.95, ignore_share_warn=IGNORE_SHARE_LIMIT,
                 small_object_iou=0.5, min_small_objects=3):
        if not 0 < max_pred_share <= 1 or not 0 <= ignore_share_warn <= 1:
            raise ValueError(f"DegenerateResultCheck: max_pred_share {max_pred_share} must "
                             f"be in (0, 1] and ignore_share_warn {ignore_share_warn} in "
                             "[0, 1] (both are shares, e.g. 0.95 and 0.3).")
        self.max_pred_share = float(max_pred_share)
        self.ignore_share_warn = float(ignore_share_warn)
        if not 0 <= small_object_iou <= 1:
            raise EvaluatorArgumentError("small_object_iou", f"{small_object_iou} must be in "
                                         "[0, 1] (an IoU, e.g. 0.5).")
        if isinstance(min_small_objects, bool) or not isinstance(min_small_objects, int) \
                or min_small_objects < 1:
            raise EvaluatorArgumentError("min_small_objects", f"{min_small_objects!r} must "
                                         "be a positive integer, e.g. 3.")
        self.small_object_iou = float(small_object_iou)
        self.min_small_objects = min_small_objects

    def __call__(self, result, save_dir=None):
        confusion, metrics = result.confusion, result.metrics
        if _is_multilabel(result):
            flags = self._ignore_flags(confusion.ignored_elements, metrics.valid_elements,
                                       confusion.ignore_index, "label elements")
            if metrics.valid_elements:
                flags.update(self._multilabel_flags(metrics, confusion.counts))
        else:
            flags = self._ignore_flags(confusion.ignored_pixels, metrics.valid_pixels,
                                       confusion.ignore_index, "label pixels")
            if metrics.valid_pixels:
                flags.update(self._multiclass_flags(metrics, confusion))
        if result.objects is not None:
            flags.update(self._small_object_flags(metrics, result.objects))
        if flags:
            where = "" if result.iteration is None else f" at iteration {result.iteration}"
            rule = "=" * 88
            lines = [rule, f"DEGENERATE EVALUATION RESULT{where}: these metrics do not mean "
                     "what they seem"]
            lines += [f"- [{name}] {flag['message']}" for name, flag in flags.items()]
            fixes = dict.fromkeys(flag["fix"] for flag in flags.values())  # unique, in order
            lines += [f"  Fix: {fix}" for fix in fixes]
            logger.warning("\n".join(lines + [rule]))
        return {"degenerate": flags}

    def _ignore_flags(self, ignored, valid, ignore_index, what):
        total = ignored + valid
        if total == 0:
            return {}
        if valid == 0:
            return {"labels_only_ignore": _flag(
                f"Every one of the {ignored} {what} equals ignore_index {ignore_index}: "
                "nothing was scored.", _REMAP_FIX if ignore_index == 255 else _LABEL_FIX,
                ignored=ignored)}
        share = ignored / total
        if share <= self.ignore_share_warn:
            return {}
        return {"high_ignore_share": _flag(
            f"{share:.1%} of the {what} equal ignore_index {ignore_index} (warning above "
            f"{self.ignore_share_warn:.0%}): the metrics score the rest only, and a "
            "background-only model can score well.",
            _REMAP_FIX if ignore_index == 255 else _LABEL_FIX,
            ignored_share=share, ignore_index=ignore_index)}

    def _multiclass_flags(self, metrics, confusion):
        flags, matrix = {}, confusion.matrix
        names, valid = metrics.names, metrics.valid_pixels
        for c, name in enumerate(names):
            others = valid - int(metrics.support[c])
            swallowed = int(metrics.predicted[c] - matrix[c, c])  # others predicted as c
            predicted_share = metrics.predicted[c] / valid
            if (others > 0 and predicted_share > self.max_pred_share
                    and swallowed / others > self.max_pred_share):
                flags["dominant_prediction"] = _flag(
                    f'The model predicts "{name}" for {predicted_share:.1%} of the pixels, '
                    f"including {swallowed / others:.1%} of the pixels labelled as other "
                    f'classes: it has collapsed to "{name}", and pixel accuracy '
                    f"({metrics.pixel_accuracy:.1%}) hides it.", _IMBALANCE_FIX,
                    name=name, predicted_share=float(predicted_share),
                    others_predicted_as_it=swallowed / others)
        flags.update(self._label_presence_flags(metrics, "class", "classes", "pixels"))
        background = metrics.background_index
        if background is not None:
            foreground = np.delete(metrics.support, background)
            if metrics.support[background] > 0 and not foreground.any():
                message = (f'The validation labels hold only the background class '
                           f'"{names[background]}": no foreground is scored, so mIoU and '
                           "accuracy measure nothing.")
                zero_255 = confusion.ignore_index == 255 and confusion.ignored_pixels > 0
                if zero_255:
                    message += " All other label pixels are 255 = ignore_index."
                flags["labels_only_background"] = _flag(
                    message, _REMAP_FIX if zero_255 else _LABEL_FIX)
        return flags

    def _small_object_flags(self, metrics, objects):
        missed, names = [], []
        for index, name in enumerate(objects.names):
            iou = metrics.value(f"iou/{name}")
            lost = objects.smallest_missed(index, self.min_small_objects)
            if lost is None or not iou >= self.small_object_iou:
                continue
            names.append(name)
            recall = objects.row(index)["recall"]
            missed.append(f'"{name}" has pixel IoU {iou:.3f}, yet all {lost[1]} of its '
                          f"objects smaller than {lost[0]} px are missed (object recall "
                          f"over all sizes {recall:.3f})")
        if not missed:
            return {}
        return {"small_objects_missed": _flag(
            "; ".join(missed) + ": the large objects carry the pixel IoU.",
            _SMALL_OBJECT_FIX, names=names)}

    @staticmethod
    def _label_presence_flags(scores, what, plural, unit):
        """``never_predicted`` and ``absent_from_labels`` of `ClassScores`."""
        flags = {}
        never = [n for n, s, p in zip(scores.names, scores.support, scores.predicted)
                 if s > 0 and p == 0]
        if never:
            flags["never_predicted"] = _flag(
                f"{plural.capitalize()} {never} have label {unit} but are never predicted "
                "(IoU 0).", _IMBALANCE_FIX, names=never)
        predicted_absent = {n: int(p) for n, s, p in zip(scores.names, scores.support,
                                                         scores.predicted) if s == 0}
        if predicted_absent:
            flags["absent_from_labels"] = _flag(
                f"{plural.capitalize()} {list(predicted_absent)} never occur in the "
                "validation labels: their metrics say nothing about the model (predicted "
                f"{unit}: {predicted_absent}).",
                f"Use a validation set that holds every {what}, or check num_classes.",
                names=list(predicted_absent), predicted=predicted_absent)
        return flags

    def _multilabel_flags(self, metrics, counts):
        collapsed, names = [], []
        for name, channel in zip(metrics.names, metrics.channels):
            (tn, fp), (fn, tp) = counts[channel].tolist()
            counted = tn + fp + fn + tp
            for state, predicted, swallowed, opposite in (
                    ("absent", tn + fn, fn, fn + tp), ("present", tp + fp, fp, fp + tn)):
                if (opposite and predicted / counted > self.max_pred_share
                        and swallowed / opposite > self.max_pred_share):
                    names.append(name)
                    collapsed.append(
                        f'label "{name}" is predicted {state} on {predicted / counted:.1%} of '
                        f"the elements, including {swallowed / opposite:.1%} of those where "
                        "it is not")
        flags = {}
        if collapsed:
            message = "; ".join(collapsed)
            flags["dominant_prediction"] = _flag(message[0].upper() + message[1:] + ".",
                                                 _IMBALANCE_FIX, names=names)
        flags.update(self._label_presence_flags(metrics, "label", "labels", "elements"))
        return flags
