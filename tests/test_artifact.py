import json
import shutil

import pytest
import skops.io
from sklearn.base import BaseEstimator, TransformerMixin

from model import artifact as store
from model.scorer import SHIPPED_MODEL, Scorer


@pytest.fixture
def model_copy(tmp_path):
    target = tmp_path / "model"
    shutil.copytree(SHIPPED_MODEL, target)
    return target


def test_shipped_model_loads_and_names_its_version():
    loaded = store.load(SHIPPED_MODEL)
    assert loaded.version.startswith("sg-")
    assert loaded.metadata["model_sha256"] == store.file_sha256(SHIPPED_MODEL / store.MODEL_FILE)
    for key in ("created", "training_data", "libraries", "metrics", "thresholds"):
        assert key in loaded.metadata


def test_a_changed_byte_in_the_model_file_is_refused(model_copy):
    path = model_copy / store.MODEL_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(store.ArtifactError, match="does not match"):
        store.load(model_copy)


def test_a_model_from_another_scikit_learn_is_refused_with_advice(model_copy):
    meta_path = model_copy / store.METADATA_FILE
    meta = json.loads(meta_path.read_text())
    meta["libraries"]["scikit-learn"] = "0.24.2"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(store.ArtifactError, match=r"scikit-learn 0\.24\.2.*retrain"):
        store.load(model_copy)


class Smuggled(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


def test_a_model_file_with_an_unknown_type_is_refused_even_with_a_matching_hash(model_copy, scorer):
    pipeline = scorer.artifact.pipeline
    pipeline.steps.insert(0, ("smuggled", Smuggled()))
    try:
        store.save(pipeline, model_copy, {})
    finally:
        pipeline.steps.pop(0)
    with pytest.raises(store.ArtifactError, match="Smuggled"):
        store.load(model_copy)


def test_saving_the_same_model_twice_gives_the_same_file_and_version(tmp_path, scorer):
    first = store.save(scorer.artifact.pipeline, tmp_path / "a", {})
    second = store.save(scorer.artifact.pipeline, tmp_path / "b", {})
    assert first.version == second.version
    assert (tmp_path / "a" / store.MODEL_FILE).read_bytes() == (tmp_path / "b" / store.MODEL_FILE).read_bytes()


def test_a_saved_model_scores_as_the_original(tmp_path, scorer):
    store.save(scorer.artifact.pipeline, tmp_path / "m", {})
    reloaded = Scorer.load(tmp_path / "m")
    text = "Free entry! text WIN to 87121 http://bit.ly/x"
    assert reloaded.check(text)["spam_probability"] == scorer.check(text)["spam_probability"]


def test_model_file_is_not_a_pickle():
    data = (SHIPPED_MODEL / store.MODEL_FILE).read_bytes()
    assert data[:2] == b"PK"  # a zip of JSON and .npy files
    assert skops.io.get_untrusted_types(data=data)  # our own transformers must be named to load
