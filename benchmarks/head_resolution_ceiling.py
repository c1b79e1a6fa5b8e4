"""How much foreground IoU can a head that predicts at 1/stride of the input express at all?

    python benchmarks/head_resolution_ceiling.py [--data data/demo/binary] [--split val]
                                                 [--strides 8 4 2] [--steps 2000]

PP-LiteSeg, like most real-time models, predicts its logits at 1/8 of the input and resizes
them bilinearly (`align_corners=False`) to the label size. For each stride this fits one
logit map of (H/stride, W/stride) per label image directly to that label (Lovasz hinge,
Adam), with no network and nothing to generalise: the foreground IoU of the fitted maps,
pooled over the images as the evaluation pools it, is an upper bound on what any model
with such a head can reach on these labels, however it is trained. The table also shows the
IoU of the label's area average at that stride resized back and thresholded at one half,
the naive reference, and the PP-LiteSeg setting that predicts at that stride. Thin
structures (1-3 px roads, cracks: `--data data/demo/cracks` after `paddleseg-imbalance
demo-data data/demo --kind cracks`) lose the most at stride 8.
"""
import argparse
import os
import sys
import zlib  # noqa: F401  (before paddle: paddlepaddle 2.6.2 breaks zlib otherwise)

import numpy as np
import paddle
import paddle.nn.functional as F
from PIL import Image
from prettytable import PrettyTable

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from paddleseg_imbalance.losses import functional as LF  # noqa: E402

# PP-LiteSeg (STDC backbones) predicts at the stride of its first selected backbone stage;
# configs/demo/pp_liteseg_stdc1_demo_recommended_stride4.yml is the stride-4 recipe.
PP_LITESEG_SETTING = {8: "backbone_indices [2, 3, 4] (default)",
                      4: "backbone_indices [1, 2, 3, 4]",
                      2: "backbone_indices [0, 1, 2, 3, 4]"}


def read_labels(root, split):
    """(N, H, W) label array of the images listed in `<root>/<split>.txt`."""
    list_path = os.path.join(root, f"{split}.txt")
    if not os.path.isfile(list_path):
        raise SystemExit(f"{list_path} not found: --data must be a dataset root with "
                         f"{split}.txt (`paddleseg-imbalance demo-data data/demo` writes one).")
    with open(list_path, encoding="utf-8") as file:
        paths = [line.split()[1] for line in file if line.strip()]
    labels = [np.array(Image.open(os.path.join(root, path))) for path in paths]
    if len({label.shape for label in labels}) != 1:
        raise SystemExit(f"{list_path}: the labels differ in size; this benchmark needs one "
                         f"size (crop them first).")
    return np.stack(labels)


def pooled_iou(predicted, target, valid):
    """Foreground IoU over all valid pixels of all images (1 if both are empty)."""
    union = np.sum((predicted | target) & valid)
    return float(np.sum(predicted & target & valid) / union) if union else 1.0


def fit_ceiling(labels, stride, steps, foreground=1, ignore_index=255, learning_rate=0.05):
    """(fitted IoU, area-average IoU) of logit maps at 1/stride, resized bilinearly.

    Args:
        labels: (N, H, W) integer labels; H and W divisible by `stride`.
        stride: the head's output stride.
        steps: Adam steps of the fit.
        foreground: the class scored; every other valid class is background.
        ignore_index: pixels left out of the fit and of the IoU.
        learning_rate: Adam's learning rate on the logits.
    """
    count, height, width = labels.shape
    if height % stride or width % stride:
        raise SystemExit(f"labels of {height} x {width} px do not divide by stride {stride}.")
    valid = labels != ignore_index
    target = (labels == foreground) & valid
    target_tensor = paddle.to_tensor(target.astype("float32"))
    # Start from the area average, mapped to logits in [-4, 4].
    start = F.avg_pool2d(target_tensor.unsqueeze(1), stride) * 8 - 4
    logits = paddle.create_parameter(start.shape, "float32",
                                     default_initializer=paddle.nn.initializer.Assign(start))
    optimizer = paddle.optimizer.Adam(learning_rate, parameters=[logits])
    rows = [count, height * width]
    valid_rows = paddle.to_tensor(valid.reshape(rows))

    def resized(maps):
        return F.interpolate(maps, [height, width], mode="bilinear", align_corners=False)[:, 0]

    for _ in range(steps):
        loss = LF.lovasz_hinge_rows(resized(logits).reshape(rows),
                                    target_tensor.reshape(rows), valid_rows).mean()
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
    fitted = resized(logits).numpy() > 0
    area_average = resized(start).numpy() > 0
    return pooled_iou(fitted, target, valid), pooled_iou(area_average, target, valid)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.path.join(REPO, "data", "demo", "binary"),
                        help="dataset root holding <split>.txt (default: %(default)s)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--strides", nargs="+", type=int, default=[8, 4, 2])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--foreground", type=int, default=1, help="class id scored")
    parser.add_argument("--ignore_index", type=int, default=255)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    paddle.set_device(args.device)
    labels = read_labels(args.data, args.split)
    table = PrettyTable(["stride", "logit map", "fitted fg IoU (ceiling)",
                         "area average fg IoU", "PP-LiteSeg"])
    for stride in args.strides:
        fitted, area = fit_ceiling(labels, stride, args.steps, args.foreground,
                                   args.ignore_index)
        table.add_row([stride, f"{labels.shape[1] // stride} x {labels.shape[2] // stride}",
                       f"{fitted:.3f}", f"{area:.3f}", PP_LITESEG_SETTING.get(stride, "-")])
    share = np.mean(labels[labels != args.ignore_index] == args.foreground)
    print(f"{len(labels)} {args.split} labels of {labels.shape[1]} x {labels.shape[2]} px "
          f"from {args.data}, foreground {share:.1%} of the pixels, {args.steps} steps:")
    print(table)


if __name__ == "__main__":
    main()
