import gc

import pytest

from model import scorer as scorer_module


def test_the_cycle_collector_is_off_while_a_batch_is_scored_and_on_again_after(scorer, monkeypatch):
    seen = []
    prepare_many = scorer_module.prepare_many
    monkeypatch.setattr(scorer_module, "prepare_many", lambda cs: (seen.append(gc.isenabled()), prepare_many(cs))[1])
    assert gc.isenabled()
    scorer.check_many(["first comment", "second comment, bit.ly/x"])
    assert seen == [False]
    assert gc.isenabled()


def test_the_cycle_collector_is_on_again_after_a_batch_that_fails(scorer, monkeypatch):
    def broken(c):
        raise RuntimeError("boom")

    monkeypatch.setattr(scorer_module, "prepare_many", broken)
    with pytest.raises(RuntimeError):
        scorer.check_many(["a comment"])
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off(scorer):
    gc.disable()
    try:
        scorer.check_many(["a comment"])
        assert not gc.isenabled()
    finally:
        gc.enable()
