"""Model inversion, training-data extraction and attribute inference, in the five domains.

Introduced in lab 06 (Model inversion). The attacks answer one question: *what can an attacker
reconstruct of the training data from a model or its answers?* (what a class looks like, a
secret in the training text, a hidden rating, a customer's or a patient's sensitive attribute).

Where the code of each part of the lab lives (the lab calls ``inversion.name`` for all of them):

- every domain, ``common.py``: the exposure of a secret (:func:`secret_rank`,
  :func:`exposure_from_rank`, :func:`exposure`), the attribute-inference rule of Fredrikson et
  al. (:func:`fredrikson_inference`) and its comparison with a baseline that does not use the
  model (:func:`inference_advantage`); ``figures.py``: :func:`threat_diagram`.
- ``results.py``: the result dataclasses.
"""

from __future__ import annotations

from .common import (
    exposure,
    exposure_from_rank,
    fredrikson_inference,
    inference_advantage,
    secret_rank,
)
from .figures import threat_diagram
from .results import InferenceAdvantage

__all__ = [
    "InferenceAdvantage",
    "exposure",
    "exposure_from_rank",
    "fredrikson_inference",
    "inference_advantage",
    "secret_rank",
    "threat_diagram",
]
