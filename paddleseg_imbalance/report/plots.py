"""The report's plots, drawn with matplotlib (Agg) into PNG bytes."""
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

_DPI = 90


def _png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def score_curves(iterations, series):
    """IoU and F1 per class over the evaluated iterations, side by side.

    Args:
        iterations: the iteration numbers, increasing.
        series: {class name: {"iou": [...], "f1": [...], "dashed": bool}}, one value (or
            None) per iteration; dashed for the background.
    """
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    for axis, metric, title in zip(axes, ("iou", "f1"), ("IoU", "F1 (Dice)")):
        for name, values in series.items():
            points = [(i, v) for i, v in zip(iterations, values[metric]) if v is not None]
            if points:
                axis.plot(*zip(*points), marker="o", markersize=4, label=name,
                          linestyle="--" if values.get("dashed") else "-")
        axis.set_title(f"{title} per class")
        axis.set_xlabel("iteration")
        axis.set_ylim(0, 1)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("score")
    axes[1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
    return _png(figure)


def class_shares(names, pixels, images=None):
    """Log-scale bars of each class's share of the label pixels (and of the images)."""
    total = sum(pixels) or 1
    figure, axis = plt.subplots(figsize=(max(4, 1.2 * len(names) + 2), 3.2))
    positions = range(len(names))
    width = 0.4 if images else 0.8
    axis.bar([p - width / 2 if images else p for p in positions],
             [max(p / total, 1e-6) for p in pixels], width, label="share of pixels")
    if images:
        axis.bar([p + width / 2 for p in positions], [max(i, 1e-6) for i in images], width,
                 label="share of images that hold it")
    axis.set_yscale("log")
    axis.set_xticks(list(positions))
    axis.set_xticklabels(names, rotation=30 if len(names) > 6 else 0)
    axis.set_ylabel("share (log)")
    axis.legend(fontsize="small")
    axis.grid(axis="y", alpha=0.3)
    return _png(figure)


def recall_by_size(buckets, recalls):
    """Grouped bars: object recall per size bucket, one colour per class.

    `recalls`: {class name: [recall or None per bucket]}; None (no objects) is left out.
    """
    figure, axis = plt.subplots(figsize=(8, 3.2))
    width = 0.8 / max(len(recalls), 1)
    for k, (name, values) in enumerate(recalls.items()):
        xs = [b + (k - (len(recalls) - 1) / 2) * width for b, v in enumerate(values)
              if v is not None]
        axis.bar(xs, [v for v in values if v is not None], width, label=name)
    axis.set_xticks(range(len(buckets)))
    axis.set_xticklabels([f"{b} px" for b in buckets])
    axis.set_ylim(0, 1)
    axis.set_ylabel("object recall")
    axis.set_xlabel("label object area")
    axis.legend(fontsize="small")
    axis.grid(axis="y", alpha=0.3)
    return _png(figure)
