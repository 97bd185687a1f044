import json
import shutil
import subprocess
import sys

from model import artifact as store
from model.scorer import SHIPPED_MODEL
from tests.conftest import ROOT


def spamgate(*args, stdin=None, check=False):
    return subprocess.run([sys.executable, "-m", "spamgate", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=300, check=check)


def test_score_writes_one_result_per_line_in_order_and_an_error_for_a_bad_line():
    lines = [
        json.dumps({"id": "a", "content": "Thanks, very useful"}),
        "{not json",
        json.dumps({"id": 3, "content": 42}),
        json.dumps({"content": "WIN cash now!!! text 87121 http://bit.ly/x"}),
    ]
    out = spamgate("score", stdin="\n".join(lines) + "\n", check=True).stdout.splitlines()
    results = [json.loads(line) for line in out]
    assert len(results) == 4
    assert results[0]["id"] == "a" and results[0]["verdict"] in {"allow", "review", "block"}
    assert results[1]["error"]["code"] == "invalid_json" and results[1]["error"]["line"] == 2
    assert results[2] == {"id": 3, "error": {"code": "invalid_comment", "message": "must be a string, not a number",
                                             "line": 3, "field": "content"}}
    assert results[3]["verdict"] != "allow"


def test_check_prints_verdict_reasons_and_links_for_a_person():
    out = spamgate("check", "nice post, visit my site", "--author-url", "ift.tt/abc", check=True).stdout
    first = out.splitlines()[0]
    assert first.split()[0] in {"ALLOW", "REVIEW", "BLOCK"}
    assert "classifier" in out
    assert "link http://ift.tt/abc" in out and "shortener" in out


def test_check_refuses_a_tampered_model_with_the_reason(tmp_path):
    shutil.copytree(SHIPPED_MODEL, tmp_path / "m")
    (tmp_path / "m" / store.MODEL_FILE).write_bytes(b"PK not a model")
    result = spamgate("check", "hello", "--model", str(tmp_path / "m"))
    assert result.returncode == 1
    assert "does not match" in result.stderr and "Traceback" not in result.stderr


def test_evaluate_prints_the_metrics(small_dataset):
    out = spamgate("evaluate", "--data", str(small_dataset), check=True).stdout
    for name in ("precision", "recall", "f1", "mcc", "ham_blocked", "roc_auc"):
        assert name in out


def test_train_publishes_then_refuses_a_worse_model_unless_forced(tmp_path, small_dataset):
    out = tmp_path / "model"
    shutil.copytree(SHIPPED_MODEL, out)
    shipped_version = store.read_metadata(out)["version"]

    refused = spamgate("train", "--data", str(small_dataset), "--out", str(out))
    assert refused.returncode == 1, refused.stderr
    assert "not published" in refused.stdout
    assert store.read_metadata(out)["version"] == shipped_version

    forced = spamgate("train", "--data", str(small_dataset), "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    meta = store.read_metadata(out)
    assert meta["version"] != shipped_version
    assert (out / "report" / "precision_recall.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "report" / "score_histogram.png").exists()
    assert store.load(out).version == meta["version"]


def test_bad_data_path_is_a_clear_error(tmp_path):
    result = spamgate("evaluate", "--data", str(tmp_path / "nope.csv"))
    assert result.returncode == 1
    assert "no such file" in result.stderr and "Traceback" not in result.stderr
