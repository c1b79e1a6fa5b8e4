"""Evaluation: streaming confusion counts, metrics, evaluators (YAML key `evaluators:`).

`evaluate(model, dataset, options)` runs a model over a val dataset (`EvaluationOptions`:
what to compute; `InferenceOptions`: PaddleSeg's inference, run by `infer_image`) and
returns an `EvaluationResult`; importing this package registers `SegMetrics`,
`ConfusionMatrixReport`, `DegenerateResultCheck`, `ThresholdSweep` and `ObjectMetrics` into
`EVALUATORS`.
"""
from paddleseg_imbalance.evaluation.manager import EVALUATORS
from paddleseg_imbalance.evaluation.confusion import ConfusionMatrix, MultiLabelConfusion
from paddleseg_imbalance.evaluation.metrics import (ClassScores, MultiLabelMetrics,
                                                    SegmentationMetrics, cohen_kappa,
                                                    multilabel_metrics, segmentation_metrics)
from paddleseg_imbalance.evaluation.evaluators import (ConfusionMatrixReport,
                                                       DegenerateResultCheck, Evaluator,
                                                       SegMetrics, build_evaluators,
                                                       default_evaluators)
from paddleseg_imbalance.evaluation.threshold_sweep import ThresholdSweep
from paddleseg_imbalance.evaluation.object_metrics import ObjectMetrics
from paddleseg_imbalance.evaluation.paddleseg_inference import InferenceOptions, infer_image
from paddleseg_imbalance.evaluation.evaluate import (EvaluationOptions, EvaluationResult,
                                                     evaluate, log_to_visualdl, summarize)

__all__ = [
    "EVALUATORS", "ConfusionMatrix", "MultiLabelConfusion", "ClassScores",
    "SegmentationMetrics", "MultiLabelMetrics", "cohen_kappa", "segmentation_metrics",
    "multilabel_metrics", "Evaluator", "SegMetrics", "ConfusionMatrixReport",
    "DegenerateResultCheck", "ThresholdSweep", "ObjectMetrics", "build_evaluators", "default_evaluators",
    "InferenceOptions", "infer_image", "EvaluationOptions", "EvaluationResult", "evaluate", "summarize", "log_to_visualdl",
]
