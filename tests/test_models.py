import pytest

from fer_helpers.models import build_model, build_tutorial_cnn, build_vgg_cnn


def test_the_networks_have_the_parameter_counts_of_the_lessons():
    assert build_tutorial_cnn().count_params() == 1_470_247
    assert build_vgg_cnn().count_params() == 1_233_575
    assert build_vgg_cnn(convs_per_block=(2, 2, 3, 3)).count_params() == 1_981_735


def test_build_model_names_the_choices():
    assert build_model("tutorial", filters=(4, 4, 4), dense_units=8).name == "tutorial_cnn"
    with pytest.raises(ValueError, match=r"unknown model 'vgg16': choose one of \['tutorial', 'vgg'\]"):
        build_model("vgg16")
