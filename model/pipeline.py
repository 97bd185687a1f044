"""The classifier: one scikit-learn ``Pipeline`` from comments to a calibrated spam probability."""

from __future__ import annotations

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from .features import WORD_PATTERN, MetaFeatures, PrepareComments, PreparedText


def build_pipeline(*, C: float = 4.0, char_ngrams: tuple[int, int] = (2, 5), seed: int = 0) -> Pipeline:
    """An unfitted pipeline.

    Word uni- and bigrams carry phrases ("check out", "visit my"); character n-grams inside word
    boundaries carry misspellings, obfuscation and scripts the words never saw; the metadata features
    carry links, contacts and shape. The logistic regression's scores are calibrated with Platt scaling on
    out-of-fold predictions, and one regression refitted on all the data serves (``ensemble=False``), so
    the model stays one linear function that the fast path can evaluate and explain.
    """
    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    preprocessor=PreparedText(),
                    token_pattern=WORD_PATTERN,
                    ngram_range=(1, 2),
                    min_df=2,
                    sublinear_tf=True,
                    dtype=np.float64,
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    preprocessor=PreparedText(),
                    analyzer="char_wb",
                    ngram_range=char_ngrams,
                    min_df=2,
                    sublinear_tf=True,
                    dtype=np.float64,
                ),
            ),
            ("meta", MetaFeatures()),
        ]
    )
    classifier = CalibratedClassifierCV(
        LogisticRegression(C=C, class_weight="balanced", max_iter=5000, random_state=seed),
        method="sigmoid",
        cv=5,
        ensemble=False,
    )
    return Pipeline([("prepare", PrepareComments()), ("features", features), ("classifier", classifier)])


def compact(pipeline: Pipeline) -> Pipeline:
    """Drop what a fitted pipeline keeps only for introspection: each vectorizer's ``stop_words_``,
    the set of every n-gram cut by ``min_df``, which is larger than the model itself."""
    for _, transformer in pipeline.named_steps["features"].transformer_list:
        transformer.__dict__.pop("stop_words_", None)
    return pipeline
