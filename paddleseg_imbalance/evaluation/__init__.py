"""Evaluators chosen in YAML under `evaluators:`; the manager lives here."""
from paddleseg_imbalance.evaluation.manager import EVALUATORS

__all__ = ["EVALUATORS"]
