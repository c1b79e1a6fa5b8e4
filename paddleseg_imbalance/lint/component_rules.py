"""Config rule PSI006: every `type:` must name a registered component.

PaddleSeg's builder looks a `type` up in all of its managers (models, backbones,
datasets, transforms, losses, optimizers) and fails with `The specified component (X)
was not found` only when it builds that part, possibly after minutes of data loading.
The `evaluators:` section is looked up in this plugin's EVALUATORS. The suggested fix is
the closest registered name, preferring the manager the key belongs to.
"""
import difflib

# SegBuilder.optimizer renames these before it looks them up.
OPTIMIZER_ALIASES = ("adam", "sgd")
# Which manager a `type` under these top-level keys belongs to.
_SECTION_MANAGER = {"model": "models", "train_dataset": "datasets", "val_dataset": "datasets",
                    "loss": "losses", "distill_loss": "losses", "optimizer": "optimizers",
                    "evaluators": "evaluators"}
# Which manager a nested `type` belongs to, by the key that holds it.
_CHILD_MANAGER = {"backbone": "backbones", "transforms": "transforms", "dataset": "datasets",
                  "types": "losses", "losses": "losses"}
_SINGULAR = {"models": "model", "backbones": "backbone", "datasets": "dataset",
             "transforms": "transform", "losses": "loss", "optimizers": "optimizer",
             "evaluators": "evaluator"}


def _typed_nodes(value, path, manager):
    """(path, mapping, manager) of every mapping with a `type` key in `value`, recursively."""
    if isinstance(value, dict):
        if "type" in value:
            yield path, value, manager
        for key, item in value.items():
            yield from _typed_nodes(item, path + (key,), _CHILD_MANAGER.get(key, manager))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _typed_nodes(item, path + (index,), manager)


def _suggestion(name, manager, known):
    pools = [known.names[manager], known.all_names()] if manager else [known.all_names()]
    for pool in pools:
        close = difflib.get_close_matches(str(name), pool, n=1, cutoff=0.6)
        if close:
            return close[0]
    # Case mistakes (`crossentropyloss`) fall below difflib's cutoff.
    lowered = {candidate.lower(): candidate for candidate in pools[-1]}
    return lowered.get(str(name).lower())


def unknown_components(ctx):
    """PSI006: a `type` that no manager has registered."""
    known = ctx.known
    builder_names = set(known.all_names()) - set(known.names["evaluators"])
    for section, manager in _SECTION_MANAGER.items():
        if section not in ctx.config:
            continue
        for path, node, node_manager in _typed_nodes(ctx.config[section], (section,), manager):
            name = node["type"]
            if node_manager == "evaluators":
                registered = set(known.names["evaluators"])
            else:
                registered = builder_names | set(OPTIMIZER_ALIASES if node_manager ==
                                                  "optimizers" else ())
            if isinstance(name, str) and name in registered:
                continue
            kind = _SINGULAR.get(node_manager, "component")
            suggestion = _suggestion(name, node_manager, known)
            fix = (f"did you mean `type: {suggestion}`?" if suggestion else
                   f"use a registered {kind} (see `paddleseg.cvlibs.manager` and "
                   "`paddleseg_imbalance.EVALUATORS`)")
            yield ctx.finding(
                "PSI006", path + ("type",),
                f"unknown {kind} type {name!r} in `{section}`: no component of that name is "
                "registered (names are case-sensitive)",
                fix + "; a component of your own must be imported (registered) before the "
                "config is built")


CHECKS = (unknown_components,)
