"""Baselines for minhu's category classifier, on the same files minhu is scored on.

TF-IDF word uni+bigrams + LinearSVC, and fastText (wordNgrams=2, 25 epochs), the two
reference models of ../shared/data/README.md. Training text that is already segmented
(train.csv) is split on spaces; raw text is segmented with jieba. Prints one line per
model in the format of `minhu eval`.
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


if __name__ == "__main__":
    train, test = read(sys.argv[1]), read(sys.argv[2])
    tfidf_svm(train, test)
    fasttext_model(train, test)
