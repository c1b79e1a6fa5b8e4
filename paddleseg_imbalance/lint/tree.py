"""Lint many configs at once (`paddleseg-imbalance lint DIR FILE...`) and sum them up.

Every .yml / .yaml file under a directory is linted in one process (the component names
are read once, see `known_components.installed`). A file that another linted file names
as `_base_`, and lacks a section PaddleSeg requires, is linted as a fragment (rule 4
of `fragments`). A file that cannot be read
at all is listed as unreadable and makes the exit code 2; otherwise it is the worst of the
files' exit codes.
"""
import collections
import json
import os
from dataclasses import dataclass, field

from paddleseg_imbalance.config.errors import EXIT_BAD_INPUT
from paddleseg_imbalance.lint import LintInputError, lint
from paddleseg_imbalance.lint.findings import SEVERITIES, json_document

YAML_SUFFIXES = (".yml", ".yaml")


def yaml_files(paths):
    """The files in `paths`: files as given, directories walked for YAML files, sorted."""
    files = []
    for path in paths:
        if not os.path.isdir(path):
            files.append(path)
            continue
        for folder, subfolders, names in os.walk(path):
            subfolders.sort()
            files.extend(os.path.join(folder, name) for name in sorted(names)
                         if name.endswith(YAML_SUFFIXES))
    return files


@dataclass
class TreeReport:
    """The reports of many configs: `reports` [LintReport], `unreadable` [(path, message)]."""

    reports: list = field(default_factory=list)
    unreadable: list = field(default_factory=list)

    def exit_code(self, strict=False):
        if self.unreadable:
            return EXIT_BAD_INPUT
        return max((report.exit_code(strict) for report in self.reports), default=0)

    def counts(self):
        """{severity: Counter of codes} over all files."""
        counts = {severity: collections.Counter() for severity in SEVERITIES}
        for report in self.reports:
            for finding in report.findings:
                counts[finding.severity][finding.code] += 1
        return counts

    def summary(self):
        """One line: files, fragments, files with errors / warnings, findings by code."""
        counts = self.counts()
        files = len(self.reports) + len(self.unreadable)
        with_severity = {severity: sum(any(f.severity == severity for f in r.findings)
                                       for r in self.reports) for severity in SEVERITIES}
        parts = [f"{files} files ({sum(bool(r.fragment) for r in self.reports)} fragments, "
                 f"{len(self.unreadable)} unreadable)"]
        for severity in SEVERITIES:
            by_code = ", ".join(f"{code} {n}" for code, n in sorted(counts[severity].items()))
            total = sum(counts[severity].values())
            parts.append(f"{total} {severity}s in {with_severity[severity]} files"
                         + (f" ({by_code})" if by_code else ""))
        return "; ".join(parts)

    def text(self, colour=False):
        """The report of each file with findings, the unreadable files, the summary line."""
        blocks = [report.text(colour) for report in self.reports if report.findings]
        blocks += [f"{path}: unreadable: {message}" for path, message in self.unreadable]
        return "\n\n".join(blocks + [self.summary()])

    def json(self):
        counts = self.counts()
        return json.dumps({
            "version": 1,
            "reports": [json_document(r.findings, r.config, r.scan_data, r.fragment,
                                      r.paddlex) for r in self.reports],
            "unreadable": [{"config": path, "error": message}
                           for path, message in self.unreadable],
            "summary": {"files": len(self.reports) + len(self.unreadable),
                        **{severity: dict(sorted(counts[severity].items()))
                           for severity in SEVERITIES}}}, indent=2)


def lint_tree(paths, **options):
    """`TreeReport` of every config in `paths`, each linted with `lint(path, **options)`."""
    tree = TreeReport()
    for path in yaml_files(paths):
        try:
            tree.reports.append(lint(path, **options))
        except LintInputError as error:
            tree.unreadable.append((path, str(error)))
    included_by = {}
    for report in tree.reports:
        for base in report.files[1:]:
            included_by.setdefault(os.path.abspath(base), report.config)
    for index, report in enumerate(tree.reports):
        parent = included_by.get(os.path.abspath(report.config))
        # A complete config that others extend stays a config: only a file that lacks a
        # section PaddleSeg requires (PSI007) is taken for a fragment.
        if parent and any(f.code == "PSI007" for f in report.findings):
            tree.reports[index] = lint(report.config, **{
                **options, "fragment": f"{parent} names it as `_base_`"})
    return tree
