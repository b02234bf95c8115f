//! Cleaning raw message text before it is segmented.

/// Greetings and sign-offs that say nothing about the demand.
const BOILERPLATE: &[&str] = &[
    "尊敬的领导",
    "尊敬的市长",
    "领导您好",
    "领导你好",
    "市长您好",
    "市长你好",
    "您好",
    "你好",
    "谢谢",
    "感谢",
    "此致敬礼",
    "此致",
    "敬礼",
];

/// Full-width to half-width, lower case, boilerplate removed, and whitespace handled so
/// that pre-segmented text ("小区 路灯 不亮") and raw text ("小区路灯不亮") read alike:
/// spaces between Chinese characters go, one space stays between other words.
pub fn normalize(text: &str) -> String {
    let mut half = String::with_capacity(text.len());
    for c in text.chars() {
        // Chinese characters, most of every message, have no case and are no space:
        // they skip the Unicode tables.
        if is_cjk(c) {
            half.push(c);
            continue;
        }
        let c = match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if c.is_ascii() {
            half.push(c.to_ascii_lowercase());
        } else {
            half.extend(c.to_lowercase());
        }
    }
    let mut cleaned = half;
    for phrase in BOILERPLATE {
        if cleaned.contains(phrase) {
            cleaned = cleaned.replace(phrase, " ");
        }
    }
    let mut out = String::with_capacity(cleaned.len());
    let mut pending_space = false;
    for c in cleaned.chars() {
        if c == ' ' {
            pending_space = true;
            continue;
        }
        if pending_space {
            let previous_is_cjk = out.chars().next_back().is_some_and(is_cjk);
            let joins_chinese = previous_is_cjk && is_cjk(c);
            if !out.is_empty() && !joins_chinese {
                out.push(' ');
            }
            pending_space = false;
        }
        out.push(c);
    }
    out
}

pub fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segmented_and_raw_text_read_alike() {
        assert_eq!(normalize("小区 路灯 不亮"), normalize("小区路灯不亮"));
        assert_eq!(normalize("小区\t路灯\r\n不亮"), "小区路灯不亮");
    }

    #[test]
    fn full_width_and_case() {
        assert_eq!(normalize("Ａ３区　ＡＢＣ１２３，"), "a3区 abc123,");
    }

    #[test]
    fn greetings_go() {
        let text = normalize("尊敬的领导：您好！小区没水了。谢谢！");
        assert!(!text.contains("您好") && !text.contains("领导"), "{text}");
        assert!(text.contains("小区没水了"), "{text}");
    }
}
