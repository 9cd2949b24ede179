"""The networks of the series.

Both take raw faces, ``(N, 48, 48, 1)`` with values 0..255, and scale them with a ``Rescaling(1/255)`` first layer, so
the scaling is saved with the model. :func:`build_tutorial_cnn` is the classic FER2013 tutorial network;
:func:`build_vgg_cnn` is the VGG-style network of the pretrained model.
"""

from __future__ import annotations

import json
from typing import Sequence

import keras
from keras import layers

from .labels import NUM_CLASSES
from .preprocessing import INPUT_SHAPE

#: BatchNormalization's moving-average momentum (Keras' default is 0.99; lesson 3 explains the choice)
BN_MOMENTUM = 0.9


def conv_bn_relu(x, filters: int, name: str, weight_decay: float = 0.0):
    """3x3 ``Conv2D`` (no bias: the BatchNormalization after it has an offset) -> ``BatchNormalization`` -> ``ReLU``."""
    reg = keras.regularizers.l2(weight_decay) if weight_decay else None
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_regularizer=reg, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def classifier_head(x, units: int, dropout: float, name: str, num_classes: int):
    """``Dense`` -> ``BatchNormalization`` -> ``ReLU`` -> ``Dropout``, then a float32 softmax over the emotions."""
    x = layers.Dense(units, use_bias=False, name=name)(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    x = layers.ReLU(name=f"{name}_relu")(x)
    x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return layers.Dense(num_classes, activation="softmax", dtype="float32", name="emotion")(x)


def build_tutorial_cnn(input_shape=INPUT_SHAPE, num_classes: int = NUM_CLASSES, filters: Sequence[int] = (32, 64, 128),
                       dense_units: int = 256, dropout: float = 0.25, dense_dropout: float = 0.5,
                       name: str = "tutorial_cnn") -> keras.Model:
    """The tutorial's CNN: blocks of two ``Conv2D -> BatchNormalization -> ReLU``, ``MaxPooling2D`` and ``Dropout``,
    then ``Flatten``, a ``Dense`` layer and a softmax ``Dense`` layer with one probability per emotion."""
    inputs = keras.Input(shape=input_shape, name="face")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    for b, f in enumerate(filters, start=1):
        x = conv_bn_relu(x, f, name=f"block{b}a")
        x = conv_bn_relu(x, f, name=f"block{b}b")
        x = layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
        x = layers.Dropout(dropout, name=f"block{b}_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, classifier_head(x, dense_units, dense_dropout, "dense", num_classes), name=name)


def build_vgg_cnn(input_shape=INPUT_SHAPE, num_classes: int = NUM_CLASSES,
                  filters: Sequence[int] = (32, 64, 128, 256), convs_per_block: Sequence[int] = (1, 2, 2, 2),
                  dropout: Sequence[float] = (0.1, 0.2, 0.3, 0.4), head_units: int = 256,
                  head_dropout: float = 0.5, weight_decay: float = 0.0, name: str = "fer_vgg") -> keras.Model:
    """A VGG-style network (the pretrained model's architecture): stages of 3x3 ``Conv2D -> BatchNormalization ->
    ReLU``, each ending in pooling and dropout, then global average pooling and a small classifier head."""
    if not len(filters) == len(convs_per_block) == len(dropout):
        raise ValueError("filters, convs_per_block and dropout must have the same length")
    inputs = keras.Input(shape=input_shape, name="face")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    for b, (f, n, d) in enumerate(zip(filters, convs_per_block, dropout), start=1):
        for c in range(n):
            x = conv_bn_relu(x, f, name=f"block{b}_{c + 1}", weight_decay=weight_decay)
        x = layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
        x = layers.Dropout(d, name=f"block{b}_dropout")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, classifier_head(x, head_units, head_dropout, "head", num_classes), name=name)


MODEL_BUILDERS = {"tutorial": build_tutorial_cnn, "vgg": build_vgg_cnn}


def build_model(name: str, **kwargs) -> keras.Model:
    """Build a model by name: ``"tutorial"`` or ``"vgg"``."""
    if name not in MODEL_BUILDERS:
        raise ValueError(f"unknown model {name!r}: choose one of {sorted(MODEL_BUILDERS)}")
    return MODEL_BUILDERS[name](**kwargs)


def last_conv_layer_name(model: keras.Model) -> str:
    """Name of the last convolutional feature map (Grad-CAM's default target): the ReLU that follows the last
    ``Conv2D`` (after its BatchNormalization), or that ``Conv2D`` when no ReLU follows it."""
    convs = [i for i, layer in enumerate(model.layers) if isinstance(layer, layers.Conv2D)]
    if not convs:
        raise ValueError(f"model {model.name!r} has no Conv2D layer")
    after = [f for f in model.layers[convs[-1] + 1:convs[-1] + 3] if isinstance(f, (layers.ReLU, layers.Activation))]
    return (after or [model.layers[convs[-1]]])[0].name


def float32_model(model):
    """``model`` itself if every layer computes in float32, else a copy with float32 layers and the same weights."""
    if all(getattr(layer.dtype_policy, "name", "float32") == "float32" for layer in model.layers):
        return model
    policy = ("DTypePolicy", "FloatDTypePolicy")  # every dtype policy in the saved configuration becomes float32
    config = json.loads(model.to_json(), object_hook=lambda d: "float32" if d.get("class_name") in policy else d)
    config.pop("compile_config", None)
    copy = keras.models.model_from_json(json.dumps(config))
    copy.set_weights(model.get_weights())
    return copy
