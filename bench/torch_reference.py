#!/usr/bin/env python3
"""The iteration nst_bench_iteration times, in PyTorch: VGG16 to block5_conv1,
content loss at block4_conv2, style losses (Gram) at block{1..5}_conv1, total
variation, backward to the image and the optimiser's update, with nst's loss
definitions (means; G = F^T F / (C H W)). For side-by-side speed, not for
numerics (tests/golden does those).

  bench/torch_reference.py --image-size 256 [--layout nchw|channels_last]
      [--optimizer adam|lbfgs] [--threads N] [--iterations K] [--weights FILE.h5]

Prints one JSON line: {"framework": "torch", "version", "layout", "optimizer",
"size", "threads", "median_ms", "ms": [...]}. Weights: the Keras-layout file
when given (needs h5py), else seeded He-normal ones of the same shapes, as the
nst benchmark uses (the cost does not depend on the values). L-BFGS runs
history 100 without line search, one evaluation per step, and fills its
history before the timed steps, as nst_bench_iteration does.
Needs only PyTorch (any version with channels_last, >= 1.5) and numpy.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

# (name, cin, cout) of VGG16's convs up to block5_conv1, a pool after the
# last conv of each block.
CONVS = [("block1_conv1", 3, 64), ("block1_conv2", 64, 64), ("block2_conv1", 64, 128),
         ("block2_conv2", 128, 128), ("block3_conv1", 128, 256), ("block3_conv2", 256, 256),
         ("block3_conv3", 256, 256), ("block4_conv1", 256, 512), ("block4_conv2", 512, 512),
         ("block4_conv3", 512, 512), ("block5_conv1", 512, 512)]
POOL_AFTER = {"block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3"}
CONTENT = "block4_conv2"
STYLE = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
CONTENT_WEIGHT, STYLE_WEIGHT, TV_WEIGHT = 30.0, 100.0, 0.3  # nst's defaults


def load_weights(path):
    """OIHW kernels and biases from a Keras-layout HDF5 file (HWIO inside)."""
    import h5py  # only needed for --weights
    out = {}
    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        for name, _, _ in CONVS:
            g = root[name]
            names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["weight_names"]]
            kernel, bias = (torch.from_numpy(g[n][()]) for n in names[:2])
            out[name] = (kernel.permute(3, 2, 0, 1).contiguous(), bias)
    return out


def random_weights(seed=0):
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for name, cin, cout in CONVS:
        std = (2.0 / (9 * cin)) ** 0.5
        out[name] = (torch.randn(cout, cin, 3, 3, generator=gen) * std, torch.randn(cout, generator=gen) * 0.01)
    return out


def features(x, weights):
    """Post-ReLU activations of the tapped layers."""
    taps = {}
    for name, _, _ in CONVS:
        w, b = weights[name]
        x = F.relu(F.conv2d(x, w, b, padding=1))
        if name == CONTENT or name in STYLE:
            taps[name] = x
        if name in POOL_AFTER:
            x = F.max_pool2d(x, 2)
    return taps


def gram(f):
    n, c, h, w = f.shape
    m = f.reshape(c, h * w)
    return m @ m.t() / (c * h * w)


def loss_fn(x, fmt, weights, content_target, style_targets):
    # The image stays NCHW (L-BFGS flattens its gradient with view()); the
    # activations take `fmt` from the first conv on.
    taps = features(x.contiguous(memory_format=fmt), weights)
    content = CONTENT_WEIGHT * torch.mean((taps[CONTENT] - content_target) ** 2)
    style = sum(STYLE_WEIGHT * torch.mean((gram(taps[l]) - style_targets[l]) ** 2) for l in STYLE)
    _, c, h, w = x.shape
    tv = TV_WEIGHT * (torch.sum((x[:, :, 1:, :] - x[:, :, :-1, :]) ** 2) +
                      torch.sum((x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2)) / (h * w * c)
    return content + style + tv


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image-size", type=int, default=256)
    ap.add_argument("--layout", choices=["nchw", "channels_last"], default="nchw")
    ap.add_argument("--optimizer", choices=["adam", "lbfgs"], default="adam")
    ap.add_argument("--threads", type=int, default=0, help="0: PyTorch's default")
    ap.add_argument("--iterations", type=int, default=10, help="timed iterations")
    ap.add_argument("--weights", help="Keras-layout VGG16 .h5 (default: random He-normal)")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    fmt = torch.channels_last if a.layout == "channels_last" else torch.contiguous_format
    weights = load_weights(a.weights) if a.weights else random_weights()
    weights = {k: (w.to(memory_format=fmt), b) for k, (w, b) in weights.items()}
    gen = torch.Generator().manual_seed(1)
    s = a.image_size
    content = (torch.rand(1, 3, s, s, generator=gen) * 255 - 128).to(memory_format=fmt)
    style = (torch.rand(1, 3, s, s, generator=gen) * 255 - 128).to(memory_format=fmt)
    with torch.no_grad():
        content_target = features(content, weights)[CONTENT]
        style_targets = {l: gram(f) for l, f in features(style, weights).items() if l in STYLE}
    x = (torch.randn(1, 3, s, s, generator=gen) * 1e-3).requires_grad_(True)

    if a.optimizer == "adam":
        opt = torch.optim.Adam([x], lr=10.0)
        warm = 2
    else:
        opt = torch.optim.LBFGS([x], lr=1.0, max_iter=1, history_size=100, line_search_fn=None,
                                tolerance_grad=-1.0, tolerance_change=-1.0)
        warm = 101

    def closure():
        opt.zero_grad()
        loss = loss_fn(x, fmt, weights, content_target, style_targets)
        loss.backward()
        return loss

    def step():
        if a.optimizer == "adam":
            closure()
            opt.step()
        else:
            opt.step(closure)

    for _ in range(warm):
        step()
    ms = []
    for _ in range(a.iterations):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"framework": "torch", "version": torch.__version__, "layout": a.layout,
                      "optimizer": a.optimizer, "size": s, "threads": torch.get_num_threads(),
                      "median_ms": statistics.median(ms), "ms": [round(v, 2) for v in ms]}))


if __name__ == "__main__":
    main()
