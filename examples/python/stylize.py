#!/usr/bin/env python3
"""Stylises CONTENT with STYLE into OUTPUT with the `nst` module (pip install .).
WEIGHTS is a Keras VGG16/VGG19 "notop" file, or 'random' for an untrained
network (a trial: the result will not look like the style).

    examples/python/stylize.py CONTENT STYLE OUTPUT WEIGHTS [IMAGE_SIZE [ITERATIONS]]

README.md quotes it; tests/python runs it.
"""
import sys

import nst


def stylize_file(content_path, style_path, output_path, weights_path, image_size=256, iterations=200):
    weights = nst.random_weights(0) if weights_path == "random" else nst.load_weights(weights_path)
    content, style = nst.load_image(content_path), nst.load_image(style_path)  # uint8 (H, W, 3)
    out = nst.stylize(content, [style], weights=weights, image_size=image_size, iterations=iterations,
                      style_weight=200, optimizer="lbfgs", device="auto",
                      progress=lambda p: print(p.iteration, p.iterations, p.losses.total))
    nst.save_image(output_path, out)


if __name__ == "__main__":
    if not 5 <= len(sys.argv) <= 7:
        sys.exit(__doc__)
    stylize_file(*sys.argv[1:5], *(int(a) for a in sys.argv[5:]))
