"""`ClassOverlapLoss`: what WeightedIoULoss, TverskyLoss and SoftClDiceLoss share as layers.

Each computes one loss per class (per image and class with `per_image`) and takes the
weighted mean over classes. WeightedIoULoss and TverskyLoss reduce the same soft counts
(TP = sum p*g, sum p, sum g over the valid pixels, see `functional.class_statistics`) and
differ only in `class_losses`; SoftClDiceLoss needs the maps and replaces
`per_class_losses`. This base holds the common arguments, their checks, the settable
`weight` and the forward pass around them.
"""
import warnings

import paddle.nn as nn

from paddleseg_imbalance.losses import functional as LF


class ClassOverlapLoss(nn.Layer):
    """Base of the per-class overlap losses; see a subclass for the formula.

    A subclass implements `class_losses(tp, prob_sum, target_sum)`, returning one loss per
    class (per image and class with `per_image`), or replaces `per_class_losses`.
    Arguments as in the subclasses.
    """

    def __init__(self, mode, weight, smooth, eps, ignore_index, per_image, absent_classes):
        super().__init__()
        name = type(self).__name__
        self.mode = LF.check_choice(name, "mode", mode, LF.MODES)
        self.absent_classes = LF.check_choice(name, "absent_classes", absent_classes,
                                              LF.ABSENT_CLASS_POLICIES)
        self.weight = weight
        self.smooth = LF.check_non_negative(name, "smooth", smooth)
        self.eps = LF.check_positive(name, "eps", eps)
        self.ignore_index = LF.check_ignore_index(name, ignore_index)
        self.per_image = bool(per_image)
        if self.smooth == 0 and self.absent_classes == LF.PENALIZE_FP:
            warnings.warn(f"{name}: smooth=0 with absent_classes='penalize_fp' gives every "
                          f"class absent from the target a constant loss and no gradient; "
                          f"use smooth > 0, or absent_classes='ignore'.")

    def __setattr__(self, name, value):
        # `weight` is checked and made a float32 tensor whenever it is assigned: in
        # __init__, and by the training engine when it replaces the weights between steps.
        if name == "weight":
            value = self.checked_weight(value)
        super().__setattr__(name, value)

    def checked_weight(self, weight):
        """`weight` checked and converted (`functional.check_weight`); ValueError if bad."""
        return LF.check_weight(type(self).__name__, weight)

    def class_losses(self, tp, prob_sum, target_sum):
        raise NotImplementedError

    def per_class_losses(self, logits, labels):
        """(losses, target_sum), each (R, K): the per-class losses and target pixel counts."""
        tp, prob_sum, target_sum = LF.class_statistics(self.mode, logits, labels,
                                                       self.ignore_index, self.per_image)
        return self.class_losses(tp, prob_sum, target_sum), target_sum

    def class_weights(self, classes):
        """The (K,) weights of the class mean, or None for equal weights."""
        return self.weight

    def forward(self, logits, labels):
        """Loss of `logits` (N, C, H, W) against `labels` (see the class docstring)."""
        name = type(self).__name__
        classes = LF.check_logits_and_labels(name, self.mode, logits, labels,
                                             self.ignore_index)
        LF.check_weight_length(name, self.mode, self.weight, classes, logits.shape[1])
        losses, target_sum = self.per_class_losses(logits, labels)
        return LF.weighted_class_mean(losses, target_sum, self.class_weights(classes),
                                      self.absent_classes)
