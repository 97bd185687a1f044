from model import artifact as store
from training.data import load
from training.train import fit


def test_training_twice_on_the_same_data_gives_the_same_model_file(tmp_path, small_dataset):
    examples = load([small_dataset])
    first = store.save(fit(examples, progress=False), tmp_path / "a", {})
    second = store.save(fit(examples, progress=False), tmp_path / "b", {})
    assert first.version == second.version
    assert (tmp_path / "a" / store.MODEL_FILE).read_bytes() == (tmp_path / "b" / store.MODEL_FILE).read_bytes()


def test_shipped_model_metadata_records_the_data_and_the_held_out_metrics():
    from model.scorer import SHIPPED_MODEL

    meta = store.read_metadata(SHIPPED_MODEL)
    assert meta["training_data"]["examples"] > 10_000 and len(meta["training_data"]["fingerprint"]) == 64
    assert 0 < meta["metrics"]["held_out"]["f1"] <= 1
    assert meta["thresholds"] == {"review": 0.5, "block": 0.97}
