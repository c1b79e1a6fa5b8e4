"""Does a multi-label model learn its labels? Recipes on the demo multi-label data, 3 seeds.

    python benchmarks/quality_multilabel.py [--layout roads|nested]
        [--recipes paddleseg_bce_lovasz paddleseg_bce_lovasz_adamw_light_aux
                   paddleseg_bce_lovasz_adamw_light_aux_stride4 bce_lovasz bce_wiou
                   recommended]
        [--seeds 0 1 2] [--iters 300] [--jobs 2] [--device cpu]

The multi-label counterpart of benchmarks/quality.py (whose time measurement it reuses):
every recipe trains PP-LiteSeg STDC1 from scratch with `tools/train.py` on a demo
multi-label layout, with the same iterations, batch size and crop, and is evaluated once,
at its last iteration, on the val images. `--layout roads` is `demo-data`'s multilabel/
(road and built_up, overlapping on asphalt roads, thin); `--layout nested` is
`demo-data --kind multilabel_nested` (parcel > building > solar, blob-like, nested). The
configs name the roads layout; for the nested one the benchmark writes a config per recipe
under `--out` that points it at that data (`_base_` the recipe's config).

Rows: PaddleSeg's own multi-label recipe as PaddleSeg develop ships it (BCELoss +
LovaszHingeLoss, 0.5 / 0.5, SGD), the same with AdamW 0.003 and auxiliary heads at 0.4,
the same at output stride 4 with the recommended recipe's AdamW schedule (the row the
stride-4 recommended recipe is measured against); the plugin's shipped configs
(BCE + MultiLabelLovaszHinge, BCE + WeightedIoULoss) and the recommended recipe.

The table: each label's IoU, the label mIoU (the background channel left out), mean
recall and precision over the labels (mean ± std over the seeds), time per training
iteration (the mean logged `batch_cost` after the first log window) and its ratio to the
reference PaddleSeg-only row's. The targets (issue 20): label mIoU >= 0.40, each label
>= 0.30, >= 0.05 over the best PaddleSeg-only row, at <= 1.2x the time per iteration of
that row.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from prettytable import PrettyTable

from quality import run_all, seconds_per_iteration

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(REPO, "configs", "multilabel")
PREFIX = "pp_liteseg_stdc1_demo_multilabel"

# name -> (config suffix, what it is)
RECIPES = {
    "paddleseg_bce_lovasz": ("_paddleseg_bce_lovasz",
                             "PaddleSeg only: develop's BCELoss + LovaszHingeLoss, SGD"),
    "paddleseg_bce_lovasz_adamw_light_aux": (
        "_paddleseg_bce_lovasz_adamw_light_aux",
        "PaddleSeg only, AdamW 0.003, auxiliary heads at 0.4"),
    "paddleseg_bce_lovasz_adamw_light_aux_stride4": (
        "_paddleseg_bce_lovasz_adamw_light_aux_stride4",
        "PaddleSeg only, the recommended recipe's AdamW schedule, aux heads 0.4, stride 4"),
    "bce_lovasz": ("", "shipped: BCE + MultiLabelLovaszHingeLoss, SGD"),
    "bce_wiou": ("_wiou", "shipped: BCE + WeightedIoULoss (multilabel), SGD"),
    "recommended": ("_recommended", "the recommended multi-label recipe (stride 4)"),
}
PADDLESEG_ONLY = ("paddleseg_bce_lovasz", "paddleseg_bce_lovasz_adamw_light_aux",
                  "paddleseg_bce_lovasz_adamw_light_aux_stride4")
RECOMMENDED = "recommended"
# The PaddleSeg-only row with the recommended recipe's optimizer, heads and output stride:
# the time target's reference.
TIME_REFERENCE = "paddleseg_bce_lovasz_adamw_light_aux_stride4"
TARGET_MIOU, TARGET_EACH, TARGET_MARGIN, TARGET_TIME_RATIO = 0.40, 0.30, 0.05, 1.2
# --layout -> (the directory under data/demo, the demo-data --kind that writes it,
#              label names; None: the configs' own)
LAYOUTS = {"roads": ("multilabel", "multilabel", None),
           "nested": ("multilabel_nested", "multilabel_nested",
                      ["parcel", "building", "solar"])}
METRICS = ("miou", "recall", "precision", "s_per_iter")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layout", default="roads", choices=sorted(LAYOUTS))
    parser.add_argument("--recipes", nargs="+", default=[*PADDLESEG_ONLY, RECOMMENDED],
                        choices=sorted(RECIPES), help="recipes to train (default: %(default)s)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2, help="trainings run at once")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=None,
                        help="results directory (default: output/quality_multilabel_<layout>)")
    parser.add_argument("--workdir", default=REPO,
                        help="directory the trainings run in; the configs read the demo "
                             "data from its data/demo (written there if missing)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the results of runs already in --out")
    args = parser.parse_args(argv)
    args.out = args.out or os.path.join(REPO, "output", f"quality_multilabel_{args.layout}")
    return args


def ensure_demo_data(workdir, layout):
    root = os.path.join(workdir, "data", "demo")
    subdir, kind, _ = LAYOUTS[layout]
    if not os.path.isfile(os.path.join(root, subdir, "train.txt")):
        subprocess.run([sys.executable, "-m", "paddleseg_imbalance", "demo-data", root,
                        "--kind", kind, "--force"], cwd=REPO, check=True)


def recipe_config(args, recipe):
    """The config file `recipe` trains with on `args.layout` (written for `nested`)."""
    config = os.path.join(CONFIGS, f"{PREFIX}{RECIPES[recipe][0]}.yml")
    subdir, _, names = LAYOUTS[args.layout]
    if names is None:
        return config
    root = f"data/demo/{subdir}"
    num_classes = len(names) + 1  # + the background channel
    dataset = {"dataset_root": root, "num_classes": num_classes, "label_names": names}
    layout_config = {"_base_": config, "model": {"num_classes": num_classes},
                     "train_dataset": dict(dataset, train_path=f"{root}/train.txt"),
                     "val_dataset": dict(dataset, val_path=f"{root}/val.txt")}
    path = os.path.join(args.out, "configs", f"{recipe}_{args.layout}.yml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as file:
        json.dump(layout_config, file, indent=1)  # JSON is YAML
    return path


def train(args, recipe, seed, threads):
    """Train and evaluate one (recipe, seed); its result dict (also saved as result.json)."""
    save_dir = os.path.join(args.out, recipe, f"seed_{seed}")
    result_path = os.path.join(save_dir, "result.json")
    if args.reuse and os.path.isfile(result_path):
        with open(result_path) as file:
            return json.load(file)
    os.makedirs(save_dir, exist_ok=True)
    command = [sys.executable, os.path.join(REPO, "tools", "train.py"),
               "--config", recipe_config(args, recipe), "--seed", str(seed),
               "--iters", str(args.iters), "--device", args.device,
               "--save_interval", str(args.iters), "--do_eval",
               "--log_iters", str(max(1, min(10, args.iters // 4))), "--save_dir", save_dir]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), CPU_NUM=str(threads))
    log_path = os.path.join(save_dir, "train.log")
    started = time.time()
    with open(log_path, "w") as log:
        code = subprocess.run(command, cwd=args.workdir, env=env, stdout=log,
                              stderr=subprocess.STDOUT).returncode
    if code != 0:
        raise RuntimeError(f"{recipe} seed {seed}: tools/train.py exited {code}; see {log_path}")
    result = dict(recipe=recipe, seed=seed, iters=args.iters, wall_s=time.time() - started,
                  s_per_iter=seconds_per_iteration(log_path),
                  **label_metrics(os.path.join(save_dir, "eval", f"iter_{args.iters}.json")))
    with open(result_path, "w") as file:
        json.dump(result, file, indent=1)
    return result


def label_metrics(eval_json):
    """Per-label IoU, and the label mIoU, recall and precision (means over the labels; the
    background channel is in the evaluation's `auxiliary` rows, not in `labels`)."""
    with open(eval_json) as file:
        labels = json.load(file)["labels"]
    values = {key: [row[key] or 0.0 for row in labels] for key in ("iou", "recall", "precision")}
    return dict(label_iou={row["name"]: row["iou"] or 0.0 for row in labels},
                miou=statistics.mean(values["iou"]), recall=statistics.mean(values["recall"]),
                precision=statistics.mean(values["precision"]))


def summarise(results, recipes):
    """Per recipe: (mean, std) over the seeds of each metric and of each label's IoU."""
    summary = {}
    for recipe in recipes:
        runs = [r for r in results if r["recipe"] == recipe]
        stats = {key: (statistics.mean(r[key] for r in runs),
                       statistics.pstdev(r[key] for r in runs)) for key in METRICS}
        stats["label_iou"] = {name: (statistics.mean(r["label_iou"][name] for r in runs),
                                     statistics.pstdev(r["label_iou"][name] for r in runs))
                              for name in runs[0]["label_iou"]}
        stats["per_seed_miou"] = [r["miou"] for r in runs]
        summary[recipe] = stats
    return summary


def _cell(pair):
    return f"{pair[0]:.3f} ± {pair[1]:.3f}"


def table(summary):
    names = list(next(iter(summary.values()))["label_iou"])
    reference = summary.get(TIME_REFERENCE, {}).get("s_per_iter", (None,))[0]
    rows = PrettyTable(["recipe", *(f"{name} IoU" for name in names), "label mIoU",
                        "recall", "precision", "mIoU per seed", "s/iter",
                        "x PaddleSeg s4 time"])
    rows.align = "r"
    rows.align["recipe"] = "l"
    for recipe, stats in summary.items():
        seconds = stats["s_per_iter"][0]
        rows.add_row([recipe, *(_cell(stats["label_iou"][name]) for name in names),
                      *(_cell(stats[key]) for key in ("miou", "recall", "precision")),
                      " ".join(f"{v:.3f}" for v in stats["per_seed_miou"]), f"{seconds:.2f}",
                      f"{seconds / reference:.2f}" if reference else "-"])
    return rows.get_string()


def verdicts(summary):
    """The issue's targets for the recommended recipe, each met or not, as lines."""
    if RECOMMENDED not in summary:
        return []
    stats = summary[RECOMMENDED]
    miou = stats["miou"][0]
    worst = min(stats["label_iou"], key=lambda name: stats["label_iou"][name][0])
    lines = [f"recommended label mIoU {miou:.3f} >= {TARGET_MIOU}: "
             f"{'met' if miou >= TARGET_MIOU else 'MISSED'}",
             f"recommended worst label ({worst}) IoU {stats['label_iou'][worst][0]:.3f} >= "
             f"{TARGET_EACH}: "
             f"{'met' if stats['label_iou'][worst][0] >= TARGET_EACH else 'MISSED'}"]
    paddleseg_only = [recipe for recipe in PADDLESEG_ONLY if recipe in summary]
    if paddleseg_only:
        best = max(paddleseg_only, key=lambda recipe: summary[recipe]["miou"][0])
        margin = miou - summary[best]["miou"][0]
        lines.append(f"margin over PaddleSeg-only ({best}) {margin:+.3f} >= +{TARGET_MARGIN}: "
                     f"{'met' if margin >= TARGET_MARGIN else 'MISSED'}")
    if TIME_REFERENCE in summary:
        ratio = stats["s_per_iter"][0] / summary[TIME_REFERENCE]["s_per_iter"][0]
        lines.append(f"time per iteration {ratio:.2f}x {TIME_REFERENCE} <= "
                     f"{TARGET_TIME_RATIO}x: {'met' if ratio <= TARGET_TIME_RATIO else 'MISSED'}")
    return lines


def main(argv=None):
    args = parse_args(argv)
    ensure_demo_data(args.workdir, args.layout)
    results = run_all(args, train, "label mIoU", "miou")
    summary = summarise(results, args.recipes)
    with open(os.path.join(args.out, "summary.json"), "w") as file:
        json.dump(summary, file, indent=1)
    print(f"\nLabel metrics at iteration {args.iters}, mean ± std over seeds "
          f"{' '.join(map(str, args.seeds))} (demo multi-label data, layout {args.layout}, "
          f"{args.device}; the background channel left out):")
    print(table(summary))
    for recipe in args.recipes:
        print(f"  {recipe}: {RECIPES[recipe][1]}")
    for line in verdicts(summary):
        print(line)


if __name__ == "__main__":
    main()
