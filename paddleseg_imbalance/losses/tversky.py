"""`TverskyLoss`: Tversky and focal Tversky loss with per-class weights."""
import paddle
from paddleseg.cvlibs import manager

from paddleseg_imbalance.losses import functional as LF
from paddleseg_imbalance.losses.class_overlap import ClassOverlapLoss
from paddleseg_imbalance.registry import register


@register(manager.LOSSES)
class TverskyLoss(ClassOverlapLoss):
    r"""Tversky loss, focal when gamma != 1, weighted per class.

    For every class c, with p the predicted probability and g the 0/1 target, summed over
    the valid (not ignored) pixels of the batch (of each image with `per_image=True`):
    TP_c = sum p g, FP_c = sum p (1 - g), FN_c = sum (1 - p) g, and

    .. math::

        TI_c = \frac{TP_c + s}{TP_c + \alpha FP_c + \beta FN_c + s}, \qquad
        L = \frac{\sum_c w_c \, (1 - TI_c)^{\gamma}}{\sum_c w_c}

    where the sums over c run over the classes in the mean (see `absent_classes`), so
    `weight` is normalised by its sum over those classes. With `per_image=True` the loss
    is the mean over images of the per-image L.

    Special cases: alpha = beta = 1 is the soft IoU loss (`WeightedIoULoss` with the same
    `weight` and `smooth`); alpha = beta = 0.5 is the soft Dice loss
    1 - (2 TP + 2s) / (2 TP + FP + FN + 2s), i.e. Dice with smoothing 2 * smooth. alpha
    and beta need not sum to 1. beta > alpha penalises missed foreground more than false
    alarms, which suits rare classes (Salehi et al. recommend alpha = 0.3, beta = 0.7).

    The focal exponent `gamma` is applied to each class's 1 - TI_c *before* the weighted
    mean, so gamma > 1 shifts the loss towards the classes that are still badly segmented
    (large 1 - TI_c), like the focal loss does for pixels. segmentation_models_pytorch
    raises the already averaged loss to gamma, which rescales the total but cannot favour
    any class. Convention: `gamma` here is the exponent itself. Abraham & Khan write
    (1 - TI)^(1/γ) with γ in [1, 3]; their γ maps to gamma = 1/γ, so their recommended
    γ = 4/3 is gamma = 0.75 (an exponent < 1, which emphasises classes already nearly
    right), and gamma = 4/3 here is their γ = 0.75.

    Salehi, Erdogmus & Gholipour, "Tversky loss function for image segmentation using 3D
    fully convolutional deep networks", MLMI 2017. Abraham & Khan, "A Novel Focal Tversky
    Loss Function with Improved Attention U-Net for Lesion Segmentation", ISBI 2019.

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
        alpha: weight of the false positives, >= 0. Default 0.5.
        beta: weight of the false negatives, >= 0. Default 0.5.
        gamma: focal exponent on 1 - TI_c, > 0; 1 is plain Tversky. When gamma != 1 the
            base 1 - TI_c is clipped to at least `eps`, so gamma < 1 keeps a finite
            gradient at a perfect class.
        weight: None (all 1), or one number >= 0 per class: C entries, or 2 ([w_bg, w_fg])
            for binary mode. Held in the attribute `weight` as a float32 tensor (or None)
            and read at every forward, so the training engine may replace it between
            steps; a list or tensor assigned to it is checked and converted.
        smooth: added to numerator and denominator of TI_c; makes a class absent from both
            target and prediction score TI = 1. Default 1.
        eps: lower bound of the denominator of TI_c (and of 1 - TI_c when gamma != 1).
        ignore_index: label value to leave out: those pixels (multilabel: elements) add
            to none of TP, FP and FN. The caller's labels are never modified.
        per_image: compute TI per image and average the images' losses, instead of
            summing the pixels of the whole batch first.
        absent_classes: what a class with no valid target pixel (in the batch, or in the
            image with `per_image`) does. "penalize_fp" (default): it stays in the mean,
            TI_c = s / (alpha FP_c + s), so its false positives cost loss (needs smooth >
            0). "ignore": it is left out and the weights are renormalised over the present
            classes; a batch (image) with no class left contributes 0.

    Raises:
        ValueError: at construction for an unknown `mode` or `absent_classes`, a negative
            `alpha`, `beta` or `weight`, `gamma` <= 0, non-finite numbers; at forward,
            before any one-hot or gather, for logits and labels of mismatched shape, label
            values outside the classes that are not `ignore_index`, and a `weight` of the
            wrong length.
    """

    def __init__(self, mode=LF.MULTICLASS, alpha=0.5, beta=0.5, gamma=1.0, weight=None,
                 smooth=1.0, eps=1e-7, ignore_index=255, per_image=False,
                 absent_classes=LF.PENALIZE_FP):
        super().__init__(mode, weight, smooth, eps, ignore_index, per_image, absent_classes)
        name = type(self).__name__
        self.alpha = LF.check_non_negative(name, "alpha", alpha)
        self.beta = LF.check_non_negative(name, "beta", beta)
        self.gamma = LF.check_positive(name, "gamma", gamma)

    def class_losses(self, tp, prob_sum, target_sum):
        tversky = LF.soft_tversky_score(tp, prob_sum, target_sum, self.alpha, self.beta,
                                        self.smooth, self.eps)
        if self.gamma == 1:
            return 1 - tversky
        return paddle.pow(paddle.clip(1 - tversky, min=self.eps), self.gamma)
