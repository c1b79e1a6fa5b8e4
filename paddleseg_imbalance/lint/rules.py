"""Every lint rule, by code: the registry that `lint`, `--list-rules` and `--explain` read.

Each `*_rules` module defines its rules beside their checks (`findings.rule`) and lists
them in its `RULES`; this module only collects them. A new rule goes into the module of
its topic and into that module's `RULES`; its code must be new (a test compares the codes
with the documented list). Importing this module imports neither paddle nor numpy (the
data rules' checks only read `ctx.data`, which `data_scan.scan_data` fills).
"""
from paddleseg_imbalance.lint import (component_rules, consistency_rules, data_rules,
                                      loss_rules, model_rules, multilabel_rules,
                                      transform_rules)

# Rules on the config alone, in the order they run; then the `--scan-data` rules.
CONFIG_RULES = (consistency_rules.RULES + component_rules.RULES + loss_rules.RULES
                + model_rules.RULES + multilabel_rules.RULES + transform_rules.RULES)
DATA_RULES = data_rules.RULES
# A PaddleX 3 config holds no PaddleSeg model, losses or transforms (see `paddlex`).
PADDLEX_RULES = (consistency_rules.num_classes_invalid, consistency_rules.single_channel_softmax,
                 consistency_rules.single_channel_argmax)

RULES = {rule.code: rule for rule in sorted(CONFIG_RULES + DATA_RULES, key=lambda r: r.code)}


class UnknownRule(ValueError):
    """`--explain` was given a code no rule has."""


def rule_for(code):
    """The rule with `code` (case-insensitive, e.g. "psi011").

    Raises:
        UnknownRule: no rule has that code; the message lists the valid range.
    """
    rule = RULES.get(str(code).strip().upper())
    if rule is None:
        raise UnknownRule(f"no lint rule has the code {code!r}; the codes are "
                          f"{min(RULES)}..{max(RULES)} (see --list-rules)")
    return rule


def rules_table():
    """All rules as text lines: code, severity, name, summary."""
    return "\n".join(f"{rule.code}  {rule.severity:<7}  {rule.name:<28} {rule.summary}"
                     for rule in RULES.values())
