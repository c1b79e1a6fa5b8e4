"""The `paddleseg-imbalance` console script.

    paddleseg-imbalance demo-data DIR [--size 128 --num-train 64 --num-val 16 --seed 0]
    paddleseg-imbalance train|val|predict|export --config CONFIG [PaddleSeg's flags]

`train`, `val`, `predict` and `export` are the same code as `tools/*.py`. Subcommands
import what they need when they run, so `--help` and `demo-data` stay light.
"""
import zlib  # noqa: F401  (before paddle: paddlepaddle 2.6.2 breaks zlib otherwise)
import argparse
import importlib
import sys

EXIT_BAD_INPUT = 2
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
                    "about 2 %% of the pixels, on textured ground. Deterministic per seed.")
    parser.add_argument("dir", help="Target directory (e.g. data/demo).")
    parser.add_argument("--kind", default="both", choices=["binary", "multilabel", "both"])
    parser.add_argument("--size", type=int, default=128, help="Image side in pixels.")
    parser.add_argument("--num-train", type=int, default=64, help="Training images.")
    parser.add_argument("--num-val", type=int, default=16, help="Validation images.")
    parser.add_argument("--seed", type=int, default=0, help="Random seed.")
    parser.add_argument("--force", action="store_true",
                        help="Rewrite binary/ and multilabel/ in a non-empty DIR.")
    parser.set_defaults(handler=demo_data)


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
