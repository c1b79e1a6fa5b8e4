"""`WeightedIoULoss`: soft Jaccard loss with per-class weights."""
import paddle
from paddleseg.cvlibs import manager

from paddleseg_imbalance.losses import functional as LF
from paddleseg_imbalance.losses.class_overlap import ClassOverlapLoss
from paddleseg_imbalance.registry import register


@register(manager.LOSSES)
class WeightedIoULoss(ClassOverlapLoss):
    r"""Soft IoU (Jaccard) loss, weighted per class.

    For every class c, with p the predicted probability and g the 0/1 target, summed over
    the valid (not ignored) pixels of the batch (of each image with `per_image=True`):

    .. math::

        IoU_c = \frac{\sum p g + s}{\sum p + \sum g - \sum p g + s}, \qquad
        L = \frac{\sum_c w_c \, \ell_c}{\sum_c w_c}, \qquad
        \ell_c = 1 - IoU_c \;\text{or}\; -\log \max(IoU_c, \epsilon) \;(\text{log\_loss})

    where the sums over c run over the classes in the mean (see `absent_classes`), so
    `weight` is normalised by its sum over those classes: [1, 10] and [0.1, 1] train the
    same. With `per_image=True` the loss is the mean over images of the per-image L.

    Rahman & Wang, "Optimizing Intersection-over-Union in Deep Neural Networks for Image
    Segmentation", ISVC 2016. The loss of the weighted-IoU recipe for imbalanced binary
    segmentation is `mode="binary"` with `weight=[w_bg, w_fg]`.

    Shapes (further spatial dimensions, e.g. (N, C, D, H, W), work the same):

    - ``binary``: logits (N, 1, H, W), sigmoid; the classes are [background, foreground]
      with p_fg = sigmoid(x), p_bg = 1 - p_fg. Or logits (N, 2, H, W), softmax. Labels
      (N, H, W) or (N, 1, H, W) holding 0, 1 or `ignore_index`.
    - ``multiclass``: logits (N, C, H, W), softmax over C; labels (N, H, W) or
      (N, 1, H, W) holding 0..C-1 or `ignore_index`.
    - ``multilabel``: logits (N, C, H, W), a sigmoid per channel; labels (N, C, H, W) of
      0/1, with `ignore_index` per element.

    Returns a 0-D float32 tensor (float64 for float64 logits). Float16 logits are cast to
    float32 before the softmax / sigmoid, so the loss is AMP-safe.

    Args:
        mode: "binary", "multiclass" or "multilabel" (see Shapes).
        weight: None (all 1), or one number >= 0 per class: C entries, or 2 ([w_bg, w_fg])
            for binary mode. Held in the attribute `weight` as a float32 tensor (or None)
            and read at every forward, so the training engine may replace it between
            steps; a list or tensor assigned to it is checked and converted.
        smooth: added to numerator and denominator. It makes a class absent from both
            target and prediction score IoU = 1 and keeps the gradient of an absent class
            alive. Default 1.
        eps: lower bound of the denominator, and of IoU inside the log with `log_loss`.
        log_loss: use -log(IoU_c) instead of 1 - IoU_c.
        ignore_index: label value to leave out: those pixels (multilabel: elements) add
            to neither numerator nor denominator. The caller's labels are never modified.
        per_image: compute IoU per image and average the images' losses, instead of
            summing the pixels of the whole batch first (batch-wise is steadier for rare
            classes).
        absent_classes: what a class with no valid target pixel (in the batch, or in the
            image with `per_image`) does.
            "penalize_fp" (default): it stays in the weighted mean. With smooth > 0 its
            IoU is s / (sum p + s): about 1 (loss about 0) when the model predicts it
            nowhere, and falling as the model paints it, so false positives of an absent
            class cost loss. (segmentation_models_pytorch zeroes such classes, so painting
            an absent class is free there.) Needs smooth > 0: with smooth = 0 an absent
            class scores IoU 0 whatever is predicted, a constant loss of 1 with no gradient.
            "ignore": it is left out of the mean and the weights are renormalised over the
            present classes. A batch (image) with no class left contributes 0.

    Raises:
        ValueError: at construction for an unknown `mode` or `absent_classes`, negative or
            non-finite `weight`, `smooth` or `eps`; at forward, before any one-hot or
            gather, for logits and labels of mismatched shape, label values outside the
            classes that are not `ignore_index`, and a `weight` of the wrong length.
    """

    def __init__(self, mode=LF.MULTICLASS, weight=None, smooth=1.0, eps=1e-7,
                 log_loss=False, ignore_index=255, per_image=False,
                 absent_classes=LF.PENALIZE_FP):
        super().__init__(mode, weight, smooth, eps, ignore_index, per_image, absent_classes)
        self.log_loss = bool(log_loss)

    def class_losses(self, tp, prob_sum, target_sum):
        iou = LF.soft_jaccard_score(tp, prob_sum, target_sum, self.smooth, self.eps)
        if self.log_loss:
            return -paddle.log(paddle.clip(iou, min=self.eps))
        return 1 - iou
