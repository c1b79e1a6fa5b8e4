"""What the tools evaluate and how they infer, from a config and flags.

`inference_options` reads PaddleSeg's inference options (the YAML `test_config`, then the
flags); `evaluation_options` builds the run's `EvaluationOptions` (evaluators, class names,
test_config) and checks them before any training or inference;
`multilabel_evaluation_options` adds the multi-label fields. val and train evaluate with
them, predict infers with `inference_options`.
"""
from paddleseg_imbalance.config.sections import is_multilabel
from paddleseg_imbalance.engine.config import ConfigError
from paddleseg_imbalance.engine.decision_thresholds import checked_threshold, output_channels
from paddleseg_imbalance.engine.multilabel_channels import auxiliary_channels
from paddleseg_imbalance.evaluation import (EvaluationOptions, InferenceOptions,
                                            ThresholdSweep, build_evaluators,
                                            default_evaluators)
from paddleseg_imbalance.evaluation.threshold_sweep import check_sweepable


def inference_options(args, config, aug_flag):
    """Keyword arguments for PaddleSeg's inference: the YAML `test_config`, then flags.

    Flags given on the command line win over `test_config`, as in PaddleSeg's tools.
    """
    options = config.test_config
    if getattr(args, aug_flag):
        options.update(scales=args.scales, flip_horizontal=args.flip_horizontal,
                       flip_vertical=args.flip_vertical)
        options[aug_flag] = True
    if args.is_slide:
        options.update(is_slide=True, crop_size=args.crop_size, stride=args.stride)
    return options


def evaluation_options(config, test_config, multilabel=None, sweep_thresholds=False):
    """The `EvaluationOptions` of a config: evaluators, class names, test_config.

    Checked here, before any training or inference: a `test_config` key that evaluation
    does not take, an `evaluators:` entry that cannot be built, or a threshold sweep of a
    model that is neither binary nor multi-label (`multilabel`: default from the config)
    is a `ConfigError`. `sweep_thresholds` adds a `ThresholdSweep` (`--sweep_thresholds`).
    """
    supported = InferenceOptions.keys()
    unknown = sorted(set(test_config) - supported)
    if unknown:
        raise ConfigError(f"`test_config` has {', '.join(unknown)}, which evaluation does not "
                          f"take; supported keys: {', '.join(sorted(supported))}.")
    evaluators = config.dic.get("evaluators")
    if evaluators is not None:
        try:
            evaluators = build_evaluators(evaluators)
        except ValueError as error:
            raise ConfigError(f"`evaluators`: {error}") from error
        for position, evaluator in enumerate(evaluators):
            try:
                if hasattr(evaluator, "check_classes"):
                    evaluator.check_classes(output_channels(config),
                                            config.dic.get("class_names"))
            except ValueError as error:
                raise ConfigError(f"`evaluators[{position}].classes`: {error}") from error
    sweeps = [e for e in evaluators or [] if isinstance(e, ThresholdSweep)]
    if sweep_thresholds and not sweeps:
        evaluators = (default_evaluators() if evaluators is None else evaluators)
        sweeps = [ThresholdSweep()]
        evaluators.append(sweeps[0])
    if sweeps:
        try:
            check_sweepable(output_channels(config),
                            is_multilabel(config.dic) if multilabel is None else multilabel)
        except ValueError as error:
            where = "--sweep_thresholds" if sweep_thresholds else "`evaluators`"
            raise ConfigError(f"{where}: {error}") from error
    return EvaluationOptions(evaluators=evaluators, class_names=config.dic.get("class_names"),
                             inference=InferenceOptions(**test_config))


def multilabel_evaluation_options(args, config):
    """The `EvaluationOptions` fields of multi-label evaluation (`--use_multilabel`, or a
    multi-label config): sigmoid per channel against `--threshold`, the background channel
    reported apart. {} for a single-label run."""
    if not (getattr(args, "use_multilabel", False) or is_multilabel(config.dic)):
        return {}
    return dict(use_multilabel=True, threshold=checked_threshold(args.threshold),
                skip_channels=auxiliary_channels(config))
