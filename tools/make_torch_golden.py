#!/usr/bin/env python3
"""Golden values for `nst-weights import` of torchvision VGG state dicts.

Writes into tests/data/, for tests/weights/test_torch_import.cpp:

  * torch_vgg16_w32_zip.pth and torch_vgg16_w32_legacy.pth: the state dict
    of a torchvision-shaped VGG16 (features = Conv2d/ReLU/MaxPool2d in
    torchvision's order, avgpool, a classifier whose keys nst must ignore)
    with every width divided by 32 (nst::vgg16_layers(32): 2, 4, 8, 16, 16
    channels) so that each file is ~60 KB, seeded weights (kernels
    N(0, 2/(9 cin)), biases N(0, 0.1^2)), saved by torch.save in the zip
    format and in the legacy one (_use_new_zipfile_serialization=False, as
    torchvision's own vgg16-397923af.pth is);
  * torch_vgg19_w64_zip.pth: the same for VGG19 at width/64, for the model
    detection and the VGG19 conv indices;
  * torch_vgg16_golden.h5: a 29x37 RGB uint8 image (/image, H x W x 3,
    non-square, not a multiple of 16) and, for several layers up to
    block5_conv1, the post-ReLU activations PyTorch computes in float64 from
    it, as (H, W, C) float32:
      /exact/<layer>: torchvision's normalisation (RGB / 255, minus mean,
        over std), but block1_conv1's input padded with the value caffe-space
        zero has in torch space, (caffe_mean[2-c]/255 - mean[c]) / std[c].
        That is what the engine computes with the folded weights, exactly, so
        this tests the fold, the OIHW -> HWIO transposition, the conv order
        and the RGB -> BGR swap;
      /plain/<layer>: torchvision run the torchvision way (zero padding in
        torch space), which differs at the image border only.

Needs PyTorch, h5py and numpy only (Debian: python3-torch python3-h5py
python3-numpy). Deterministic: the same versions write the same values.

    tools/make_torch_golden.py [--out tests/data]
    tools/make_torch_golden.py --measure-border WEIGHTS.h5 IMAGE_SIZE
        prints how far torchvision's plain run is from the folded one at each
        layer, for a real Keras-1 VGG16 file (e.g. shared/weights/
        hed_vgg16_notop.h5, turned into torchvision's convention by undoing
        the fold) on a seeded smooth random image of IMAGE_SIZE^2 pixels.
"""
import argparse
import io
import os

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = (0.485, 0.456, 0.406)  # RGB
STD = (0.229, 0.224, 0.225)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
VGG19_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
GOLDEN_LAYERS = ["block1_conv1", "block1_conv2", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]


class TorchvisionVgg(nn.Module):
    """torchvision.models.vgg's module tree (same attribute names and order)."""

    def __init__(self, cfg, divisor, classes=3):
        super().__init__()
        layers, cin = [], 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(cin, v // divisor, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                cin = v // divisor
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        hidden = 8
        self.classifier = nn.Sequential(nn.Linear(cin, hidden), nn.ReLU(True), nn.Dropout(),
                                        nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(),
                                        nn.Linear(hidden, classes))


def keras_names(cfg):
    """Keras layer name of each module of `features` that ends a conv's ReLU or is a pool."""
    names, block, conv = {}, 1, 1
    i = 0
    for v in cfg:
        if v == "M":
            names[i] = "block%d_pool" % block
            block, conv, i = block + 1, 1, i + 1
        else:
            names[i + 1] = "block%d_conv%d" % (block, conv)  # the ReLU after the conv
            conv, i = conv + 1, i + 2
    return names


def seeded_vgg(cfg, divisor, seed):
    torch.manual_seed(seed)
    m = TorchvisionVgg(cfg, divisor)
    with torch.no_grad():
        for mod in m.features:
            if isinstance(mod, nn.Conv2d):
                mod.weight.normal_(0, (2.0 / (9 * mod.in_channels)) ** 0.5)
                mod.bias.normal_(0, 0.1)
    return m.eval()


def torch_padding_value():
    """Caffe-space zero (pixel = caffe mean) expressed in torch's normalised RGB space."""
    return [(CAFFE_MEAN_BGR[2 - c] / 255.0 - MEAN[c]) / STD[c] for c in range(3)]


def normalised(rgb_u8):
    """(H,W,3) uint8 RGB -> (1,3,H,W) float64 torchvision input."""
    x = torch.from_numpy(rgb_u8.astype(np.float64) / 255.0).permute(2, 0, 1)[None]
    mean = torch.tensor(MEAN, dtype=torch.float64)[None, :, None, None]
    std = torch.tensor(STD, dtype=torch.float64)[None, :, None, None]
    return (x - mean) / std


def activations(model, cfg, x, first_pad):
    """Post-ReLU outputs by Keras name. first_pad: per-channel value block1_conv1's
    input is padded with (None: torch's zero padding)."""
    names = keras_names(cfg)
    out = {}
    for i, mod in enumerate(model.features):
        if i == 0 and first_pad is not None:
            h, w = x.shape[2], x.shape[3]
            padded = torch.tensor(first_pad, dtype=x.dtype)[None, :, None, None].repeat(1, 1, h + 2, w + 2)
            padded[:, :, 1:-1, 1:-1] = x
            x = F.conv2d(padded, mod.weight, mod.bias)
        else:
            x = mod(x)
        if i in names:
            out[names[i]] = x[0].permute(1, 2, 0).contiguous().numpy()  # (H,W,C)
            if names[i] == "block5_conv1":  # the deepest tap; a 29-pixel image has no block5_pool
                break
    return out


def save_state_dict(model, path, legacy):
    buf = io.BytesIO()  # torch.save to a path names the zip's folder after the file; the bytes are the same otherwise
    torch.save(model.state_dict(), buf, _use_new_zipfile_serialization=not legacy)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def write_golden(out):
    model = seeded_vgg(VGG16_CFG, 32, seed=1614)
    save_state_dict(model, os.path.join(out, "torch_vgg16_w32_zip.pth"), legacy=False)
    save_state_dict(model, os.path.join(out, "torch_vgg16_w32_legacy.pth"), legacy=True)
    save_state_dict(seeded_vgg(VGG19_CFG, 64, seed=1915), os.path.join(out, "torch_vgg19_w64_zip.pth"), legacy=False)

    image = np.random.default_rng(29).integers(0, 256, size=(29, 37, 3), dtype=np.uint8)
    m64 = model.double()
    x = normalised(image)
    with torch.no_grad():
        exact = activations(m64, VGG16_CFG, x, torch_padding_value())
        plain = activations(m64, VGG16_CFG, x, None)
    with h5py.File(os.path.join(out, "torch_vgg16_golden.h5"), "w") as f:
        f.attrs["width_divisor"] = 32
        f.attrs.create("torch_version", data=str(torch.__version__), dtype=h5py.string_dtype())
        f.create_dataset("image", data=image)
        for group, acts in (("exact", exact), ("plain", plain)):
            g = f.create_group(group)
            for name in GOLDEN_LAYERS:
                g.create_dataset(name, data=acts[name].astype(np.float32))
    for name in GOLDEN_LAYERS:
        d = plain[name] - exact[name]
        print("%-13s rel diff plain vs exact %.3e (whole map)" % (name, np.linalg.norm(d) / np.linalg.norm(exact[name])))


def unfolded_from_keras(path):
    """A real Keras-1 VGG16 (caffe convention) as a torchvision VGG16 (normalised RGB): the fold undone."""
    model = TorchvisionVgg(VGG16_CFG, 1).double().eval()
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    names = [n for n in keras_names(VGG16_CFG).values() if "conv" in n]
    shift = torch.tensor(torch_padding_value(), dtype=torch.float64)
    with h5py.File(path, "r") as f, torch.no_grad():
        for conv, name in zip(convs, names):
            g = f[name]
            wn = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["weight_names"]]
            w = torch.from_numpy(g[wn[0]][()].astype(np.float64)).permute(3, 2, 0, 1)  # HWIO -> OIHW
            b = torch.from_numpy(g[wn[1]][()].astype(np.float64))
            if conv is convs[0]:
                std = torch.tensor(STD, dtype=torch.float64)
                w = w.flip(1) * 255.0 * std[None, :, None, None]  # BGR -> RGB, undo / (255 std)
                b = b - (w * shift[None, :, None, None]).sum(dim=(1, 2, 3))
            conv.weight.copy_(w)
            conv.bias.copy_(b)
    return model


def measure_border(weights, size):
    model = unfolded_from_keras(weights)
    rng = np.random.default_rng(5)
    # Smooth random picture (bilinear upsampled noise): closer to a photo than white noise.
    coarse = torch.from_numpy(rng.uniform(0, 255, size=(1, 3, size // 16, size // 16)))
    image = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)[0].permute(1, 2, 0)
    image = image.round().clamp(0, 255).numpy().astype(np.uint8)
    x = normalised(image)
    with torch.no_grad():
        exact = activations(model, VGG16_CFG, x, torch_padding_value())
        plain = activations(model, VGG16_CFG, x, None)
    print("image %dx%d, weights %s" % (size, size, weights))
    for name in ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block4_conv2", "block5_conv1"]:
        e, p = exact[name], plain[name]
        d = p - e
        border = np.zeros(e.shape[:2], bool)
        border[0, :] = border[-1, :] = border[:, 0] = border[:, -1] = True
        changed = (np.abs(d).max(axis=2) > 1e-6 * np.abs(e).max()).mean()
        print("%-13s rel L2 diff %.3e; max |diff| %.3g vs max |act| %.3g; outermost ring max |diff| %.3g;"
              " %.1f%% of positions differ" % (name, np.linalg.norm(d) / np.linalg.norm(e), np.abs(d).max(),
                                                np.abs(e).max(), np.abs(d[border]).max(), 100 * changed))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data"))
    ap.add_argument("--measure-border", nargs=2, metavar=("WEIGHTS", "SIZE"))
    a = ap.parse_args()
    if a.measure_border:
        measure_border(a.measure_border[0], int(a.measure_border[1]))
    else:
        write_golden(a.out)


if __name__ == "__main__":
    main()
