"""The lint's rules as objects: every field filled, codes unique and stable, `--list-rules`
and `--explain CODE` printed from them, and the component traits table the rules read
agreeing with the components' own signatures."""
import inspect
import os
import re
import subprocess
import sys

import pytest

from paddleseg_imbalance.cli import main as cli_main
from paddleseg_imbalance.component_traits import MULTICLASS_MODE, TRAITS, traits
from paddleseg_imbalance.lint import lint
from paddleseg_imbalance.lint.findings import SEVERITIES, Violation
from paddleseg_imbalance.lint.rules import CONFIG_RULES, DATA_RULES, RULES, rule_for
from tests.helpers import REPO, base_config, write

LAUNCHER = os.path.join(REPO, "paddleseg_imbalance_launcher.py")
# The codes the README documents. A code is never renumbered or reused: changing this
# list is a breaking change for every user who filters or suppresses by code.
DOCUMENTED_CODES = {
    "PSI001", "PSI002", "PSI003", "PSI004", "PSI005", "PSI006", "PSI007", "PSI008", "PSI009",
    "PSI010", "PSI011", "PSI012", "PSI013", "PSI014", "PSI015", "PSI016",
    "PSI020", "PSI021", "PSI022", "PSI023", "PSI030", "PSI031", "PSI032",
    "PSI100", "PSI101", "PSI102", "PSI103", "PSI104", "PSI105", "PSI106", "PSI107", "PSI108",
    "PSI109", "PSI110", "PSI111", "PSI112", "PSI113", "PSI114", "PSI115",
}
# BCELoss's `weight` is per label channel or 'dynamic', resolved by the tools
# (engine/loss_weights), not a per-class list the lint measures against num_classes.
NOT_PER_CLASS_WEIGHT = {"BCELoss"}
# Losses that take a per-class `weight` on one PaddleSeg line only (develop), listed as
# per-class in the table on every line: the lint checks the list wherever it is given.
PER_CLASS_WEIGHT_ON_DEVELOP = {"OhemCrossEntropyLoss"}


def run_launcher(*args):
    return subprocess.run([sys.executable, LAUNCHER, "lint", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_rule_has_every_field(code):
    rule = RULES[code]
    assert rule.code == code and re.fullmatch(r"PSI\d{3}", code)
    assert rule.severity in SEVERITIES
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
    for text in (rule.summary, rule.explanation, rule.fix):
        assert isinstance(text, str) and len(text) > 10, (code, text)
    assert callable(rule.check)


def test_codes_are_unique_and_the_documented_ones():
    every = CONFIG_RULES + DATA_RULES
    assert len({rule.code for rule in every}) == len(every)
    assert len({rule.name for rule in every}) == len(every)
    assert set(RULES) == DOCUMENTED_CODES
    assert all(rule.code < "PSI100" for rule in CONFIG_RULES)
    assert all(rule.code >= "PSI100" for rule in DATA_RULES)


class _Context:
    """The part of `LintContext` a rule uses to turn a violation into a finding."""

    def finding(self, code, path, message, fix, data_files=()):
        return code, path, message, fix, list(data_files)


def test_a_rule_stamps_its_own_code_on_what_its_check_finds():
    rule = rule_for("PSI011")
    single = type(rule)(rule.code, rule.name, rule.severity, rule.summary, rule.explanation,
                        rule.fix, lambda ctx: iter([Violation(("loss", "coef"), "m", "f")]))
    assert list(single.findings(_Context())) == [("PSI011", ("loss", "coef"), "m", "f", [])]


def test_one_check_one_code_for_the_split_checks(tmp_path):
    softmax = base_config()
    for section in ("model", "train_dataset", "val_dataset"):
        softmax[section]["num_classes"] = 1
    assert {f.code for f in lint(write(tmp_path, softmax, "a.yml")).findings} == {"PSI003"}
    sigmoid = dict(softmax, loss={"types": [{"type": "BCELoss"}], "coef": [1, 1, 1]})
    assert {f.code for f in lint(write(tmp_path, sigmoid, "b.yml")).findings} == {"PSI004"}


def test_list_rules_prints_every_rule_from_the_objects(capsys):
    assert cli_main(["lint", "--list-rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(RULES)
    for line, rule in zip(lines, RULES.values()):
        assert line.split()[:3] == [rule.code, rule.severity, rule.name]
        assert line.endswith(rule.summary)


def test_explain_prints_the_explanation_and_the_fix():
    result = run_launcher("--explain", "PSI011")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    rule = RULES["PSI011"]
    assert text.startswith("PSI011 loss-output-count (error")
    assert " ".join(rule.explanation.split()) in text
    assert f"Fix: {' '.join(rule.fix.split())}" in text


def test_explain_takes_the_code_in_any_case(capsys):
    assert cli_main(["lint", "--explain", "psi102"]) == 0
    assert "binary-mask-255-ignored" in capsys.readouterr().out


def test_explain_of_an_unknown_code_exits_2_naming_the_flag():
    result = run_launcher("--explain", "PSI999")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--explain" in result.stderr and "PSI999" in result.stderr
    assert "--list-rules" in result.stderr and result.stdout == ""


def test_explain_imports_no_paddle():
    code = ("import sys; sys.argv = ['paddleseg-imbalance', 'lint', '--explain', 'PSI001']\n"
            "import paddleseg_imbalance_launcher as launcher\n"
            "try:\n    launcher.main()\nexcept SystemExit:\n    pass\n"
            "assert not [m for m in sys.modules if m.split('.')[0] in "
            "('paddle', 'paddleseg', 'numpy')], sorted(sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


# --- the component traits table against the components ---------------------------------

def _registered(manager):
    """{name: (class, its constructor's parameters)} of a PaddleSeg manager."""
    import paddleseg_imbalance  # noqa: F401  (registers the plugin's components)

    return {name: (component, inspect.signature(component.__init__).parameters)
            for name, component in manager.components_dict.items()}


def test_every_traits_entry_names_a_registered_loss_or_transform():
    from paddleseg.cvlibs import manager

    registered = set(manager.LOSSES.components_dict) | set(manager.TRANSFORMS.components_dict)
    assert set(TRAITS) <= registered, set(TRAITS) - registered


def test_per_class_weight_and_mode_losses_match_their_signatures():
    from paddleseg.cvlibs import manager

    losses = _registered(manager.LOSSES)
    with_weight = {name for name, (_, parameters) in losses.items() if "weight" in parameters}
    in_table = {name for name in losses if traits(name).class_weights}
    expected = with_weight - NOT_PER_CLASS_WEIGHT
    assert expected <= in_table and in_table - expected <= PER_CLASS_WEIGHT_ON_DEVELOP, \
        (in_table ^ expected)
    with_mode = {name for name, (_, parameters) in losses.items()
                 if parameters.get("mode") is not None
                 and parameters["mode"].default == "multiclass"}
    assert {name for name in losses if traits(name).softmax == MULTICLASS_MODE} == with_mode


def test_label_padding_defaults_match_the_transforms():
    from paddleseg.cvlibs import manager

    padding = {name: parameters["label_padding_value"].default
               for name, (_, parameters) in _registered(manager.TRANSFORMS).items()
               if "label_padding_value" in parameters}
    table = {name: entry.label_padding for name, entry in TRAITS.items()
             if entry.label_padding is not None}
    assert table == padding
