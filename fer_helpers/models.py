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
    """A VGG-style network sized for FER2013 on modest compute.

    Why this design: on FER2013 the strongest *single* networks without extra data are plain VGG-style stacks of 3x3
    convolutions with BatchNormalization (Pramerdorfer & Kampel 2016: 72.7%; Khaireddin & Chen 2021: 73.3%), ahead
    of ResNets and Inception variants of similar size, because 48x48 faces leave little room for very deep
    downsampling. We keep that recipe (four stages at 48, 24, 12 and 6 pixels, doubling the filters at each) but
    replace the large Flatten+Dense head with global average pooling, which cuts the head's weights nine-fold (the
    whole network's by about 30%) and regularises. The compute budget decides the depth: with the filters doubling
    as the maps halve, every same-width 3x3 convolution costs the same 21 million multiply-adds per face, whichever
    stage it is in, so each one we add costs about 12% of the inference throughput. The defaults (one convolution at
    48x48, two at each later stage) come to about 96 million multiply-adds per face, enough to classify 1,000 faces
    a second on 2 CPU cores (``benchmarks/bench_inference.py``), and 1,233,575 parameters: a 5 MB ``.keras`` file of
    float32 weights.
    ``convs_per_block=(2, 2, 3, 3)`` is the deeper variant (1,981,735 parameters, about 1.7x the compute).
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


def widen_weights(source: keras.Model, target: keras.Model, seed: int = 0) -> None:
    """Load ``source``'s weights into ``target``, the same network with more filters or units: Net2WiderNet.

    Chen, Goodfellow & Shlens (2016, "Net2Net") widen a trained layer without changing what the network computes:
    each extra filter is a copy of a randomly chosen existing one, and the next layer divides the weights it reads
    from each copied filter by the number of copies, so their sum is what it read before. BatchNormalization
    statistics and parameters are copied with their filters. The wider ``target`` then predicts exactly what
    ``source`` predicts (to float32 rounding) and training continues from there with the extra capacity; Dropout,
    which masks the copies independently, makes them drift apart.

    Both models must have the same layers in the same order (same names and types, a plain chain such as the
    series' two networks), every layer at least as wide as in ``source``, and the same outputs. Anything else
    raises ``ValueError`` and leaves ``target`` untouched. Widening only adds copies, so an equally wide ``target``
    simply receives ``source``'s weights.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    if len(source.layers) != len(target.layers) or any(
            (a.name, type(a)) != (b.name, type(b)) for a, b in zip(source.layers, target.layers)):
        raise ValueError(f"{target.name!r} and {source.name!r} have different layers: only the filter and unit "
                         "counts may differ")
    for what in ("input", "output"):
        a, b = (tuple(getattr(m, what + "s")[0].shape) for m in (source, target))  # Keras 3.10: .input may be a list
        if a != b:
            raise ValueError(f"{what}s differ: {a} in {source.name!r}, {b} in {target.name!r}")

    def copies(old: int, new: int, name: str):
        if new < old:
            raise ValueError(f"layer {name!r} is narrower in {target.name!r} ({new}) than in {source.name!r} ({old})")
        return np.concatenate([np.arange(old), rng.integers(0, old, new - old)])

    new_weights = {}
    mapping = None  # for each channel of the current feature map: the source channel it copies
    for src, dst in zip(source.layers, target.layers):
        weights = src.get_weights()
        if isinstance(dst, layers.Flatten):  # channels repeat at every position of the flattened map
            if mapping is not None:
                positions = int(np.prod(dst.input.shape[1:-1]))
                mapping = (np.arange(positions)[:, None] * src.input.shape[-1] + mapping[None, :]).ravel()
        elif isinstance(dst, (layers.Conv2D, layers.Dense)):
            kernel, rest = weights[0], weights[1:]
            fan_in, fan_out = dst.kernel.shape[-2], dst.kernel.shape[-1]
            rows = np.arange(fan_in) if mapping is None else mapping
            if len(rows) != fan_in:
                raise ValueError(f"layer {dst.name!r}: cannot map {len(rows)} inputs onto {fan_in}")
            count = np.bincount(rows, minlength=kernel.shape[-2])[rows]
            kernel = np.take(kernel, rows, axis=-2) / count[:, None]
            mapping = copies(kernel.shape[-1], fan_out, dst.name)
            new_weights[dst.name] = [np.take(kernel, mapping, axis=-1)] + [b[mapping] for b in rest]
        elif isinstance(dst, layers.BatchNormalization):
            new_weights[dst.name] = [w[mapping] for w in weights]
        elif weights:
            raise ValueError(f"cannot widen layer {dst.name!r} of type {type(dst).__name__}")
    for layer in target.layers:
        if layer.name in new_weights:
            layer.set_weights(new_weights[layer.name])


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


def fold_for_inference(model, compute_dtype: str = "float32"):
    """An inference-only copy of a chain-shaped model with the same predictions and less arithmetic.

    At inference a BatchNormalization layer is a fixed per-channel affine map, ``y = gamma * (x - mean) / sqrt(var +
    eps) + beta``. Right after a ``Conv2D`` or ``Dense`` it can be folded into that layer's kernel and bias (the
    classic "BN folding" that deployment tools such as TensorFlow Lite apply), which removes a full pass over every
    feature map and lets TensorFlow fuse convolution, bias and ReLU into one oneDNN kernel. The copy also folds the
    input ``Rescaling(1/255)`` into the first convolution (exact, because its zero padding is unchanged by a pure
    scale) and drops Dropout (the identity at inference). On 2 CPU cores batched float32 inference of the shipped
    model runs about 8% faster folded (1,108 against 1,029 faces/s, ``benchmarks/bench_inference.py``);
    predictions agree with ``model`` to float32 rounding.

    The copy is for prediction only: it has no BatchNormalization or Dropout left to train. ``model`` must be a
    plain chain (each layer feeding the next, as both of the series' networks are); anything else raises
    ``ValueError``, and :func:`fer_helpers.inference.predict_proba` then uses the model as it is.

    ``compute_dtype="bfloat16"`` builds the copy under the ``mixed_bfloat16`` policy: variables stay float32, every
    layer but the last computes in bfloat16, and the last layer (the softmax) runs in float32, so the probabilities
    come back as float32. On CPUs with AVX512-BF16 or AMX this roughly doubles throughput (2,241 against 1,108
    faces/s for the shipped model on 2 AMD EPYC cores) at the same PublicTest accuracy; elsewhere bfloat16 is emulated
    and slower. Probabilities then agree with ``model`` to about 1e-2, not float32 rounding.
    :func:`~fer_helpers.inference.predict_proba` uses this copy by default for large inputs on CPUs that compute
    bfloat16 natively.
    """
    import numpy as np

    policies = {"float32": "float32", "bfloat16": "mixed_bfloat16"}
    if compute_dtype not in policies:
        raise ValueError(f"compute_dtype must be 'float32' or 'bfloat16', got {compute_dtype!r}")
    policy = policies[compute_dtype]

    def dtype_before(next_index):  # the layer whose successor is chain[next_index]; the output layer stays float32
        return policy if next_index < len(chain) else "float32"

    chain = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if len(model.inputs) != 1 or len(model.outputs) != 1 or not chain:
        raise ValueError(f"model {model.name!r} is not a single-input, single-output chain")
    previous = model.inputs[0]
    for layer in chain:
        if len(layer._inbound_nodes) != 1 or layer.input is not previous:
            raise ValueError(f"model {model.name!r} is not a plain chain of layers (at {layer.name!r})")
        previous = layer.output

    def affine_of(bn):
        if bn.axis not in (-1, [-1], len(bn.input.shape) - 1, [len(bn.input.shape) - 1]):
            raise ValueError(f"{bn.name!r}: only channels-last BatchNormalization can be folded")
        var = np.asarray(bn.moving_variance, dtype=np.float64)
        gamma = np.asarray(bn.gamma, dtype=np.float64) if bn.scale else np.ones_like(var)
        beta = np.asarray(bn.beta, dtype=np.float64) if bn.center else np.zeros_like(var)
        scale = gamma / np.sqrt(var + bn.epsilon)
        return scale, beta - np.asarray(bn.moving_mean, dtype=np.float64) * scale

    x = inputs = keras.Input(shape=model.input_shape[1:], name=model.inputs[0].name)
    input_scale = None
    i = 0
    while i < len(chain):
        layer = chain[i]
        nxt = chain[i + 1] if i + 1 < len(chain) else None
        if isinstance(layer, keras.layers.Dropout):
            i += 1
            continue
        if (isinstance(layer, keras.layers.Rescaling) and i == 0
                and np.all(np.asarray(layer.offset) == 0) and np.ndim(layer.scale) == 0
                and isinstance(nxt, keras.layers.Conv2D)):
            input_scale = float(layer.scale)  # folded into the convolution that follows
            i += 1
            continue
        if type(layer) in (keras.layers.Conv2D, keras.layers.Dense):  # not subclasses: their call may differ
            kernel = np.asarray(layer.kernel, dtype=np.float64)
            bias = np.asarray(layer.bias, dtype=np.float64) if layer.use_bias else np.zeros(kernel.shape[-1])
            if input_scale is not None:
                kernel, input_scale = kernel * input_scale, None
            step = 1
            if isinstance(nxt, keras.layers.BatchNormalization) and layer.get_config()["activation"] == "linear":
                scale, shift = affine_of(nxt)
                kernel, bias = kernel * scale, bias * scale + shift
                step = 2
            config = {**layer.get_config(), "use_bias": True, "kernel_regularizer": None, "bias_regularizer": None}
            after = chain[i + step] if i + step < len(chain) else None
            if config["activation"] == "linear" and _is_plain_relu(after):
                config["activation"] = "relu"  # one fused Conv2D + bias + ReLU kernel instead of two passes
                step += 1
            config["dtype"] = dtype_before(i + step)
            new = type(layer).from_config(config)
            x = new(x)
            new.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
            i += step
            continue
        if isinstance(layer, keras.layers.BatchNormalization):
            raise ValueError(f"{layer.name!r}: BatchNormalization not directly after a Conv2D or Dense")
        config = {**layer.get_config(), "dtype": dtype_before(i + 1)}
        new = type(layer).from_config(config)
        x = new(x)
        if layer.weights:
            new.set_weights(layer.get_weights())
        i += 1
    return keras.Model(inputs, x, name=f"{model.name}_folded")


def _is_plain_relu(layer) -> bool:
    if isinstance(layer, keras.layers.ReLU):
        c = layer.get_config()
        return c.get("max_value") is None and not c.get("negative_slope") and not c.get("threshold")
    return isinstance(layer, keras.layers.Activation) and layer.get_config()["activation"] == "relu"
