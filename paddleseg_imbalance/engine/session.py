"""What every tool does first: pick the device, seed, load the config, build components.

`Session` holds the PaddleSeg `Config` and `SegBuilder`, and checks dataset paths and
files before a dataset is used, so bad input fails before any loop starts.
"""
import paddle
import paddleseg
from paddleseg.utils import logger, utils

from paddleseg_imbalance.config.sections import DATASET_SECTIONS, dataset_section
from paddleseg_imbalance.datasets import MultiLabelDataset, unwrap_config, wrap_dataset
from paddleseg_imbalance.engine.batching import check_batch_count, check_sample_sizes
from paddleseg_imbalance.engine.binary_masks import check_binary_masks
from paddleseg_imbalance.engine.builder import SegBuilder
from paddleseg_imbalance.engine.config import (ConfigError, check_dataset_paths,
                                               check_pretrained_paths, load_config)
from paddleseg_imbalance.engine.model_loading import load_model_weights
from paddleseg_imbalance.engine.multilabel_config import prepare_config
from paddleseg_imbalance.engine.multilabel_preflight import (check_first_sample,
                                                             check_multilabel_files)
from paddleseg_imbalance.engine.preflight import check_file_list, check_list_lines


def rank_and_world_size():
    env = paddle.distributed.ParallelEnv()
    return env.local_rank, env.nranks


def set_device(device):
    """PaddleSeg's `set_device`, which falls back to the CPU when Paddle has no `device`;
    the fallback is logged as a warning saying why."""
    utils.set_device(device)
    used = paddle.device.get_device().split(":")[0]
    if used == device:
        return
    if device == "gpu" and paddle.is_compiled_with_cuda():
        why = "no GPU is visible (check CUDA_VISIBLE_DEVICES and the driver)"
    else:
        why = f"this Paddle build ({paddle.__version__}) has no {device} support"
    logger.warning(f"--device {device}: {why}; running on {used} instead.")


def _reads_class_maps(dataset):
    """Whether `dataset` reads its labels as PaddleSeg's `Dataset` does (PIL, as class maps);
    other types (SUPERVISELY, PSSL, ...) read and convert them their own way."""
    return type(dataset).__getitem__ is paddleseg.datasets.Dataset.__getitem__


class Session:
    """A loaded config and its builder, for one tool invocation.

    Args:
        args: the parsed flags (see `engine.args`); `config`, `device`, `opts` and,
            where the tool has them, `iters`, `batch_size`, `learning_rate`, `seed`.
    """

    def __init__(self, args):
        set_device(args.device)
        utils.set_seed(getattr(args, "seed", None))
        self.config = load_config(
            args.config,
            learning_rate=getattr(args, "learning_rate", None),
            batch_size=getattr(args, "batch_size", None),
            iters=getattr(args, "iters", None),
            opts=args.opts)
        # Wrapper datasets (ClassBalancedDataset, ...) come out of the config so that
        # PaddleSeg checks and builds the dataset they wrap; `dataset()` wraps it again.
        try:
            self.wrappers = unwrap_config(self.config)
        except ValueError as error:
            raise ConfigError(str(error)) from error
        prepare_config(self.config)
        self.builder = SegBuilder(self.config)

    def dataset(self, section):
        """The built `train_dataset` or `val_dataset`, its paths and files checked, wrapped
        again in the wrapper datasets its config named. The train dataset must give
        batches of `batch_size` (see `engine.batching`)."""
        check_dataset_paths(self.config, section)
        check_list_lines(self.config.dic[section], section)
        dataset = getattr(self.builder, section)
        file_list = getattr(dataset, "file_list", None)
        rank, world_size = rank_and_world_size()
        train = section == "train_dataset"
        if isinstance(dataset, MultiLabelDataset):
            check_multilabel_files(dataset, section, progress=rank == 0)
        elif file_list is not None:
            image_sizes = check_file_list(file_list, section, progress=rank == 0,
                                          class_map_labels=_reads_class_maps(dataset))
            transforms = getattr(dataset.transforms, "transforms", None)
            if train and transforms is not None:
                check_sample_sizes(section, file_list, image_sizes, transforms,
                                   self.config.batch_size)
            check_binary_masks(dataset, section, [key for key in DATASET_SECTIONS
                                                  if key in self.config.dic])
        section_cfg = dataset_section(self.config.dic, section)
        if section_cfg is not None and section_cfg.reads_multilabel:
            check_first_sample(dataset, section)
        logger.info(f"{section}: {len(dataset)} samples checked.")
        dataset = wrap_dataset(dataset, self.wrappers.get(section, []))
        if train:
            check_batch_count(section, len(dataset), self.config.batch_size, world_size)
        return dataset

    @property
    def model(self):
        """The built model; a local `pretrained` path that is missing is a ConfigError."""
        check_pretrained_paths(self.config)
        return self.builder.model

    def load_weights(self, model_path):
        """The model with all the weights of `model_path` loaded (see `model_loading`)."""
        return load_model_weights(self.model, model_path)
