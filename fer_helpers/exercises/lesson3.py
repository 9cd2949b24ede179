"""Exercises of lesson 3: the CNN's layers, built with keras.Sequential, and their parameter counts.

Their hints and worked solutions are in lesson3.md.
"""

import numbers

import keras

from .core import Exercise, exercise, fail, layers_of, need

REQUIRED = ("Conv2D", "BatchNormalization", "MaxPooling2D", "Dropout")


@exercise(3, 1)
def q1(model):
    need(model, keras.Model, "a Keras model (keras.Sequential([...]))")
    if not model.built or not model.inputs:
        fail("your model has no input shape yet: start the Sequential with keras.Input(shape=(48, 48, 1))")
    shape = tuple(model.inputs[0].shape[1:])
    if shape != (48, 48, 1):
        fail(f"the input shape is {shape}: a face is 48x48 with one gray channel, keras.Input(shape=(48, 48, 1))")
    if tuple(model.outputs[0].shape[1:]) != (7,):
        fail(f"the output shape is {tuple(model.outputs[0].shape[1:])}: the last layer needs one unit per emotion, "
             "Dense(7, activation='softmax')")
    last = layers_of(model)[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", type(last).__name__.lower())
    if activation != "softmax":
        fail(f"the last layer's activation is {activation!r}: use activation='softmax' so that the seven outputs "
             "are probabilities that add up to 1")
    kinds = {type(layer).__name__ for layer in layers_of(model)}
    if not set(REQUIRED) <= kinds:
        fail(f"your model has no {', '.join(k for k in REQUIRED if k not in kinds)} layer: a block is Conv2D -> "
             "BatchNormalization -> ReLU, then MaxPooling2D and Dropout (see 'The whole network')")
    if not kinds & {"Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D"}:
        fail("the feature maps reach the Dense layers without Flatten (or GlobalAveragePooling2D)")
    return f"{model.count_params():,} parameters, input (48, 48, 1), 7 softmax outputs"


def count(answer, expected: int, explain: dict) -> str:
    """Check a parameter count; `explain` maps typical wrong counts to what was missed."""
    need(answer, numbers.Real, "a number of parameters")
    if answer != expected:
        fail(explain.get(answer, f"{answer:,} is not it. Check your answer with Keras: build the layer on an input "
                                 "of the right shape, then .count_params()"))
    return f"{expected:,} parameters"


@exercise(3, 2)
def q2(answer):
    return count(answer, 3 * 3 * 32 * 64 + 64, {
        3 * 3 * 32 * 64: "you forgot the biases: one per filter, 64 more",
        3 * 3 * 64 + 64: "each 3x3 kernel spans all 32 input channels: 3 x 3 x 32 weights per filter",
        3 * 3 * 64: "each 3x3 kernel spans all 32 input channels (3 x 3 x 32 weights per filter), plus 64 biases",
        3 * 3 * 32 + 64: "there is one 3x3x32 kernel per filter, and 64 filters"})


@exercise(3, 3)
def q3(answer):
    return count(answer, 6 * 6 * 128 * 256 + 256, {
        6 * 6 * 128 * 256: "you forgot the 256 biases",
        6 * 6 * 256 + 256: "Flatten keeps all 128 channels: 6 x 6 x 128 = 4,608 inputs per unit",
        128 * 256 + 256: "that is what GlobalAveragePooling2D would give (one value per channel); "
                         "Flatten passes all 6 x 6 x 128 = 4,608 values"})


q4 = Exercise(3, 4)  # answered in words
