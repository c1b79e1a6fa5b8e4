"""Lint a PaddleSeg config (and, with `scan_data`, its dataset) before training.

    from paddleseg_imbalance.lint import lint
    report = lint("configs/my.yml")                  # config rules only, no paddle
    report = lint("configs/my.yml", scan_data=True)  # + data rules (reads every label)
    print(report.text()); sys.exit(report.exit_code())

Rules, codes and the JSON schema: see `findings`. Config-only linting imports neither
paddle nor numpy (nothing in this package imports them at module level; the data rules
are imported when `scan_data` is set), so `paddleseg-imbalance lint` answers in well
under a second; see `paddleseg_imbalance_launcher` for how the console script avoids
the package `__init__`, which imports paddle.
"""
from dataclasses import dataclass

from paddleseg_imbalance.lint import (component_rules, consistency_rules, loss_rules,
                                      model_rules, multilabel_rules, transform_rules)
from paddleseg_imbalance.lint.context import LintContext
from paddleseg_imbalance.lint.findings import (RULES, Finding, exit_code, render_json,
                                               render_text, sort_findings)
from paddleseg_imbalance.lint.fragments import fragment_reason
from paddleseg_imbalance.lint.resolve import LintInputError, resolve_config

CONFIG_CHECKS = (consistency_rules.CHECKS + component_rules.CHECKS + loss_rules.CHECKS
                 + model_rules.CHECKS + multilabel_rules.CHECKS + transform_rules.CHECKS)


@dataclass
class LintReport:
    """The findings of one lint run, and how to show them."""

    config: str
    findings: list
    scan_data: bool = False
    fragment: object = None
    files: tuple = ()

    @property
    def errors(self):
        return [f for f in self.findings if f.severity == "error"]

    def exit_code(self, strict=False):
        return exit_code(self.findings, strict)

    def text(self, colour=False):
        label = f"{self.config} (a fragment: {self.fragment})" if self.fragment else self.config
        return render_text(self.findings, label, colour)

    def json(self):
        return render_json(self.findings, self.config, self.scan_data, self.fragment)


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
            an error); default: `fragments.fragment_reason` decides.

    Raises:
        LintInputError: the config cannot be read (exit code 2).
    """
    # Imported here, not at the top: `python -m paddleseg_imbalance.lint.known_components`
    # would otherwise find the module imported already when it runs it.
    from paddleseg_imbalance.lint.known_components import from_managers, installed

    resolved = resolve_config(path, opts)
    if known is None:
        try:
            known = from_managers() if scan_data else installed(tuple(components))
        except ValueError as error:
            raise LintInputError(f"--components: {error}") from error
    ctx = LintContext(resolved, known, fragment=fragment or fragment_reason(resolved))
    ctx.num_labels = ctx.config_num_labels()
    checks = CONFIG_CHECKS
    if scan_data:
        from paddleseg_imbalance.lint import data_rules

        data_rules.scan_data(ctx, workers=workers, progress=progress,
                             dry_run_samples=dry_run_samples)
        checks = checks + data_rules.CHECKS
    findings = [finding for check in checks for finding in check(ctx)]
    return LintReport(str(path), sort_findings(findings), scan_data, ctx.fragment,
                      tuple(resolved.files))


__all__ = ["CONFIG_CHECKS", "Finding", "LintInputError", "LintReport", "RULES", "lint"]
