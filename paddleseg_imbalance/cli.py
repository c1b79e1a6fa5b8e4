"""The `paddleseg-imbalance` console script.

    paddleseg-imbalance demo-data DIR [--kind both|binary|multilabel|cracks|multilabel_nested] [--size 128 ...]
    paddleseg-imbalance lint CONFIG|DIR... [--scan-data] [--format text|json] [--strict]
    paddleseg-imbalance stats CONFIG | --dataset-root DIR --file-list LIST --num-classes N
    paddleseg-imbalance report SAVE_DIR [--config CONFIG]
    paddleseg-imbalance train|val|predict|export --config CONFIG [PaddleSeg's flags]

`train`, `val`, `predict` and `export` are the same code as `tools/*.py`. Subcommands
import what they need when they run, so `--help`, `demo-data` and `lint` stay light
(config-only `lint` imports no paddle when started through `paddleseg_imbalance_launcher`,
the console script's entry point).
"""
import zlib  # noqa: F401  (before paddle: paddlepaddle 2.6.2 breaks zlib otherwise)
import argparse
import contextlib
import importlib
import os
import sys

from paddleseg_imbalance.config.errors import EXIT_BAD_INPUT
from paddleseg_imbalance.engine.args import integer_at_least

TOOLS = {
    "train": "Train a model (tools/train.py).",
    "val": "Evaluate a trained model (tools/val.py).",
    "predict": "Predict masks for images (tools/predict.py).",
    "export": "Export an inference model (tools/export.py).",
}


def demo_data(args):
    from paddleseg_imbalance.demo_data import format_summary, write_demo_dataset

    try:
        info = write_demo_dataset(args.dir, kind=args.kind, size=args.size,
                                  num_train=args.num_train, num_val=args.num_val,
                                  seed=args.seed, force=args.force)
    except (ValueError, FileExistsError) as error:
        print(f"paddleseg-imbalance demo-data: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(format_summary(info))
    return 0


def _add_demo_data(subparsers):
    parser = subparsers.add_parser(
        "demo-data", help="Write the imbalanced demo datasets (binary and multi-label).",
        description="Write PaddleSeg-format demo datasets: thin roads and small buildings, "
                    "about 2 % of the pixels, on textured ground (DIR/binary, "
                    "DIR/multilabel), or with --kind cracks thin cracks, about 1.5 % of the "
                    "pixels, on pavement (DIR/cracks). Deterministic per seed.")
    parser.add_argument("dir", help="Target directory (e.g. data/demo).")
    parser.add_argument("--kind", default="both",
                        choices=["binary", "multilabel", "both", "cracks",
                                 "multilabel_nested"],
                        help="both: binary/ and multilabel/ (roads and buildings); cracks: "
                             "cracks/, a binary dataset of another thin structure; "
                             "multilabel_nested: multilabel_nested/, 3 nested blob-like "
                             "labels (parcel > building > solar) (default: %(default)s)")
    parser.add_argument("--size", type=int, default=128, help="Image side in pixels.")
    parser.add_argument("--num-train", type=int, default=64, help="Training images.")
    parser.add_argument("--num-val", type=int, default=16, help="Validation images.")
    parser.add_argument("--seed", type=int, default=0, help="Random seed.")
    parser.add_argument("--force", action="store_true",
                        help="Rewrite the subdirectories --kind writes in a non-empty DIR.")
    parser.set_defaults(handler=demo_data)


def lint(args):
    from paddleseg_imbalance.lint import LintInputError
    from paddleseg_imbalance.lint import lint as run_lint
    from paddleseg_imbalance.lint.rules import UnknownRule, rule_for, rules_table

    if args.list_rules:
        print(rules_table())
        return 0
    if args.explain:
        try:
            print(rule_for(args.explain).explain())
        except UnknownRule as error:
            print(f"paddleseg-imbalance lint: error: --explain: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        return 0
    if not args.paths:
        print("paddleseg-imbalance lint: error: give a CONFIG or a folder of configs (or "
              "--list-rules, --explain CODE)", file=sys.stderr)
        return EXIT_BAD_INPUT
    options = dict(scan_data=args.scan_data, opts=args.opts, workers=args.workers,
                   progress=sys.stderr.isatty(), components=tuple(args.components or ()),
                   fragment="--fragment" if args.fragment else None)
    try:
        # Stdout carries the report alone (JSON must parse): PaddleSeg logs to stdout.
        with contextlib.redirect_stdout(sys.stderr):
            if args.scan_data:
                importlib.import_module("paddleseg_imbalance")  # registers the components
            if len(args.paths) == 1 and not os.path.isdir(args.paths[0]):
                report = run_lint(args.paths[0], **options)
            else:
                from paddleseg_imbalance.lint.tree import lint_tree

                report = lint_tree(args.paths, **options)
    except LintInputError as error:
        print(f"paddleseg-imbalance lint: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.format == "json":
        print(report.json())
    else:
        print(report.text(colour=sys.stdout.isatty() and "NO_COLOR" not in os.environ))
    return report.exit_code(args.strict)


def _add_lint(subparsers):
    parser = subparsers.add_parser(
        "lint", help="Check a PaddleSeg config (and its dataset) before training.",
        description="Check a PaddleSeg config, with its _base_ files, for the mistakes that "
                    "make class-imbalanced training fail (num_classes, losses, multi-label "
                    "setup, label padding); with --scan-data also read every label file. "
                    "Folders are linted file by file, ending with a summary line. "
                    "Exit 0: clean; 1: errors (or warnings with --strict); 2: unusable "
                    "input. Rules: --list-rules; one rule in full: --explain CODE.")
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="PaddleSeg (or PaddleX 3 segmentation) YAML configs, or folders: "
                             "every .yml/.yaml under them.")
    parser.add_argument("--scan-data", action="store_true",
                        help="Also read the datasets' files (imports paddle).")
    parser.add_argument("--format", default="text", choices=["text", "json"],
                        help="Output format; json is documented in "
                             "paddleseg_imbalance/lint/findings.py.")
    parser.add_argument("--strict", action="store_true", help="Exit 1 on warnings too.")
    parser.add_argument("--opts", nargs="+", default=None,
                        help="Config overrides as the tools take them: key=value ...")
    parser.add_argument("--workers", type=int, default=None,
                        help="Processes that read label files (default: CPU count).")
    parser.add_argument("--components", action="append", metavar="MODULE",
                        help="A module (file, folder or importable name) whose registered "
                             "components count as known; read, not run. Repeatable.")
    parser.add_argument("--fragment", action="store_true",
                        help="Lint as fragments: what the configs lack is not an error.")
    parser.add_argument("--list-rules", action="store_true", help="Print the rules and exit.")
    parser.add_argument("--explain", metavar="CODE",
                        help="Print what rule CODE (e.g. PSI011) checks, why, and the fix; "
                             "then exit.")
    parser.set_defaults(handler=lint)


def stats(args):
    from paddleseg_imbalance import stats_report
    from paddleseg_imbalance.config.errors import DataError
    from paddleseg_imbalance.lint import LintInputError

    try:
        if args.config:
            inputs = stats_report.inputs_from_config(args.config, f"{args.split}_dataset")
        elif args.dataset_root and args.file_list and args.num_classes:
            inputs = stats_report.inputs_from_list(args.dataset_root, args.file_list,
                                                   args.num_classes, args.ignore_index,
                                                   args.multilabel)
        else:
            raise stats_report.StatsInputError(
                "give a CONFIG, or --dataset-root, --file-list and --num-classes")
    except (LintInputError, stats_report.StatsInputError) as error:
        print(f"paddleseg-imbalance stats: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    crop_size = None
    if args.crop_size:
        if len(args.crop_size) > 2:
            print("paddleseg-imbalance stats: error: --crop-size takes one side or "
                  "width height", file=sys.stderr)
            return EXIT_BAD_INPUT
        crop_size = tuple(args.crop_size * 2 if len(args.crop_size) == 1 else args.crop_size)
    try:
        report = stats_report.compute(inputs, crop_size, args.crops_per_image, args.seed,
                                      args.workers, progress=sys.stderr.isatty())
    except DataError as error:
        print(f"paddleseg-imbalance stats: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(report.table())
    print("\n".join(report.summary()))
    output = args.output or os.path.join("output", "stats", inputs.name)
    try:
        paths = stats_report.write(report, output, plot=not args.no_plot)
    except OSError as error:
        print(f"paddleseg-imbalance stats: error: cannot write the report into '{output}' "
              f"({error}); give --output a writable folder.", file=sys.stderr)
        return EXIT_BAD_INPUT
    for path in paths:
        print(f"wrote {path}")
    return 0


def _add_stats(subparsers):
    parser = subparsers.add_parser(
        "stats", help="Class frequencies, crop coverage and recommended class weights.",
        description="Per class: pixel share, share of images and of random crops that "
                    "contain it, the weights of each weighting method, and how thin it is "
                    "(median structure width, share on <=3 px structures, the output stride "
                    "it needs). Prints a table, "
                    "writes class_stats.json and class_stats.png.")
    parser.add_argument("config", nargs="?", help="PaddleSeg YAML config (its train_dataset).")
    parser.add_argument("--split", default="train", choices=["train", "val"],
                        help="Dataset section of the config to count.")
    parser.add_argument("--dataset-root", help="Without a config: the dataset root.")
    parser.add_argument("--file-list", help="Without a config: 'image label' lines.")
    parser.add_argument("--num-classes", type=integer_at_least(1),
                        help="Without a config: classes (multi-label: labels).")
    parser.add_argument("--ignore-index", type=int, default=255,
                        help="Without a config: the ignored label value.")
    parser.add_argument("--multilabel", action="store_true",
                        help="Without a config: multi-label files (a multi-label config says so "
                             "itself).")
    parser.add_argument("--crop-size", type=integer_at_least(1), nargs="+", metavar="PX",
                        help="Crop side, or width height (default: the config's crop "
                             "transform; none: no crop statistics).")
    parser.add_argument("--crops-per-image", type=integer_at_least(1), default=20,
                        help="Random crops drawn per image.")
    parser.add_argument("--seed", type=integer_at_least(0), default=0, help="Seed of the crops.")
    parser.add_argument("--workers", type=integer_at_least(1), default=None,
                        help="Processes that read label files (default: CPU count).")
    parser.add_argument("--output", help="Output directory (default output/stats/NAME).")
    parser.add_argument("--no-plot", action="store_true", help="Do not draw the PNG chart.")
    parser.set_defaults(handler=stats)


def report(args):
    from paddleseg_imbalance.report import ReportInputError, write_report

    try:
        path = write_report(args.save_dir, args.config)
    except (ReportInputError, OSError) as error:
        print(f"paddleseg-imbalance report: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {path}")
    return 0


def _add_report(subparsers):
    parser = subparsers.add_parser(
        "report", help="Write SAVE_DIR/report.html, one page of a run's evaluations.",
        description="Write SAVE_DIR/report.html: the verdict, config, class statistics, "
                    "IoU/F1 per class over the evaluated iterations, the last evaluation's "
                    "table, confusion heat map, degenerate-result checks, threshold sweep, "
                    "object recall by size and error panels, as one self-contained page "
                    "(images embedded; no network). Reads files only.")
    parser.add_argument("save_dir", metavar="SAVE_DIR",
                        help="The --save_dir of tools/train.py --do_eval or tools/val.py.")
    parser.add_argument("--config", help="The config to show (default SAVE_DIR/"
                                         "run_config.yml, written by the tools).")
    parser.set_defaults(handler=report)


def patches(args):
    from paddleseg_imbalance.patches import format_registry, registry

    print(format_registry(registry()))
    return 0


def _add_patches(subparsers):
    parser = subparsers.add_parser(
        "patches", help="List every change the plugin makes to PaddleSeg.",
        description="Every change the plugin makes to PaddleSeg: the permanent repairs "
                    "(and whether the installed PaddleSeg and Paddle need each) and the "
                    "per-run training hooks, with what each replaces and fixes.")
    parser.set_defaults(handler=patches)


def _add_tools(subparsers):
    for name, summary in TOOLS.items():
        # The tool parses its own flags; `paddleseg-imbalance train --help` shows them.
        parser = subparsers.add_parser(name, help=summary, add_help=False)
        parser.set_defaults(tool=name)


def _run_tool(name, argv):
    from paddleseg_imbalance.engine.entry import run_tool

    module = importlib.import_module(f"paddleseg_imbalance.engine.{name}")
    run_tool(module.main, argv)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="paddleseg-imbalance",
        description="Class-imbalanced semantic segmentation with PaddleSeg.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_demo_data(subparsers)
    _add_lint(subparsers)
    _add_stats(subparsers)
    _add_report(subparsers)
    _add_patches(subparsers)
    _add_tools(subparsers)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in TOOLS:
        return _run_tool(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
