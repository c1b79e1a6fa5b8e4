"""The steps of a transform pipeline that change label values only, for counting labels.

`weight: auto` and `stats` count each label file as training will see its values, without
running the pipeline: crops, flips and resizing decide (at random) which pixels a sample
shows, not which values they hold. A transform that changes label values only, pixel by
pixel whatever the pixel's position, declares it with the class attribute
`LABEL_VALUE_MAP = True` and a method `map_values(label)` that returns the mapped array
(`RemapLabels` does). Such steps commute with the geometric ones (but for the pad value
of a padding transform placed before them, which the lint reports: PSI032), so the
counters apply them, in pipeline order, to each label as read from disk; every other
transform is left out of the counts.

Importing this module does not import paddle (the counters run in the lint's processes too).
"""

def is_label_value_map(transform):
    """Whether `transform` (an instance or a class) changes label values only."""
    return getattr(transform, "LABEL_VALUE_MAP", False) is True


def label_value_maps(transforms):
    """The label-value steps of built `transforms` (a list, or a PaddleSeg `Compose`)."""
    transforms = getattr(transforms, "transforms", transforms) or []
    return tuple(step for step in transforms if is_label_value_map(step))


def label_value_maps_from_config(entries):
    """The label-value steps of `[(yaml_key, {type: ..., **arguments})]` transform entries, built.

    Raises:
        ValueError: a step's constructor refuses its arguments; the message names the key.
    """
    from paddleseg.cvlibs import manager

    steps = []
    for yaml_key, entry in entries:
        step_class = manager.TRANSFORMS.components_dict.get(entry.get("type"))
        if not is_label_value_map(step_class):
            continue
        try:
            steps.append(step_class(**{k: v for k, v in entry.items() if k != "type"}))
        except (TypeError, ValueError) as error:
            raise ValueError(f"`{yaml_key}`: {error}") from error
    return tuple(steps)


def map_label_values(label, steps):
    """`label` as the label-value `steps` leave it, applied in order."""
    for step in steps:
        label = step.map_values(label)
    return label


def describe(steps):
    """Text that changes whenever `steps` or their arguments do (for cache keys)."""
    return ";".join(f"{type(step).__name__}{sorted(vars(step).items())}" for step in steps)
