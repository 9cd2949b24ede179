"""Exercises of lesson 6: evaluation with predictions, classification_report and the confusion matrix."""

import numpy as np

from ._base import CodingExercise, Mistake, ThoughtExercise, fail

# The toy predictions of the notebook's worked example: 4 Happy, 3 Angry, 1 Disgust, 2 Neutral faces.
Y_TRUE = [3, 3, 3, 3, 0, 0, 0, 1, 6, 6]
Y_PRED = [3, 3, 3, 0, 0, 0, 3, 0, 6, 3]


def _expected_matrix():
    matrix = np.zeros((7, 7), dtype=int)
    for t, p in zip(Y_TRUE, Y_PRED):
        matrix[t, p] += 1
    return matrix


def _check_matrix(matrix):
    matrix = np.asarray(matrix)
    expected = _expected_matrix()
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        fail(f"expected a square matrix, got shape {matrix.shape}")
    if matrix.shape == (4, 4):
        fail("only 4 rows: confusion_matrix keeps only the classes that occur; pass labels=range(7) so that every "
             "emotion has its row and column")
    if matrix.shape != (7, 7):
        fail(f"expected 7x7, one row and column per emotion, got {matrix.shape}: pass labels=range(7)")
    if matrix.dtype.kind == "f" and np.allclose(matrix.sum(axis=1)[matrix.sum(axis=1) > 0], 1):
        fail("these are shares (normalize='true'); the exercise asks for counts: leave normalize out")
    if np.array_equal(matrix, expected.T):
        fail("rows and columns are swapped: rows are the true classes, confusion_matrix(y_true, y_pred), "
             "true labels first")
    if not np.array_equal(matrix, expected):
        fail(f"the counts differ: the matrix adds up to {matrix.sum()} faces (expected {len(Y_TRUE)}); "
             "use the y_true and y_pred of the worked example")
    return "rows are the true classes, columns the predictions; the diagonal holds the 6 correct faces"


def _matrix(transpose=False, labels=range(7), normalize=None):
    from sklearn.metrics import confusion_matrix

    args = (Y_PRED, Y_TRUE) if transpose else (Y_TRUE, Y_PRED)
    return confusion_matrix(*args, labels=list(labels) if labels is not None else None, normalize=normalize)


q1 = CodingExercise(
    lesson=6, number=1, title="the confusion matrix of the worked example with scikit-learn",
    hint_text="sklearn.metrics.confusion_matrix(y_true, y_pred, labels=range(7)): the true labels come first, "
              "and labels= keeps a row for every emotion, even the absent ones.",
    solution_text=("from sklearn.metrics import confusion_matrix\n\n"
                   "y_true = [3, 3, 3, 3, 0, 0, 0, 1, 6, 6]\ny_pred = [3, 3, 3, 0, 0, 0, 3, 0, 6, 3]\n"
                   "answer = confusion_matrix(y_true, y_pred, labels=range(7))\nex.q1.check(answer)"),
    validate=_check_matrix,
    make_reference=_matrix,
    mistakes=[
        Mistake("swapped", lambda: _matrix(transpose=True), "swapped"),
        Mistake("no labels", lambda: _matrix(labels=None), "labels=range(7)"),
        Mistake("normalised", lambda: _matrix(normalize="true"), "shares"),
    ],
)

ANGRY = {"precision": 2 / 4, "recall": 2 / 3}


def _check_angry(answer):
    if isinstance(answer, dict) and ("Angry" in answer or "0" in answer or 0 in answer):
        answer = answer.get("Angry", answer.get("0", answer.get(0)))  # a whole classification_report(output_dict=True)
    if not isinstance(answer, dict) or not {"precision", "recall"} <= set(answer):
        fail("expected a dict {'precision': ..., 'recall': ...} (or classification_report(..., output_dict=True))")
    precision, recall = float(answer["precision"]), float(answer["recall"])
    if np.isclose(precision, ANGRY["recall"]) and np.isclose(recall, ANGRY["precision"]):
        fail("precision and recall are swapped: precision = of the faces CALLED Angry, the share that is Angry; "
             "recall = of the faces that ARE Angry, the share found")
    if not np.isclose(precision, ANGRY["precision"]):
        fail(f"precision {precision:.3f} is not it: count the faces predicted Angry (label 0), then how many "
             "of them are truly Angry")
    if not np.isclose(recall, ANGRY["recall"]):
        fail(f"recall {recall:.3f} is not it: count the truly Angry faces, then how many were predicted Angry")
    return "Angry: precision 0.50 (2 of 4 called Angry), recall 0.67 (2 of 3 found)"


def _report():
    from sklearn.metrics import classification_report

    return classification_report(Y_TRUE, Y_PRED, labels=[0, 1, 3, 6], target_names=["Angry", "Disgust", "Happy",
                                 "Neutral"], output_dict=True, zero_division=0)


q2 = CodingExercise(
    lesson=6, number=2, title="precision and recall of Angry in the worked example",
    hint_text="classification_report(y_true, y_pred, output_dict=True, zero_division=0) gives both, per class; or "
              "count by hand: precision divides by the faces predicted Angry, recall by the faces that are Angry.",
    solution_text=("from sklearn.metrics import classification_report\n\n"
                   "report = classification_report(y_true, y_pred, output_dict=True, zero_division=0)\n"
                   "answer = {\"precision\": report[\"0\"][\"precision\"], \"recall\": report[\"0\"][\"recall\"]}\n"
                   "ex.q2.check(answer)   # precision 2/4, recall 2/3"),
    validate=_check_angry,
    make_reference=lambda: {"precision": 0.5, "recall": 2 / 3},
    mistakes=[
        Mistake("swapped", lambda: {"precision": 2 / 3, "recall": 0.5}, "swapped"),
        Mistake("accuracy", lambda: {"precision": 0.6, "recall": 0.6}, "predicted Angry (label 0)"),
        Mistake("a number", lambda: 0.5, "expected a dict"),
    ],
)


def _tiny_model(images, labels):
    """A template matcher as a Keras model: its predictions vary from face to face, without any training."""
    import keras

    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
                              keras.layers.Dense(7, activation="softmax")])
    flat = images.reshape(len(images), -1).astype("float32") / 255
    templates = np.stack([flat[labels == k][0] for k in range(7)]) - flat.mean(axis=0)
    kernel = 0.02 * templates.T
    model.layers[-1].set_weights([kernel, -flat.mean(axis=0) @ kernel])  # as if the faces were centred
    return model


def _check_predict(func):
    if not callable(func):
        fail(f"expected a function predict_labels(model, images), got a {type(func).__name__}")
    from ..synthetic import generate_faces

    images, labels = generate_faces(2, seed=6)  # (14, 48, 48) uint8, as in faces.images
    model = _tiny_model(images, labels)
    expected = np.asarray(model(images[..., None].astype("float32"), training=False)).argmax(axis=1)
    got = np.asarray(func(model, images))
    if got.shape == (len(images), 7):
        fail("these are the seven probabilities per face: return the labels, np.argmax(probabilities, axis=1)")
    if got.shape == (7,):
        fail("you took argmax over axis 0 (one face per class): use axis=1, one label per face")
    if got.shape != (len(images),):
        fail(f"expected one label per face, shape ({len(images)},), got {got.shape}")
    if not np.array_equal(got.astype(int), expected):
        fail("the labels differ from the model's own: predict on images[..., np.newaxis] (0..255: the model "
             "rescales itself), then np.argmax(..., axis=1)")
    return "one label per face, the class with the highest probability"


q3 = CodingExercise(
    lesson=6, number=3, title="a function that turns a model's probabilities into labels",
    hint_text="model.predict takes (N, 48, 48, 1); it returns (N, 7) probabilities; np.argmax(..., axis=1) picks "
              "the most probable emotion of each face.",
    solution_text=("def predict_labels(model, images):\n"
                   "    probabilities = model.predict(images[..., np.newaxis], verbose=0)\n"
                   "    return np.argmax(probabilities, axis=1)\n\n"
                   "answer = predict_labels\nex.q3.check(answer)"),
    validate=_check_predict,
    make_reference=lambda: (lambda model, images: model.predict(images[..., None], verbose=0).argmax(axis=1)),
    mistakes=[
        Mistake("probabilities", lambda: (lambda model, images: model.predict(images[..., None], verbose=0)),
                "seven probabilities"),
        Mistake("axis 0", lambda: (lambda model, images: model.predict(images[..., None], verbose=0).argmax(axis=0)),
                "axis=1"),
        Mistake("divided twice", lambda: (lambda model, images: model.predict(images[..., None] / 255.0, verbose=0)
                                          .argmax(axis=1)), "rescales itself"),
    ],
)

q4 = ThoughtExercise(
    lesson=6, number=4, title="the baselines an accuracy must beat",
    hint_text="What does guessing score, and what does always answering the most common class score?",
    solution_text=("Two baselines that need no learning: guessing at random is right 1 time in 7 (14.3%), and "
                   "always answering the most common class scores that class's share: Happy, about 25% on FER2013 "
                   "(on the balanced embedded faces the two are the same). A model's accuracy means something only "
                   "well above both, and even then per-class recall shows whether a rare class (Disgust) is "
                   "recognised at all or simply sacrificed."),
)
