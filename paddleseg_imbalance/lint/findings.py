"""What the lint reports: the rule codes, `Finding`, and its text and JSON renderings.

Every rule has a stable code (`PSI0xx` read the config alone, `PSI1xx` need
`--scan-data`), a fixed severity and a short name; `RULES` is the registry and the
single place where codes are assigned. A code is never reused for another check.

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
from dataclasses import asdict, dataclass, field

ERROR, WARNING = "error", "warning"
SEVERITIES = (ERROR, WARNING)


@dataclass(frozen=True)
class Rule:
    """One check: `code` (stable), `severity`, a kebab-case `name`, a one-line `summary`."""

    code: str
    severity: str
    name: str
    summary: str


def _rules(*rows):
    return {code: Rule(code, severity, name, summary) for code, severity, name, summary in rows}


RULES = _rules(
    # Config rules (no data, no paddle).
    ("PSI001", ERROR, "num-classes-mismatch",
     "num_classes differs between model, train_dataset and val_dataset"),
    ("PSI002", ERROR, "num-classes-missing",
     "a `Dataset` section (or a model without a dataset to take it from) has no num_classes"),
    ("PSI003", ERROR, "single-channel-softmax",
     "num_classes: 1 with a softmax loss: the argmax of one channel is always 0"),
    ("PSI004", WARNING, "single-channel-argmax",
     "num_classes: 1: PaddleSeg's evaluation and prediction take the argmax over channels"),
    ("PSI005", ERROR, "ignore-index-mismatch",
     "ignore_index differs between a loss and the datasets, or between train and val"),
    ("PSI006", ERROR, "unknown-component",
     "a `type:` that no component manager has registered"),
    ("PSI007", ERROR, "missing-section",
     "a top-level key PaddleSeg requires (model, loss, train_dataset, ...) is missing"),
    ("PSI008", ERROR, "num-classes-invalid",
     "a num_classes that is not a positive integer (0, -1, 1.5, \"two\")"),
    ("PSI009", ERROR, "class-names-count",
     "`class_names` is not a list of one name per class (num_classes)"),
    ("PSI010", ERROR, "loss-coef-mismatch",
     "loss `types` and `coef` missing, or of lengths PaddleSeg rejects"),
    ("PSI011", ERROR, "loss-output-count",
     "the number of losses differs from the number of outputs the model returns in training"),
    ("PSI012", ERROR, "loss-weight-length",
     "a per-class loss `weight` list whose length is not the number of classes"),
    ("PSI013", ERROR, "loss-weight-value",
     "a loss `weight` that is not finite non-negative numbers with a positive sum"),
    ("PSI014", ERROR, "loss-coef-value",
     "a loss `coef` (or RampedLoss start/end) that is not finite non-negative numbers"),
    ("PSI015", ERROR, "model-stage-arguments",
     "PPLiteSeg `arm_out_chs` / `seg_head_inter_chs` of a length other than 1 or that of "
     "`backbone_indices`"),
    ("PSI016", WARNING, "unknown-component-in-fragment",
     "a fragment (`_base_` file, partial config) names a `type:` the installed PaddleSeg does "
     "not register; it is an error (PSI006) in each complete config that keeps it"),
    ("PSI020", ERROR, "multilabel-num-classes",
     "AddMultiLabelAuxiliaryCategory with num_classes other than labels + 1"),
    ("PSI021", ERROR, "multilabel-aux-not-first",
     "AddMultiLabelAuxiliaryCategory is not the first transform"),
    ("PSI022", ERROR, "multilabel-aux-split",
     "AddMultiLabelAuxiliaryCategory in the train transforms but not in val (or the reverse)"),
    ("PSI023", ERROR, "multilabel-lovasz-hinge",
     "PaddleSeg's LovaszHingeLoss on a 2-channel multi-label output collapses the channels"),
    ("PSI030", WARNING, "label-padding-value",
     "a transform pads labels with a value other than ignore_index"),
    ("PSI031", WARNING, "label-interpolation",
     "a transform resizes labels with a non-nearest interpolation"),
    ("PSI032", ERROR, "remap-after-padding",
     "RemapLabels after a padding transform remaps the padded ignore pixels"),
    # Data rules (`--scan-data`).
    ("PSI100", ERROR, "missing-data-file",
     "dataset_root, a file list, or an image or label file does not exist or is unreadable"),
    ("PSI101", ERROR, "label-value-out-of-range",
     "label values >= num_classes that are not ignore_index"),
    ("PSI102", ERROR, "binary-mask-255-ignored",
     "0/255 binary masks while 255 is ignore_index: the model never sees foreground"),
    ("PSI103", ERROR, "rgb-label",
     "RGB (colour-coded) label files, which PaddleSeg reads as 3 channels"),
    ("PSI104", WARNING, "jpeg-label",
     "JPEG label files: lossy compression adds label values at edges"),
    ("PSI105", ERROR, "label-size-mismatch",
     "label and image sizes differ (after the image's EXIF orientation)"),
    ("PSI106", WARNING, "class-never-occurs",
     "a class (or label) that never occurs in the train or val labels"),
    ("PSI107", WARNING, "val-no-foreground",
     "the val labels hold no foreground at all"),
    ("PSI108", WARNING, "ignore-share-high",
     "ignore_index covers more than 30 % of the labelled pixels"),
    ("PSI109", ERROR, "transform-new-label-values",
     "the train transforms produce label values that are not in the label files"),
    ("PSI110", ERROR, "transform-dry-run-failed",
     "running samples through the train transforms raised an error"),
    ("PSI111", ERROR, "multilabel-layout",
     "multi-label files that fit no PaddleSeg layout, or disagree on the number of labels"),
    ("PSI112", WARNING, "data-not-scanned",
     "a dataset whose files the lint cannot list, so its data rules did not run"),
    ("PSI113", WARNING, "label-16-bit",
     "16-bit label PNGs: PaddleSeg alone hands them to Paddle as bfloat16 (all background)"),
    ("PSI114", ERROR, "file-list-line",
     "file-list lines that are not 'image label' (a missing or third column, a space in a "
     "path, a blank line), or a list naming no sample"),
    ("PSI115", WARNING, "output-stride-too-coarse",
     "the model predicts at a stride coarser than the thinnest class's median structure "
     "width (`stats` prints the widths)"),
)


@dataclass
class Finding:
    """One problem found: the rule's code and severity, where it is, what, and the fix.

    Attributes:
        code: the rule's code (a key of `RULES`); `severity` and `name` follow from it.
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


def rules_table():
    """All rules as text lines: code, severity, name, summary."""
    return "\n".join(f"{rule.code}  {rule.severity:<7}  {rule.name:<28} {rule.summary}"
                     for rule in RULES.values())
