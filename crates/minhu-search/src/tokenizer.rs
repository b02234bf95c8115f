//! The tokenizer the index reads tickets with: jieba in search mode with minhu-text's
//! hotline dictionary (so 路灯 stays one word), Latin letters lowercased.
//!
//! tantivy-jieba's tokenizer owns its `Jieba` and tantivy clones a tokenizer for every
//! query it parses and every indexing thread; cloning a whole dictionary per query
//! would cost milliseconds, so this one shares the dictionary behind an `Arc`.

use jieba_rs::{Jieba, TokenizeMode};
use minhu_text::Segmenter;
use std::sync::Arc;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// The name the tokenizer is registered under in the index.
pub const NAME: &str = "minhu_jieba";

#[derive(Clone)]
pub struct HotlineTokenizer {
    jieba: Arc<Jieba>,
    mode: TokenizeMode,
}

impl HotlineTokenizer {
    /// Search mode for documents: long words are indexed whole and as their shorter
    /// dictionary words, so a query for either finds them.
    pub fn for_documents(jieba: Arc<Jieba>) -> Self {
        Self {
            jieba,
            mode: TokenizeMode::Search,
        }
    }

    /// The words of a query: the plain cut, each word of which a document's search-mode
    /// cut also holds.
    pub fn query_words(jieba: &Jieba, text: &str) -> Vec<String> {
        words(jieba, text, TokenizeMode::Default)
            .into_iter()
            .map(|(_, word)| word)
            .collect()
    }
}

/// The dictionary shared by the index's tokenizer and its query parsing.
pub fn hotline_jieba() -> Arc<Jieba> {
    Arc::new(Segmenter::default().into_jieba())
}

/// Byte offset and lowercased text of each word that has a letter or digit.
fn words(jieba: &Jieba, text: &str, mode: TokenizeMode) -> Vec<(usize, String)> {
    jieba
        .tokenize(text, mode, true)
        .into_iter()
        .filter(|token| token.word.chars().any(char::is_alphanumeric))
        .map(|token| {
            let offset = token.word.as_ptr() as usize - text.as_ptr() as usize;
            (offset, token.word.to_lowercase())
        })
        .collect()
}

impl Tokenizer for HotlineTokenizer {
    type TokenStream<'a> = HotlineTokens;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> HotlineTokens {
        let tokens = words(&self.jieba, text, self.mode)
            .into_iter()
            .enumerate()
            .map(|(position, (offset, word))| Token {
                offset_from: offset,
                offset_to: offset + word.len(),
                position,
                text: word,
                position_length: 1,
            })
            .collect();
        HotlineTokens {
            tokens,
            next: 0,
            current: Token::default(),
        }
    }
}

pub struct HotlineTokens {
    tokens: Vec<Token>,
    next: usize,
    current: Token,
}

impl TokenStream for HotlineTokens {
    fn advance(&mut self) -> bool {
        let Some(token) = self.tokens.get_mut(self.next) else {
            return false;
        };
        self.current = std::mem::take(token);
        self.next += 1;
        true
    }

    fn token(&self) -> &Token {
        &self.current
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        let mut tokenizer = HotlineTokenizer::for_documents(hotline_jieba());
        let mut stream = tokenizer.token_stream(text);
        let mut words = Vec::new();
        while stream.advance() {
            words.push(stream.token().text.clone());
        }
        words
    }

    #[test]
    fn hotline_words_are_indexed_whole() {
        let words = tokens("小区路灯不亮，晚上ABC出行不便");
        assert!(words.contains(&"路灯".to_owned()), "{words:?}");
        assert!(words.contains(&"abc".to_owned()), "lowercased: {words:?}");
        assert!(!words.iter().any(|w| w == "，"), "{words:?}");
    }

    #[test]
    fn a_long_word_is_found_by_its_parts() {
        let jieba = hotline_jieba();
        let words = tokens("中华人民共和国");
        assert!(words.contains(&"中华人民共和国".to_owned()), "{words:?}");
        assert!(words.contains(&"共和国".to_owned()), "{words:?}");
        assert_eq!(
            HotlineTokenizer::query_words(&jieba, "路灯不亮"),
            vec!["路灯", "不亮"]
        );
    }
}
