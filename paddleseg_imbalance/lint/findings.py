"""What the lint reports: `Rule`, `Finding`, and the findings' text and JSON renderings.

A rule is one object (`Rule`: code, name, severity, summary, explanation, fix, check),
defined with `@rule(...)` on its check function in the `*_rules` module that holds it;
`rules` collects them. Codes are stable (`PSI0xx` read the config alone, `PSI1xx` need
`--scan-data`) and never reused for another check; one check emits one code.

JSON output (`paddleseg-imbalance lint CONFIG --format json`), schema version 1::

    {
      "version": 1,
      "config": "configs/x.yml",            # the file given on the command line
      "scan_data": false,                   # whether PSI1xx rules ran
      "fragment": null,                     # why it was linted as a fragment (`fragments`)
      "paddlex": false,                     # read as a PaddleX 3 config (`paddlex`)
      "summary": {"error": 1, "warning": 0},
      "findings": [                         # errors first, then warnings; by code
        {
          "code": "PSI102",
          "severity": "error",              # "error" | "warning"
          "name": "binary-mask-255-ignored",
          "key": "train_dataset.transforms",   # YAML key path ("" for the whole file)
          "file": "configs/x.yml",          # the config file (or _base_ file) with the key
          "message": "one line: what was found and why it breaks",
          "fix": "how to fix it; may be several lines of YAML",
          "data_files": ["data/labels/0001.png"]   # offending dataset files, may be []
        }
      ]
    }
"""
import json
import textwrap
from dataclasses import asdict, dataclass, field
from typing import Callable, NamedTuple, Sequence

ERROR, WARNING = "error", "warning"
SEVERITIES = (ERROR, WARNING)


@dataclass(frozen=True)
class Rule:
    """One check and what to tell about it.

    Attributes:
        code: the stable code, e.g. "PSI011".
        name: kebab-case name, shown with each finding.
        severity: `ERROR` or `WARNING`.
        summary: one line: what the rule reports (`--list-rules`).
        explanation: why it matters: what PaddleSeg does with such a config or data, and
            when (`--explain CODE`).
        fix: how to fix it in general (each finding carries its own, specific fix).
        check: `check(ctx)` yields a `Violation` for each place the rule is broken.
    """

    code: str
    name: str
    severity: str
    summary: str
    explanation: str
    fix: str
    check: Callable

    def findings(self, ctx):
        """The `Finding`s of this rule on the config (and data) of `ctx` (a `LintContext`)."""
        for violation in self.check(ctx):
            yield ctx.finding(self.code, *violation)

    def explain(self):
        """The rule as `--explain CODE` prints it."""
        kind = "config rule" if self.code < "PSI100" else "data rule, with --scan-data"
        return "\n".join([f"{self.code} {self.name} ({self.severity}, {kind})", "",
                          self.summary, "", textwrap.fill(self.explanation, 88), "",
                          textwrap.fill(f"Fix: {self.fix}", 88)])


def rule(code, name, severity, summary, explanation, fix):
    """Decorator: the check function below becomes the `Rule` with these fields."""

    def define(check):
        return Rule(code, name, severity, summary, explanation, fix, check)

    return define


class Violation(NamedTuple):
    """One place a check finds its rule broken (a `Finding` without the rule's code).

    Attributes:
        path: YAML key path (tuple), e.g. ("loss", "types", 1, "weight"); () for the file.
        message: one line: what was found, what was expected.
        fix: how to fix it here (may hold several lines of YAML).
        data_files: dataset files that show the problem (a few, for data rules).
    """

    path: tuple
    message: str
    fix: str
    data_files: Sequence = ()


@dataclass
class Finding:
    """One problem found: the rule's code and severity, where it is, what, and the fix.

    Attributes:
        code: the rule's code (a key of `rules.RULES`); `severity` and `name` follow from it.
        key: YAML key path, e.g. `loss.types[1].weight` ("" for the whole file).
        message: one line: what was found, what was expected.
        fix: how to fix it (may hold several lines of YAML).
        file: the config file that holds `key` (a `_base_` file, or "--opts").
        data_files: dataset files that show the problem (a few, for data rules).
    """

    code: str
    key: str
    message: str
    fix: str
    file: str
    data_files: list = field(default_factory=list)

    @property
    def rule(self):
        from paddleseg_imbalance.lint.rules import RULES  # the rule modules import this one

        return RULES[self.code]

    @property
    def severity(self):
        return self.rule.severity

    def to_json(self):
        data = asdict(self)
        data.update(severity=self.severity, name=self.rule.name)
        return data


def sort_findings(findings):
    """Errors first, then warnings; by code, then key, within a severity."""
    return sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), f.code, f.key))


def exit_code(findings, strict=False):
    """0 clean, 1 if any error (or, with `strict`, any warning)."""
    severities = {finding.severity for finding in findings}
    return 1 if ERROR in severities or (strict and WARNING in severities) else 0


def json_document(findings, config, scan_data, fragment=None, paddlex=False):
    """The findings as the JSON object described in the module docstring."""
    findings = sort_findings(findings)
    summary = {severity: sum(f.severity == severity for f in findings) for severity in SEVERITIES}
    return {"version": 1, "config": config, "scan_data": scan_data, "fragment": fragment,
            "paddlex": paddlex, "summary": summary,
            "findings": [f.to_json() for f in findings]}


def render_json(findings, config, scan_data, fragment=None, paddlex=False):
    """The findings as the JSON document described in the module docstring."""
    return json.dumps(json_document(findings, config, scan_data, fragment, paddlex), indent=2)


_COLOURS = {ERROR: "\033[31m", WARNING: "\033[33m", "bold": "\033[1m", "dim": "\033[2m"}
_RESET = "\033[0m"


def render_text(findings, config, colour=False):
    """The findings grouped by severity, one block per finding, ruff-style."""

    def paint(text, style):
        return f"{_COLOURS[style]}{text}{_RESET}" if colour else text

    findings = sort_findings(findings)
    if not findings:
        return f"{config}: no problems found"
    lines = []
    for severity in SEVERITIES:
        group = [f for f in findings if f.severity == severity]
        if not group:
            continue
        lines.append(paint(f"{len(group)} {severity}{'s' if len(group) > 1 else ''}:", severity))
        for finding in group:
            where = f"{finding.file}: {finding.key}" if finding.key else finding.file
            lines.append(f"  {paint(finding.code, severity)} {paint(where, 'bold')} "
                         f"[{finding.rule.name}]")
            lines.append(f"    {finding.message}")
            fix_lines = finding.fix.splitlines() or [""]
            lines.append(f"    {paint('fix:', 'dim')} {fix_lines[0]}")
            lines.extend(f"         {line}" for line in fix_lines[1:])
            if finding.data_files:
                lines.append(f"    {paint('files:', 'dim')} {', '.join(finding.data_files)}")
    counts = ", ".join(f"{sum(f.severity == s for f in findings)} {s}(s)" for s in SEVERITIES)
    lines.append(f"{config}: {counts}")
    return "\n".join(lines)

