"""`MultiLabelDataset`: PaddleSeg's multi-label data format, on PaddleSeg 2.8.0 too.

PaddleSeg develop reads multi-label data with its `Dataset` and `--use_multilabel`;
PaddleSeg 2.8.0 cannot (its `Dataset` adds a leading axis to val labels and its
transforms expect 2-D masks). This dataset reads the same file lists and label layouts,
so develop's `configs/multilabelseg/*` YAMLs run here with the dataset `type` (and paths)
changed::

    train_dataset:
      type: MultiLabelDataset
      dataset_root: data/UWMGI
      train_path: data/UWMGI/train.txt     # lines "image_path label_path"
      num_classes: 4                       # 3 labels + the background channel
      label_names: [large_bowel, small_bowel, stomach]
      mode: train
      transforms:
        - type: AddMultiLabelAuxiliaryCategory
        - ...

Each sample's label is read with `labels.read_label` (a strip PNG (H, C*W) or (C*H, W),
or an (H, W, C) `.npy`), turned into (H, W, C) 0/1 and checked against its image and
`num_classes` (`label_channels`), run through the transforms, and returned as `label`
(K, H, W) int64 with K = num_classes channels (train and val alike; val labels keep the
image's original size, as in PaddleSeg).

PaddleSeg's own transforms were written for 2-D masks: OpenCV pads and rotates a
multi-channel array with `label_padding_value` in channel 0 only, fails beyond 4
channels, and drops a single channel's axis. So here they run on each label channel as
its own 2-D mask (the plugin's transforms get the whole (H, W, K) label).

PaddleSeg 2.8.0's SegBuilder reads `NUM_CLASSES`, `IMG_CHANNELS` and `IGNORE_INDEX` from
the class of any dataset type other than `Dataset`. This class takes them from its config
instead (`NUM_CLASSES_FROM_CONFIG`), which `paddleseg_imbalance.engine.builder.SegBuilder`
(used by the tools) understands; read on the class directly they raise an error that
says so.
"""
import functools

import numpy as np
from paddleseg.cvlibs import manager
from paddleseg.datasets import Dataset
from paddleseg.transforms import Compose

from paddleseg_imbalance.datasets.class_attributes import guard_class_attributes
from paddleseg_imbalance.labels import read_label
from paddleseg_imbalance.registry import register
from paddleseg_imbalance.transforms.multilabel_aux import (BACKGROUND_NAME,
                                                           AddMultiLabelAuxiliaryCategory,
                                                           label_channels)


class MultiLabelConfigError(ValueError):
    """`MultiLabelDataset` reached PaddleSeg's own SegBuilder, which reads its class."""


def _config_advice(cls, name):
    return (f"{cls.__name__} takes num_classes, img_channels and ignore_index from its "
            f"config, but PaddleSeg 2.8.0's SegBuilder reads {name} from the dataset class. "
            "Use paddleseg-imbalance's tools (tools/train.py, val.py, ...), or in your own "
            "code `paddleseg_imbalance.engine.builder.SegBuilder(config)` in place of "
            "PaddleSeg's SegBuilder.")


def _is_paddleseg_transform(transform):
    return type(transform).__module__.split(".")[0] == "paddleseg"


class _LabelChannels:
    """The first transform: the label file's layout as (H, W, C) 0/1, checked."""

    def __init__(self, ignore_index, num_classes, auxiliary):
        self.ignore_index, self.num_classes, self.auxiliary = ignore_index, num_classes, auxiliary

    def __call__(self, data):
        if data.get("label") is not None:
            data["label"] = label_channels(data["label"], data["img"].shape[:2],
                                           self.ignore_index, self.num_classes, self.auxiliary)
        return data


class _PerChannelLabel:
    """Runs PaddleSeg transforms with each channel of an (H, W, K) training label as a
    2-D gt field of its own (see the module docstring), then stacks them again."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, data):
        label = data.get("label")
        split = (label is not None and label.ndim == 3
                 and "label" in data.get("gt_fields", []))
        if split:
            keys = ["label"] + [f"label_channel_{k}" for k in range(1, label.shape[2])]
            for k, key in enumerate(keys):
                data[key] = np.ascontiguousarray(label[..., k])
            data["gt_fields"] = data["gt_fields"] + keys[1:]
        for transform in self.transforms:
            data = transform(data)
        if split:
            data["label"] = np.stack([data[key] for key in keys], axis=-1)
            for key in keys[1:]:
                del data[key]
            data["gt_fields"] = [key for key in data["gt_fields"] if key not in keys[1:]]
        return data


def _pipeline(transforms, first):
    """`first`, then `transforms` with runs of PaddleSeg's own transforms grouped into
    `_PerChannelLabel`s."""
    pipeline = [first]
    for transform in transforms:
        if not _is_paddleseg_transform(transform):
            pipeline.append(transform)
        elif isinstance(pipeline[-1], _PerChannelLabel):
            pipeline[-1].transforms.append(transform)
        else:
            pipeline.append(_PerChannelLabel([transform]))
    return pipeline


@register(manager.DATASETS)
class MultiLabelDataset(Dataset,
                        metaclass=guard_class_attributes(MultiLabelConfigError,
                                                         _config_advice)):
    """Multi-label segmentation data in PaddleSeg's file-list format.

    Args:
        mode: "train", "val" or "test".
        dataset_root: directory the file-list paths are relative to.
        transforms: the transforms; put `AddMultiLabelAuxiliaryCategory` first to add
            the background channel (then num_classes = labels + 1).
        num_classes: the model's outputs: labels + 1 with AddMultiLabelAuxiliaryCategory,
            else the number of labels.
        img_channels: 1 or 3, as in PaddleSeg's `Dataset`.
        train_path, val_path, test_path: file lists, lines "image_path label_path".
        separator: separator of the file-list lines.
        ignore_index: label value of ignored pixels (2..255 with the auxiliary channel).
        label_names: one name per label (without the background), for reports, predicted
            mask folders and deploy.yaml.

    Raises:
        ValueError: `label_names` does not have one name per label, or an
            AddMultiLabelAuxiliaryCategory in `transforms` has another num_classes or
            ignore_index; at `__getitem__`, a sample's label does not fit (the message
            names the sample and its files).
    """

    NUM_CLASSES_FROM_CONFIG = True

    def __init__(self, mode, dataset_root, transforms, num_classes, img_channels=3,
                 train_path=None, val_path=None, test_path=None, separator=" ",
                 ignore_index=255, label_names=None):
        super().__init__(mode, dataset_root, transforms, num_classes, img_channels=img_channels,
                         train_path=train_path, val_path=val_path, test_path=test_path,
                         separator=separator, ignore_index=ignore_index)
        auxiliary = [t for t in transforms if isinstance(t, AddMultiLabelAuxiliaryCategory)]
        for transform in auxiliary:
            self._adopt(transform)
        self.auxiliary_channels = (0,) if auxiliary else ()
        self.num_labels = num_classes - len(self.auxiliary_channels)
        if label_names is not None and len(label_names) != self.num_labels:
            raise ValueError(
                f"MultiLabelDataset: label_names has {len(label_names)} names for "
                f"{self.num_labels} labels (num_classes {num_classes}"
                + (" minus the background channel" if auxiliary else "") + "); give one "
                "name per label, without the background.")
        self.label_names = None if label_names is None else [str(n) for n in label_names]
        first = _LabelChannels(ignore_index, num_classes, bool(auxiliary))
        self.transforms = Compose(_pipeline(transforms, first), img_channels=img_channels)

    def _adopt(self, transform):
        """Give an AddMultiLabelAuxiliaryCategory without num_classes the dataset's; any
        other value than the dataset's is an error."""
        if transform.num_classes is None:
            transform.num_classes = self.num_classes
        for key in ("num_classes", "ignore_index"):
            if getattr(transform, key) != getattr(self, key):
                raise ValueError(
                    f"MultiLabelDataset: AddMultiLabelAuxiliaryCategory has {key} "
                    f"{getattr(transform, key)} but the dataset {getattr(self, key)}; set "
                    f"the same {key} on both (or leave it out of the transform).")

    @property
    def class_names(self):
        """One name per output channel (the background first, if added), or None."""
        if self.label_names is None:
            return None
        return [BACKGROUND_NAME] * len(self.auxiliary_channels) + self.label_names

    def __getitem__(self, idx):
        image_path, label_path = self.file_list[idx]
        data = {"img": image_path, "trans_info": [], "gt_fields": []}
        if label_path is not None:
            data["label"] = read_label(label_path)
            if self.mode == "train":
                data["gt_fields"].append("label")
        try:
            data = self.transforms(data)
        except ValueError as error:
            raise ValueError(f"{self.mode} sample {idx + 1} (image '{image_path}', label "
                             f"'{label_path}'): {error}") from error
        if data.get("label") is not None:
            label = data["label"]
            if not compose_puts_label_channels_first():
                label = np.transpose(label, (2, 0, 1))
            data["label"] = label.astype("int64")
        return data


@functools.lru_cache(maxsize=None)
def compose_puts_label_channels_first():
    """Whether PaddleSeg's `Compose` returns an (H, W, K) label as (K, H, W).

    PaddleSeg develop's does; 2.8.0's returns it as it is. Probed once, on a 1x2 sample.
    """
    sample = {"img": np.zeros((1, 2, 3), np.float32), "label": np.zeros((1, 2, 3), np.uint8),
              "trans_info": [], "gt_fields": ["label"]}
    return Compose([])(sample)["label"].shape == (3, 1, 2)
