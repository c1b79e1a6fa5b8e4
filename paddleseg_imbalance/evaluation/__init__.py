"""Evaluation: streaming confusion counts, metrics, evaluators (YAML key `evaluators:`).

`evaluate(model, dataset, ...)` runs a model over a val dataset and returns an
`EvaluationResult`; importing this package registers `SegMetrics`,
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
from paddleseg_imbalance.evaluation.evaluate import (EvaluationResult, evaluate,
                                                     log_to_visualdl, summarize)

__all__ = [
    "EVALUATORS", "ConfusionMatrix", "MultiLabelConfusion", "ClassScores",
    "SegmentationMetrics", "MultiLabelMetrics", "cohen_kappa", "segmentation_metrics",
    "multilabel_metrics", "Evaluator", "SegMetrics", "ConfusionMatrixReport",
    "DegenerateResultCheck", "ThresholdSweep", "ObjectMetrics", "build_evaluators", "default_evaluators",
    "EvaluationResult", "evaluate", "summarize", "log_to_visualdl",
]
