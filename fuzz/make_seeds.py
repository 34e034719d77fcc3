#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus: fuzz/corpus/image (small images in every
format and variant decode_image accepts) and fuzz/corpus/weights (whole
Keras-layout files of the width-64 VGG tables the weights target loads).

The corpus is committed; run this only to change it. Needs Pillow
(`pip install pillow`) and a built nst-weights:
    python3 fuzz/make_seeds.py build/nst-weights
"""
import os
import shutil
import subprocess
import sys

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.path.join(HERE, "corpus", "image")
WEIGHTS = os.path.join(HERE, "corpus", "weights")


def gradient(w=12, h=9):
    """An RGB image whose every pixel differs, so that decoders' bugs show."""
    img = Image.new("RGB", (w, h))
    img.putdata([(x * 20 % 256, y * 28 % 256, (x * y * 7) % 256) for y in range(h) for x in range(w)])
    return img


def write_images():
    os.makedirs(IMAGES, exist_ok=True)
    rgb = gradient()
    out = lambda name: os.path.join(IMAGES, name)
    # PNG: each colour type and bit depth stb reads.
    rgb.save(out("rgb.png"))
    rgb.convert("RGBA").save(out("rgba.png"))
    rgb.convert("L").save(out("grey.png"))
    rgb.convert("LA").save(out("grey_alpha.png"))
    rgb.convert("P", palette=Image.ADAPTIVE, colors=16).save(out("palette.png"))
    rgb.convert("1").save(out("bilevel.png"))
    rgb.convert("I;16").save(out("grey16.png"))
    # JPEG: baseline 4:2:0 and 4:4:4, grey, progressive, EXIF orientation 6, CMYK.
    rgb.save(out("baseline.jpg"), quality=90)
    rgb.save(out("subsampling444.jpg"), quality=90, subsampling=0)
    rgb.convert("L").save(out("grey.jpg"), quality=90)
    rgb.save(out("progressive.jpg"), quality=90, progressive=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    rgb.save(out("exif_orientation6.jpg"), quality=90, exif=exif.tobytes())
    rgb.convert("CMYK").save(out("cmyk.jpg"), quality=90)
    # GIF: one frame, transparency, two frames.
    rgb.convert("P", palette=Image.ADAPTIVE, colors=8).save(out("palette.gif"))
    rgb.convert("P", palette=Image.ADAPTIVE, colors=8).save(out("transparent.gif"), transparency=0)
    frames = [rgb.convert("P", palette=Image.ADAPTIVE, colors=8), rgb.rotate(180).convert("P", palette=Image.ADAPTIVE, colors=8)]
    frames[0].save(out("animated.gif"), save_all=True, append_images=frames[1:], duration=50, loop=0)
    # BMP: 24-bit, 8-bit palette, 1-bit, 32-bit.
    rgb.save(out("rgb24.bmp"))
    rgb.convert("P", palette=Image.ADAPTIVE, colors=16).save(out("palette8.bmp"))
    rgb.convert("1").save(out("bilevel.bmp"))
    rgb.convert("RGBA").save(out("rgba32.bmp"))
    # TGA: raw and RLE, RGB and grey.
    rgb.save(out("raw.tga"))
    rgb.save(out("rle.tga"), compression="tga_rle")
    rgb.convert("L").save(out("grey.tga"))
    # PNM: binary P6, P5, 16-bit P5.
    rgb.save(out("rgb.ppm"))
    rgb.convert("L").save(out("grey.pgm"))
    rgb.convert("I;16").save(out("grey16.pgm"))


def write_weights(nst_weights):
    os.makedirs(WEIGHTS, exist_ok=True)
    for model in ("vgg16", "vgg19"):
        for flavor in ("keras1", "keras2"):
            path = os.path.join(WEIGHTS, f"{model}_{flavor}_width64.h5")
            subprocess.run([nst_weights, "make-random", "--model", model, "--flavor", flavor,
                            "--width-divisor", "64", "--seed", "1", "--out", path], check=True)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    write_images()
    write_weights(sys.argv[1])
    for d in (IMAGES, WEIGHTS):
        print(d, len(os.listdir(d)), "files,", sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)), "bytes")


if __name__ == "__main__":
    main()
