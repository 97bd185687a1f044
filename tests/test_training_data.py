import json

import pytest

from training.data import DataError, LoadReport, load
from training.train import family_weights, split


def test_csv_with_named_columns_and_every_label_spelling(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("body,kind\nhello there,ham\nbuy now,SPAM\nok,0\nwin,1\nfine,false\nfree,True\n")
    examples = load([path], text_column="body", label_column="kind")
    assert [ex.label for ex in examples] == [0, 1, 0, 1, 0, 1]
    assert examples[1].comment == {"content": "buy now"}
    assert examples[1].origin == f"{path}:3"


def test_tsv_and_jsonl_find_usual_column_names(tmp_path):
    tsv = tmp_path / "t.tsv"
    tsv.write_text("label\ttext\nspam\tcall now\nham\tsee you\n")
    jsonl = tmp_path / "j.jsonl"
    jsonl.write_text(json.dumps({"content": "nice", "label": "ham", "author_url": "x.com"}) + "\n")
    examples = load([tsv, jsonl])
    assert [(ex.comment["content"], ex.label) for ex in examples] == [("call now", 1), ("see you", 0), ("nice", 0)]
    assert examples[2].comment["author_url"] == "x.com"


def test_bad_rows_are_reported_with_file_and_line_and_skipped(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"content": "a", "label": "spam"}\nnot json\n{"content": "b", "label": "maybe"}\n'
                    '{"content": "", "label": "ham"}\n[1]\n{"content": "c", "label": "ham"}\n')
    report = LoadReport()
    examples = load([path], report=report)
    assert [ex.comment["content"] for ex in examples] == ["a", "c"]
    assert [line.split(": ", 1)[0] for line in report.bad_rows] == [f"{path}:{n}" for n in (2, 3, 4, 5)]
    assert f"{path}:3" in capsys.readouterr().err


def test_csv_row_with_wrong_number_of_cells_is_reported(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("text,label\nok,ham\ntoo,many,cells\nfine,spam\n")
    report = LoadReport()
    assert len(load([path], report=report)) == 2
    assert report.bad_rows == [f"{path}:3: wrong number of columns"]


def test_missing_label_column_is_an_error_naming_the_columns(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("text,verdict\nok,ham\n")
    with pytest.raises(DataError, match="no label column.*verdict"):
        load([path])


def test_shared_data_loads_all_three_folders(examples):
    families = {(ex.family, ex.label) for ex in examples}
    assert families == {("youtube", 0), ("youtube", 1), ("sms", 0), ("sms", 1)}
    assert sum(ex.family == "youtube" for ex in examples) == 1586
    assert sum(ex.comment.get("lang") == "hi" for ex in examples) == 5572


def test_hindi_translation_shares_the_group_of_its_english_message(examples):
    english = {}
    for ex in examples:
        if ex.family == "sms" and ex.comment.get("lang") != "hi":
            english.setdefault(ex.group, []).append(ex)
    hindi = [ex for ex in examples if ex.comment.get("lang") == "hi"]
    assert all(ex.group in english for ex in hindi)
    # Spot check: translations keep numbers, so a Hindi row with a long number has it in its group.
    with_numbers = [ex for ex in hindi if "87121" in ex.comment["content"]]
    assert with_numbers and all(any("87121" in e.comment["content"] for e in english[ex.group]) for ex in with_numbers)


def test_split_keeps_groups_whole_and_holds_out_one_video(examples):
    train, test = split(examples)
    train_groups, test_groups = {ex.group for ex in train}, {ex.group for ex in test}
    assert not train_groups & test_groups
    assert len({ex.group for ex in test if ex.family == "youtube"}) == 1
    assert 0.15 < len(test) / len(examples) < 0.3
    assert split(list(reversed(examples)))[1] and {ex.group for ex in split(list(reversed(examples)))[1]} == test_groups


def test_family_weights_give_sms_no_more_weight_than_the_comments(examples):
    weights = family_weights(examples)
    totals = {}
    for ex, w in zip(examples, weights):
        totals[ex.family] = totals.get(ex.family, 0.0) + w
    assert totals["sms"] == pytest.approx(totals["youtube"])
    assert weights.mean() == pytest.approx(1.0)


def test_moderator_feedback_weighs_like_a_youtube_comment(examples):
    from training.data import Example

    feedback = [Example({"content": f"report {i}"}, 1, f"feedback.jsonl/{i}", "f:1") for i in range(10)]
    weights = family_weights(examples + feedback)
    youtube = next(w for ex, w in zip(examples, weights) if ex.family == "youtube")
    assert weights[-1] == pytest.approx(youtube)
    assert weights[-10:].sum() / weights.sum() < 0.01
