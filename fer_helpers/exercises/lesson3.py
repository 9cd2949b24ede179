"""Exercises of lesson 3: the CNN's layers, built with keras.Sequential, and their parameter counts."""

from ._base import CodingExercise, Mistake, ThoughtExercise, fail

REQUIRED = ("Conv2D", "BatchNormalization", "MaxPooling2D", "Dropout")


def _all_layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        if hasattr(layer, "layers"):  # a nested Sequential block
            yield from _all_layers(layer)


def _output_activation(model):
    last = model.layers[-1]
    while hasattr(last, "layers") and last.layers:
        last = last.layers[-1]
    name = type(last).__name__
    if name == "Softmax":
        return "softmax"
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", str(activation))


def _check_model(model):
    import keras

    if not isinstance(model, keras.Model):
        fail(f"expected a Keras model (keras.Sequential([...])), got a {type(model).__name__}")
    if not model.built or not model.inputs:
        fail("your model has no input shape yet: start the Sequential with keras.Input(shape=(48, 48, 1))")
    shape = tuple(model.inputs[0].shape[1:])
    if shape == (48, 48, 3):
        fail("the input has 3 channels, but the faces are gray: keras.Input(shape=(48, 48, 1))")
    if shape != (48, 48, 1):
        fail(f"the input shape is {shape}, expected (48, 48, 1): one 48x48 gray face with its channel axis")
    out = tuple(model.outputs[0].shape[1:])
    if out != (7,):
        fail(f"the output shape is {out}: the last layer needs one unit per emotion, Dense(7, activation='softmax')")
    activation = _output_activation(model)
    if activation != "softmax":
        fail(f"the last layer's activation is {activation!r}: use activation='softmax' so that the seven outputs "
             "are probabilities that add up to 1")
    kinds = {type(layer).__name__ for layer in _all_layers(model)}
    missing = [kind for kind in REQUIRED if kind not in kinds]
    if missing:
        fail(f"your model has no {', '.join(missing)} layer: a block is Conv2D -> BatchNormalization -> ReLU, "
             "then MaxPooling2D and Dropout (see 'The whole network')")
    if not kinds & {"Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D"}:
        fail("the feature maps reach the Dense layers without Flatten (or GlobalAveragePooling2D)")
    return f"{model.count_params():,} parameters, input (48, 48, 1), 7 softmax outputs"


def _model(input_shape=(48, 48, 1), last=None, skip=()):
    import keras
    from keras import layers

    stack = [keras.Input(shape=input_shape), layers.Rescaling(1 / 255),
             layers.Conv2D(16, 3, padding="same"), layers.BatchNormalization(), layers.ReLU(),
             layers.MaxPooling2D(2), layers.Dropout(0.25),
             layers.Flatten(), layers.Dense(32, activation="relu"),
             last if last is not None else layers.Dense(7, activation="softmax")]
    return keras.Sequential([layer for layer in stack if type(layer).__name__ not in skip])


q1 = CodingExercise(
    lesson=3, number=1, title="a small CNN of your own with keras.Sequential",
    hint_text="keras.Sequential([keras.Input(shape=(48, 48, 1)), layers.Rescaling(1 / 255), layers.Conv2D(...), "
              "layers.BatchNormalization(), layers.ReLU(), layers.MaxPooling2D(2), layers.Dropout(0.25), "
              "layers.Flatten(), layers.Dense(...), layers.Dense(7, activation='softmax')])",
    solution_text=("from keras import layers\n\n"
                   "answer = keras.Sequential([\n"
                   "    keras.Input(shape=(48, 48, 1)),\n"
                   "    layers.Rescaling(1 / 255),\n"
                   "    layers.Conv2D(32, 3, padding=\"same\"), layers.BatchNormalization(), layers.ReLU(),\n"
                   "    layers.MaxPooling2D(2), layers.Dropout(0.25),\n"
                   "    layers.Conv2D(64, 3, padding=\"same\"), layers.BatchNormalization(), layers.ReLU(),\n"
                   "    layers.MaxPooling2D(2), layers.Dropout(0.25),\n"
                   "    layers.Flatten(),\n"
                   "    layers.Dense(128, activation=\"relu\"), layers.Dropout(0.5),\n"
                   "    layers.Dense(7, activation=\"softmax\"),\n"
                   "])\nanswer.summary()\nex.q1.check(answer)"),
    validate=_check_model,
    make_reference=_model,
    mistakes=[
        Mistake("colour input", lambda: _model(input_shape=(48, 48, 3)), "3 channels"),
        Mistake("no softmax", lambda: _model(last=__import__("keras").layers.Dense(7)), "activation='softmax'"),
        Mistake("six outputs", lambda: _model(last=__import__("keras").layers.Dense(6, activation="softmax")),
                "one unit per emotion"),
        Mistake("no batch norm", lambda: _model(skip=("BatchNormalization",)), "no BatchNormalization"),
        Mistake("no input", lambda: __import__("keras").Sequential([__import__("keras").layers.Dense(7)]),
                "keras.Input(shape=(48, 48, 1))"),
    ],
)


def _count(answer, expected, explain):
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) and not hasattr(answer, "__int__"):
        fail(f"expected a number of parameters, got a {type(answer).__name__}")
    value = int(answer)
    if value != answer:
        fail(f"{answer} is not a whole number: parameters are counted, not measured")
    if value == expected:
        return f"{expected:,} parameters"
    for wrong, message in explain:
        if value == wrong:
            fail(message)
    fail(f"{value:,} is not it. Check your answer with keras: build the layer, call it on a batch of the right "
         "shape, then .count_params()")


CONV = 3 * 3 * 32 * 64 + 64


def _check_conv(answer):
    return _count(answer, CONV, [
        (3 * 3 * 32 * 64, "you forgot the biases: one per filter, 64 more"),
        (3 * 3 * 64 + 64, "each 3x3 kernel spans all 32 input channels: 3 x 3 x 32 weights per filter"),
        (3 * 3 * 64, "each 3x3 kernel spans all 32 input channels (3 x 3 x 32 weights per filter), plus 64 biases"),
        (3 * 3 * 32 + 64, "there is one 3x3x32 kernel per filter, and 64 filters"),
    ])


q2 = CodingExercise(
    lesson=3, number=2, title="the parameters of Conv2D(64, 3) on 32 input channels, by hand",
    hint_text="Each of the 64 filters has a 3x3 kernel over all 32 input channels, plus one bias.",
    solution_text=("answer = 3 * 3 * 32 * 64 + 64   # 18,496\nex.q2.check(answer)\n\n"
                   "# check with Keras:\nconv = keras.layers.Conv2D(64, 3)\nconv.build((None, 12, 12, 32))\n"
                   "print(conv.count_params())"),
    validate=_check_conv,
    make_reference=lambda: CONV,
    mistakes=[
        Mistake("no biases", lambda: 3 * 3 * 32 * 64, "biases"),
        Mistake("one input channel", lambda: 3 * 3 * 64 + 64, "all 32 input channels"),
        Mistake("a string", lambda: "18496", "expected a number"),
    ],
)

DENSE = 6 * 6 * 128 * 256 + 256


def _check_dense(answer):
    return _count(answer, DENSE, [
        (6 * 6 * 128 * 256, "you forgot the 256 biases"),
        (6 * 6 * 256 + 256, "Flatten keeps all 128 channels: 6 x 6 x 128 = 4,608 inputs per unit"),
        (128 * 256 + 256, "that is what GlobalAveragePooling2D would give (one value per channel); "
                          "Flatten passes all 6 x 6 x 128 = 4,608 values"),
    ])


q3 = CodingExercise(
    lesson=3, number=3, title="the parameters of Dense(256) after Flatten on 6x6x128 feature maps",
    hint_text="Flatten turns the 6x6x128 maps into one vector; every one of the 256 units has a weight for each "
              "value of it, and a bias.",
    solution_text="answer = 6 * 6 * 128 * 256 + 256   # 1,179,904: most of the tutorial CNN\nex.q3.check(answer)",
    validate=_check_dense,
    make_reference=lambda: DENSE,
    mistakes=[
        Mistake("no biases", lambda: 6 * 6 * 128 * 256, "256 biases"),
        Mistake("global pooling", lambda: 128 * 256 + 256, "GlobalAveragePooling2D"),
        Mistake("one channel", lambda: 6 * 6 * 256 + 256, "all 128 channels"),
    ],
)

q4 = ThoughtExercise(
    lesson=3, number=4, title="where the million weights go with GlobalAveragePooling2D",
    hint_text="Compare ld.parameter_table(build_tutorial_cnn()) with ld.parameter_table(build_default_cnn()).",
    solution_text=("In the tutorial CNN the Flatten -> Dense(256) connection alone has 6 x 6 x 128 x 256 + 256 = "
                   "1,179,904 weights, four fifths of the network. GlobalAveragePooling2D replaces each 6x6 map by "
                   "its average, so the Dense layer gets 128 (or as many as there are channels) inputs instead of "
                   "4,608: 36 times fewer weights. The network can then spend its weights on more convolution "
                   "filters, which see the face, and has fewer weights to overfit with; the price is that the exact "
                   "position of a feature inside the last maps is averaged away."),
)
