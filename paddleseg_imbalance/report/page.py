"""`paddleseg-imbalance report SAVE_DIR`: one self-contained HTML page of a run.

`SAVE_DIR/report.html` holds, in this order: the verdict of the last evaluation (a
degenerate result, e.g. a model that never predicts the foreground, is named at the top
with its fix), the config, the class statistics, IoU and F1 per class over the evaluated
iterations, the last evaluation's per-class table, its confusion heat map, the
degenerate-result checks, the threshold sweep, object recall by size, and the error
panels of `tools/val.py --save_errors`. A section whose files the run lacks says which
flag or evaluator writes them. Images are embedded as base64 PNG data URIs: the page needs
no network and no server. Reads files only (`run_files`); no paddle.
"""
import base64
import html
import math
import os
import time

from paddleseg_imbalance.report import plots, run_files

REPORT_FILE = "report.html"
SECTIONS = (("verdict", "Verdict"), ("config", "Config"),
            ("class-statistics", "Class statistics"), ("curves", "IoU and F1 over training"),
            ("last-evaluation", "Last evaluation"), ("confusion", "Confusion matrix"),
            ("degenerate-checks", "Degenerate-result checks"),
            ("thresholds", "Threshold sweep"), ("objects", "Object recall by size"),
            ("errors", "Error panels"))
_STYLE = """
body { font-family: sans-serif; margin: 24px auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 4px; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 4px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
pre { background: #f6f6f6; padding: 8px; max-height: 400px; overflow: auto; font-size: 12px; }
img { max-width: 100%; display: block; margin: 8px 0; }
.note { color: #666; font-style: italic; }
.bad { background: #fdecea; border-left: 6px solid #d93025; padding: 8px 14px; }
.good { background: #e6f4ea; border-left: 6px solid #188038; padding: 8px 14px; }
nav a { margin-right: 12px; }
"""


def _e(value):
    return html.escape(str(value))


def _number(value, percent=False):
    if value is None or isinstance(value, float) and math.isnan(value):
        return "-"
    if isinstance(value, float):
        return f"{value:.1%}" if percent else f"{value:.4f}"
    return str(value)


def _img(png, alt):
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _img_file(path, alt):
    with open(path, "rb") as file:
        return _img(file.read(), alt)


def _table(header, rows):
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _note(text):
    return f'<p class="note">{_e(text)}</p>'


def _verdict(last):
    if last is None:
        return ('<div class="bad"><b>No evaluation in this run.</b> Train with --do_eval or '
                "run tools/val.py to evaluate it.</div>")
    name, evaluation, _ = last
    flags = evaluation.get("degenerate") or {}
    foreground = run_files.foreground_rows(evaluation)
    never = [row["name"] for row in foreground if row.get("support") and not row.get("predicted")]
    summary = ", ".join(f"{key} {_number(value)}" for key, value in
                        (evaluation.get("summary") or {}).items())
    if foreground and not any(row.get("predicted") for row in foreground):
        headline = "This run never predicted the foreground"
    elif flags:
        headline = "The last evaluation is degenerate: its metrics do not mean what they seem"
    else:
        return (f'<div class="good"><b>No degenerate result</b> in the last evaluation '
                f"({_e(name)}): {_e(summary)}.</div>")
    items = "".join(f"<li><b>{_e(flag)}</b>: {_e(entry.get('message', ''))}<br>"
                    f"Fix: {_e(entry.get('fix', ''))}</li>" for flag, entry in flags.items())
    if never and "never_predicted" not in flags:
        items += f"<li>Never predicted: {_e(', '.join(never))}.</li>"
    return (f'<div class="bad"><b>{_e(headline)}</b> (last evaluation: {_e(name)}; '
            f"{_e(summary)})<ul>{items}</ul></div>")


def _config(config):
    if config is None:
        return _note("No config recorded: tools/train.py and tools/val.py write "
                     f"{run_files.CONFIG_FILE} with the report; or pass --config CONFIG.")
    path, text = config
    return f"<p>{_e(path)}</p><pre>{_e(text)}</pre>"


def _class_names(evaluation, count):
    rows = run_files.score_rows(evaluation) if evaluation else []
    if evaluation and evaluation.get("kind") == "multilabel":
        rows = sorted(rows, key=lambda row: row.get("channel", 0))
    names = [str(row["name"]) for row in rows]
    return names if len(names) == count else [str(c) for c in range(count)]


def _class_statistics(save_dir, evaluation):
    entries = run_files.class_stats(save_dir)
    if not entries:
        return _note("No class_stats.json: `weight: auto` (or batch) writes it when it "
                     "counts the training labels; `paddleseg-imbalance stats CONFIG` prints "
                     "the same counts.")
    parts = []
    for entry in entries:
        pixels = entry.get("pixel_counts") or []
        images = entry.get("image_counts") or []
        num_images = entry.get("num_images") or 0
        names = _class_names(evaluation, len(pixels))
        total = sum(pixels) or 1
        rows = [(name, count, _number(count / total, True),
                 images[c] if c < len(images) else "-") for c, (name, count)
                in enumerate(zip(names, pixels))]
        what = "label" if entry.get("multilabel") else "class"
        parts.append(f"<p>{num_images} training images, {entry.get('ignored_pixels', 0)} "
                     "ignored pixels.</p>")
        parts.append(_table([what, "pixels", "share", "images holding it"], rows))
        image_shares = [i / num_images for i in images] if num_images and images else None
        parts.append(_img(plots.class_shares(names, pixels, image_shares),
                          "class shares"))
    return "".join(parts)


def _curves(by_iteration):
    if not by_iteration:
        return _note("No eval/iter_<N>.json: train with --do_eval to evaluate during "
                     "training.")
    iterations = [iteration for iteration, _ in by_iteration]
    series = {}
    for position, (_, evaluation) in enumerate(by_iteration):
        for row in run_files.score_rows(evaluation):
            entry = series.setdefault(str(row["name"]), {
                "iou": [None] * len(iterations), "f1": [None] * len(iterations),
                "dashed": row.get("auxiliary") or row.get("index") == evaluation.get(
                    "background_index")})
            entry["iou"][position], entry["f1"][position] = row.get("iou"), row.get("dice")
    only_one = (_note(f"One evaluation only (iteration {iterations[0]}): a curve needs two; "
                      "a smaller --save_interval evaluates more often.")
                if len(iterations) == 1 else "")
    return only_one + _img(plots.score_curves(iterations, series), "IoU and F1 per class")


def _last_evaluation(last):
    if last is None:
        return _note("No evaluation.")
    name, evaluation, _ = last
    rows = [(row["name"] + (" (auxiliary)" if row.get("auxiliary") else ""),
             "yes" if row.get("present") else "no", _number(row.get("iou")),
             _number(row.get("dice")), _number(row.get("precision")),
             _number(row.get("recall")), row.get("support"),
             _number(row.get("predicted_share"), True))
            for row in run_files.score_rows(evaluation)]
    summary = _table(list(evaluation.get("summary") or {}),
                     [[_number(v) for v in (evaluation.get("summary") or {}).values()]])
    return (f"<p>{_e(name)}, {evaluation.get('num_images')} images.</p>{summary}"
            + _table(["class", "present", "IoU", "F1 (Dice)", "precision", "recall",
                      "support", "predicted share"], rows))


def _confusion(save_dir, last):
    path = last and run_files.confusion_png(save_dir, last[1], last[2])
    if not path:
        return _note("No confusion heat map: add `- type: ConfusionMatrixReport` to the "
                     "config's `evaluators:`.")
    return _img_file(path, "confusion matrix")


def _degenerate(last):
    if last is None or "degenerate" not in last[1]:
        return _note("Not checked: DegenerateResultCheck (in the default evaluators) did "
                     "not run.")
    flags = last[1]["degenerate"]
    if not flags:
        return '<p class="good">Every check passed.</p>'
    return _table(["flag", "what was found", "fix"],
                  [(flag, entry.get("message", ""), entry.get("fix", ""))
                   for flag, entry in flags.items()])


def _thresholds(save_dir, last):
    sweep = last and run_files.threshold_sweep(save_dir, last[1], last[2])
    if not sweep:
        return _note("No threshold sweep: run tools/val.py --sweep_thresholds (binary and "
                     "multi-label models).")
    rows = [(c["name"], _number(c.get("best_threshold")), _number(c.get("iou_at_0.5")),
             _number(c.get("iou_at_best")), _number(c.get("f1_at_0.5")),
             _number(c.get("f1_at_best")), c.get("positive_pixels"))
            for c in sweep.get("classes", [])]
    return (_note(f"Tuned on {sweep.get('tuned_on', 'the val set')}.")
            + _table(["class", "best threshold", "IoU @0.5", "IoU @best", "F1 @0.5",
                      "F1 @best", "positive px"], rows))


def _objects(last):
    scores = last and last[1].get("object_metrics")
    if not scores:
        return _note("No object metrics: add `- type: ObjectMetrics` to the config's "
                     "`evaluators:`.")
    classes = scores.get("classes", [])
    buckets = list(classes[0]["by_size"]) if classes else []
    rows = [(c["name"], c["label_objects"], c["predicted_objects"], _number(c["recall"]),
             _number(c["precision"]), _number(c["f1"]), _number(c["mean_dice"]))
            + tuple(f"{_number(b['recall'])} ({b['matched']}/{b['objects']})"
                    for b in c["by_size"].values()) for c in classes]
    recalls = {c["name"]: [b["recall"] for b in c["by_size"].values()] for c in classes}
    return (_note(f"Objects: {scores.get('connectivity')}-connected components, matched by "
                  f"{scores.get('match')} >= {scores.get('threshold')}.")
            + _table(["class", "label objects", "predicted", "recall", "precision", "F1",
                      "mean Dice"] + [f"recall {b} px" for b in buckets], rows)
            + _img(plots.recall_by_size(buckets, recalls), "object recall by size"))


def _errors(save_dir):
    listing, directory = run_files.error_listing(save_dir)
    if listing is None:
        return _note("No error panels: run tools/val.py --save_errors K.")
    parts = []
    for entry in listing.get("images", []):
        name = entry.get("panel") or entry.get("overlay")
        path = os.path.join(directory, name) if name else None
        if path and os.path.isfile(path):
            parts.append(_img_file(path, f"errors in {os.path.basename(entry['image'])}"))
    return "".join(parts) or _note("errors/errors.json lists no image (nothing to draw).")


def render(save_dir, config_path=None):
    """The report page of `save_dir` as a string."""
    by_iteration = run_files.evaluations(save_dir)
    last = run_files.last_evaluation(save_dir, by_iteration)
    evaluation = last[1] if last else None
    bodies = {"verdict": _verdict(last),
              "config": _config(run_files.config_text(save_dir, config_path)),
              "class-statistics": _class_statistics(save_dir, evaluation),
              "curves": _curves(by_iteration),
              "last-evaluation": _last_evaluation(last),
              "confusion": _confusion(save_dir, last),
              "degenerate-checks": _degenerate(last),
              "thresholds": _thresholds(save_dir, last),
              "objects": _objects(last),
              "errors": _errors(save_dir)}
    nav = "".join(f'<a href="#{key}">{_e(title)}</a>' for key, title in SECTIONS[1:])
    sections = "".join(f'<section id="{key}"><h2>{_e(title)}</h2>{bodies[key]}</section>'
                       for key, title in SECTIONS)
    stamp = time.strftime("%Y-%m-%d %H:%M")
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Run report: '
            f"{_e(save_dir)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>Run report</h1><p>{_e(os.path.abspath(save_dir))} - written {stamp} by "
            f"paddleseg-imbalance report</p><nav>{nav}</nav>{sections}</body></html>")


def write_report(save_dir, config_path=None):
    """Write `save_dir/report.html`; returns its path. `ReportInputError` for a folder
    that is no evaluated run or a run file that cannot be read."""
    run_files.check_save_dir(save_dir)
    path = os.path.join(save_dir, REPORT_FILE)
    page = render(save_dir, config_path)
    with open(path, "w", encoding="utf-8") as file:
        file.write(page)
    return path
