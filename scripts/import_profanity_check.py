"""Import alt-profanity-check's model into kidshield as a small numpy table (a one-off).

alt-profanity-check 1.9.1 (PyPI, MIT; Victor Zhou, Menelaos Kotoglou, Dimitrios Mistriotis) is
a TfidfVectorizer (word unigrams) and a CalibratedClassifierCV of 5 LinearSVC with sigmoid
calibrators, trained on Davidson et al.'s tweets and Wikipedia toxic comments. Shipping the two
joblib files would make kidshield depend on scikit-learn and joblib at run time and unpickle
code; the numbers are all that is needed. This script reads them once and writes, into the
package's model folder:

* ``profanity.npz``: ``vocabulary`` (the words, in column order), ``idf``, ``coef`` (5 x words),
  ``intercept``, ``cal_a`` and ``cal_b`` (the sigmoid calibrators, p = 1/(1 + exp(a*f + b)));
* ``profanity-LICENSE.txt``: the package's MIT licence, which must travel with the numbers;
* ``profanity.json``: where the numbers came from and a sha256 per file (the loader refuses a
  changed or missing file, naming it);

and ``tests/safety/text/data/profanity_expected.json``: the package's own ``predict_prob`` on a
fixed list of texts, which the numpy scorer (:mod:`kidshield.safety.text.profanity`) must match
to 1e-9 in CI without the package.

Needs the wheel unpacked (``pip download alt-profanity-check==1.9.1 --no-deps``, unzip) and
scikit-learn and joblib (the ``[train]`` extra):

    .venv/bin/python scripts/import_profanity_check.py --package /tmp/apc
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "kidshield" / "safety" / "text" / "models"
FIXTURE = ROOT / "tests" / "safety" / "text" / "data" / "profanity_expected.json"
CORPUS = ROOT / "tests" / "safety" / "text" / "corpus"
VERSION = "1.9.1"

# edge cases for the tokeniser and the arithmetic, beside the test corpus's messages
EDGE_TEXTS = [
    "",
    "   ",
    "a",
    "the and of to",  # stop words only: an empty vector
    "!!!???",
    "FUCK",
    "fuck fuck fuck fuck",
    "fuck you",
    "Fuck_you",
    "f u c k",
    "you're an idiot",
    "you are a complete idiot and everyone hates you",
    "shut up shut up shut up",
    "I love my cat",
    "stupid game, stupid rules",
    "bitch",
    "bitches ain't loyal",
    "ass",
    "assignment due tomorrow",
    "Scunthorpe",
    "hello\nworld\ttab",
    "naïve café résumé",
    "ДУРАК идиот",
    "これはテストです",
    "12 34 567 a1 b2",
    "@someone you suck",
    "#hashtag #loser",
    "http://example.com/fuck",
    "what the hell",
    "damn that was close",
    "kill yourself",
    "go die",
    "I'm going to kill you in this round lol",
    "ur so dumb lmao",
    "x" * 500,
    "dumb " * 40,
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def corpus_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted(CORPUS.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                texts.append(line)
    return texts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--package", type=Path, required=True,
                    help="folder holding the unpacked wheel (profanity_check/ and its dist-info)")
    ap.add_argument("--texts", type=int, default=400, help="fixture size (test corpus first)")
    args = ap.parse_args()

    import joblib  # the [train] extra; never imported by kidshield itself

    data = args.package / "profanity_check" / "data"
    vectorizer = joblib.load(data / "vectorizer.joblib")
    model = joblib.load(data / "model.joblib")
    params = vectorizer.get_params()
    # the numpy scorer implements exactly these settings; refuse anything else
    expected = {"analyzer": "word", "lowercase": True, "ngram_range": (1, 1), "norm": "l2",
                "use_idf": True, "smooth_idf": True, "sublinear_tf": False, "binary": False,
                "token_pattern": r"(?u)\b\w\w+\b", "strip_accents": None, "preprocessor": None,
                "tokenizer": None}
    for key, value in expected.items():
        if params[key] != value:
            print(f"vectorizer {key} is {params[key]!r}, the scorer needs {value!r}",
                  file=sys.stderr)
            return 1
    if list(model.classes_) != [0, 1] or model.method != "sigmoid":
        print("model is not a binary sigmoid-calibrated classifier", file=sys.stderr)
        return 1

    words = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    coef, intercept, cal_a, cal_b = [], [], [], []
    for calibrated in model.calibrated_classifiers_:
        svc = calibrated.estimator
        (calibrator,) = calibrated.calibrators
        coef.append(np.asarray(svc.coef_, dtype=np.float64).ravel())
        intercept.append(float(svc.intercept_[0]))
        cal_a.append(float(calibrator.a_))
        cal_b.append(float(calibrator.b_))

    MODELS.mkdir(parents=True, exist_ok=True)
    table = MODELS / "profanity.npz"
    np.savez_compressed(
        table,
        vocabulary=np.array(words, dtype=np.str_),
        idf=np.asarray(vectorizer.idf_, dtype=np.float64),
        coef=np.vstack(coef),
        intercept=np.array(intercept),
        cal_a=np.array(cal_a),
        cal_b=np.array(cal_b),
    )
    licences = list((args.package).glob("alt_profanity_check-*.dist-info/licenses/LICENSE"))
    if not licences:
        print("the wheel's LICENSE file is missing", file=sys.stderr)
        return 1
    licence = MODELS / "profanity-LICENSE.txt"
    licence.write_text(
        f"alt-profanity-check {VERSION} (https://github.com/dimitrismistriotis/alt-profanity-check)"
        "\nits model's numbers are in profanity.npz; its licence:\n\n"
        + licences[0].read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    manifest = {
        "name": "alt-profanity-check",
        "version": VERSION,
        "licence": "MIT",
        "attribution": "alt-profanity-check, Victor Zhou (original author), Menelaos Kotoglou, "
                       "Dimitrios Mistriotis",
        "trained_on": "Davidson et al. 2017 hate speech and offensive language tweets; "
                      "Wikipedia toxic comments (Jigsaw)",
        "words": len(words),
        "models": len(coef),
        "files": {"profanity.npz": sha256(table), "profanity-LICENSE.txt": sha256(licence)},
    }
    (MODELS / "profanity.json").write_text(json.dumps(manifest, indent=1) + "\n",
                                           encoding="utf-8")

    texts = EDGE_TEXTS + [t for t in corpus_texts() if t not in EDGE_TEXTS]
    texts = texts[: args.texts]
    probs = model.predict_proba(vectorizer.transform(texts))[:, 1]
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    # one row a line: a reviewer reads the diff of a re-import
    lines = [json.dumps({"text": t, "prob": float(p)}, ensure_ascii=False)
             for t, p in zip(texts, probs, strict=True)]
    FIXTURE.write_text(
        "{\"package\": \"alt-profanity-check " + VERSION + "\", "
        "\"command\": \"scripts/import_profanity_check.py\",\n\"rows\": [\n"
        + ",\n".join(lines) + "\n]}\n",
        encoding="utf-8",
    )
    print(f"{table}: {len(words)} words, {len(coef)} models; {FIXTURE}: {len(texts)} texts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
