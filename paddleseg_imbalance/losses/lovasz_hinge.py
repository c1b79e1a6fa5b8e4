"""`MultiLabelLovaszHingeLoss`: the Lovasz hinge of each label channel of a multi-label model."""
import paddle.nn as nn
from paddleseg.cvlibs import manager

from paddleseg_imbalance.losses import functional as LF
from paddleseg_imbalance.registry import register


@register(manager.LOSSES)
class MultiLabelLovaszHingeLoss(nn.Layer):
    r"""Lovasz hinge loss per label channel, for multi-label segmentation.

    Each channel c is an independent binary problem on its raw logits x (no softmax
    across channels). Over the valid elements of the channel (in the whole batch, or in
    one image with `per_image=True`), with signs s = 2g - 1 and errors e = 1 - x s sorted
    in decreasing order,

    .. math::

        L_c = \sum_k \operatorname{relu}(e_{(k)}) \, \Delta J(k), \qquad
        L = \frac{1}{C} \sum_c L_c

    where Delta J(k) = J(k) - J(k-1) is the gradient of the Lovasz extension of the
    Jaccard loss at the sorted errors. With `per_image=True` L is the mean of L_{n,c} over
    images and channels; a channel with no valid element contributes 0 to the mean.

    Berman, Triki & Blaschko, "The Lovasz-Softmax loss: A tractable surrogate for the
    optimization of the intersection-over-union measure in neural networks", CVPR 2018.

    PaddleSeg's `LovaszHingeLoss` reads any 2-channel logit as a 2-class softmax and
    collapses it to one channel, so a multi-label model with 2 labels (or 1 label plus
    PaddleSeg's auxiliary background channel) is trained on the wrong problem. This loss
    never mixes channels.

    Shapes: logits (N, C, H, W), any float dtype (float16 is cast to float32); labels
    (N, C, H, W) of 0/1 with `ignore_index` per element. Returns a 0-D float32 tensor
    (float64 for float64 logits).

    Args:
        ignore_index: label value of elements to leave out; they neither add error nor
            count in the Jaccard sets. The caller's labels are never modified.
        per_image: compute the hinge per image and channel, then average, instead of per
            channel over the whole batch.

    Raises:
        ValueError: at forward, before any gather, when labels and logits differ in shape
            or labels hold values other than 0, 1 and `ignore_index`.
    """

    def __init__(self, ignore_index=255, per_image=False):
        super().__init__()
        self.ignore_index = LF.check_ignore_index(type(self).__name__, ignore_index)
        self.per_image = bool(per_image)

    def forward(self, logits, labels):
        """Loss of `logits` (N, C, H, W) against 0/1 `labels` (N, C, H, W)."""
        LF.check_logits_and_labels(type(self).__name__, LF.MULTILABEL, logits, labels,
                                   self.ignore_index)
        dtype = LF.compute_dtype(logits)
        batch, channels = logits.shape[0], logits.shape[1]
        logits = logits.astype(dtype).reshape([batch, channels, -1])
        labels = labels.astype("int64").reshape([batch, channels, -1])
        if self.per_image:
            rows = batch * channels
        else:
            # One row per channel, holding the elements of the whole batch.
            logits, labels = logits.transpose([1, 0, 2]), labels.transpose([1, 0, 2])
            rows = channels
        logits, labels = logits.reshape([rows, -1]), labels.reshape([rows, -1])
        valid = labels != self.ignore_index
        targets = (labels == 1).astype(dtype)
        return LF.lovasz_hinge_rows(logits, targets, valid).mean()
