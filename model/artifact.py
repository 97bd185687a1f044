"""The model on disk: a folder with ``model.skops`` and ``metadata.json``.

skops stores the fitted pipeline without pickle, so loading a file cannot run code: only the types named
in ``TRUSTED_TYPES`` (our own transformers; skops trusts scikit-learn's and NumPy's) are rebuilt, and a
file that asks for any other type is refused. Before that, the file's SHA-256 must match the one in
``metadata.json`` and the scikit-learn that wrote it must be the one loading it (same major.minor: fitted
estimators are not portable across releases).
"""

from __future__ import annotations

import copy
import hashlib
import json
import io
import os
import platform
import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy
import scipy
import sklearn
import skops
import skops.io
from sklearn.pipeline import Pipeline

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
FORMAT = 1
TRUSTED_TYPES = frozenset(
    {
        "model.features.MetaFeatures",
        "model.features.PrepareComments",
        "model.features.PreparedText",
    }
)
# scikit-learn's private calibration classes, which skops does not trust by default.
_LIBRARY_TYPES = frozenset({"sklearn.calibration._CalibratedClassifier", "sklearn.calibration._SigmoidCalibration"})


class ArtifactError(Exception):
    """An artifact that cannot be loaded; the message says why and what to do."""


@dataclass(frozen=True)
class Artifact:
    pipeline: Pipeline
    metadata: dict
    path: Path

    @property
    def version(self) -> str:
        return self.metadata["version"]


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "skops": skops.__version__,
    }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save(pipeline: Pipeline, folder: str | Path, metadata: dict) -> Artifact:
    """Write the pipeline and its metadata into ``folder``; the version is derived from the model
    file's hash, so the same model always gets the same version and a different one never does.

    Both files are written beside their final names and renamed into place, model first, so a reader
    never sees a metadata file naming a model that is not there yet.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    blob = _canonical(skops.io.dumps(_pack(pipeline)))
    sha = hashlib.sha256(blob).hexdigest()
    full = {
        "format": FORMAT,
        "version": f"sg-{sha[:12]}",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model_file": MODEL_FILE,
        "model_sha256": sha,
        "libraries": library_versions(),
        **metadata,
    }
    _write_atomic(folder / MODEL_FILE, blob)
    _write_atomic(folder / METADATA_FILE, (json.dumps(full, indent=2, ensure_ascii=False) + "\n").encode())
    return Artifact(pipeline, full, folder)


def read_metadata(folder: str | Path) -> dict:
    path = Path(folder) / METADATA_FILE
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{path}: no metadata; is {folder} a spamgate model folder?") from None
    except (OSError, ValueError) as e:
        raise ArtifactError(f"{path}: unreadable metadata ({e})") from None


def load(folder: str | Path) -> Artifact:
    """Load and check an artifact. Raises ArtifactError with the reason if anything is off."""
    folder = Path(folder)
    metadata = read_metadata(folder)
    _check_compatible(metadata, folder)
    model_path = folder / metadata.get("model_file", MODEL_FILE)
    try:
        blob = model_path.read_bytes()
    except OSError as e:
        raise ArtifactError(f"{model_path}: cannot read the model file ({e.strerror})") from None
    actual = hashlib.sha256(blob).hexdigest()
    if actual != metadata.get("model_sha256"):
        raise ArtifactError(
            f"{model_path}: SHA-256 {actual[:16]}... does not match metadata.json "
            f"({str(metadata.get('model_sha256'))[:16]}...); the file was changed or damaged, refusing to load it"
        )
    try:
        untrusted = set(skops.io.get_untrusted_types(data=blob))
    except Exception as e:  # a damaged zip or schema: skops raises many kinds
        raise ArtifactError(f"{model_path}: not a readable skops file ({e})") from None
    unexpected = untrusted - TRUSTED_TYPES - _LIBRARY_TYPES
    if unexpected:
        raise ArtifactError(f"{model_path}: refuses to load types it does not know: {', '.join(sorted(unexpected))}")
    try:
        pipeline = skops.io.loads(blob, trusted=sorted(untrusted))
    except Exception as e:
        raise ArtifactError(f"{model_path}: could not be loaded ({e})") from None
    if not isinstance(pipeline, Pipeline):
        raise ArtifactError(f"{model_path}: holds a {type(pipeline).__name__}, not a Pipeline")
    _check_measures(pipeline, model_path)
    return Artifact(_unpack(pipeline), metadata, folder)


def _check_measures(pipeline: Pipeline, model_path: Path) -> None:
    """The model's numeric features must be the ones this code computes (they are code, not data)."""
    from .features import META_FEATURES, MetaFeatures

    for _, step in pipeline.named_steps["features"].transformer_list:
        if isinstance(step, MetaFeatures) and len(step.mean_) != len(META_FEATURES):
            raise ArtifactError(
                f"{model_path}: trained with {len(step.mean_)} numeric features, this spamgate computes "
                f"{len(META_FEATURES)}; retrain it with `spamgate train`")


def _check_compatible(metadata: dict, folder: Path) -> None:
    if metadata.get("format") != FORMAT:
        raise ArtifactError(f"{folder}: artifact format {metadata.get('format')!r}, this spamgate reads {FORMAT}")
    saved = str(metadata.get("libraries", {}).get("scikit-learn", "unknown"))
    if _major_minor(saved) != _major_minor(sklearn.__version__):
        raise ArtifactError(
            f"{folder}: trained with scikit-learn {saved}, but {sklearn.__version__} is installed; fitted models "
            f"do not carry across scikit-learn releases. Install scikit-learn=={saved} or retrain with "
            "`spamgate train`."
        )


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def _vectorizers(pipeline: Pipeline) -> list:
    return [t for _, t in pipeline.named_steps["features"].transformer_list if hasattr(t, "idf_")]


def _pack(pipeline: Pipeline) -> Pipeline:
    """A copy whose vectorizers hold their vocabulary as an array of terms in column order.

    skops writes a dict as one JSON node per entry; for a vocabulary of 100,000 n-grams that is 80 MB of
    JSON and three seconds to load. As one NumPy string array it is a single .npy member.
    """
    packed = copy.deepcopy(pipeline)
    for vectorizer in _vectorizers(packed):
        # A cache sklearn sets whenever an analyzer is built: an id(), different in every process.
        vectorizer.__dict__.pop("_stop_words_id", None)
        vocabulary = vectorizer.__dict__.pop("vocabulary_")
        terms = [""] * len(vocabulary)
        for term, column in vocabulary.items():
            terms[column] = term
        vectorizer.vocabulary_terms_ = numpy.array(terms, dtype=str)
    return packed


def _unpack(pipeline: Pipeline) -> Pipeline:
    for vectorizer in _vectorizers(pipeline):
        terms = vectorizer.__dict__.pop("vocabulary_terms_", None)
        if terms is None:
            raise ArtifactError("a vectorizer in the model has no vocabulary")
        vectorizer.vocabulary_ = {term: column for column, term in enumerate(terms.tolist())}
    return pipeline


def _canonical(blob: bytes) -> bytes:
    """The same skops archive with stable member names and timestamps.

    skops names array files after ``id()`` of the arrays, so two saves of one model differ byte for
    byte. Renaming them in order of first mention and fixing the zip timestamps makes equal models equal
    files, so the SHA-256 (and the version made from it) identifies the model itself.
    """
    with zipfile.ZipFile(io.BytesIO(blob)) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    schema = members.pop("schema.json").decode()
    renames: dict[str, str] = {}
    for name in re.findall(r'"(\d+\.npy)"', schema):
        renames.setdefault(name, f"{len(renames):06d}.npy")
    schema = re.sub(r'"(\d+\.npy)"', lambda m: f'"{renames[m.group(1)]}"', schema)
    # Object ids (``"__id__": 140474089228224``) tie references together; any consistent numbering will do.
    ids: dict[str, str] = {}
    schema = re.sub(r'"__id__": (\d+)', lambda m: f'"__id__": {ids.setdefault(m.group(1), str(len(ids)))}', schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, data in [("schema.json", schema.encode())] + sorted((renames[n], d) for n, d in members.items()):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, data, compresslevel=9)
    return out.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
