#!/usr/bin/env python3
"""Golden values for nst, computed independently in PyTorch.

Writes tests/data/golden_vgg16.h5, which tests/golden/test_golden.cpp reads
(the llm.c pattern: the reference framework writes the expected state, the
C++ test loads it and compares). The file holds:

  * a VGG16 "notop" with every channel width divided by 8 (the C++ table
    nst::vgg16_layers(8): 8, 16, 32, 64, 64 channels; 3 input channels),
    seeded He-normal kernels (std sqrt(2/(9*cin))) and N(0, 1) biases, in
    the Keras 1 layout the loader reads: root attribute `layer_names` (18
    fixed-length byte strings, pools included), per layer a group with
    `weight_names` (empty float64 array for pools, as Keras writes an empty
    list) and datasets `<layer>_W_1:0` (3,3,cin,cout) HWIO float32 and
    `<layer>_b_1:0` (cout,) float32;
  * a group /golden (the loader ignores groups that are not layers) with
    the inputs (content 34x42, style images 37x45 and 41x35, all H x W RGB
    uint8, non-square and not multiples of 16, so every floor in the pools
    is exercised; the initial image x0) and, per scenario, everything the
    engine exposes: every activation up to block5_conv1 at x0, the content
    target, the blended style Gram targets, the losses and the gradient at
    x0, the losses and image of 10 Adam steps, and those of 10 L-BFGS steps
    (torch.optim.LBFGS, lr 1, history 4, no line search, one evaluation
    per step: the history fills and then drops its oldest pair), with how
    far float32 torch lands from them at each step.

L-BFGS in float32 is chaotic here, in torch as in any engine: its first
step is min(1, 1/|g|_1) * g, about 2e-4 per pixel on images of ~100, so the
first curvature pair y = g(x1) - g(x0) is mostly float32 rounding, and
float32 torch is 3e-4 off the float64 loss by step 3 and ~1e-2 by step 10.
So the test holds the losses of steps 1 and 2 to
float32 precision (1e-5), and each later step and the final image to a multiple of float32
torch's own error at that step (datasets lbfgs_float32_torch_*_err): a
wrong direction, scale or history pops moves it by ~1e-1.

Conventions (shared/DESIGN.md, "Numerics") written out independently here:
NHWC images/activations (torch is NCHW: permuted on the way in and out),
Keras HWIO kernels -> torch OIHW via permute(3, 2, 0, 1), cross-correlation
with zero padding 1, ReLU after every conv, taps after the ReLU, 2x2
stride-2 max/avg pooling with floor, caffe preprocessing (RGB bytes -> BGR
float minus the mean B 103.939, G 116.779, R 123.68), content loss
cw * mean((F-P)^2), Gram F^T F / (C*H*W) with F viewed as (HW, C), style
loss sum over layers of sw * mean((G-A)^2), blended targets
A = sum_k w_k Gram_k / sum_k w_k with each style image at its own size,
TV tv * sum of squared vertical and horizontal differences over all
channels / (H*W*3) (a mean, as every loss), Adam exactly as torch.optim.Adam
(the optimiser used here, checked against a hand-written update), L-BFGS as
torch.optim.LBFGS, losses of a step taken before its update.

Numerics: everything is computed in float64 ("truth") from the float32
values the engine consumes (weights, x0, option values rounded to float32).
Tensors are stored as float32: the engine is float32 and the test
tolerances (>= 1e-5 relative) are 100x the float32 rounding (6e-8), so
float64 storage would double the file for nothing. Scalar losses are stored
as float64. For scale, each scenario also records as attributes
`float32_torch_err_*` how far the same computation done by PyTorch in
float32 lands from the float64 truth: the noise floor of any float32 engine.

Golden options: chosen for the test, not the CLI defaults. On this tiny
random network the loss weights must keep every term visible in the
gradient, or a bug in one term would hide inside the gradient tolerance:
content 20, style 0.02, tv 4.284 (the mean form: the old sum-form 1e-3
times the 34*42*3 values) give gradient norms within 5x of each other in
every scenario (the attribute `gradient_norm_content_style_tv` records
them). Adam's learning rate is 10: 10 float32 PyTorch steps land ~1.6e-6
from the float64 trajectory while the image moves ~40% (lr 50 would be
chaotic: float32 and float64 part by 1e-1 within 10 steps, testing
rounding, not the engine).

Deterministic: fixed seeds, one torch thread, deterministic algorithms, no
timestamps in the HDF5 objects (track_times=False, libver='earliest'), so
two runs give a bit-identical file (checked with cmp). Across machines the
kernels that the libraries pick by CPU would change the last bits of the
float64 loss sums and of the float32 comparison attributes, so the script
pins them before torch loads: OpenBLAS (Debian's torch calls it through
libblas.so.3) to its Haswell kernels on one thread, ATen to its AVX2
kernels. Any x86-64 CPU with AVX2 then gives the same file (checked on an
AVX-512 machine that OpenBLAS would otherwise drive with its Cooperlake
kernels, and with the pthread and OpenMP builds of OpenBLAS).

Generated with Debian 12's packages for /usr/bin/python3:
  python3-torch 1.13.1+dfsg-4 (torch.__version__ 1.13.0a0), python3-h5py
  3.7.0-8 (HDF5 1.10.8), python3-numpy 1.24.2.

Usage:
  apt-get install -y python3-torch python3-h5py python3-numpy
  /usr/bin/python3 tools/make_golden.py [--out tests/data/golden_vgg16.h5]
"""
import argparse
import os

# Before numpy and torch load their BLAS: the same kernels on every machine.
os.environ["OPENBLAS_CORETYPE"] = "Haswell"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["ATEN_CPU_CAPABILITY"] = "avx2"

import h5py
import numpy as np
import torch
import torch.nn.functional as F

MAGIC = 0x4E535447  # "NSTG"
VERSION = 2
WIDTH_DIVISOR = 8
WEIGHTS_SEED = 20240605
INPUTS_SEED = 7
BIAS_STD = 1.0
STEPS = 10
CONTENT_HW = (34, 42)
STYLE_HW = {"style_a": (37, 45), "style_b": (41, 35)}
X0_NOISE_STD = 16.0  # preprocessed units, added to the content
MEAN_BGR = (103.939, 116.779, 123.68)

CONTENT_LAYERS = ["block4_conv2"]
STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]

# Golden options (see the docstring). Values are rounded to float32, as the
# engine holds them, before being used or stored.
BASE_OPTIONS = dict(content_weight=20.0, style_weight=0.02, tv_weight=4.284,
                    learning_rate=10.0, beta1=0.9, beta2=0.999, eps=1e-8,
                    lbfgs_learning_rate=1.0, lbfgs_history=4)

SCENARIOS = [
    # name, style images, blend weights, pooling
    ("max_one_style", ["style_a"], [1.0], "max"),
    ("max_two_styles", ["style_a", "style_b"], [0.7, 0.3], "max"),
    ("avg_one_style", ["style_a"], [1.0], "avg"),
]


def f32(v):
    return float(np.float32(v))


def vgg16_layers(width_divisor):
    """The C++ nst::vgg16_layers(): (name, kind, cin, cout)."""
    layers, cin = [], 3
    for b, (width, convs) in enumerate(zip([64, 128, 256, 512, 512], [2, 2, 3, 3, 3])):
        cout = width // width_divisor
        for i in range(convs):
            layers.append((f"block{b + 1}_conv{i + 1}", "conv", cin, cout))
            cin = cout
        layers.append((f"block{b + 1}_pool", "pool", 0, 0))
    return layers


LAYERS = vgg16_layers(WIDTH_DIVISOR)
LAST = max(i for i, l in enumerate(LAYERS) if l[0] in CONTENT_LAYERS + STYLE_LAYERS)


def make_weights():
    rng = np.random.default_rng(WEIGHTS_SEED)
    weights = {}
    for name, kind, cin, cout in LAYERS:
        if kind != "conv":
            continue
        std = np.sqrt(2.0 / (9.0 * cin))
        kernel = (std * rng.standard_normal((3, 3, cin, cout))).astype(np.float32)
        bias = (BIAS_STD * rng.standard_normal(cout)).astype(np.float32)
        weights[name] = (kernel, bias)
    return weights


def make_images():
    """Content and style images from integer formulas plus seeded noise."""
    rng = np.random.default_rng(INPUTS_SEED)

    def grid(h, w):
        return np.meshgrid(np.arange(h), np.arange(w), indexing="ij")

    def finish(rgb):
        noise = rng.integers(-12, 13, size=rgb.shape)
        return np.clip(rgb + noise, 0, 255).astype(np.uint8)

    h, w = CONTENT_HW
    i, j = grid(h, w)
    disk = (i - 15) ** 2 + (j - 24) ** 2 < 81
    content = np.stack([i * 255 // (h - 1), j * 255 // (w - 1), ((i + j) * 5) % 256], axis=-1)
    content[disk] = [230, 200, 40]
    content[(j > 4) & (j < 11) & (i > 18)] = [20, 60, 160]

    h, w = STYLE_HW["style_a"]
    i, j = grid(h, w)
    stripes = ((i * 3 + j * 5) // 12) % 2
    style_a = np.stack([40 + 180 * stripes, 90 + 60 * (1 - stripes), (i * 7) % 256], axis=-1)

    h, w = STYLE_HW["style_b"]
    i, j = grid(h, w)
    checker = ((i // 5) + (j // 4)) % 2
    style_b = np.stack([200 - 150 * checker, (j * 255) // (w - 1), 60 + 140 * checker], axis=-1)

    images = {"content": finish(content), "style_a": finish(style_a), "style_b": finish(style_b)}
    return images, rng


def preprocess(rgb):
    """(H,W,3) RGB uint8 -> (H,W,3) BGR float64 minus the caffe mean."""
    return rgb[..., ::-1].astype(np.float64) - np.array(MEAN_BGR)


class Net:
    """The VGG stack in torch; images and activations go in and out NHWC."""

    def __init__(self, weights, pooling, dtype):
        self.dtype = dtype
        self.pooling = pooling
        self.params = {}
        for name, (kernel, bias) in weights.items():
            k = torch.tensor(kernel, dtype=dtype).permute(3, 2, 0, 1).contiguous()  # HWIO -> OIHW
            self.params[name] = (k, torch.tensor(bias, dtype=dtype))

    def forward(self, x_hwc):
        """x (H,W,3) -> {layer: (1,C,H,W)} for layers [0, LAST]."""
        t = x_hwc.permute(2, 0, 1).unsqueeze(0)
        acts = {}
        for name, kind, _, _ in LAYERS[:LAST + 1]:
            if kind == "conv":
                k, b = self.params[name]
                t = F.relu(F.conv2d(t, k, b, stride=1, padding=1))
            elif self.pooling == "max":
                t = F.max_pool2d(t, kernel_size=2, stride=2)
            else:
                t = F.avg_pool2d(t, kernel_size=2, stride=2)
            acts[name] = t
        return acts


def nhwc(t):
    return t.permute(0, 2, 3, 1)


def gram(t):
    """(1,C,H,W) -> (C,C) = F^T F / (C*H*W), F viewed as (HW, C)."""
    _, c, h, w = t.shape
    f = t.reshape(c, h * w)
    return f @ f.t() / (c * h * w)


class Problem:
    """Targets and the loss of one scenario in one dtype."""

    def __init__(self, net, images, styles, blend, opt):
        self.net, self.opt, dt = net, opt, net.dtype
        acts = net.forward(torch.tensor(preprocess(images["content"]), dtype=dt))
        self.content_targets = {l: acts[l].detach() for l in CONTENT_LAYERS}
        self.style_targets = {l: 0 for l in STYLE_LAYERS}
        for name, w in zip(styles, blend):
            acts = net.forward(torch.tensor(preprocess(images[name]), dtype=dt))
            for l in STYLE_LAYERS:
                self.style_targets[l] = self.style_targets[l] + w * gram(acts[l]).detach()
        for l in STYLE_LAYERS:
            self.style_targets[l] = self.style_targets[l] / sum(blend)

    def losses(self, x):
        """x (H,W,3) -> (content, style, tv, activations) as torch scalars."""
        o = self.opt
        acts = self.net.forward(x)
        content = sum(o["content_weight"] * torch.mean((acts[l] - self.content_targets[l]) ** 2)
                      for l in CONTENT_LAYERS)
        style = sum(o["style_weight"] * torch.mean((gram(acts[l]) - self.style_targets[l]) ** 2)
                    for l in STYLE_LAYERS)
        tv = o["tv_weight"] * (torch.sum((x[1:, :, :] - x[:-1, :, :]) ** 2) +
                               torch.sum((x[:, 1:, :] - x[:, :-1, :]) ** 2)) / x.numel()
        return content, style, tv, acts


def run_scenario(weights, images, x0, styles, blend, pooling, opt, dtype):
    """Everything the test compares, computed in `dtype`; numpy float64 out."""
    net = Net(weights, pooling, dtype)
    prob = Problem(net, images, styles, blend, opt)
    out = {}

    x = torch.tensor(x0, dtype=dtype).requires_grad_(True)
    c, s, tv, acts = prob.losses(x)
    total = c + s + tv
    total.backward()
    out["activations"] = {l: nhwc(a).detach().double().numpy() for l, a in acts.items()}
    out["content_targets"] = {l: nhwc(t).double().numpy() for l, t in prob.content_targets.items()}
    out["style_targets"] = {l: t.double().numpy() for l, t in prob.style_targets.items()}
    out["losses"] = np.array([c.item(), s.item(), tv.item(), total.item()])
    out["gradient"] = x.grad.double().numpy().copy()
    # Each term's share of the gradient, to document that none is swamped.
    out["gradient_norms"] = []
    for term in range(3):
        xt = torch.tensor(x0, dtype=dtype).requires_grad_(True)
        prob.losses(xt)[term].backward()
        out["gradient_norms"].append(float(xt.grad.norm()))

    # Adam with torch.optim.Adam, and by hand beside it as a cross-check.
    x = torch.tensor(x0, dtype=dtype).requires_grad_(True)
    adam = torch.optim.Adam([x], lr=opt["learning_rate"], betas=(opt["beta1"], opt["beta2"]),
                            eps=opt["eps"], weight_decay=0, amsgrad=False)
    xh = torch.tensor(x0, dtype=dtype)
    m = torch.zeros_like(xh)
    v = torch.zeros_like(xh)
    step_losses, step_images = [], []
    for t in range(1, STEPS + 1):
        adam.zero_grad()
        c, s, tv, _ = prob.losses(x)
        total = c + s + tv
        total.backward()
        step_losses.append([c.item(), s.item(), tv.item(), total.item()])
        g = x.grad.detach().clone()
        adam.step()
        step_images.append(x.detach().double().numpy().copy())
        # Hand-written PyTorch form: eps after the bias-corrected sqrt.
        b1, b2 = opt["beta1"], opt["beta2"]
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = (v / (1 - b2 ** t)).sqrt() + opt["eps"]
        xh = xh - opt["learning_rate"] * (m / (1 - b1 ** t)) / denom
        if dtype == torch.float64:
            diff = float((xh - x.detach()).abs().max())
            assert diff < 1e-9, f"hand-written Adam differs from torch.optim.Adam by {diff}"
        xh = x.detach().clone()  # follow torch's trajectory exactly
    out["step_losses"] = np.array(step_losses)
    out["step_images"] = np.stack(step_images)

    # L-BFGS as torch.optim.LBFGS: one closure evaluation per step() call
    # (max_iter=1), no line search, so its state carries across calls.
    x = torch.tensor(x0, dtype=dtype).requires_grad_(True)
    lbfgs = torch.optim.LBFGS([x], lr=opt["lbfgs_learning_rate"], max_iter=1,
                              history_size=int(opt["lbfgs_history"]), line_search_fn=None)
    step_losses, step_images = [], []
    for _ in range(STEPS):
        terms = []

        def closure():
            lbfgs.zero_grad()
            c, s, tv, _ = prob.losses(x)
            total = c + s + tv
            total.backward()
            terms.append([c.item(), s.item(), tv.item(), total.item()])
            return total

        lbfgs.step(closure)
        assert len(terms) == 1, "one evaluation per L-BFGS step"
        step_losses.append(terms[0])
        step_images.append(x.detach().double().numpy().copy())
    out["lbfgs_step_losses"] = np.array(step_losses)
    out["lbfgs_step_images"] = np.stack(step_images)
    return out


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def noise_floor(truth, f32out):
    """Relative errors of float32 PyTorch against the float64 truth."""
    err = {
        "activations": max(rel_err(f32out["activations"][l], truth["activations"][l])
                           for l in truth["activations"]),
        "style_targets": max(rel_err(f32out["style_targets"][l], truth["style_targets"][l])
                             for l in STYLE_LAYERS),
        "content_targets": max(rel_err(f32out["content_targets"][l], truth["content_targets"][l])
                               for l in CONTENT_LAYERS),
        "total_loss": rel_err(f32out["losses"][3], truth["losses"][3]),
        "gradient": rel_err(f32out["gradient"], truth["gradient"]),
        "step_losses": rel_err(f32out["step_losses"][:, 3], truth["step_losses"][:, 3]),
        "image_after_steps": rel_err(f32out["step_images"][-1], truth["step_images"][-1]),
        "lbfgs_step_losses": rel_err(f32out["lbfgs_step_losses"][:, 3], truth["lbfgs_step_losses"][:, 3]),
        "lbfgs_image_after_steps": rel_err(f32out["lbfgs_step_images"][-1], truth["lbfgs_step_images"][-1]),
    }
    return err


def lbfgs_noise_per_step(truth, f32out):
    """Per L-BFGS step: relative error of float32 torch's total loss and image."""
    return {
        "loss": np.array([abs(a - b) / abs(b) for a, b in
                          zip(f32out["lbfgs_step_losses"][:, 3], truth["lbfgs_step_losses"][:, 3])]),
        "image": np.array([rel_err(a, b) for a, b in
                           zip(f32out["lbfgs_step_images"], truth["lbfgs_step_images"])]),
    }


def fixed_strings(values):
    return np.array([v.encode() for v in values], dtype="S")


def write_dataset(group, name, data, dtype):
    group.create_dataset(name, data=np.ascontiguousarray(data, dtype=dtype), track_times=False)


def write_weights(f, weights):
    f.attrs["layer_names"] = fixed_strings([l[0] for l in LAYERS])
    f.attrs["backend"] = np.bytes_(b"tensorflow")
    f.attrs["keras_version"] = np.bytes_(b"1.2.2")
    for name, kind, _, _ in LAYERS:
        g = f.create_group(name)
        if kind != "conv":
            g.attrs["weight_names"] = np.zeros((0,), dtype=np.float64)  # Keras: empty list
            continue
        kernel, bias = weights[name]
        g.attrs["weight_names"] = fixed_strings([f"{name}_W_1:0", f"{name}_b_1:0"])
        write_dataset(g, f"{name}_W_1:0", kernel, np.float32)
        write_dataset(g, f"{name}_b_1:0", bias, np.float32)


def write_golden(f, images, x0, results):
    g = f.create_group("golden")
    g.attrs["magic"] = np.int32(MAGIC)
    g.attrs["version"] = np.int32(VERSION)
    g.attrs["width_divisor"] = np.int32(WIDTH_DIVISOR)
    g.attrs["weights_seed"] = np.int64(WEIGHTS_SEED)
    g.attrs["inputs_seed"] = np.int64(INPUTS_SEED)
    g.attrs["steps"] = np.int32(STEPS)
    g.attrs["generator"] = np.bytes_(
        f"tools/make_golden.py, torch {torch.__version__}, h5py {h5py.__version__}, "
        f"numpy {np.__version__}, float64".encode())
    g.attrs["scenarios"] = fixed_strings([s[0] for s in SCENARIOS])
    inputs = g.create_group("inputs")
    for name, img in images.items():
        write_dataset(inputs, name, img, np.uint8)
    write_dataset(inputs, "x0", x0, np.float32)

    for (name, styles, blend, pooling), (opt, truth, floor, floor_steps) in zip(SCENARIOS, results):
        s = g.create_group(name)
        s.attrs["styles"] = fixed_strings(styles)
        s.attrs["style_blend_weights"] = np.array([f32(w) for w in blend], dtype=np.float64)
        s.attrs["pooling"] = np.bytes_(pooling.encode())
        s.attrs["content_layers"] = fixed_strings(CONTENT_LAYERS)
        s.attrs["style_layers"] = fixed_strings(STYLE_LAYERS)
        for k, v in opt.items():
            s.attrs[k] = np.float64(v)
        s.attrs["activation_layers"] = fixed_strings(list(truth["activations"]))
        s.attrs["gradient_norm_content_style_tv"] = np.array(truth["gradient_norms"])
        for k, v in floor.items():
            s.attrs[f"float32_torch_err_{k}"] = np.float64(v)
        for group_name in ("activations", "content_targets", "style_targets"):
            sub = s.create_group(group_name)
            for layer, t in truth[group_name].items():
                write_dataset(sub, layer, t, np.float32)
        write_dataset(s, "losses", truth["losses"], np.float64)  # content, style, tv, total
        write_dataset(s, "gradient", truth["gradient"], np.float32)
        write_dataset(s, "step_losses", truth["step_losses"], np.float64)  # (steps, 4)
        write_dataset(s, "step_images", truth["step_images"], np.float32)  # (steps, H, W, 3)
        write_dataset(s, "lbfgs_step_losses", truth["lbfgs_step_losses"], np.float64)
        write_dataset(s, "lbfgs_step_images", truth["lbfgs_step_images"], np.float32)
        # Per step, how far float32 torch's L-BFGS lands from this float64
        # trajectory: the test's tolerance is a multiple of it (see above).
        write_dataset(s, "lbfgs_float32_torch_loss_err", floor_steps["loss"], np.float64)
        write_dataset(s, "lbfgs_float32_torch_image_err", floor_steps["image"], np.float64)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(root, "tests", "data", "golden_vgg16.h5"))
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    weights = make_weights()
    images, rng = make_images()
    x0 = (preprocess(images["content"]) + X0_NOISE_STD * rng.standard_normal(
        CONTENT_HW + (3,))).astype(np.float32)
    opt = {k: f32(v) for k, v in BASE_OPTIONS.items()}

    results = []
    for name, styles, blend, pooling in SCENARIOS:
        blend = [f32(w) for w in blend]
        truth = run_scenario(weights, images, x0, styles, blend, pooling, opt, torch.float64)
        lowp = run_scenario(weights, images, x0, styles, blend, pooling, opt, torch.float32)
        floor = noise_floor(truth, lowp)
        floor_steps = lbfgs_noise_per_step(truth, lowp)
        results.append((opt, truth, floor, floor_steps))
        if not args.quiet:
            c, s, tv, total = truth["losses"]
            print(f"{name}: losses at x0 content {c:.6g} style {s:.6g} tv {tv:.6g} total {total:.6g}; "
                  f"after {STEPS} steps total {truth['step_losses'][-1, 3]:.6g}")
            print("  gradient norms (content, style, tv): " +
                  ", ".join(f"{n:.4g}" for n in truth["gradient_norms"]))
            print(f"  {STEPS} steps moved the image by {rel_err(x0, truth['step_images'][-1]):.3g} relative; "
                  "total loss per step: " + " ".join(f"{v:.5g}" for v in truth["step_losses"][:, 3]))
            print(f"  L-BFGS: {STEPS} steps moved the image by "
                  f"{rel_err(x0, truth['lbfgs_step_images'][-1]):.3g} relative; total loss per step: " +
                  " ".join(f"{v:.5g}" for v in truth["lbfgs_step_losses"][:, 3]))
            print("  float32 torch vs float64: " + ", ".join(f"{k} {v:.2e}" for k, v in floor.items()))

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    tmp = args.out + ".tmp"
    with h5py.File(tmp, "w", libver="earliest") as f:
        write_weights(f, weights)
        write_golden(f, images, x0, results)
    os.replace(tmp, args.out)
    if not args.quiet:
        print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
