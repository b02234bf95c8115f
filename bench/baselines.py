"""Baselines for minhu's category classifier, on the same files minhu is scored on.

TF-IDF word uni+bigrams + LinearSVC, and fastText (wordNgrams=2, 25 epochs), the two
reference models of ../shared/data/README.md. Training text that is already segmented
(train.csv) is split on spaces; raw text is segmented with jieba. Prints one line per
model in the format of `minhu eval`.

    python3 bench/baselines.py TRAIN.csv TEST.csv
    python3 bench/baselines.py units UNITS.csv

The second form is the baseline of `minhu-bench units`: TF-IDF + LinearSVC reads the
post (level and department) on the same five folds of bench/reply-units.py's file,
routed the same way, its confidence a softmax of the margins as minhu's (sharpness 4).
"""

import csv
import sys
import tempfile
import time

import jieba
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.svm import LinearSVC

jieba.setLogLevel(60)


def read(path):
    texts, labels = [], []
    with open(path, encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            label = (row.get("一级分类") or "").strip()
            if not label:
                continue
            text = f"{row.get('留言主题') or ''} {row.get('留言详情') or ''}".strip()
            words = text.split() if " " in text and not row.get("留言主题") else jieba.lcut(text)
            texts.append(" ".join(w for w in words if w.strip()))
            labels.append(label)
    return texts, labels


def report(name, truth, predicted, seconds):
    f1 = f1_score(truth, predicted, average="macro")
    accuracy = accuracy_score(truth, predicted)
    print(f"{name:<22} macro_f1={f1:.4f} accuracy={accuracy:.4f} n={len(truth)} train_s={seconds:.1f}")


def tfidf_svm(train, test):
    started = time.time()
    vectorizer = TfidfVectorizer(token_pattern=r"(?u)\S+", ngram_range=(1, 2), sublinear_tf=True)
    model = LinearSVC().fit(vectorizer.fit_transform(train[0]), train[1])
    seconds = time.time() - started
    report("tfidf+linearsvc", test[1], model.predict(vectorizer.transform(test[0])), seconds)


def fasttext_model(train, test):
    import fasttext

    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        for text, label in zip(*train):
            f.write(f"__label__{label} {text}\n")
    started = time.time()
    model = fasttext.train_supervised(f.name, wordNgrams=2, epoch=25, seed=1, thread=1, verbose=0)
    seconds = time.time() - started
    predicted = [model.predict(text)[0][0].replace("__label__", "") for text in test[0]]
    report("fasttext", test[1], predicted, seconds)


def units(path):
    import numpy as np

    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    texts = [" ".join(w for w in jieba.lcut(f"{r['留言主题']} {r['留言详情']}") if w.strip()) for r in rows]
    posts = np.array([f"{r['层级']}:{r['部门']}" for r in rows])
    folds = np.array([int(r["fold"]) for r in rows])
    routed = [None] * len(rows)
    for fold in sorted(set(folds)):
        train, test = np.where(folds != fold)[0], np.where(folds == fold)[0]
        vectorizer = TfidfVectorizer(token_pattern=r"(?u)\S+", ngram_range=(1, 2), sublinear_tf=True)
        model = LinearSVC().fit(vectorizer.fit_transform([texts[i] for i in train]), posts[train])
        margins = model.decision_function(vectorizer.transform([texts[i] for i in test]))
        sure = np.exp(4 * (margins - margins.max(1, keepdims=True)))
        sure = sure.max(1) / sure.sum(1)
        for i, best, confidence in zip(test, model.classes_[margins.argmax(1)], sure):
            level, department = best.split(":")
            place = rows[i]["文中市"] if level == "city" else rows[i]["文中区县"]
            unit = place + department if place else None
            routed[i] = (unit, confidence, unit == rows[i]["单位"])
    for threshold in [0, 0.5, 0.7, 0.8, 0.9]:
        taken = [r for r in routed if r[0] and r[1] >= threshold]
        right = sum(1 for r in taken if r[2])
        print(
            f"tfidf+linearsvc unit confidence>={threshold:.2f} routed={len(taken) / len(rows):.4f} "
            f"right_when_routed={right / max(len(taken), 1):.4f} wrong_when_routed={1 - right / max(len(taken), 1):.4f} "
            f"right_of_all={right / len(rows):.4f} n={len(rows)}"
        )


if __name__ == "__main__":
    if sys.argv[1] == "units":
        units(sys.argv[2])
    else:
        train, test = read(sys.argv[1]), read(sys.argv[2])
        tfidf_svm(train, test)
        fasttext_model(train, test)
