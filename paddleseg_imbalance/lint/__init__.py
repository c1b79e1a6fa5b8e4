"""Lint a PaddleSeg config (and, with `scan_data`, its dataset) before training.

    from paddleseg_imbalance.lint import lint
    report = lint("configs/my.yml")                  # config rules only, no paddle
    report = lint("configs/my.yml", scan_data=True)  # + data rules (reads every label)
    print(report.text()); sys.exit(report.exit_code())

Rules: `rules` (each defined beside its check in a `*_rules` module); findings and the
JSON schema: `findings`. Config-only linting imports neither paddle nor numpy
(`data_scan` and `dry_run`, which read the data files, are imported when `scan_data` is
set), so `paddleseg-imbalance lint` answers in well under a second; see
`paddleseg_imbalance_launcher` for how the console script avoids the package
`__init__`, which imports paddle.
"""
from dataclasses import dataclass

from paddleseg_imbalance.config.resolve import LintInputError, resolve_config
from paddleseg_imbalance.lint.context import LintContext
from paddleseg_imbalance.lint.findings import (Finding, exit_code, render_json, render_text,
                                               sort_findings)
from paddleseg_imbalance.lint.fragments import fragment_reason
from paddleseg_imbalance.lint.paddlex import as_paddleseg, reworded
from paddleseg_imbalance.lint.rules import CONFIG_RULES, DATA_RULES, PADDLEX_RULES, RULES


@dataclass
class LintReport:
    """The findings of one lint run, and how to show them."""

    config: str
    findings: list
    scan_data: bool = False
    fragment: object = None
    files: tuple = ()
    paddlex: bool = False

    @property
    def errors(self):
        return [f for f in self.findings if f.severity == "error"]

    def exit_code(self, strict=False):
        return exit_code(self.findings, strict)

    def text(self, colour=False):
        label = self.config
        if self.paddlex:
            label += " (a PaddleX 3 segmentation config)"
        if self.fragment:
            label += f" (a fragment: {self.fragment})"
        return render_text(self.findings, label, colour)

    def json(self):
        return render_json(self.findings, self.config, self.scan_data, self.fragment,
                           self.paddlex)


def lint(path, scan_data=False, opts=None, known=None, workers=None, progress=True,
         dry_run_samples=4, components=(), fragment=None):
    """Lint the config at `path`; returns a `LintReport`.

    Args:
        path: the YAML config (its `_base_` files are read as PaddleSeg reads them).
        scan_data: also read the dataset files and run the data rules (imports paddle
            for the transform dry run and the live component names).
        opts: `--opts key=value` overrides, applied as PaddleSeg applies them.
        known: `KnownComponents` to check `type:` names against; default the live
            managers with `scan_data`, else the names read from the source of the
            installed PaddleSeg, this plugin and `components` (`known_components.installed`).
        workers: processes that read label files (default: the CPU count).
        progress: show progress bars while scanning.
        dry_run_samples: train samples run through the transforms (0: none).
        components: modules (paths or names) whose registered components count as known.
        fragment: why to lint the file as a fragment (see `fragments`: what it lacks is not
            an error); default (None): `fragments.fragment_reason` decides; False: never
            (the tools, which run the config).

    Raises:
        LintInputError: the config cannot be read (exit code 2).
    """
    # Imported here, not at the top: `python -m paddleseg_imbalance.lint.known_components`
    # would otherwise find the module imported already when it runs it.
    from paddleseg_imbalance.lint.known_components import from_managers, installed

    resolved = as_paddleseg(resolve_config(path, opts))
    if known is None:
        try:
            known = from_managers() if scan_data else installed(tuple(components))
        except ValueError as error:
            raise LintInputError(f"--components: {error}") from error
    if fragment is None and not resolved.paddlex:
        fragment = fragment_reason(resolved)
    ctx = LintContext(resolved, known, fragment=fragment or None)
    ctx.num_labels = ctx.config_num_labels()
    rules = PADDLEX_RULES if resolved.paddlex else CONFIG_RULES
    if scan_data:
        from paddleseg_imbalance.lint import data_scan

        data_scan.scan_data(ctx, workers=workers, progress=progress,
                            dry_run_samples=0 if resolved.paddlex else dry_run_samples)
        rules = rules + DATA_RULES
    findings = [finding for rule in rules for finding in rule.findings(ctx)]
    if resolved.paddlex:
        findings = [reworded(finding) for finding in findings]
    return LintReport(str(path), sort_findings(findings), scan_data, ctx.fragment,
                      tuple(resolved.files), resolved.paddlex)


__all__ = ["CONFIG_RULES", "Finding", "LintInputError", "LintReport", "RULES", "lint"]
