"""The report the tools write at the end (`tools/train.py --do_eval`, `tools/val.py`;
`--no_report` turns it off): the config beside it, then `report.html`."""
import os

import yaml
from paddleseg.utils import logger

from paddleseg_imbalance.report import write_report
from paddleseg_imbalance.report.run_files import CONFIG_FILE


def report_after_run(args, config, save_dir):
    """Write `save_dir/run_config.yml` (the merged config) and `save_dir/report.html`,
    on rank 0 unless `args.no_report`. The run's results are written by then: a report
    that fails is a warning, never a lost run."""
    import paddle

    if args.no_report or paddle.distributed.get_rank() != 0:
        return None
    try:
        with open(os.path.join(save_dir, CONFIG_FILE), "w") as file:
            yaml.safe_dump(config.dic, file, sort_keys=False)
        path = write_report(save_dir)
    except (OSError, ValueError, KeyError, TypeError) as error:
        logger.warning(f"The run report was not written ({error}); the run's results are in "
                       f"{save_dir}: try `paddleseg-imbalance report {save_dir}`.")
        return None
    logger.info(f"Run report: {os.path.abspath(path)}")
    return path
