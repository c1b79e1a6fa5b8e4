"""What a run's save dir holds, read for the report: files only (no paddle).

    <save_dir>/eval/iter_<N>.json       one per evaluation during training (--do_eval)
    <save_dir>/eval/latest.json         tools/val.py's evaluation
    <save_dir>/eval/*_confusion.png     ConfusionMatrixReport's heat map (path in the JSON)
    <save_dir>/eval/[iter_<N>_]thresholds.json   ThresholdSweep (also in the JSON)
    <save_dir>/class_stats.json         the label counts behind `weight: auto`
    <save_dir>/errors/errors.json       tools/val.py --save_errors (panels beside it)
    <save_dir>/run_config.yml           the config, written with the report by the tools
"""
import glob
import json
import os
import re

CONFIG_FILE = "run_config.yml"
_ITERATION = re.compile(r"iter_(\d+)\.json$")


class ReportInputError(ValueError):
    """A save dir that is not a run's, or a run file that cannot be read."""


def check_save_dir(save_dir):
    """`ReportInputError` unless `save_dir` is a folder with `eval/` or `errors/`."""
    if not os.path.isdir(save_dir):
        raise ReportInputError(f"SAVE_DIR '{save_dir}' is not a folder: give the --save_dir "
                               "of a training run or of tools/val.py.")
    if not any(os.path.isdir(os.path.join(save_dir, sub)) for sub in ("eval", "errors")):
        raise ReportInputError(f"SAVE_DIR '{save_dir}' holds no eval/ nor errors/ folder, so "
                               "it is no evaluated run: train with --do_eval, or run "
                               "tools/val.py --save_dir SAVE_DIR, then report on that folder.")


def _load(path):
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, ValueError) as error:
        raise ReportInputError(f"{path} cannot be read as JSON ({error}); the tool that wrote "
                               "it stopped early or it was edited: delete it, or run the "
                               "evaluation again.") from error


def evaluations(save_dir):
    """[(iteration, evaluation JSON)] of `eval/iter_<N>.json`, by iteration."""
    found = []
    for path in glob.glob(os.path.join(save_dir, "eval", "iter_*.json")):
        match = _ITERATION.search(os.path.basename(path))
        if match:
            found.append((int(match.group(1)), _load(path)))
    return sorted(found, key=lambda pair: pair[0])


def last_evaluation(save_dir, by_iteration):
    """(name, JSON, stem) of the newest evaluation: `eval/latest.json` (tools/val.py) when
    it is newer than the last `iter_<N>.json`, else that; None without any."""
    latest = os.path.join(save_dir, "eval", "latest.json")
    if by_iteration:
        iteration, evaluation = by_iteration[-1]
        last = os.path.join(save_dir, "eval", f"iter_{iteration}.json")
        if not (os.path.isfile(latest) and os.path.getmtime(latest) >= os.path.getmtime(last)):
            return f"iteration {iteration}", evaluation, f"iter_{iteration}"
    if os.path.isfile(latest):
        return "tools/val.py (eval/latest.json)", _load(latest), "latest"
    return None


def score_rows(evaluation):
    """The per-class (multi-label: per-label, auxiliary channel last) rows of an
    evaluation JSON."""
    if evaluation.get("kind") == "multilabel":
        return evaluation.get("labels", []) + [dict(row, auxiliary=True)
                                               for row in evaluation.get("auxiliary", [])]
    return evaluation.get("classes", [])


def foreground_rows(evaluation):
    """The rows that are foreground: the labels, or the classes but the background."""
    if evaluation.get("kind") == "multilabel":
        return evaluation.get("labels", [])
    background = evaluation.get("background_index")
    return [row for row in evaluation.get("classes", []) if row.get("index") != background]


def confusion_png(save_dir, evaluation, stem):
    """The heat map of the evaluation, or None."""
    recorded = (evaluation.get("confusion_matrix") or {}).get("png")
    for path in (recorded, os.path.join(save_dir, "eval", f"{stem}_confusion.png")):
        if path and os.path.isfile(path):
            return path
    return None


def threshold_sweep(save_dir, evaluation, stem):
    """The threshold sweep of the evaluation (from its JSON, else its file), or None."""
    if evaluation.get("threshold_sweep"):
        return evaluation["threshold_sweep"]
    name = "thresholds.json" if stem == "latest" else f"{stem}_thresholds.json"
    path = os.path.join(save_dir, "eval", name)
    return _load(path) if os.path.isfile(path) else None


def class_stats(save_dir):
    """The entries of `class_stats.json` (one per counted file list), or []."""
    path = os.path.join(save_dir, "class_stats.json")
    return list(_load(path).values()) if os.path.isfile(path) else []


def error_listing(save_dir):
    """(errors.json, folder) of `--save_errors`, or (None, folder)."""
    directory = os.path.join(save_dir, "errors")
    path = os.path.join(directory, "errors.json")
    return (_load(path) if os.path.isfile(path) else None), directory


def config_text(save_dir, config_path=None):
    """(path, text) of the run's config: `config_path`, else `run_config.yml`; or None."""
    for path in (config_path, os.path.join(save_dir, CONFIG_FILE)):
        if path and os.path.isfile(path):
            with open(path) as file:
                return path, file.read()
    return None
