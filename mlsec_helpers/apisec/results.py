"""The result dataclasses of lab 12's measurements: one attack (or honest traffic) sent to an
API and what came back, and an offline search for a token's secret.

Introduced in lab 12 (API security).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..stats import Rate

__all__ = ["AttackTrial", "SecretSearch"]


@dataclass(frozen=True)
class AttackTrial:
    """One kind of request sent ``n`` times to one API, and what it got.

    ``attack``: what was sent ("forged alg=none token", "honest user, API key", ...);
    ``api``: which API ("weak", "hardened"); ``n``: requests sent; ``served``: how many were
    answered 200 (for honest traffic: 200 *and* the label the model gives locally);
    ``statuses``: status code -> count; ``rate``: ``served / n`` with its Wilson interval;
    ``note``: one line on how the credential was made.

    Introduced in lab 12 (API security).
    """

    attack: str
    api: str
    n: int
    served: int
    statuses: dict[int, int] = field(default_factory=dict)
    rate: Rate | None = None
    note: str = ""

    @property
    def status_text(self) -> str:
        """The statuses as ``"401 x 20"`` (most frequent first)."""
        ordered = sorted(self.statuses.items(), key=lambda kv: (-kv[1], kv[0]))
        return ", ".join(f"{code} x {count}" for code, count in ordered)

    def as_row(self) -> dict:
        """A row for a table."""
        return {"attack": self.attack, "API": self.api, "requests": self.n,
                "served": self.served, "statuses": self.status_text,
                "success rate [95% CI]": str(self.rate.__format__(".2f")) if self.rate else "",
                "how": self.note}


@dataclass(frozen=True)
class SecretSearch:
    """An offline dictionary attack on the HMAC secret of one token.

    ``tried``: candidate secrets tried; ``found``: the secret that reproduces the token's
    signature (None when no candidate did); ``secret_bits``: the size of the real secret, where
    known; ``seconds``: the time the search took (informative only: not claimed on).

    Introduced in lab 12 (API security).
    """

    tried: int
    found: bytes | None
    secret_bits: int | None = None
    seconds: float = 0.0

    @property
    def cracked(self) -> bool:
        """Whether a candidate reproduced the signature."""
        return self.found is not None
