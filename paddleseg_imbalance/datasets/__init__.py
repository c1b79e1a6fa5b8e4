"""The plugin's datasets; importing this package registers them in `manager.DATASETS`."""
from paddleseg_imbalance.datasets.class_balanced import ClassBalancedDataset
from paddleseg_imbalance.datasets.hard_example import HardExampleDataset
from paddleseg_imbalance.datasets.multilabel import MultiLabelDataset
from paddleseg_imbalance.datasets.wrappers import (DatasetWrapper, WrapperConfigError,
                                                   unwrap_config, wrap_dataset)

__all__ = ["ClassBalancedDataset", "DatasetWrapper", "HardExampleDataset", "MultiLabelDataset",
           "WrapperConfigError", "unwrap_config", "wrap_dataset"]
