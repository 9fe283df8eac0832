"""Associative memory on handwritten digits: store, corrupt, recall.

Stores one thresholded 8x8 image of each of six digits (scikit-learn's bundled ``load_digits``, no
download) in a pseudo-inverse Hopfield network, flips 15% of each image's pixels, recalls, and
saves a grid of probe / recall / original to ``examples/out/hopfield_digits.png`` when matplotlib
is installed (``pip install rnnfast[plot]``); otherwise it prints the images as text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rnnfast
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parent / "out" / "hopfield_digits.png"
DIGITS = (0, 1, 2, 3, 4, 7)
NOISE = 0.15


def main() -> None:
    digits = load_digits()
    # The first image of each chosen digit, ink (> 7 of 16) as 1.
    rows = [int(np.flatnonzero(digits.target == d)[0]) for d in DIGITS]
    patterns = (digits.data[rows] > 7).astype(np.int8)
    rng = np.random.default_rng(0)
    probes = patterns.copy()
    for probe in probes:
        flip = rng.choice(probe.size, int(NOISE * probe.size), replace=False)
        probe[flip] = 1 - probe[flip]

    # Digit images are strongly correlated (they share much of their ink), which the Hebbian rule
    # cannot store; the projection rule can.
    for rule in ("hebbian", "pseudoinverse"):
        net = rnnfast.HopfieldNetwork(rule=rule, random_state=0).fit(patterns)
        print(f"{rule:>13}: pixels recalled correctly {net.score(probes, patterns):.1%}")
    result = net.recall(probes)
    print(f"converged: {result.converged.tolist()}, sweeps: {result.n_sweeps.tolist()}")
    grid = [("probe", probes), ("recall", result.states), ("original", patterns)]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is optional (pip install rnnfast[plot]); images as text instead:")
        for title, images in grid:
            print(f"{title}:")
            for line in range(8):
                print(
                    "  ".join(
                        "".join(".#"[v] for v in im[8 * line : 8 * line + 8]) for im in images
                    )
                )
        return
    fig, axes = plt.subplots(3, len(DIGITS), figsize=(1.4 * len(DIGITS), 4.4))
    for r, (title, images) in enumerate(grid):
        for c, image in enumerate(images):
            axes[r, c].imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(title)
    fig.suptitle(f"Pseudo-inverse Hopfield network, {NOISE:.0%} of pixels flipped")
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT, dpi=100, bbox_inches="tight")
    print(f"saved {OUT}")


if __name__ == "__main__":
    main()
