"""Exercises of lesson 6: evaluation with predictions, classification_report and the confusion matrix.

Their hints and worked solutions are in lesson6.md.
"""

import numpy as np

from .core import Exercise, exercise, fail, need, need_function, tiny_model

# The toy predictions of the notebook's worked example: 4 Happy, 3 Angry, 1 Disgust, 2 Neutral faces.
Y_TRUE = [3, 3, 3, 3, 0, 0, 0, 1, 6, 6]
Y_PRED = [3, 3, 3, 0, 0, 0, 3, 0, 6, 3]


@exercise(6, 1)
def q1(matrix):
    matrix = np.asarray(matrix)
    if matrix.shape != (7, 7):
        fail(f"expected 7x7, one row and column per emotion, got {matrix.shape}: confusion_matrix keeps only the "
             "classes that occur unless you pass labels=range(7)")
    if not np.array_equal(matrix, np.round(matrix)):
        fail("these are shares (normalize='true'); the exercise asks for counts: leave normalize out")
    expected = np.zeros((7, 7), dtype=int)
    np.add.at(expected, (Y_TRUE, Y_PRED), 1)
    if np.array_equal(matrix, expected.T):
        fail("rows and columns are swapped: rows are the true classes, confusion_matrix(y_true, y_pred), "
             "true labels first")
    if not np.array_equal(matrix, expected):
        fail(f"the counts differ: the matrix adds up to {matrix.sum()} faces (expected {len(Y_TRUE)}); "
             "use the y_true and y_pred of the worked example")
    return "rows are the true classes, columns the predictions; the diagonal holds the 6 correct faces"


@exercise(6, 2)
def q2(answer):
    if isinstance(answer, dict) and {"Angry", "0"} & set(answer):  # a whole classification_report(output_dict=True)
        answer = answer.get("Angry", answer.get("0"))
    need(answer, dict, "a dict {'precision': ..., 'recall': ...} (or classification_report(..., output_dict=True))")
    precision, recall = float(answer["precision"]), float(answer["recall"])
    if np.allclose([precision, recall], [2 / 3, 2 / 4]):
        fail("precision and recall are swapped: precision = of the faces CALLED Angry, the share that is Angry; "
             "recall = of the faces that ARE Angry, the share found")
    if not np.isclose(precision, 2 / 4):
        fail(f"precision {precision:.3f} is not it: count the faces predicted Angry (label 0), then how many "
             "of them are truly Angry")
    if not np.isclose(recall, 2 / 3):
        fail(f"recall {recall:.3f} is not it: count the truly Angry faces, then how many were predicted Angry")
    return "Angry: precision 0.50 (2 of 4 called Angry), recall 0.67 (2 of 3 found)"


@exercise(6, 3)
def q3(predict_labels):
    need_function(predict_labels, "predict_labels(model, images)")
    images = np.random.default_rng(6).integers(0, 256, (10, 48, 48), dtype=np.uint8)  # as faces.images
    model = tiny_model(seed=6)
    expected = np.asarray(model(images[..., None].astype("float32"))).argmax(axis=1)
    got = np.asarray(predict_labels(model, images))
    if got.shape == (len(images), 7):
        fail("these are the seven probabilities per face: return the labels, np.argmax(probabilities, axis=1)")
    if got.shape == (7,):
        fail("you took argmax over axis 0 (one face per class): use axis=1, one label per face")
    if got.shape != (len(images),):
        fail(f"expected one label per face, shape ({len(images)},), got {got.shape}")
    if not np.array_equal(got, expected):
        fail("the labels differ from the model's own: predict on images[..., np.newaxis] (0..255: the model "
             "rescales itself), then np.argmax(..., axis=1)")
    return "one label per face, the class with the highest probability"


q4 = Exercise(6, 4)  # answered in words
