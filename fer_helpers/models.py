"""The networks of the series.

Both models take raw faces, shape ``(N, 48, 48, 1)`` with pixel values 0..255 (see :mod:`fer_helpers.preprocessing`),
and scale them with a ``Rescaling(1/255)`` layer as their first step. The scaling is therefore saved with the model:
whoever loads a ``.keras`` file feeds it the same 0..255 faces and cannot get the normalisation wrong.

* :func:`build_tutorial_cnn`: the classic FER2013 tutorial network, written so that every layer the tutorial explains
  (Conv2D, BatchNormalization, ReLU, MaxPooling2D, Dropout, Flatten, Dense) appears in it exactly once per role.
* :func:`build_default_cnn`: the stronger network the pretrained model uses (see its docstring for why this design).
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

from .labels import NUM_CLASSES
from .preprocessing import INPUT_SHAPE


#: BatchNormalization's moving-average momentum. Keras' default, 0.99, needs several hundred steps before the
#: moving statistics used at inference match the data, which makes short runs look broken on validation;
#: 0.9 (PyTorch's default, written the other way round as 0.1) adapts within tens of steps.
BN_MOMENTUM = 0.9


def _conv_bn_relu(x, filters: int, name: str, weight_decay: float = 0.0):
    """Conv2D -> BatchNormalization -> ReLU.

    The convolution has no bias because the BatchNormalization right after it adds its own learned offset (beta).
    """
    reg = keras.regularizers.l2(weight_decay) if weight_decay else None
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_regularizer=reg, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_tutorial_cnn(
    input_shape: tuple[int, int, int] = INPUT_SHAPE,
    num_classes: int = NUM_CLASSES,
    filters: Sequence[int] = (32, 64, 128),
    dense_units: int = 256,
    dropout: float = 0.25,
    dense_dropout: float = 0.5,
    name: str = "tutorial_cnn",
) -> keras.Model:
    """The tutorial's CNN: convolutional blocks, then Flatten and Dense layers.

    Each block is ``Conv2D -> BatchNormalization -> ReLU`` twice, then ``MaxPooling2D`` (halves height and width) and
    ``Dropout``. After the last block ``Flatten`` unrolls the feature maps into one vector, a ``Dense`` layer (with
    BatchNormalization, ReLU and a stronger Dropout) combines them, and a final ``Dense`` layer with ``softmax`` gives
    one probability per emotion. With the defaults and 48x48 input it has 1,470,247 parameters.
    """
    inputs = keras.Input(shape=input_shape, name="face")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    for b, f in enumerate(filters, start=1):
        x = _conv_bn_relu(x, f, name=f"block{b}a")
        x = _conv_bn_relu(x, f, name=f"block{b}b")
        x = layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
        x = layers.Dropout(dropout, name=f"block{b}_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, use_bias=False, name="dense")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="dense_bn")(x)
    x = layers.ReLU(name="dense_relu")(x)
    x = layers.Dropout(dense_dropout, name="dense_dropout")(x)
    # float32 output even under a mixed-precision policy: softmax in bfloat16 loses too much precision
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name=name)


def build_default_cnn(
    input_shape: tuple[int, int, int] = INPUT_SHAPE,
    num_classes: int = NUM_CLASSES,
    filters: Sequence[int] = (32, 64, 128, 256),
    convs_per_block: Sequence[int] = (1, 2, 2, 2),
    dropout: Sequence[float] = (0.1, 0.2, 0.3, 0.4),
    head_units: int = 256,
    head_dropout: float = 0.5,
    weight_decay: float = 0.0,
    name: str = "fer_vgg",
) -> keras.Model:
    """A VGG-style network sized for FER2013 on modest compute (the pretrained model's architecture).

    Four stages of 3x3 ``Conv2D -> BatchNormalization -> ReLU`` at 48, 24, 12 and 6 pixels, the filters doubling at
    each (VGG-style stacks are the strongest single networks on FER2013: Pramerdorfer & Kampel 2016, Khaireddin &
    Chen 2021), then global average pooling instead of a large Flatten+Dense head. With the defaults it has
    1,233,575 parameters; ``convs_per_block=(2, 2, 3, 3)`` is a deeper variant (1,981,735).
    """
    if not (len(filters) == len(convs_per_block) == len(dropout)):
        raise ValueError("filters, convs_per_block and dropout must have the same length")
    inputs = keras.Input(shape=input_shape, name="face")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    for b, (f, n, d) in enumerate(zip(filters, convs_per_block, dropout), start=1):
        for c in range(n):
            x = _conv_bn_relu(x, f, name=f"block{b}_{c + 1}", weight_decay=weight_decay)
        x = layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
        x = layers.Dropout(d, name=f"block{b}_dropout")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(head_units, use_bias=False, name="head")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="head_bn")(x)
    x = layers.ReLU(name="head_relu")(x)
    x = layers.Dropout(head_dropout, name="head_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name=name)


MODEL_BUILDERS = {"tutorial": build_tutorial_cnn, "default": build_default_cnn}


def build_model(name: str, **kwargs) -> keras.Model:
    """Build a model by name: ``"tutorial"`` or ``"default"``."""
    if name not in MODEL_BUILDERS:
        raise ValueError(f"unknown model {name!r}: choose one of {sorted(MODEL_BUILDERS)}")
    return MODEL_BUILDERS[name](**kwargs)


def last_conv_layer_name(model: keras.Model, activated: bool = True) -> str:
    """Name of the last convolutional feature map: Grad-CAM's default target.

    With ``activated=True`` (default) this is the output of the last convolution *after* its BatchNormalization and
    ReLU (in our models ``Conv2D -> BN -> ReLU``), the feature map the classifier actually reads, as in the
    Grad-CAM paper; with ``False`` the raw Conv2D output.
    """
    names = [layer.name for layer in model.layers]
    for i in range(len(model.layers) - 1, -1, -1):
        if isinstance(model.layers[i], layers.Conv2D):
            if activated:
                for follower in model.layers[i + 1:i + 3]:
                    if isinstance(follower, (layers.ReLU, layers.Activation)):
                        return follower.name
            return names[i]
    raise ValueError(f"model {model.name!r} has no Conv2D layer")


def float32_model(model):
    """``model`` itself if every layer computes in float32, else a float32 copy with the same weights.

    A model trained with mixed precision keeps ``mixed_bfloat16``/``mixed_float16`` policies in its layers' saved
    configuration. Such layers compute in 16-bit floats: emulated (slowly) on CPUs without bfloat16 support, less
    precise, and TensorFlow Lite cannot convert them. The copy is rebuilt from the architecture with every layer's
    ``dtype`` set to ``"float32"``; its weights (stored in float32 either way) are copied over unchanged.
    """
    import json

    import keras

    if all(getattr(layer.dtype_policy, "name", "float32") == "float32" for layer in model.layers):
        return model

    def to_float32(node):
        if isinstance(node, dict):
            if node.get("class_name") == "DTypePolicy" or node.get("class_name") == "FloatDTypePolicy":
                return "float32"
            return {k: (to_float32(v) if k != "compile_config" else v) for k, v in node.items()}
        if isinstance(node, list):
            return [to_float32(v) for v in node]
        return node

    config = to_float32(json.loads(model.to_json()))
    config.pop("compile_config", None)
    copy = keras.models.model_from_json(json.dumps(config))
    copy.set_weights(model.get_weights())
    return copy
