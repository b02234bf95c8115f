//! Retrieval measured on real questions with known answers.
//!
//! The set is made from messages that received an official reply (the Teddy Cup 2020
//! `replies.csv`, see ../shared/data/README.md): each reply becomes an article (title:
//! the message's subject, body: the official reply), and each message's details (the
//! citizen's own words, without the subject) is a question whose known answer is that
//! article. Messages answered by the very same reply text share their answers. A hit
//! at k: a known answer is among the first k suggestions.
//!
//! Any CSV with the columns `question,title,answer` is read the same way (one row: a
//! question and the article that answers it).
//!
//! Each question keeps its message's number (`留言编号`, or `id`; without either column,
//! its row), which splits the set in fixed halves for fitting the assistant's
//! thresholds (see [`crate::fit`]).

use crate::{Fields, KbError, KbIndex};
use jieba_rs::Jieba;
use jiff::civil::Date;
use minhu_store::Article;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// A question and the ids of the articles that answer it.
#[derive(Clone, Debug)]
pub struct Case {
    /// The message's number (or the row's, 1 for the first under the header).
    pub id: u64,
    pub question: String,
    pub answers: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Score {
    pub questions: usize,
    pub top1: usize,
    pub top3: usize,
}

impl Score {
    pub fn top1_rate(&self) -> f64 {
        self.top1 as f64 / self.questions.max(1) as f64
    }

    pub fn top3_rate(&self) -> f64 {
        self.top3 as f64 / self.questions.max(1) as f64
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: {1}")]
    Csv(String, csv::Error),
    #[error(
        "{0}: expected the Teddy Cup replies layout (留言编号, 留言主题, 留言详情, 答复意见) or the columns question,title,answer"
    )]
    Layout(String),
    #[error("{0}: no question with an answer")]
    Empty(String),
    #[error("{0}, row {1}: the message number {2:?} is not a whole number")]
    Id(String, usize, String),
}

/// The articles and the questions of an evaluation file.
pub fn load(path: &Path) -> Result<(Vec<Article>, Vec<Case>), EvalError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| EvalError::Io(shown.clone(), e))?;
    let mut reader =
        csv::Reader::from_reader(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes[..]));
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| EvalError::Csv(shown.clone(), e))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let (question, title, answer) =
        match (column("留言详情"), column("留言主题"), column("答复意见")) {
            (Some(q), Some(t), Some(a)) => (q, t, a),
            _ => match (column("question"), column("title"), column("answer")) {
                (Some(q), Some(t), Some(a)) => (q, t, a),
                _ => return Err(EvalError::Layout(shown)),
            },
        };
    let number = column("留言编号").or_else(|| column("id"));
    let mut articles: Vec<Article> = Vec::new();
    let mut by_body: HashMap<String, String> = HashMap::new();
    let mut cases = Vec::new();
    for (row, record) in (1..).zip(reader.records()) {
        let record = record.map_err(|e| EvalError::Csv(shown.clone(), e))?;
        let cell = |i: usize| record.get(i).unwrap_or("").trim().to_owned();
        let (q, t, a) = (cell(question), cell(title), cell(answer));
        if q.is_empty() || a.is_empty() {
            continue;
        }
        let id = match number.map(cell) {
            None => row as u64,
            Some(text) => text
                .parse()
                .map_err(|_| EvalError::Id(shown.clone(), row, text))?,
        };
        let answer = by_body
            .entry(a.clone())
            .or_insert_with(|| {
                let id = format!("eval-{:05}", articles.len() + 1);
                articles.push(Article::new(&id, t, a, jiff::Timestamp::UNIX_EPOCH));
                id
            })
            .clone();
        cases.push(Case {
            id,
            question: q,
            answers: vec![answer],
        });
    }
    if cases.is_empty() {
        return Err(EvalError::Empty(shown));
    }
    Ok((articles, cases))
}

/// One way of retrieving, as the evaluation compares them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Titles only, hotline dictionary: what a FAQ page's title search does.
    TitleOnly,
    /// BM25 over title, tags and body with jieba's own dictionary (no hotline words).
    PlainJieba,
    /// minhu's retrieval: BM25 over title, tags and body, hotline dictionary.
    Minhu,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::TitleOnly, Method::PlainJieba, Method::Minhu];

    pub fn label(self) -> &'static str {
        match self {
            Method::TitleOnly => "baseline: BM25 on titles only",
            Method::PlainJieba => "baseline: BM25, jieba without the hotline dictionary",
            Method::Minhu => "minhu: BM25 title x2 + body + tags, hotline dictionary",
        }
    }

    /// The index this method searches.
    pub fn build(self, articles: &[Article], hotline: Arc<Jieba>) -> Result<KbIndex, KbError> {
        match self {
            Method::TitleOnly => KbIndex::build(articles, hotline, Fields::TitleOnly),
            Method::PlainJieba => {
                KbIndex::build(articles, Arc::new(Jieba::new()), Fields::TitleBodyTags)
            }
            Method::Minhu => KbIndex::build(articles, hotline, Fields::TitleBodyTags),
        }
    }
}

/// How one question was answered: what the assistant decides on, and whether it was
/// right.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Asked {
    /// The question's [`Case::id`].
    pub id: u64,
    /// Whether an article that answers it is in the index asked.
    pub answerable: bool,
    /// The best suggestion's confidence; 0 when no article shares a word with it.
    pub confidence: f32,
    /// The best suggestion answers it.
    pub top1: bool,
    /// One of the first three suggestions (what the assistant shows) answers it.
    pub top3: bool,
}

/// Asks every question of `cases` of `index` as the assistant does (the first three
/// suggestions, no category); `progress` hears each one.
pub fn ask(
    index: &KbIndex,
    cases: &[Case],
    day: Date,
    mut progress: impl FnMut(),
) -> Result<Vec<Asked>, KbError> {
    let mut asked = Vec::with_capacity(cases.len());
    for case in cases {
        let found = index.suggest(&case.question, None, day, 3)?;
        let answers = |k: usize| {
            found
                .iter()
                .take(k)
                .any(|s| case.answers.contains(&s.article.id))
        };
        asked.push(Asked {
            id: case.id,
            answerable: case.answers.iter().any(|id| index.contains(id)),
            confidence: found.first().map_or(0.0, |s| s.confidence),
            top1: answers(1),
            top3: answers(3),
        });
        progress();
    }
    Ok(asked)
}

impl Score {
    /// The hits among `asked`.
    pub fn of(asked: &[Asked]) -> Score {
        Score {
            questions: asked.len(),
            top1: asked.iter().filter(|a| a.top1).count(),
            top3: asked.iter().filter(|a| a.top3).count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replies_file_becomes_articles_and_questions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replies.csv");
        std::fs::write(
            &path,
            "留言编号,留言用户,留言主题,留言时间,留言详情,答复意见,答复时间\n\
             1,u,小区路灯不亮,2019/1/1,我们小区路灯坏了一个月,已安排城管维修路灯。,2019/1/2\n\
             2,u,公积金提取,2019/1/1,想提取公积金买房要什么材料,请带身份证和购房合同。,2019/1/2\n\
             3,u,路灯又坏了,2019/1/1,路灯还是不亮,已安排城管维修路灯。,2019/1/2\n\
             4,u,没有答复,2019/1/1,没有答复的留言,,\n",
        )
        .unwrap();
        let (articles, cases) = load(&path).unwrap();
        assert_eq!(articles.len(), 2, "one article per distinct reply");
        assert_eq!(cases.len(), 3, "unanswered messages are left out");
        assert_eq!(cases[0].answers, cases[2].answers);
        let index = Method::Minhu
            .build(&articles, minhu_search::hotline_jieba())
            .unwrap();
        let asked = ask(&index, &cases, "2026-01-01".parse().unwrap(), || {}).unwrap();
        assert_eq!(
            asked.iter().map(|a| a.id).collect::<Vec<_>>(),
            [1, 2, 3],
            "each question keeps its message's number"
        );
        assert!(asked.iter().all(|a| a.answerable && a.confidence > 0.0));
        let score = Score::of(&asked);
        assert_eq!(score.questions, 3);
        assert_eq!(score.top3, 3, "{score:?}");
        assert!(score.top1 <= score.top3);
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        assert!(matches!(load(&path), Err(EvalError::Layout(_))));
        std::fs::write(&path, "id,question,title,answer\nx7,q,t,a\n").unwrap();
        let bad = load(&path).unwrap_err();
        assert!(
            bad.to_string().contains("row 1") && bad.to_string().contains("x7"),
            "{bad}"
        );
        std::fs::write(&path, "question,title,answer\nq1,t,a\nq2,t,b\n").unwrap();
        let (_, by_row) = load(&path).unwrap();
        assert_eq!(by_row.iter().map(|c| c.id).collect::<Vec<_>>(), [1, 2]);
    }
}
