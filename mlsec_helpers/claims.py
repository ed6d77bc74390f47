"""Teaching claims: what a lab asserts, without punishing a student who explores.

A lab asserts the few results it teaches ("the attack succeeds on the undefended model", "the
defence cuts it"), so that a regression fails the tests. A student who changes a parameter
(another film, another eps) may make a claim false; that is exploration, not an error. So a
claim is checked by :func:`claim`:

* under the test command (``MLSEC_STRICT_CLAIMS=1``, which ``tasks.py test`` and CI set) a
  failed claim raises ``AssertionError`` and fails the run;
* in an interactive session it prints one clear warning that names the claim, the measured
  value and the bound, and says that a changed parameter can explain it; the lab goes on.

With ``MLSEC_CLAIMS_LOG`` set to a file, every claim (passed or not) is appended to it as a JSON
line (name, value, bound, margin): ``tasks.py seeds`` uses it to show how far each claim holds
under other training seeds.

Introduced in lab 02 (Evasion); every lab that teaches a result uses it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass

from .validate import check_str

__all__ = ["Claim", "claim", "strict"]


@dataclass(frozen=True)
class Claim:
    """One checked claim: its name, the measured value, the bounds, and whether it held.

    ``margin`` is how far the value lies inside its bounds (negative when it failed), in the
    value's own units.

    Introduced in lab 02 (Evasion).
    """

    name: str
    value: float
    at_least: float | None
    at_most: float | None
    held: bool
    margin: float

    def __repr__(self) -> str:  # what a notebook shows when a cell ends with a claim
        mark = "✔ claim holds" if self.held else "⚠️ claim not met"
        return f"{mark}: {self.name}: {self.value:.4g} (expected {self.bound_text()})"

    def bound_text(self) -> str:
        if self.at_least is not None and self.at_most is not None:
            return f"between {self.at_least:g} and {self.at_most:g}"
        if self.at_least is not None:
            return f"at least {self.at_least:g}"
        return f"at most {self.at_most:g}"


def strict() -> bool:
    """True under the test command (``MLSEC_STRICT_CLAIMS=1``): failed claims fail the run.

    Introduced in lab 02 (Evasion).
    """
    return os.environ.get("MLSEC_STRICT_CLAIMS", "") not in ("", "0")


def claim(name: str, value: float, *, at_least: float | None = None,
          at_most: float | None = None) -> Claim:
    """Check that ``value`` lies within ``[at_least, at_most]`` (either bound may be left out).

    Strict mode raises ``AssertionError``; otherwise a failed claim prints a warning and the
    lab goes on. Returns the :class:`Claim`.

    Introduced in lab 02 (Evasion).
    """
    name = check_str(name, "name")
    if at_least is None and at_most is None:
        raise ValueError("a claim needs at_least, at_most or both")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"claim {name!r}: value must be a number, got {value!r}") from None
    margins = []
    if at_least is not None:
        margins.append(value - float(at_least))
    if at_most is not None:
        margins.append(float(at_most) - value)
    margin = min(margins) if not math.isnan(value) else -math.inf
    result = Claim(name, value, at_least, at_most, margin >= 0, margin)
    log = os.environ.get("MLSEC_CLAIMS_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(result)) + "\n")
    if not result.held:
        text = (f"claim not met: {name}: measured {value:.4g}, expected {result.bound_text()}")
        if strict():
            raise AssertionError(text)
        print(f"⚠️ {text}. If you changed a parameter of this lab, that can explain it: the "
              "lab goes on, and its text describes the default run.")
    return result
