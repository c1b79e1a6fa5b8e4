"""`tools/train.py`: PaddleSeg's training loop, with the plugin loaded and input checked."""
import contextlib
import dataclasses
import os

import paddle
from paddleseg.core import train as paddleseg_train
from paddleseg.utils import logger, utils

from paddleseg_imbalance.engine.args import train_parser
from paddleseg_imbalance.engine.best_metric_class import check_best_metric_class
from paddleseg_imbalance.engine.checkpoints import check_resume_model
from paddleseg_imbalance.engine.config_lint import lint_before_run
from paddleseg_imbalance.engine.evaluation_options import (evaluation_options,
                                                           multilabel_evaluation_options)
from paddleseg_imbalance.engine.finite_check import FiniteTraining, likely_causes
from paddleseg_imbalance.engine.loss_weights import attach_batch_weights, resolve_loss_weights
from paddleseg_imbalance.engine.run_directory import prepare_save_dir, save_dir_lock
from paddleseg_imbalance.engine.run_report import report_after_run
from paddleseg_imbalance.engine.session import Session, rank_and_world_size
from paddleseg_imbalance.engine.train_evaluation import (TrainingEvaluation,
                                                         check_best_metric,
                                                         start_iteration)
from paddleseg_imbalance.patches import per_run_patches


def run(args):
    """Train as `args` say; returns the save dir."""
    check_best_metric(args.best_metric)
    if not args.no_lint:
        lint_before_run(args)
    prepare_save_dir(args.save_dir)
    check_resume_model(args.resume_model)
    # All ranks write into one save dir; the first holds it for the run.
    held = paddle.distributed.get_rank() == 0
    with save_dir_lock(args.save_dir) if held else contextlib.nullcontext():
        _train(args)
    logger.info(f"Training finished; checkpoints are in {os.path.abspath(args.save_dir)}")
    return args.save_dir


def _train(args):
    """Build what `args` name and run PaddleSeg's loop, with the plugin's per-run hooks
    (`paddleseg_imbalance.patches`), which are removed when the loop ends."""
    session = Session(args)
    config = session.config
    check_best_metric_class(args.best_metric, config)
    rank, world_size = rank_and_world_size()
    # PaddleSeg logs on rank 0 only; this line shows every rank started.
    print(f"[paddleseg-imbalance] rank {rank}/{world_size} starts training "
          f"(config {args.config})", flush=True)
    train_dataset = session.dataset("train_dataset")
    val_dataset = session.dataset("val_dataset") if args.do_eval else None
    model = session.model
    if world_size > 1 and args.device == "gpu":
        model = utils.convert_sync_batchnorm(model, args.device)
    batch_weighted = resolve_loss_weights(config, train_dataset, args.save_dir)
    losses = session.builder.loss
    attach_batch_weights(losses, batch_weighted, train_dataset.num_classes,
                         train_dataset.ignore_index)
    first_iteration = start_iteration(args.resume_model)
    with per_run_patches() as hooks:
        hooks.install("loss-ramps", losses=losses, iters=config.iters,
                      start_iter=first_iteration)
        optimizer = session.builder.optimizer
        if rank == 0:
            utils.show_env_info()
            utils.show_cfg_info(config)
        options = dataclasses.replace(evaluation_options(config, config.test_config),
                                      **multilabel_evaluation_options(args, config))
        finite = FiniteTraining(likely_causes(config, args.precision), first_iteration)
        evaluation = TrainingEvaluation(
            model, options, args.save_dir, args.save_interval, config.iters,
            args.resume_model, args.best_metric, _visualdl_writer(args, rank),
            check_parameters=finite.check_parameters)
        hooks.install("evaluation-in-training", evaluation=evaluation)
        hooks.install("atomic-checkpoints", before_save=finite.check_checkpoint,
                      saved=evaluation.checkpoint_saved)
        hooks.install("finite-loss-check", training=finite)
        hooks.install("hard-example-feedback", train_dataset=train_dataset, model=model,
                      save_dir=args.save_dir, multilabel=options.use_multilabel)
        paddleseg_train(
            model,
            train_dataset,
            val_dataset=val_dataset,
            optimizer=optimizer,
            save_dir=args.save_dir,
            iters=config.iters,
            batch_size=config.batch_size,
            resume_model=args.resume_model,
            save_interval=args.save_interval,
            log_iters=args.log_iters,
            num_workers=args.num_workers,
            use_vdl=args.use_vdl,
            use_ema=args.use_ema,
            losses=losses,
            keep_checkpoint_max=args.keep_checkpoint_max,
            test_config=config.test_config,
            precision=args.precision,
            amp_level=args.amp_level,
            to_static_training=config.to_static_training)
    if evaluation.log_writer is not None:
        evaluation.log_writer.close()
    if args.do_eval:
        report_after_run(args, config, args.save_dir)


def _visualdl_writer(args, rank):
    """A VisualDL writer for the per-class curves, beside PaddleSeg's own scalars."""
    if not (args.use_vdl and args.do_eval and rank == 0):
        return None
    from visualdl import LogWriter

    return LogWriter(os.path.join(args.save_dir, "vdl_per_class"))


def main(argv=None):
    return run(train_parser().parse_args(argv))
