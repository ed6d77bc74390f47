"""The figure of lab 10 that every part shares: who sees what under each technique.

Introduced in lab 10 (Secure computation).
"""

from __future__ import annotations

from .. import plots

__all__ = ["trust_diagram"]


def trust_diagram():
    """Secure computation in one picture: the data owner keeps the key and sends ciphertexts
    (homomorphic encryption) or shares (secret sharing) to servers that compute without seeing
    the data; the model file is sealed at rest; the answer still reaches whoever holds the key.

    Introduced in lab 10 (Secure computation).
    """
    boxes = [
        (0.0, 0.9, "data owner<br>(patient, bank, phone)<br>holds the secret key", "baseline"),
        (1.9, 0.9, "model server<br>computes on ciphertexts<br>(HE, CKKS)", "accent"),
        (1.9, 0.0, "three parties<br>each holds one share<br>(SMPC)", "accent"),
        (3.8, 0.45, "model file at rest<br>sealed with AES-GCM<br>key kept apart", "defended"),
    ]
    arrows = [((1.1, 1.15), (1.9, 1.15), "ciphertext"), ((1.9, 1.0), (1.1, 1.0), ""),
              ((1.1, 0.95), (1.9, 0.3), "shares"), ((3.0, 1.05), (3.8, 0.75), ""),
              ((3.0, 0.25), (3.8, 0.55), "")]
    notes = [(0.55, 0.55, "the answer comes back<br>to the key holder:<br>extraction and "
                          "membership<br>inference still work", "attack"),
             (2.45, 0.65, "leaks anyway: sizes,<br>timing, query count", "attack")]
    return plots.box_diagram(boxes, arrows, notes=notes, height=360,
                             title="Secure computation: who holds the key, who sees what")
