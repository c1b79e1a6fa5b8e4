"""Config rules PSI006 / PSI016: every `type:` must name a registered component.

PaddleSeg's builder looks a `type` up in all of its managers (models, backbones,
datasets, transforms, losses, optimizers) and fails with `The specified component (X)
was not found` only when it builds that part, possibly after minutes of data loading.
The `evaluators:` section is looked up in this plugin's EVALUATORS. The suggested fix is
the closest registered name, preferring the manager the key belongs to; a name that
another PaddleSeg line registers (develop, or 2.8.0) says so, since the config is then
fine for that line and only the installed PaddleSeg lacks it. In a fragment (see
`fragments`) an unknown type is a warning, PSI016: the configs that include it may import
the module that registers it (PaddleSeg's contrib projects do) or replace it; in a
complete config that keeps it, it is PSI006.
"""
import difflib

from paddleseg_imbalance.lint.findings import ERROR, WARNING, Violation, rule
from paddleseg_imbalance.lint.known_components import line_name, other_line, other_line_names

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


def _closest(name, pools):
    """The name in the first of `pools` that has one close to `name`, or a case-insensitive
    match in the last pool, or None."""
    for pool in pools:
        close = difflib.get_close_matches(str(name), pool, n=1, cutoff=0.6)
        if close:
            return close[0]
    # Case mistakes (`crossentropyloss`) fall below difflib's cutoff.
    lowered = {candidate.lower(): candidate for candidate in pools[-1]}
    return lowered.get(str(name).lower())


def _suggestion(name, manager, known):
    pools = [known.names[manager], known.all_names()] if manager else [known.all_names()]
    return _closest(name, pools)


def _installed_label(known):
    installed = line_name(known.paddleseg_version)
    return (installed if installed == known.paddleseg_version
            else f"{installed} ({known.paddleseg_version})")


def _unknown_types(ctx):
    """A `Violation` for each `type` that no manager has registered."""
    known = ctx.known
    in_fragment = (f" (this file is linted as a fragment: {ctx.fragment}; the configs that "
                   "include it must register or replace it)" if ctx.fragment else "")
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
            line = other_line(name, known.paddleseg_version) if isinstance(name, str) else None
            if line:
                installed = _installed_label(known)
                yield Violation(
                    path + ("type",),
                    f"{kind} type {name!r} in `{section}` is registered by PaddleSeg {line}, "
                    f"not by the installed {installed}{in_fragment}",
                    f"install PaddleSeg {line} to use this config, or pick a {kind} that "
                    f"{installed} registers")
                continue
            suggestion = _suggestion(name, node_manager, known)
            elsewhere = other_line_names(known.paddleseg_version)
            near = None if suggestion or not elsewhere else _closest(name, [list(elsewhere)])
            if suggestion:
                fix = f"did you mean `type: {suggestion}`?"
            elif near:
                fix = (f"did you mean `type: {near}`? (registered by PaddleSeg "
                       f"{elsewhere[near]}, not by the installed {_installed_label(known)})")
            else:
                fix = (f"use a registered {kind} (see `paddleseg.cvlibs.manager` and "
                       "`paddleseg_imbalance.EVALUATORS`)")
            yield Violation(
                path + ("type",),
                f"unknown {kind} type {name!r} in `{section}`: no component of that name is "
                f"registered (names are case-sensitive){in_fragment}",
                fix + "; a component of your own must be imported (registered) before the "
                "config is built")


_UNKNOWN_EXPLANATION = (
    "PaddleSeg's builder looks a `type` up in its managers (models, backbones, datasets, "
    "transforms, losses, optimizers; `evaluators:` in this plugin's) and fails with 'The "
    "specified component (X) was not found' only when it builds that part, possibly after "
    "minutes of data loading. Names are case-sensitive. A name that another PaddleSeg line "
    "(develop, or 2.8.0) registers is named with that line: the config is fine there.")
_UNKNOWN_FIX = ("use the registered name the finding suggests, install the PaddleSeg line "
                "that registers it, or import (register) your own component before the config "
                "is built (`lint --components MODULE` counts it as known)")


@rule("PSI006", "unknown-component", ERROR,
      "a `type:` that no component manager has registered",
      _UNKNOWN_EXPLANATION, _UNKNOWN_FIX)
def unknown_component(ctx):
    """A `type` that no manager has registered, in a complete config."""
    if not ctx.fragment:
        yield from _unknown_types(ctx)


@rule("PSI016", "unknown-component-in-fragment", WARNING,
      "a fragment (`_base_` file, partial config) names a `type:` the installed PaddleSeg "
      "does not register; it is an error (PSI006) in each complete config that keeps it",
      _UNKNOWN_EXPLANATION + " A fragment is only a warning: the configs that include it "
      "may import the module that registers the name (PaddleSeg's contrib projects do) or "
      "replace it.", _UNKNOWN_FIX)
def unknown_component_in_fragment(ctx):
    """A `type` that no manager has registered, in a fragment."""
    if ctx.fragment:
        yield from _unknown_types(ctx)


RULES = (unknown_component, unknown_component_in_fragment)
