"""Config rule PSI015: per-stage model arguments that do not match `backbone_indices`.

PP-LiteSeg takes one `arm_out_chs` and one `seg_head_inter_chs` entry per selected backbone
stage (or a single entry it repeats). Switching to stride 4 with `backbone_indices: [1, 2,
3, 4]` but keeping PaddleSeg's 3-entry defaults fails only when the model is built, with
an AssertionError wrapped in `Tried to create a PPLiteSeg object`.
"""
from paddleseg_imbalance.lint.model_outputs import PER_STAGE_ARGUMENTS, selected_backbone_stages


def stage_argument_lengths(ctx):
    """PSI015: a per-stage argument whose length is neither 1 nor len(backbone_indices)."""
    model = ctx.section("model")
    arguments = PER_STAGE_ARGUMENTS.get(model.get("type"), {})
    stages = selected_backbone_stages(model)
    if not arguments or not isinstance(stages, list):
        return
    for argument, default in arguments.items():
        value = model.get(argument, default)
        if not isinstance(value, list) or len(value) in (1, len(stages)):
            continue
        given = f"model.{argument}" if argument in model else f"PaddleSeg's default {argument}"
        yield ctx.finding(
            "PSI015", ("model", argument) if argument in model else ("model", "backbone_indices"),
            f"{given} {value} has {len(value)} entries but "
            f"model.backbone_indices {stages} selects {len(stages)} backbone stages: "
            f"{model['type']} stops when it is built with 'The length of {argument} and "
            "backbone_indices should be equal'",
            f"give model.{argument} {len(stages)} entries, one per backbone_indices entry in "
            f"the same order (finest stage first), e.g. "
            f"{_example(value, len(stages))}")


def _example(value, count):
    """`value` extended at the fine end (repeating its first entry) or cut to `count`."""
    return [value[0]] * (count - len(value)) + value if count > len(value) else value[-count:]


CHECKS = (stage_argument_lengths,)
