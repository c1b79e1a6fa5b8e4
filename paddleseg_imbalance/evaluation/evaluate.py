"""Run a model over a PaddleSeg val dataset: confusion counts, metrics, evaluators.

`evaluate` replaces `paddleseg.core.evaluate`: the same inference (`infer_image`:
`infer.inference` / `aug_inference` with ``trans_info``, AMP, sliding window), one
streaming confusion matrix summed over ranks once at the end, then the metrics and every
evaluator from it (`EvaluationOptions` says which).
`summarize` is the second half alone, for counts gathered elsewhere.
"""
import dataclasses
import json
import math
import os
from typing import Any, Dict, Optional, Union

import paddle
from paddleseg.utils import logger, progbar

from paddleseg_imbalance.evaluation.confusion import (ConfusionMatrix, MultiLabelConfusion,
                                                      init_parallel_env_once)
from paddleseg_imbalance.evaluation.evaluators import (build_evaluators, default_evaluators,
                                                       eval_dir)
from paddleseg_imbalance.evaluation.metrics import (MultiLabelMetrics, SegmentationMetrics,
                                                    multilabel_metrics, segmentation_metrics)
from paddleseg_imbalance.evaluation.paddleseg_inference import InferenceOptions, infer_image
from paddleseg_imbalance.evaluation.threshold_sweep import (foreground_probabilities,
                                                            scored_channels)


@dataclasses.dataclass
class EvaluationResult:
    """One evaluation: the counts, the metrics from them, and the evaluators' outputs.

    Attributes:
        confusion: the `ConfusionMatrix` (or `MultiLabelConfusion`), summed over ranks.
        metrics: `SegmentationMetrics` (or `MultiLabelMetrics`).
        num_images: images evaluated (sampler padding excluded).
        iteration: the training iteration, or None.
        reports: the evaluators' dicts, merged; written into the evaluation JSON.
        objects: object-level scores (`ObjectScores`) when `ObjectMetrics` ran, else None.
    """
    confusion: Union[ConfusionMatrix, MultiLabelConfusion]
    metrics: Union[SegmentationMetrics, MultiLabelMetrics]
    num_images: int
    iteration: Optional[int] = None
    reports: Dict[str, Any] = dataclasses.field(default_factory=dict)
    objects: Optional[Any] = None

    def value(self, name):
        """A metric by name, for best-model selection (higher is better for all):
        ``miou``, ``fg_miou``, ``dice``, ``fg_dice``, ``acc``, ``macc``, ``kappa``
        (multi-label: ``miou``, ``dice``, ``acc``, ``macc``), or ``iou/<class>``,
        ``dice/<class>``, ``precision/<class>``, ``recall/<class>`` (class by name or
        index). NaN when undefined, which never compares greater than a best value."""
        return self.metrics.value(name)

    @property
    def output_stem(self):
        """File name stem of this evaluation's outputs: ``iter_<iteration>`` or ``latest``."""
        return "latest" if self.iteration is None else f"iter_{self.iteration}"

    def to_json(self):
        """The evaluation JSON: iteration, images, metrics (absent = null), reports."""
        return {"iteration": self.iteration, "num_images": self.num_images,
                **self.metrics.to_json(), **self.reports}

    def write_json(self, save_dir):
        """Write `to_json()` to ``save_dir/eval/<output_stem>.json``; returns the path."""
        path = os.path.join(eval_dir(save_dir), f"{self.output_stem}.json")
        with open(path, "w") as file:
            json.dump(self.to_json(), file, indent=1, allow_nan=False)
        return path


def log_to_visualdl(result, log_writer, step):
    """Per-class scalars ``Evaluate/IoU/<class>`` and ``Evaluate/F1/<class>`` (F1 = Dice)
    for every present class; absent classes have no value to plot. With `ObjectMetrics`,
    also ``Evaluate/ObjectRecall/<class>``, ``Evaluate/ObjectPrecision/<class>`` and
    ``Evaluate/ObjectF1/<class>`` where defined."""
    for name, iou, dice in zip(result.metrics.names, result.metrics.iou, result.metrics.dice):
        if not math.isnan(iou):
            log_writer.add_scalar(f"Evaluate/IoU/{name}", float(iou), step)
            log_writer.add_scalar(f"Evaluate/F1/{name}", float(dice), step)
    for row in result.objects.rows() if result.objects is not None else []:
        for key, tag in (("recall", "ObjectRecall"), ("precision", "ObjectPrecision"),
                         ("f1", "ObjectF1")):
            if not math.isnan(row[key]):
                log_writer.add_scalar(f"Evaluate/{tag}/{row['name']}", float(row[key]), step)


def summarize(confusion, num_images, evaluators=None, save_dir=None, iteration=None,
              class_names=None, background_index=0, log_writer=None):
    """Metrics from finished (all-reduced) counts, then every evaluator, the evaluation
    JSON (``save_dir/eval/<stem>.json``, rank 0 only) and the VisualDL scalars.

    Args:
        confusion: a `ConfusionMatrix` or `MultiLabelConfusion`, all-reduced.
        num_images (int): images behind the counts.
        evaluators: `Evaluator` instances or YAML entries ``{type: ..., ...}``; None runs
            `default_evaluators()` (SegMetrics, DegenerateResultCheck); [] runs none.
        save_dir (str): where ``eval/`` goes; None writes nothing.
        iteration (int): the training iteration, in file names and as the VisualDL step.
        class_names (list[str]): one per class (multi-label: one per output channel,
            auxiliary included); default "0", "1", ...
        background_index (int | None): left out of the foreground means (single-label).
        log_writer: a VisualDL ``LogWriter`` (or anything with ``add_scalar``), or None.

    Returns:
        EvaluationResult
    """
    if isinstance(confusion, MultiLabelConfusion):
        metrics = multilabel_metrics(confusion.counts, class_names, confusion.skip_channels,
                                     confusion.ignored_elements)
    else:
        metrics = segmentation_metrics(confusion.matrix, class_names, background_index,
                                       confusion.ignored_pixels)
    result = EvaluationResult(confusion, metrics, num_images, iteration)
    writes = save_dir is not None and paddle.distributed.get_rank() == 0
    evaluators = default_evaluators() if evaluators is None else build_evaluators(evaluators)
    for evaluator in evaluators:  # streamed scores first, so that every evaluator sees them
        if hasattr(evaluator, "add_to_result"):
            evaluator.add_to_result(result)
    for evaluator in evaluators:
        result.reports.update(evaluator(result, save_dir if writes else None))
    if writes:
        result.write_json(save_dir)
    if log_writer is not None:
        log_to_visualdl(result, log_writer, 0 if iteration is None else iteration)
    return result


@dataclasses.dataclass
class EvaluationOptions:
    """What an evaluation computes, as the tools build it from a config and flags.

    Attributes:
        evaluators: `Evaluator` instances or YAML entries ``{type: ..., ...}``; None runs
            `default_evaluators()` (SegMetrics, DegenerateResultCheck); [] runs none.
        class_names (list[str]): one per class (multi-label: one per output channel,
            auxiliary included); default ``dataset.class_names`` if it has them, else
            "0", "1", ...
        background_index (int | None): left out of the foreground means (single-label).
        use_multilabel (bool): sigmoid per channel instead of softmax over channels.
        threshold (float): multi-label probability above which a pixel is positive.
        skip_channels (tuple[int]): multi-label channels left out of the means (the
            auxiliary background channel 0 of `AddMultiLabelAuxiliaryCategory`).
        inference (InferenceOptions): PaddleSeg's inference options (`test_config`, AMP).
    """
    evaluators: Optional[list] = None
    class_names: Optional[list] = None
    background_index: Optional[int] = 0
    use_multilabel: bool = False
    threshold: float = 0.5
    skip_channels: tuple = (0,)
    inference: InferenceOptions = InferenceOptions()


def evaluate(model, dataset, options=None, *, save_dir=None, iteration=None, num_workers=0,
             log_writer=None, print_detail=True, on_sample=None, **option_fields):
    """Evaluate `model` on a PaddleSeg val `dataset`, on every rank, and return the result.

    Each rank runs batch-1 inference over its share (``DistributedBatchSampler``) exactly
    as `paddleseg.core.evaluate` does (`infer_image`) and updates one confusion matrix with
    the argmax (or, multi-label, ``sigmoid(logit)`` against the threshold). The sampler
    pads the last round with repeated samples when ``len(dataset)`` is not a multiple of
    the number of ranks; those are skipped, so any number of ranks gives the counts of
    one. The counts are all-reduced once; then `summarize` runs (metrics, evaluators, JSON
    on rank 0, VisualDL scalars). Evaluators with ``needs_probabilities``
    (`ThresholdSweep`) also get each sample's foreground probabilities; without one, none
    are computed.

    Args:
        model (paddle.nn.Layer): returns a list of logits, the first (N, C, H, W) is used.
        dataset: a PaddleSeg dataset in val mode (``num_classes``, ``ignore_index``; items
            with ``img``, ``label`` and ``trans_info``). Multi-label: labels (C, H, W).
        options (EvaluationOptions): what to compute; None: `option_fields`, else defaults.
        save_dir, iteration, log_writer: see `summarize`.
        num_workers (int): DataLoader workers.
        print_detail (bool): log the start and a progress bar, like PaddleSeg.
        on_sample (callable): called as ``on_sample(index, pred, label)`` for each sample
            this rank scores (``index`` into `dataset`; ``pred`` and ``label`` the tensors
            the confusion counts see), e.g. to keep the worst images.
        **option_fields: `EvaluationOptions` fields, for a call without an options object.

    Returns:
        EvaluationResult: the same on every rank.
    """
    if options is None:
        options = EvaluationOptions(**option_fields)
    elif option_fields:
        options = dataclasses.replace(options, **option_fields)
    use_multilabel, threshold = options.use_multilabel, options.threshold
    skip_channels, background_index = options.skip_channels, options.background_index
    class_names = options.class_names
    model.eval()
    init_parallel_env_once()
    num_classes, ignore_index = dataset.num_classes, dataset.ignore_index
    if use_multilabel:
        confusion = MultiLabelConfusion(num_classes, ignore_index, threshold, skip_channels)
    else:
        confusion = ConfusionMatrix(num_classes, ignore_index)
    evaluators = (default_evaluators() if options.evaluators is None
                  else build_evaluators(options.evaluators))
    probability_evaluators = [e for e in evaluators if getattr(e, "needs_probabilities", False)]
    channels = scored_channels(num_classes, use_multilabel, skip_channels)
    for evaluator in probability_evaluators:
        evaluator.begin(num_classes, channels, ignore_index, use_multilabel)
    if class_names is None:
        class_names = getattr(dataset, "class_names", None)
    prediction_evaluators = [e for e in evaluators if getattr(e, "needs_predictions", False)]
    for evaluator in prediction_evaluators:
        evaluator.begin(num_classes, ignore_index, use_multilabel, skip_channels,
                        background_index, class_names)
    sampler = paddle.io.DistributedBatchSampler(dataset, batch_size=1, shuffle=False,
                                                drop_last=False)
    loader = paddle.io.DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers,
                                  return_list=True)
    rank, nranks = paddle.distributed.get_rank(), paddle.distributed.get_world_size()
    if print_detail:
        logger.info(f"Start evaluating (total_samples: {len(dataset)}, "
                    f"total_iters: {len(loader)})...")
        bar = progbar.Progbar(target=len(loader), verbose=1 if nranks < 2 else 2)

    with paddle.no_grad():
        for step, data in enumerate(loader):
            # Batch 1, no shuffle: rank r's step s is sample s * nranks + r; past the end
            # it is a padding repeat of an early sample and must not count twice.
            if step * nranks + rank < len(dataset):
                pred, logit = infer_image(model, data["img"], data["trans_info"],
                                          options.inference, use_multilabel)
                if logit.shape[1] != num_classes:
                    raise ValueError(
                        f"The model outputs {logit.shape[1]} channels but the val dataset "
                        f"has num_classes {num_classes}; make the model's num_classes equal "
                        "to the dataset's (multi-label: labels + 1 auxiliary channel).")
                confusion.update(pred, data["label"])
                if probability_evaluators:
                    probabilities, labels = foreground_probabilities(
                        logit, data["label"], channels, use_multilabel,
                        summed_softmax=options.inference.aug_eval)
                    for evaluator in probability_evaluators:
                        evaluator.update(probabilities, labels)
                if prediction_evaluators:
                    hard = (pred > threshold).astype("int64") if use_multilabel else pred
                    hard, label = hard.numpy(), data["label"].numpy()
                    for evaluator in prediction_evaluators:
                        evaluator.update(hard, label)
                if on_sample is not None:
                    on_sample(step * nranks + rank, pred, data["label"])
            if print_detail and rank == 0:
                bar.update(step + 1)
    confusion.all_reduce()
    for evaluator in probability_evaluators + prediction_evaluators:
        evaluator.all_reduce()
    return summarize(confusion, len(dataset), evaluators, save_dir, iteration, class_names,
                     background_index, log_writer)
