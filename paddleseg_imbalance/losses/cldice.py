"""`SoftClDiceLoss`: soft clDice, a topology-aware loss for thin structures (roads, vessels)."""
import numpy as np
import paddle
from paddleseg.cvlibs import manager

from paddleseg_imbalance.losses import functional as LF
from paddleseg_imbalance.losses.class_overlap import ClassOverlapLoss
from paddleseg_imbalance.registry import register


@register(manager.LOSSES)
class SoftClDiceLoss(ClassOverlapLoss):
    r"""Soft clDice loss: how much of each class's centre line is predicted, and vice versa.

    For every class c, with P_c the predicted probability map, G_c the 0/1 target mask
    (both zero at ignored pixels) and S(.) the differentiable soft skeleton (iterated
    min/max pooling), summed over the pixels of the batch (of each image with
    `per_image=True`):

    .. math::

        T_{prec} = \frac{\sum S(P_c) G_c + s}{\sum S(P_c) + s}, \quad
        T_{sens} = \frac{\sum S(G_c) P_c + s}{\sum S(G_c) + s}, \quad
        \ell_c = 1 - \frac{2 \, T_{prec} T_{sens}}{T_{prec} + T_{sens}}, \quad
        L = \frac{\sum_c w_c \, \ell_c}{\sum_c w_c}

    Shit et al., "clDice - a Novel Topology-Preserving Loss Function for Tubular Structure
    Segmentation", CVPR 2021. A one-pixel-wide road counts as much in T_sens as a wide
    one, so breaks in thin structures cost loss that pixel-counting losses (CE, Dice, IoU)
    barely see. The paper pairs it with a pixel loss (their soft Dice + clDice); use it in
    a `MixedLoss` next to cross-entropy or `WeightedIoULoss`, not alone. The sums over c run
    over the classes in the mean: class 0 (the background) is left out unless
    `include_background` (see there), and `absent_classes` applies as in
    `WeightedIoULoss`.

    Shapes: 2-D images only (the skeleton pools over H and W).

    - ``binary``: logits (N, 1, H, W), sigmoid, classes [background, foreground]; or
      (N, 2, H, W), softmax. Labels (N, H, W) or (N, 1, H, W) holding 0, 1 or
      `ignore_index`.
    - ``multiclass``: logits (N, C, H, W), softmax over C; labels (N, H, W) or
      (N, 1, H, W) holding 0..C-1 or `ignore_index`.
    - ``multilabel``: logits (N, C, H, W), a sigmoid per channel; labels (N, C, H, W) of
      0/1, with `ignore_index` per element.

    Returns a 0-D float32 tensor (float64 for float64 logits); float16 logits are cast to
    float32 first (AMP-safe).

    Args:
        mode: "binary", "multiclass" or "multilabel" (see Shapes).
        iterations: soft-skeleton iterations. Structures up to about 2 * iterations + 1
            pixels wide keep a centre line; each iteration costs two more poolings.
            Default 3 (roads of 1-7 px).
        include_background: keep class 0 in the mean. Default None: left out in binary and
            multiclass mode (the background's skeleton is the medial axis of everything
            else, as in the paper's code), kept in multilabel mode (every channel is a
            label; set False to drop the auxiliary background channel that
            `AddMultiLabelAuxiliaryCategory` adds).
        weight: None (all 1), or one number >= 0 per class, as in `WeightedIoULoss`; the
            class left out by `include_background` gets weight 0 whatever is given.
        smooth: added to numerators and denominators. Default 1.
        eps: lower bound of the denominators.
        ignore_index: label value to leave out: those pixels are neither class before the
            skeletons are taken, and add to no sum. The caller's labels are never modified.
        per_image: compute the scores per image and average the images' losses.
        absent_classes: "penalize_fp" (default) or "ignore", as in `WeightedIoULoss`. With
            "penalize_fp" a class absent from the target has T_sens = 1 and
            T_prec = s / (sum S(P_c) + s), so a predicted centre line of it costs loss.

    Raises:
        ValueError: at construction (and whenever `weight` is assigned) for an unknown
            `mode` or `absent_classes`, an `iterations` that is not an integer >= 0,
            negative or non-finite `weight`, `smooth` or `eps`, and weights that leave no
            class in the mean; at forward, before any one-hot, for logits that are not
            (N, C, H, W), mismatched labels, label values outside the classes that are not
            `ignore_index`, a `weight` of the wrong length, and one label channel with
            class 0 left out.
    """

    def __init__(self, mode=LF.MULTICLASS, iterations=3, include_background=None,
                 weight=None, smooth=1.0, eps=1e-7, ignore_index=255, per_image=False,
                 absent_classes=LF.PENALIZE_FP):
        super().__init__(mode, weight, smooth, eps, ignore_index, per_image, absent_classes)
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
            raise ValueError(f"SoftClDiceLoss: `iterations` is {iterations!r}; expected an "
                             f"integer >= 0 (3 suits structures up to about 7 px wide).")
        self.iterations = iterations
        if include_background is None:
            include_background = self.mode == LF.MULTILABEL
        self.include_background = bool(include_background)
        self._check_a_class_is_left(self.weight)

    def checked_weight(self, weight):
        # Checked when assigned (the engine may replace `weight` between steps), so that
        # forward needs no host synchronisation. During the base's __init__ the
        # background choice is not set yet; __init__ checks the weight after it.
        weight = super().checked_weight(weight)
        if hasattr(self, "include_background"):
            self._check_a_class_is_left(weight)
        return weight

    def _check_a_class_is_left(self, weight):
        """ValueError if class 0 is left out and `weight` gives no other class a weight.

        A 1-entry weight is left to the length check at forward.
        """
        if self.include_background or weight is None:
            return
        values = weight.numpy()
        if values.size > 1 and not np.any(values[1:] > 0):
            _no_class_left(f"`weight` is {values.tolist()}",
                           "give a class other than 0 a weight > 0, or set "
                           "include_background: true")

    def class_weights(self, classes):
        if self.include_background:
            return self.weight
        weights = paddle.ones([classes]) if self.weight is None else self.weight.clone()
        weights[0] = 0
        return weights

    def per_class_losses(self, logits, labels):
        if len(logits.shape) != 4:
            raise ValueError(f"SoftClDiceLoss: logits have shape {list(logits.shape)}; the "
                             f"soft skeleton takes 2-D images, (N, C, H, W).")
        probs, targets = LF.class_maps(self.mode, logits, labels, self.ignore_index)
        # Class 0 left out has weight 0 (class_weights), so its two skeletons, most of the
        # loss's cost, are not taken; it gets score 1 (loss 0) to keep one column per class.
        first = 0 if self.include_background else 1
        if first and probs.shape[1] == 1:
            _no_class_left("the logits have 1 channel",
                           "set include_background: true to score that channel")
        scores = LF.soft_cldice_score(probs[:, first:], targets[:, first:], self.iterations,
                                      self.smooth, self.eps, self.per_image)
        if first:
            scores = paddle.concat([paddle.ones_like(scores[:, :1]), scores], axis=1)
        return 1 - scores, LF.spatial_sums(targets, self.per_image)


def _no_class_left(found, fix):
    raise ValueError(f"SoftClDiceLoss: class 0 is left out (include_background: false) and "
                     f"{found}, so no class is left in the mean; {fix}.")
