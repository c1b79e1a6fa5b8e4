"""The `EVALUATORS` component manager (YAML key `evaluators:`).

It is a PaddleSeg `ComponentManager`, so evaluators register exactly like losses or
transforms do; it is created once, even if this module is imported again.
"""
from paddleseg.cvlibs import manager as _paddleseg_manager

EVALUATORS = getattr(_paddleseg_manager, "EVALUATORS", None)
if EVALUATORS is None:
    EVALUATORS = _paddleseg_manager.ComponentManager("evaluators")
    # Kept on PaddleSeg's manager module so a reload of this plugin finds the same one.
    _paddleseg_manager.EVALUATORS = EVALUATORS
