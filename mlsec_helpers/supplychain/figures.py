"""The figure of lab 11 that every part shares: a model's path from training to loading.

Introduced in lab 11 (Supply chain).
"""

from __future__ import annotations

from .. import plots

__all__ = ["supply_chain_diagram"]


def supply_chain_diagram():
    """The model supply chain in one picture: trained, packaged, stored and shared, then loaded;
    where an attacker changes the file, and which control checks each step.

    Introduced in lab 11 (Supply chain).
    """
    boxes = [
        (0.0, 0.6, "training<br>(data, code,<br>dependencies)", "baseline"),
        (1.45, 0.6, "packaging<br>(pickle, safetensors,<br>skops, ONNX)", "baseline"),
        (2.9, 0.6, "registry, bucket,<br>hub, container", "accent"),
        (4.35, 0.6, "loading and<br>serving", "defended"),
        (2.9, 0.0, "an attacker swaps or<br>edits the file, or<br>publishes a model", "attack"),
    ]
    arrows = [((1.1, 0.8), (1.45, 0.8), ""), ((2.55, 0.8), (2.9, 0.8), "upload"),
              ((4.0, 0.8), (4.35, 0.8), "download"), ((3.45, 0.4), (3.45, 0.6), "")]
    notes = [(2.0, 1.15, "controls: pinned dependencies and an SBOM; formats without code; "
                         "scanners (heuristics); hashes and signatures verified before "
                         "loading", "defended"),
             (4.9, 0.35, "a pickle runs its code<br>when it is loaded", "attack")]
    return plots.box_diagram(boxes, arrows, notes=notes, height=360,
                             title="The model supply chain: every hand the file passes through")
