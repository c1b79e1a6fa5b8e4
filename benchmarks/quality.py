"""Does the foreground get learned? Recipes against plain CE on the demo data, several seeds.

    python benchmarks/quality.py [--recipes ce paddleseg_ce_dice paddleseg_ce_dice_adamw
                                  paddleseg_ce_dice_adamw_light_aux
                                  paddleseg_ce_dice_adamw_warmup recommended]
                                 [--seeds 0 1 2] [--iters 300] [--jobs 2] [--device cpu]
                                 [--data demo|cracks] [--tune_thresholds]

Every recipe trains PP-LiteSeg STDC1 from scratch with `tools/train.py` on the demo binary
data (the configs read `data/demo/binary` under `--workdir`, by default the repository;
written if missing) with the same total iterations, batch size and crop size (the whole
128 x 128 image); the loss, the class weights, the augmentation, the sampling and the
optimizer are the recipe's (see each config: `ce` and `paddleseg_ce_dice` use the
baseline's SGD 0.01, the recommended recipe AdamW 0.006 after 30 warm-up iterations;
PaddleSeg's CE + Dice also trains with AdamW 0.003 (`paddleseg_ce_dice_adamw`, its best
schedule), with that schedule and the recommended recipe's auxiliary-head weight 0.4
(`paddleseg_ce_dice_adamw_light_aux`) and with the recommended recipe's schedule
(`paddleseg_ce_dice_adamw_warmup`), the fair comparisons for what the plugin adds;
`two_stage` splits the iterations 2:1 and restarts the schedule at a tenth of the learning
rate for its second stage). Each (recipe, seed) run is evaluated once, at its last
iteration, on the validation images, and the table shows the foreground class's IoU,
Dice, recall and precision (mean and standard deviation over the seeds) and the time per
training iteration with its ratio to the CE baseline's.

`--jobs` runs that many trainings at once, each with `OMP_NUM_THREADS` = cores / jobs;
all recipes share the machine the same way, so their times compare. Time per iteration is
the mean of PaddleSeg's logged `batch_cost` after the first log window (warm-up), which
leaves start-up and the evaluation out. Results are kept in `--out/<recipe>/seed_<s>/`;
`--reuse` skips the runs that already have a result there (to resume an interrupted
benchmark; only reuse runs of the same code and settings).

`--data cracks` trains the same configs on `demo-data --kind cracks` (jagged cracks 1-5 px
wide on pavement, same size and split) instead of the roads: a second kind of thin
structure, to check that a recipe is not tuned to the demo data alone.

`--tune_thresholds` adds the decision-threshold columns: each trained model's foreground
threshold is swept on the train images (`tools/val.py --sweep_thresholds` with the train
list as val set) and the best one is scored on val (`tools/val.py --thresholds`); a
threshold tuned on the images it is scored on would be optimistic.

The targets (issue 7): the recommended recipe reaches foreground IoU >= 0.45 and beats the
best PaddleSeg-only recipe of the run by >= 0.05, mean over the seeds, with a time per
iteration within 1.15x of the CE baseline's.
"""
import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from prettytable import PrettyTable

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(REPO, "configs", "demo")

# name -> (stages, what it is); a stage is (config, share of the iterations). A second
# stage starts from the model the first one ended with.
RECIPES = {
    "ce": ([("pp_liteseg_stdc1_demo_ce.yml", 1)], "plain CrossEntropyLoss (the baseline)"),
    "paddleseg_ce_dice": ([("pp_liteseg_stdc1_demo_paddleseg_ce_dice.yml", 1)],
                          "PaddleSeg only: CE weight [1, 10] + DiceLoss"),
    "paddleseg_ce_dice_adamw": ([("pp_liteseg_stdc1_demo_paddleseg_ce_dice_adamw.yml", 1)],
                                "PaddleSeg only, with AdamW 0.003"),
    "paddleseg_ce_dice_adamw_light_aux": (
        [("pp_liteseg_stdc1_demo_paddleseg_ce_dice_adamw_light_aux.yml", 1)],
        "PaddleSeg only, with AdamW 0.003 and auxiliary heads at 0.4"),
    "paddleseg_ce_dice_adamw_warmup": (
        [("pp_liteseg_stdc1_demo_paddleseg_ce_dice_adamw_warmup.yml", 1)],
        "PaddleSeg only, with the recommended recipe's AdamW schedule"),
    "ce_auto_wiou": ([("pp_liteseg_stdc1_demo_ce_auto_wiou.yml", 1)],
                     "CE weight: auto + WeightedIoULoss"),
    "focal_tversky": ([("pp_liteseg_stdc1_demo_focal_tversky.yml", 1)],
                      "CE + focal TverskyLoss"),
    "recommended": ([("pp_liteseg_stdc1_demo_recommended.yml", 1)],
                    "the recommended recipe (see the config)"),
    "two_stage": ([("pp_liteseg_stdc1_demo_two_stage_1_balanced.yml", 2 / 3),
                   ("pp_liteseg_stdc1_demo_two_stage_2_finetune.yml", 1 / 3)],
                  "balanced sampling, then fine-tuning on the plain data"),
    # PP-LiteSeg at output stride 4 (backbone_indices [1, 2, 3, 4]), 4 heads.
    "recommended_stride4": ([("pp_liteseg_stdc1_demo_recommended_stride4.yml", 1)],
                            "the recommended recipe at output stride 4"),
    "recommended_stride4_wide": ([("pp_liteseg_stdc1_demo_recommended_stride4_wide.yml", 1)],
                                 "the same with 32 channels at 1/4 and 1/8 (16 above)"),
    "paddleseg_ce_dice_adamw_light_aux_stride4": (
        [("pp_liteseg_stdc1_demo_paddleseg_ce_dice_adamw_light_aux_stride4.yml", 1)],
        "PaddleSeg only, AdamW 0.003, auxiliary heads at 0.4, at output stride 4"),
}
BASELINE, RECOMMENDED = "ce", "recommended"
PADDLESEG_ONLY = ("paddleseg_ce_dice", "paddleseg_ce_dice_adamw",
                  "paddleseg_ce_dice_adamw_light_aux", "paddleseg_ce_dice_adamw_warmup")
Target = collections.namedtuple("Target", "iou margin time_ratio paddleseg_only")
# A plugin recipe's targets: fg IoU, margin over the best PaddleSeg-only recipe of the same
# output stride, time per iteration against stride-8 CE (issues 7 and 19).
STRIDE4_TARGET = Target(0.60, 0.05, 1.3, ("paddleseg_ce_dice_adamw_light_aux_stride4",))
TARGETS = {RECOMMENDED: Target(0.45, 0.05, 1.15, PADDLESEG_ONLY),
           "recommended_stride4": STRIDE4_TARGET, "recommended_stride4_wide": STRIDE4_TARGET}
TARGET_THRESHOLD_GAIN = 0.01
FOREGROUND = "foreground"
# --data -> (the directory under data/demo, the demo-data --kind that writes it)
DATASETS = {"demo": ("binary", "both"), "cracks": ("cracks", "cracks")}
BATCH_COST = re.compile(r"iter: (\d+)/\d+,.*batch_cost: ([0-9.]+)")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", nargs="+",
                        default=[BASELINE, *PADDLESEG_ONLY, RECOMMENDED],
                        choices=sorted(RECIPES), help="recipes to train (default: %(default)s)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2, help="trainings run at once")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=os.path.join(REPO, "output", "quality"))
    parser.add_argument("--workdir", default=REPO,
                        help="directory the trainings run in; the configs read the demo "
                             "data from its data/demo (written there if missing)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the results of runs already in --out")
    parser.add_argument("--data", default="demo", choices=sorted(DATASETS),
                        help="demo: the thin roads (binary demo); cracks: demo-data --kind "
                             "cracks")
    parser.add_argument("--tune_thresholds", action="store_true",
                        help="also tune each model's foreground threshold on the train "
                             "images and score it on val")
    return parser.parse_args(argv)


def ensure_demo_data(workdir, data):
    root = os.path.join(workdir, "data", "demo")
    subdir, kind = DATASETS[data]
    if not os.path.isfile(os.path.join(root, subdir, "train.txt")):
        # --force rewrites only the subdirectories of `kind`, not the other data there.
        subprocess.run([sys.executable, "-m", "paddleseg_imbalance", "demo-data", root,
                        "--kind", kind, "--force"], cwd=REPO, check=True)


def dataset_opts(data):
    """--opts that point a demo config at `data` (none for the roads it reads)."""
    subdir, _ = DATASETS[data]
    if subdir == "binary":
        return []
    root = f"data/demo/{subdir}"
    return [f"train_dataset.dataset_root={root}", f"train_dataset.train_path={root}/train.txt",
            f"val_dataset.dataset_root={root}", f"val_dataset.val_path={root}/val.txt"]


def run_dir(args, recipe, seed):
    return os.path.join(args.out, recipe, f"seed_{seed}")


def train(args, recipe, seed, threads):
    """Train one (recipe, seed), stage by stage; returns its result dict (also saved as
    result.json)."""
    save_dir = run_dir(args, recipe, seed)
    result_path = os.path.join(save_dir, "result.json")
    if args.reuse and os.path.isfile(result_path):
        with open(result_path) as file:
            result = json.load(file)
    else:
        result = train_stages(args, recipe, seed, threads, save_dir)
    if args.tune_thresholds and "tuned_iou" not in result:
        result.update(tuned_threshold(args, recipe, seed, threads, save_dir))
    with open(result_path, "w") as file:
        json.dump(result, file, indent=1)
    return result


def train_stages(args, recipe, seed, threads, save_dir):
    """Train one (recipe, seed) stage by stage; its result dict."""
    stages = RECIPES[recipe][0]
    iters = stage_iterations(args.iters, [share for _, share in stages])
    started, costs, previous = time.time(), [], None
    for number, ((config, _), stage_iters) in enumerate(zip(stages, iters), 1):
        stage_dir = save_dir if len(stages) == 1 else os.path.join(save_dir, f"stage_{number}")
        os.makedirs(stage_dir, exist_ok=True)
        command = [sys.executable, os.path.join(REPO, "tools", "train.py"),
                   "--config", os.path.join(CONFIGS, config), "--seed", str(seed),
                   "--iters", str(stage_iters), "--device", args.device,
                   "--save_interval", str(stage_iters),
                   "--log_iters", str(max(1, min(10, stage_iters // 4))),
                   "--save_dir", stage_dir]
        if number == len(stages):
            command.append("--do_eval")
        opts = dataset_opts(args.data)
        if previous is not None:
            opts.append(f"model.pretrained={previous}")
        if opts:
            command += ["--opts", *opts]
        log_path = os.path.join(stage_dir, "train.log")
        run_logged(command, args.workdir, threads, log_path, f"{recipe} seed {seed}")
        costs.append((seconds_per_iteration(log_path), stage_iters))
        previous = os.path.join(stage_dir, f"iter_{stage_iters}", "model.pdparams")
    eval_json = os.path.join(stage_dir, "eval", f"iter_{iters[-1]}.json")
    return dict(recipe=recipe, seed=seed, iters=args.iters, wall_s=time.time() - started,
                s_per_iter=sum(c * n for c, n in costs) / args.iters,
                **foreground_metrics(eval_json))


def tuned_threshold(args, recipe, seed, threads, save_dir):
    """The foreground threshold of best IoU on the train images, and the val metrics
    there: {"threshold", "tuned_iou", "tuned_recall", "tuned_precision"}."""
    stages = RECIPES[recipe][0]
    config = os.path.join(CONFIGS, stages[-1][0])
    last_iters = stage_iterations(args.iters, [share for _, share in stages])[-1]
    last_dir = save_dir if len(stages) == 1 else os.path.join(save_dir, f"stage_{len(stages)}")
    model = os.path.join(last_dir, f"iter_{last_iters}", "model.pdparams")
    subdir, _ = DATASETS[args.data]
    train_list = f"data/demo/{subdir}/train.txt"
    tune_dir, score_dir = (os.path.join(save_dir, name) for name in ("tune", "scored"))
    # model.pretrained None, since --model_path gives the weights (a second stage's
    # config names the first stage's).
    opts = ["--opts", *dataset_opts(args.data), "model.pretrained=None"]
    validate(args, threads, config, model, tune_dir,
             ["--sweep_thresholds", *opts, f"val_dataset.val_path={train_list}"])
    thresholds = os.path.join(tune_dir, "eval", "thresholds.json")
    validate(args, threads, config, model, score_dir, ["--thresholds", thresholds, *opts])
    with open(thresholds) as file:
        threshold = json.load(file)["classes"][0]["threshold"]
    scored = foreground_metrics(os.path.join(score_dir, "eval", "latest.json"))
    return {"threshold": threshold, **{f"tuned_{k}": v for k, v in scored.items()}}


def validate(args, threads, config, model, save_dir, flags):
    os.makedirs(save_dir, exist_ok=True)
    command = [sys.executable, os.path.join(REPO, "tools", "val.py"), "--config", config,
               "--model_path", model, "--device", args.device, "--save_dir", save_dir,
               *flags]
    run_logged(command, args.workdir, threads, os.path.join(save_dir, "val.log"), save_dir)


def run_logged(command, workdir, threads, log_path, what):
    """Run a tool with `threads` CPU threads, its output into `log_path`; RuntimeError
    naming `what` and the log if it fails."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), CPU_NUM=str(threads))
    with open(log_path, "w") as log:
        code = subprocess.run(command, cwd=workdir, env=env, stdout=log,
                              stderr=subprocess.STDOUT).returncode
    if code != 0:
        raise RuntimeError(f"{what}: {os.path.basename(command[1])} exited {code}; see "
                           f"{log_path}")


def stage_iterations(total, shares):
    """Split `total` iterations by `shares`; the last stage takes the rounding rest."""
    iters = [round(total * share) for share in shares[:-1]]
    return iters + [total - sum(iters)]


def seconds_per_iteration(log_path):
    """Mean logged batch_cost, leaving out the first log window (warm-up)."""
    with open(log_path) as file:
        costs = [float(m.group(2)) for m in map(BATCH_COST.search, file) if m]
    if len(costs) < 2:
        raise RuntimeError(f"{log_path}: fewer than 2 logged batch_cost values")
    return statistics.mean(costs[1:])


def foreground_metrics(eval_json):
    with open(eval_json) as file:
        rows = {row["name"]: row for row in json.load(file)["classes"]}
    row = rows[FOREGROUND]
    return {key: row[key] or 0.0 for key in ("iou", "dice", "recall", "precision")}


def summarise(results, recipes):
    """Per recipe: mean and standard deviation of each metric over the seeds."""
    summary = {}
    for recipe in recipes:
        runs = [r for r in results if r["recipe"] == recipe]
        keys = ["iou", "dice", "recall", "precision", "s_per_iter"]
        if all("tuned_iou" in r for r in runs):
            keys += ["threshold", "tuned_iou", "tuned_recall", "tuned_precision"]
        summary[recipe] = {key: (statistics.mean(r[key] for r in runs),
                                 statistics.pstdev(r[key] for r in runs)) for key in keys}
        summary[recipe]["seeds"] = [r["seed"] for r in runs]
        summary[recipe]["per_seed_iou"] = [r["iou"] for r in runs]
    return summary


def table(summary):
    base_time = summary[BASELINE]["s_per_iter"][0] if BASELINE in summary else None
    tuned = all("tuned_iou" in stats for stats in summary.values())
    rows = PrettyTable(["recipe", "fg IoU", "fg Dice", "fg recall", "fg precision",
                        "IoU per seed", "s/iter", "x CE time"]
                       + (["threshold (train)", "fg IoU @threshold", "gain"] if tuned else []))
    rows.align = "r"
    rows.align["recipe"] = "l"
    for recipe, stats in summary.items():
        cells = [f"{stats[k][0]:.3f} ± {stats[k][1]:.3f}"
                 for k in ("iou", "dice", "recall", "precision")]
        seconds = stats["s_per_iter"][0]
        ratio = f"{seconds / base_time:.2f}" if base_time else "-"
        threshold_cells = [f"{stats['threshold'][0]:.2f}",
                           f"{stats['tuned_iou'][0]:.3f} ± {stats['tuned_iou'][1]:.3f}",
                           f"{stats['tuned_iou'][0] - stats['iou'][0]:+.3f}"] if tuned else []
        rows.add_row([recipe, *cells, " ".join(f"{v:.3f}" for v in stats["per_seed_iou"]),
                      f"{seconds:.2f}", ratio, *threshold_cells])
    return rows.get_string()


def verdicts(summary):
    """Each plugin recipe's targets in the run, met or not, as lines."""
    lines = []
    for recipe, target in TARGETS.items():
        if recipe not in summary:
            continue
        iou = summary[recipe]["iou"][0]
        lines.append(f"{recipe} fg IoU {iou:.3f} >= {target.iou}: "
                     f"{'met' if iou >= target.iou else 'MISSED'}")
        paddleseg_only = [other for other in target.paddleseg_only if other in summary]
        if paddleseg_only:
            # Against the best PaddleSeg-only recipe of the run, whatever its optimizer: a
            # PaddleSeg user can pick that schedule without the plugin.
            best = max(paddleseg_only, key=lambda other: summary[other]["iou"][0])
            margin = iou - summary[best]["iou"][0]
            lines.append(f"{recipe} margin over PaddleSeg-only ({best}) {margin:+.3f} >= "
                         f"+{target.margin}: {'met' if margin >= target.margin else 'MISSED'}")
        if BASELINE in summary:
            ratio = summary[recipe]["s_per_iter"][0] / summary[BASELINE]["s_per_iter"][0]
            lines.append(f"{recipe} time per iteration {ratio:.2f}x CE <= {target.time_ratio}x"
                         f": {'met' if ratio <= target.time_ratio else 'MISSED'}")
        if "tuned_iou" in summary[recipe]:
            gain = summary[recipe]["tuned_iou"][0] - iou
            lines.append(f"{recipe} threshold tuned on train, scored on val: {gain:+.3f} fg "
                         f"IoU (>= +{TARGET_THRESHOLD_GAIN}: "
                         f"{'met' if gain >= TARGET_THRESHOLD_GAIN else 'not met'})")
    return lines


def run_all(args, train_one, metric_name, metric_key):
    """Train every (recipe, seed) of `args` with `train_one(args, recipe, seed, threads)`,
    `args.jobs` at a time; their results, printing `metric_name` of each as it ends."""
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    # Seeds outermost, so that recipes of one seed run side by side under the same load.
    runs = [(recipe, seed) for seed in args.seeds for recipe in args.recipes]
    print(f"{len(runs)} trainings of {args.iters} iterations, {args.jobs} at a time, "
          f"{threads} thread(s) each; logs under {args.out}", flush=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(train_one, args, recipe, seed, threads)
                   for recipe, seed in runs]
        results = []
        for (recipe, seed), future in zip(runs, futures):
            results.append(future.result())
            print(f"  {recipe} seed {seed}: {metric_name} {results[-1][metric_key]:.3f}",
                  flush=True)
    return results


def main(argv=None):
    args = parse_args(argv)
    ensure_demo_data(args.workdir, args.data)
    results = run_all(args, train, "fg IoU", "iou")
    summary = summarise(results, args.recipes)
    with open(os.path.join(args.out, "summary.json"), "w") as file:
        json.dump(summary, file, indent=1)
    print(f"\nForeground metrics at iteration {args.iters}, mean ± std over seeds "
          f"{' '.join(map(str, args.seeds))} ({args.data} data, {args.device}):")
    print(table(summary))
    for recipe in args.recipes:
        print(f"  {recipe}: {RECIPES[recipe][1]}")
    for line in verdicts(summary):
        print(line)


if __name__ == "__main__":
    main()
