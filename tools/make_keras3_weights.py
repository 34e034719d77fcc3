#!/usr/bin/env python3
"""A small Keras 3 `.weights.h5` file for tests/weights/test_keras_weights.cpp (Keras3Test).

Builds keras.applications.VGG16's conv stack (same layer names and order:
block1_conv1 ... block5_conv3, block1_pool ... block5_pool) with every width
divided by 64, seeded weights, and saves it with model.save_weights(), the
way `keras.applications.VGG16(include_top=False).save_weights("x.weights.h5")`
writes the full-size file (layers/conv2d/vars/0 kernel HWIO, vars/1 bias,
layers/conv2d_1/vars/..., each vars group named after its layer).
Biases are nonzero, so that a kernel/bias or layer mix-up shows.

    pip install keras jax h5py numpy
    KERAS_BACKEND=jax tools/make_keras3_weights.py tests/data/keras3_vgg16_w64.weights.h5
"""
import sys

import keras
import numpy as np

BLOCKS = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]


def tiny_vgg16(divisor):
    x = inputs = keras.Input((None, None, 3))
    for b, (width, convs) in enumerate(BLOCKS, start=1):
        for i in range(1, convs + 1):
            x = keras.layers.Conv2D(width // divisor, 3, padding="same", activation="relu",
                                    name="block%d_conv%d" % (b, i))(x)
        x = keras.layers.MaxPooling2D(2, strides=2, name="block%d_pool" % b)(x)
    return keras.Model(inputs, x, name="vgg16")


def main():
    keras.utils.set_random_seed(3)
    model = tiny_vgg16(64)
    rng = np.random.default_rng(3)
    for layer in model.layers:
        if layer.weights:  # nonzero biases, so that a kernel/bias mix-up shows
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel, rng.normal(0, 0.1, bias.shape).astype(np.float32)])
    model.save_weights(sys.argv[1])
    print("wrote", sys.argv[1], "with keras", keras.__version__)


if __name__ == "__main__":
    main()
