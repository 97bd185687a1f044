import gc

import pytest

from model import scorer as scorer_module


def test_the_cycle_collector_is_off_while_a_batch_is_scored_and_on_again_after(scorer, monkeypatch):
    seen = []
    prepare = scorer_module.prepare
    monkeypatch.setattr(scorer_module, "prepare", lambda c: (seen.append(gc.isenabled()), prepare(c))[1])
    assert gc.isenabled()
    scorer.check_many(["first comment", "second comment, bit.ly/x"])
    assert seen == [False, False]
    assert gc.isenabled()


def test_the_cycle_collector_is_on_again_after_a_batch_that_fails(scorer, monkeypatch):
    def broken(c):
        raise RuntimeError("boom")

    monkeypatch.setattr(scorer_module, "prepare", broken)
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
