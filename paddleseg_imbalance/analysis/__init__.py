"""Dataset statistics and the class weights derived from them."""
from paddleseg_imbalance.analysis.class_stats import ClassStats, count_classes, count_label_array
from paddleseg_imbalance.analysis.class_weights import METHODS, check_weight_options, class_weights

__all__ = ["ClassStats", "METHODS", "check_weight_options", "class_weights", "count_classes", "count_label_array"]
