"""Config rule PSI015: per-stage model arguments that do not match `backbone_indices`.

PP-LiteSeg takes one `arm_out_chs` and one `seg_head_inter_chs` entry per selected backbone
stage (or a single entry it repeats). Switching to stride 4 with `backbone_indices: [1, 2,
3, 4]` but keeping PaddleSeg's 3-entry defaults fails only when the model is built, with
an AssertionError wrapped in `Tried to create a PPLiteSeg object`.
"""
from paddleseg_imbalance.lint.findings import ERROR, Violation, rule
from paddleseg_imbalance.lint.model_outputs import PER_STAGE_ARGUMENTS, selected_backbone_stages


@rule("PSI015", "model-stage-arguments", ERROR,
      "PPLiteSeg `arm_out_chs` / `seg_head_inter_chs` of a length other than 1 or that of "
      "`backbone_indices`",
      "PP-LiteSeg takes one `arm_out_chs` and one `seg_head_inter_chs` entry per selected "
      "backbone stage (or a single entry it repeats). Changing `backbone_indices` (e.g. to "
      "[1, 2, 3, 4] for stride 4) but keeping the 3-entry defaults fails only when the "
      "model is built, with an AssertionError wrapped in 'Tried to create a PPLiteSeg "
      "object'.",
      "give each per-stage argument one entry per `backbone_indices` entry, finest stage "
      "first")
def stage_argument_lengths(ctx):
    """A per-stage argument whose length is neither 1 nor len(backbone_indices)."""
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
        yield Violation(
            ("model", argument) if argument in model else ("model", "backbone_indices"),
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


RULES = (stage_argument_lengths,)
