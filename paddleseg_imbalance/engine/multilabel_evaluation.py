"""How the tools evaluate a multi-label model: sigmoid per channel against `--threshold`,
the background channel reported apart."""
from paddleseg_imbalance.config.sections import is_multilabel
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.multilabel_channels import auxiliary_channels


def multilabel_evaluation_options(args, config):
    """The `EvaluationOptions` fields of multi-label evaluation (`--use_multilabel`, or a
    multi-label config): sigmoid per channel against `--threshold`, the background channel
    reported apart. {} for a single-label run."""
    if not (getattr(args, "use_multilabel", False) or is_multilabel(config.dic)):
        return {}
    return dict(use_multilabel=True, threshold=checked_threshold(args.threshold),
                skip_channels=auxiliary_channels(config))


DEFAULT_THRESHOLD = 0.5


def checked_threshold(threshold):
    """`--threshold` if it is a probability strictly between 0 and 1 (None: the default
    0.5), else `ConfigError`."""
    if threshold is None:
        return DEFAULT_THRESHOLD
    if not 0 < threshold < 1:
        raise ConfigError(f"--threshold {threshold}: a pixel is positive where "
                          "sigmoid(logit) > threshold; give a probability in (0, 1), "
                          "default 0.5.")
    return float(threshold)
