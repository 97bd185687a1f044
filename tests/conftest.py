"""Shared fixtures: the shipped model, the shared data, a small labelled set for quick trainings."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"


def require_shared_data() -> Path:
    if not (SHARED_DATA / "youtube-spam-collection").is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}: these tests need the labelled data beside the "
                    "repository (../shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_shared_data()


@pytest.fixture(scope="session")
def examples(shared_data):
    from training.data import load

    return load([shared_data])


@pytest.fixture(scope="session")
def scorer():
    from model.scorer import Scorer

    return Scorer.load()


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory, examples) -> Path:
    """About 600 labelled comments of every family as JSON Lines, enough to train in seconds."""
    rng = random.Random(7)
    picked = rng.sample(examples, 600)
    path = tmp_path_factory.mktemp("data") / "small.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for ex in picked:
            f.write(json.dumps({**ex.comment, "label": "spam" if ex.label else "ham", "group": ex.group},
                               ensure_ascii=False) + "\n")
    return path
