//! Whitespace normalisation of imported text, and clipping of values quoted in
//! error messages.
//!
//! Only ASCII-ish layout characters are touched: CRLF and lone CR become LF,
//! tabs, other control characters and no-break spaces become a space, runs of
//! spaces collapse to one, spaces at the start and end of each line go, more
//! than one blank line in a row collapses to one, and the whole text is trimmed.
//! Chinese text (including full-width punctuation and the ideographic space
//! used for indentation inside a text) is kept as it is.
//!
//! Before that, Excel's escapes of characters XML cannot hold are decoded: a
//! spreadsheet stores a carriage return as `_x000D_`, and exports made from one
//! (the Teddy Cup messages among them) carry that text into CSV cells.

use std::borrow::Cow;

/// Decodes OOXML's `_xHHHH_` escapes (`_x000D_` is a carriage return); `_x005F_`
/// is a literal `_`, so `_x005F_x000D_` stays the text `_x000D_`.
fn unescape_ooxml(s: &str) -> Cow<'_, str> {
    if !s.contains("_x") {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("_x") {
        out.push_str(&rest[..at]);
        let escape = rest.get(at + 2..at + 7).and_then(|tail| {
            let (hex, end) = tail.split_at(4);
            (end == "_" && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u32::from_str_radix(hex, 16).ok().and_then(char::from_u32))
                .flatten()
        });
        match escape {
            Some(c) => {
                out.push(c);
                rest = &rest[at + 7..];
            }
            None => {
                out.push_str("_x");
                rest = &rest[at + 2..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Normalises `s`. With `multiline` false every line break becomes a space
/// (for titles, names and codes).
pub(crate) fn normalize(s: &str, multiline: bool) -> String {
    let s = unescape_ooxml(s);
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    let mut pending_newlines = 0usize;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let c = match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                '\n'
            }
            '\u{feff}' => continue,
            '\n' => '\n',
            c if c.is_control() || c == '\u{a0}' => ' ',
            c => c,
        };
        match c {
            '\n' if multiline => {
                pending_space = false;
                pending_newlines += 1;
            }
            '\n' | ' ' => pending_space = true,
            c => {
                if !out.is_empty() {
                    if pending_newlines > 0 {
                        for _ in 0..pending_newlines.min(2) {
                            out.push('\n');
                        }
                    } else if pending_space {
                        out.push(' ');
                    }
                }
                pending_newlines = 0;
                pending_space = false;
                out.push(c);
            }
        }
    }
    let trimmed = out.trim();
    if trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_owned()
    }
}

/// `s` cut to at most `max` characters, with an ellipsis when cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

/// `s` clipped and in single quotes, for error messages.
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", clip(s.trim(), 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_escapes_are_decoded() {
        assert_eq!(
            normalize("第一行_x000D_\n第二行_x000D_", true),
            "第一行\n第二行"
        );
        assert_eq!(normalize("a_x0009_b", false), "a b");
        assert_eq!(normalize("_x005F_x000D_ stays", false), "_x000D_ stays");
        assert_eq!(normalize("_x00 _xZZZZ_ _x", false), "_x00 _xZZZZ_ _x");
    }

    #[test]
    fn multiline_normalisation() {
        assert_eq!(
            normalize("  a\t\tb  c \r\n\r\n\r\n\r\n  d\re \u{a0}f  ", true),
            "a b c\n\nd\ne f"
        );
        assert_eq!(
            normalize("line one\r\nline two", false),
            "line one line two"
        );
        assert_eq!(normalize(" \t\r\n ", true), "");
    }

    #[test]
    fn chinese_text_kept() {
        let s = "　　A市A3区联丰路米兰春天G2栋320，一家名叫“一米阳光”的影楼！";
        assert_eq!(normalize(s, true), s.trim());
        assert_eq!(normalize("举报  A7县\t春华镇", false), "举报 A7县 春华镇");
    }

    #[test]
    fn clipping() {
        assert_eq!(clip("留言时间", 2), "留言…");
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(quote(" x "), "'x'");
    }
}
