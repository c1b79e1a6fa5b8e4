"""Whether the train samples can form batches at all; checked before training.

PaddleSeg stacks the samples of a batch into one array and samples them with
`DistributedBatchSampler(drop_last=True)`. Samples of different sizes cannot be stacked,
and a train set with fewer samples per rank than `batch_size` gives no batch: both make
training wait forever (in the data loader) instead of failing. So, with a batch of more
than one sample, the train transforms must end in one size (a transform of
`SIZE_FIXING_TRANSFORMS` after any of `RANDOM_SIZE_TRANSFORMS`) or the images must all
have one size; and every rank must get at least one full batch.
"""
import math

from paddleseg_imbalance.config.errors import DataError

# Transforms whose output has one size whatever the input's, by class name (PaddleSeg's
# and this plugin's; a subclass counts as its base). `Resize` only without `keep_ratio`.
SIZE_FIXING_TRANSFORMS = ("RandomPaddingCrop", "RareClassCrop", "Resize", "Padding",
                          "ScalePadding", "RandomAffine")
# Transforms that give one input different sizes at random.
RANDOM_SIZE_TRANSFORMS = ("ResizeStepScaling", "ResizeRangeScaling", "RandomCenterCrop",
                          "RandomRotation")
_CROP_FIX = "add `- type: RandomPaddingCrop` with `crop_size: [{w}, {h}]` (or `Resize` " \
            "with `target_size`) to the end of `train_dataset.transforms`, or set batch_size: 1"


def _is_one_of(transform, names):
    return any(cls.__name__ in names for cls in type(transform).__mro__)


def _fixes_size(transform):
    return (_is_one_of(transform, SIZE_FIXING_TRANSFORMS)
            and not (_is_one_of(transform, ("Resize",)) and getattr(transform, "keep_ratio",
                                                                    False)))


def check_sample_sizes(section, file_list, image_sizes, transforms, batch_size):
    """`DataError` when a batch of `batch_size` samples of `section` could not be stacked.

    Args:
        file_list: [(image, label)] of the dataset.
        image_sizes: (height, width) of each image as decoded (`preflight.check_file_list`).
        transforms: the dataset's transform objects, in order.
    """
    if batch_size <= 1:
        return
    fixing = [i for i, t in enumerate(transforms) if _fixes_size(t)]
    last_fixing = fixing[-1] if fixing else -1
    random_after = [type(t).__name__ for t in transforms[last_fixing + 1:]
                    if _is_one_of(t, RANDOM_SIZE_TRANSFORMS)]
    height, width = image_sizes[0]
    if random_after:
        raise DataError(
            f"`{section}.transforms`: {random_after[0]} gives each sample a random size and no "
            "transform after it crops or resizes to one size, so a batch of "
            f"{batch_size} samples cannot be stacked (training would wait forever); "
            + _CROP_FIX.format(w=width, h=height) + f" (after {random_after[0]}).")
    if fixing:
        return
    for (image, _), size in zip(file_list, image_sizes):
        if size != (height, width):
            raise DataError(
                f"`{section}`: the images differ in size, e.g. '{file_list[0][0]}' is "
                f"{height}x{width} and '{image}' is {size[0]}x{size[1]} (HxW, as cv2.imread "
                "reads them: EXIF rotation applied), and no train transform brings samples to "
                f"one size, so a batch of {batch_size} cannot be stacked (training would wait "
                "forever); " + _CROP_FIX.format(w=width, h=height) + ".")


def check_batch_count(section, samples, batch_size, world_size):
    """`DataError` unless each of `world_size` ranks gets at least one full batch.

    Args:
        samples: the length of the train dataset as training samples it (after wrapper
            datasets such as ClassBalancedDataset).
    """
    per_rank = math.ceil(samples / max(world_size, 1))
    if batch_size >= 1 and per_rank >= batch_size:
        return
    ranks = f" over {world_size} ranks, {per_rank} per rank," if world_size > 1 else ""
    raise DataError(
        f"batch_size is {batch_size} but `{section}` has {samples} samples{ranks} and PaddleSeg "
        "drops the last incomplete batch, so no batch would ever be formed (training would "
        f"wait forever). Set --batch_size (or batch_size in the config) to 1..{per_rank}, or "
        "add samples to the file list.")
