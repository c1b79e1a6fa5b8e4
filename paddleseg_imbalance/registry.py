"""Quiet, idempotent registration into PaddleSeg's component managers.

PaddleSeg's `ComponentManager.add_component` warns when a name exists already. This
plugin's components must win over a same-named component of a PaddleSeg develop
checkout (e.g. the fixed `AddMultiLabelAuxiliaryCategory`) and may be registered again
when a module is reloaded, so registration replaces the entry without a warning.
"""


def register(manager):
    """Class decorator: put the class into `manager` under its own name, replacing any."""

    def decorate(component):
        manager.components_dict[component.__name__] = component
        return component

    return decorate
