//! Personal data hiding in free text: citizens write their phone into the description,
//! units quote it in replies. [`find`] spots it, [`mask`] hides it from readers who may
//! not see the citizen's identity, and [`remove`] cuts it out of what the search index
//! lets everyone search.
//!
//! Why one file of ~900 lines: the scanners share one pass over the text and one map
//! of what is already covered, so a digit run is claimed by exactly one kind (an ID
//! card is never also read as a phone); split apart, they would each need the others'
//! rules to know what not to take.
//!
//! What is found, in the writings people use:
//!
//! | kind | examples | checked by |
//! | --- | --- | --- |
//! | mobile | `13755556666`, `137-5555-6666`, `137 5555 6666`, `+86 137…`, `86-137…`, `0086…` | 11 digits, `1[3-9]…` |
//! | landline | `0731-88889999`, `(0731)88889999`, `010 8888 9999`, `+86 731 8888 9999` | a real area code, a 7–8 digit local number not starting with 0 or 1 |
//! | ID card | `430102199003074518` (also `6-8-4` groups), `43010219900307451X`, old `430102900307451` | province code, birth date, ISO 7064 check digit (18 digits) |
//! | bank card | `6222021234567890123`, `6222 0212 3456 7890` | 16–19 digits starting 3–6, Luhn |
//! | e-mail | `zhang.san@example.cn` | a dotted domain with a 2+ letter TLD |
//! | car plate | `湘A12345`, `湘A·D12345` | province, letter, 5–6 characters with 3+ digits; only where the city asks ([`PrivacySettings::mask_plates`]) |
//! | name | the citizen's own name; 2–4 characters after 我叫 / 姓名 / 联系人 with a common surname | exact match |
//!
//! Digits may be ASCII or full-width; groups may be joined by spaces, hyphens, dots or
//! parentheses. A number must be whole: a group of digits is never split, so 13-digit
//! ticket numbers, dates (`20201231`, `2020-12-31`), amounts and door numbers stay as
//! they are. Numbers the city lists as its public offices' ([`PrivacySettings`]) stay too.
//!
//! Masking keeps the writing (separators, brackets) and replaces the hidden digits with
//! `*`, so a masked text never holds a digit run of the number, and masking twice
//! changes nothing more (`*` is never part of a number, an address or a name).

use crate::city::PrivacySettings;

/// What a piece of personal data is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PiiKind {
    Mobile,
    Landline,
    IdCard,
    BankCard,
    Email,
    Plate,
    Name,
}

impl PiiKind {
    pub fn code(self) -> &'static str {
        match self {
            PiiKind::Mobile => "mobile",
            PiiKind::Landline => "landline",
            PiiKind::IdCard => "id_card",
            PiiKind::BankCard => "bank_card",
            PiiKind::Email => "email",
            PiiKind::Plate => "plate",
            PiiKind::Name => "name",
        }
    }

    /// A telephone number, mobile or fixed.
    pub fn is_phone(self) -> bool {
        matches!(self, PiiKind::Mobile | PiiKind::Landline)
    }
}

/// One piece of personal data in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub kind: PiiKind,
    /// Byte range in the text.
    pub start: usize,
    pub end: usize,
    /// The value written one way whatever the writing: a mobile's 11 digits, a
    /// landline's digits with its area code (`073188889999`), an ID card's digits with an
    /// upper-case `X`, a lower-case e-mail address, a plate without separators, a name.
    pub value: String,
    /// How a partly masked view treats the digits in the range: the first `lead` are a
    /// country code written with the number (kept), then `head` digits are kept, the
    /// last `tail` are kept and the rest become `*`.
    lead: usize,
    head: usize,
    tail: usize,
}

impl Found {
    /// What a search for this item looks up: the value, and for a landline also the
    /// local number alone (callers often leave the area code out).
    pub fn search_values(&self) -> Vec<String> {
        let mut values = vec![self.value.clone()];
        if self.kind == PiiKind::Landline {
            values.push(self.value[self.head_digits()..].to_owned());
        }
        values
    }

    /// A landline's area code length in its value (with the leading 0).
    fn head_digits(&self) -> usize {
        area_code_len(&self.value).unwrap_or(0)
    }
}

/// How much of an item a masked text keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mask {
    /// A hint that tells two items apart: `138****5678`, `4301**********123X`,
    /// `****1234`, `z***@example.cn`, `湘A****5`, `张*`.
    Partly,
    /// Nothing of it: every digit, letter or character becomes `*`.
    Wholly,
}

/// Every kind masked and no public number excepted: for erasure and for the search
/// index, which must not depend on settings a city may change.
pub const STRICT: PrivacySettings = PrivacySettings {
    public_numbers: Vec::new(),
    mask_plates: true,
};

/// The personal data in `text`, in order: what `settings` counts as personal, and the
/// `names` given (the citizen's own; blank ones and single characters are ignored, they
/// would match ordinary words).
pub fn find(text: &str, settings: &PrivacySettings, names: &[&str]) -> Vec<Found> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut scan = Scan {
        text,
        chars: &chars,
        covered: vec![false; chars.len()],
        found: Vec::new(),
    };
    if chars.iter().any(|&(_, c)| c == '@' || c == '＠') {
        scan.emails();
    }
    if chars.iter().any(|&(_, c)| digit_of(c).is_some()) {
        scan.numbers(settings);
    }
    if settings.mask_plates {
        scan.plates();
    }
    scan.names(names);
    let mut found = scan.found;
    found.sort_by_key(|f| f.start);
    found
}

/// `text` with the personal data `find` finds masked as `how` says. Text without any is
/// returned as it was.
pub fn mask(text: &str, settings: &PrivacySettings, names: &[&str], how: Mask) -> String {
    let found = find(text, settings, names);
    if found.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for item in &found {
        out.push_str(&text[at..item.start]);
        out.push_str(&masked(&text[item.start..item.end], item, how));
        at = item.end;
    }
    out.push_str(&text[at..]);
    out
}

/// `text` with the personal data cut out (each item becomes a space), with what was
/// cut: the words everyone may search, and the items only some may.
pub fn remove(text: &str, settings: &PrivacySettings, names: &[&str]) -> (String, Vec<Found>) {
    let found = find(text, settings, names);
    if found.is_empty() {
        return (text.to_owned(), found);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for item in &found {
        out.push_str(&text[at..item.start]);
        out.push(' ');
        at = item.end;
    }
    out.push_str(&text[at..]);
    (out, found)
}

/// A phone number as a search or an audit entry compares it: its digits, without a
/// `+86` / `0086` country code (a landline gets its leading 0 back). `None` when the
/// text is no phone number at all.
pub fn normalise_phone(text: &str) -> Option<String> {
    let found = find(text.trim(), &STRICT, &[]);
    match found.as_slice() {
        [one] if one.kind.is_phone() => Some(one.value.clone()),
        _ => {
            let digits: String = text.chars().filter_map(digit_of).collect();
            (digits.len() >= 5).then_some(digits)
        }
    }
}

fn masked(written: &str, item: &Found, how: Mask) -> String {
    match (item.kind, how) {
        (PiiKind::Email, Mask::Partly) => crate::access::mask_email(&item.value),
        (PiiKind::Email, Mask::Wholly) => "***".into(),
        (PiiKind::Name, Mask::Partly) => crate::access::mask_name(written),
        (PiiKind::Name | PiiKind::Plate, Mask::Wholly) => "*".repeat(written.chars().count()),
        (PiiKind::Plate, Mask::Partly) => {
            // 湘A·12345 -> 湘A·****5: the province and the city's letter stay.
            let total = written.chars().filter(|c| c.is_alphanumeric()).count();
            let mut seen = 0;
            written
                .chars()
                .map(|c| {
                    if !c.is_alphanumeric() {
                        return c;
                    }
                    seen += 1;
                    if seen <= 2 || seen == total { c } else { '*' }
                })
                .collect()
        }
        (_, how) => {
            let total = written.chars().filter(|&c| is_digit_like(c)).count();
            let mut seen = 0;
            written
                .chars()
                .map(|c| {
                    if !is_digit_like(c) {
                        return c;
                    }
                    seen += 1;
                    let kept = how == Mask::Partly
                        && (seen <= item.lead + item.head || seen > total - item.tail);
                    if kept { c } else { '*' }
                })
                .collect()
        }
    }
}

/// An ASCII or full-width digit, as ASCII.
fn digit_of(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
        _ => None,
    }
}

fn is_x(c: char) -> bool {
    matches!(c, 'X' | 'x' | 'Ｘ' | 'ｘ')
}

fn is_digit_like(c: char) -> bool {
    digit_of(c).is_some() || is_x(c)
}

/// What may stand between two groups of one number: `137-5555-6666`, `(0731) 8888`.
fn is_joiner(c: char) -> bool {
    matches!(
        c,
        ' ' | '-'
            | '.'
            | '_'
            | '/'
            | '\u{a0}'
            | '\u{3000}'
            | '－'
            | '‐'
            | '‑'
            | '–'
            | '—'
            | '('
            | ')'
            | '（'
            | '）'
    )
}

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

struct Scan<'t> {
    text: &'t str,
    chars: &'t [(usize, char)],
    /// Characters already part of an item: an e-mail's digits are not a phone too.
    covered: Vec<bool>,
    found: Vec<Found>,
}

/// Digits of one number between joiners.
struct Group {
    /// Character indices.
    start: usize,
    end: usize,
    digits: String,
}

/// How a window of groups reads.
struct Reading {
    kind: PiiKind,
    value: String,
    /// Leading groups that are a separate country code, left out of the item.
    skip: usize,
    lead: usize,
    head: usize,
    tail: usize,
}

/// The most groups one number is written in (`+86 137 5555 6666` is four, a
/// 19-digit card in fours is five).
const MAX_GROUPS: usize = 6;

impl Scan<'_> {
    fn byte(&self, index: usize) -> usize {
        self.chars
            .get(index)
            .map_or(self.text.len(), |&(byte, _)| byte)
    }

    fn char_at(&self, index: usize) -> Option<char> {
        self.chars.get(index).map(|&(_, c)| c)
    }

    fn push(&mut self, kind: PiiKind, start: usize, end: usize, value: String) {
        self.push_reading(start, end, value, kind, (0, 0, 0));
    }

    fn push_reading(
        &mut self,
        start: usize,
        end: usize,
        value: String,
        kind: PiiKind,
        (lead, head, tail): (usize, usize, usize),
    ) {
        for covered in &mut self.covered[start..end] {
            *covered = true;
        }
        self.found.push(Found {
            kind,
            start: self.byte(start),
            end: self.byte(end),
            value,
            lead,
            head,
            tail,
        });
    }

    fn emails(&mut self) {
        let local_char = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
        let domain_char = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
        for at in 0..self.chars.len() {
            let c = self.chars[at].1;
            if (c != '@' && c != '＠') || self.covered[at] {
                continue;
            }
            let mut start = at;
            while start > 0 && !self.covered[start - 1] && local_char(self.chars[start - 1].1) {
                start -= 1;
            }
            while start < at && matches!(self.chars[start].1, '.' | '-' | '+') {
                start += 1;
            }
            let mut end = at + 1;
            while end < self.chars.len() && domain_char(self.chars[end].1) {
                end += 1;
            }
            while end > at + 1 && matches!(self.chars[end - 1].1, '.' | '-') {
                end -= 1;
            }
            // The top-level domain is letters: `z@example.cn13755556666` ends at `cn`.
            if let Some(dot) = (at + 1..end).rev().find(|&i| self.chars[i].1 == '.') {
                let letters = self.chars[dot + 1..end]
                    .iter()
                    .take_while(|(_, c)| c.is_ascii_alphabetic())
                    .count();
                end = dot + 1 + letters;
            }
            if start == at {
                continue;
            }
            let domain: String = self.chars[at + 1..end].iter().map(|&(_, c)| c).collect();
            let labels: Vec<&str> = domain.split('.').collect();
            let tld_ok = labels
                .last()
                .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
            if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) || !tld_ok {
                continue;
            }
            let local: String = self.chars[start..at].iter().map(|&(_, c)| c).collect();
            let value = format!("{local}@{domain}").to_lowercase();
            self.push(PiiKind::Email, start, end, value);
        }
    }

    fn numbers(&mut self, settings: &PrivacySettings) {
        let digit = |scan: &Scan, i: usize| !scan.covered[i] && digit_of(scan.chars[i].1).is_some();
        let n = self.chars.len();
        let mut i = 0;
        while i < n {
            if !digit(self, i) {
                i += 1;
                continue;
            }
            // One run: groups of digits joined by at most three joiners each.
            let mut groups: Vec<Group> = Vec::new();
            let mut k = i;
            loop {
                let start = k;
                let mut digits = String::new();
                while k < n && digit(self, k) {
                    digits.extend(digit_of(self.chars[k].1));
                    k += 1;
                }
                let letter_after = |j: usize| {
                    self.char_at(j)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || is_x(c))
                };
                // An ID card's check `X`: after its 17 digits (or the 3 of its last
                // group), or wherever it ends a word (`13755556666x12` is an extension).
                let id_body = matches!(digits.len(), 3 | 17) || !letter_after(k + 1);
                if k < n && !self.covered[k] && is_x(self.chars[k].1) && id_body {
                    digits.push('X');
                    k += 1;
                }
                let ends_with_x = digits.ends_with('X');
                groups.push(Group {
                    start,
                    end: k,
                    digits,
                });
                let mut j = k;
                while j < n && j - k < 3 && !self.covered[j] && is_joiner(self.chars[j].1) {
                    j += 1;
                }
                if j > k && j < n && digit(self, j) && !ends_with_x {
                    k = j;
                } else {
                    break;
                }
            }
            self.read_groups(&groups, settings);
            i = k.max(i + 1);
        }
    }

    /// Finds the numbers in one run of groups: from each group, the longest window of
    /// whole groups that reads as personal data.
    fn read_groups(&mut self, groups: &[Group], settings: &PrivacySettings) {
        // A mobile spelled out in any grouping (`1 3 7 5555 6666`) is still one.
        let digits: String = groups.iter().map(|g| g.digits.as_str()).collect();
        if groups.len() > 1 && is_mobile(&digits) && !settings.is_public(&digits) {
            let end = groups[groups.len() - 1].end;
            self.push_reading(groups[0].start, end, digits, PiiKind::Mobile, (0, 3, 4));
            return;
        }
        let mut i = 0;
        while i < groups.len() {
            let longest = (i + MAX_GROUPS).min(groups.len());
            let reading = (i + 1..=longest)
                .rev()
                .find_map(|j| read(&groups[i..j]).map(|r| (j, r)));
            match reading {
                Some((j, r)) => {
                    if !is_public(settings, r.kind, &r.value) {
                        let (start, end) = (groups[i + r.skip].start, groups[j - 1].end);
                        self.push_reading(start, end, r.value, r.kind, (r.lead, r.head, r.tail));
                    }
                    i = j;
                }
                None => i += 1,
            }
        }
    }

    fn plates(&mut self) {
        const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
        const SUFFIXES: &str = "挂学警港澳领使";
        let n = self.chars.len();
        for i in 0..n {
            if self.covered[i] || !PROVINCES.contains(self.chars[i].1) {
                continue;
            }
            let Some(letter) = self.char_at(i + 1) else {
                continue;
            };
            if !letter.is_ascii_alphabetic() || self.covered[i + 1] {
                continue;
            }
            let mut k = i + 2;
            if self
                .char_at(k)
                .is_some_and(|c| matches!(c, '·' | '•' | '・' | '.' | ' ' | '-'))
            {
                k += 1;
            }
            let body_start = k;
            while k < n
                && k - body_start < 7
                && !self.covered[k]
                && self.chars[k].1.is_ascii_alphanumeric()
            {
                k += 1;
            }
            let mut len = k - body_start;
            if len >= 7 {
                continue;
            }
            let suffix = self.char_at(k).is_some_and(|c| SUFFIXES.contains(c));
            if suffix {
                len += 1;
            }
            let digits = self.chars[body_start..k]
                .iter()
                .filter(|(_, c)| c.is_ascii_digit())
                .count();
            if !(5..=6).contains(&len) || digits < 3 {
                continue;
            }
            let end = if suffix { k + 1 } else { k };
            let value: String = self.chars[i..end]
                .iter()
                .map(|&(_, c)| c.to_ascii_uppercase())
                .filter(|c| !matches!(c, '·' | '•' | '・' | '.' | ' ' | '-'))
                .collect();
            self.push(PiiKind::Plate, i, end, value);
        }
    }

    fn names(&mut self, names: &[&str]) {
        for name in names {
            let name = name.trim();
            if name.chars().count() < 2 {
                continue;
            }
            let wanted: Vec<char> = name.chars().collect();
            let mut i = 0;
            while i + wanted.len() <= self.chars.len() {
                let here = self.chars[i..i + wanted.len()]
                    .iter()
                    .zip(&wanted)
                    .all(|(&(_, c), &w)| c == w);
                if here && !self.covered[i..i + wanted.len()].iter().any(|&c| c) {
                    self.push(PiiKind::Name, i, i + wanted.len(), name.to_owned());
                    i += wanted.len();
                } else {
                    i += 1;
                }
            }
        }
        self.introduced_names();
    }

    /// A name the citizen introduces (我叫王建国，…) though the name field is empty.
    fn introduced_names(&mut self) {
        const CUES: &[&str] = &["我叫", "本人叫", "名字叫", "名字是", "姓名", "联系人"];
        const AFTER: &[&str] = &[
            "电话",
            "手机",
            "联系",
            "身份证",
            "家住",
            "住在",
            "住",
            "今年",
            "先生",
            "女士",
        ];
        for cue in CUES {
            let cue_len = cue.chars().count();
            let mut from = 0;
            while let Some(offset) = self.text[from..].find(cue) {
                let byte = from + offset;
                from = byte + cue.len();
                let Ok(mut i) = self.chars.binary_search_by_key(&byte, |&(b, _)| b) else {
                    continue;
                };
                i += cue_len;
                while self
                    .char_at(i)
                    .is_some_and(|c| matches!(c, ':' | '：' | ' ' | '\u{3000}' | '是' | '为'))
                {
                    i += 1;
                }
                let mut end = i;
                while self.char_at(end).is_some_and(is_han) {
                    end += 1;
                }
                let run: String = self.chars[i..end].iter().map(|&(_, c)| c).collect();
                let Some(len) = name_length(&run, AFTER) else {
                    continue;
                };
                if self.covered[i..i + len].iter().any(|&c| c) {
                    continue;
                }
                let value = run.chars().take(len).collect();
                self.push(PiiKind::Name, i, i + len, value);
            }
        }
    }
}

/// How many characters at the start of `run` (a stretch of Chinese characters after a
/// cue) are a name: 2 to 3 with a common surname, 3 to 4 with a double one, ending the
/// stretch or followed by one of `after`.
fn name_length(run: &str, after: &[&str]) -> Option<usize> {
    const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝";
    const DOUBLE: &[&str] = &[
        "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文",
        "司徒", "夏侯", "令狐", "端木",
    ];
    let chars: Vec<char> = run.chars().collect();
    let lengths: &[usize] = if DOUBLE.iter().any(|d| run.starts_with(d)) {
        &[4, 3]
    } else if chars.first().is_some_and(|&c| SURNAMES.contains(c)) {
        &[3, 2]
    } else {
        return None;
    };
    lengths.iter().copied().find(|&len| {
        if chars.len() == len {
            return true;
        }
        if chars.len() < len {
            return false;
        }
        let rest: String = chars[len..].iter().collect();
        after.iter().any(|a| rest.starts_with(a))
    })
}

/// Reads a window of whole groups as one piece of personal data, if it is one.
fn read(groups: &[Group]) -> Option<Reading> {
    let lens: Vec<usize> = groups.iter().map(|g| g.digits.len()).collect();
    let digits: String = groups.iter().map(|g| g.digits.as_str()).collect();
    let plain = |r: Reading| Some(r);
    if let Some(value) = id_card(&digits, &lens) {
        let tail = 4;
        return plain(Reading {
            kind: PiiKind::IdCard,
            value,
            skip: 0,
            lead: 0,
            head: 4,
            tail,
        });
    }
    if digits.contains('X') {
        return None;
    }
    if bank_card(&digits, &lens) {
        return plain(Reading {
            kind: PiiKind::BankCard,
            value: digits,
            skip: 0,
            lead: 0,
            head: 0,
            tail: 4,
        });
    }
    // A country code of its own (`+86 137…`, `0086-731-…`) is left out of the item.
    let (skip, national, national_lens) = match lens.as_slice() {
        [_, rest @ ..]
            if !rest.is_empty() && matches!(groups[0].digits.as_str(), "86" | "0086") =>
        {
            (
                1,
                digits[groups[0].digits.len()..].to_owned(),
                rest.to_vec(),
            )
        }
        _ => (0, digits.clone(), lens.clone()),
    };
    // Or glued to the number (`8613755556666`): kept in the item, and in its mask.
    let glued = if skip == 0 && national_lens.len() == 1 {
        ["0086", "86"]
            .into_iter()
            .find(|cc| national.starts_with(cc) && national.len() > cc.len() + 9)
    } else {
        None
    };
    let lead = glued.map_or(0, str::len);
    let number = &national[lead..];
    if is_mobile(number) && (lead > 0 || mobile_shape(&national_lens)) {
        return plain(Reading {
            kind: PiiKind::Mobile,
            value: number.to_owned(),
            skip,
            lead,
            head: 3,
            tail: 4,
        });
    }
    // `+86 731…` drops the area code's 0; some write `+86 0731…` all the same.
    let international = (skip == 1 || lead > 0) && !number.starts_with('0');
    let area_lens = landline_groups(number, &national_lens, lead, international)?;
    let value = if international {
        format!("0{number}")
    } else {
        number.to_owned()
    };
    Some(Reading {
        kind: PiiKind::Landline,
        value,
        skip,
        lead,
        head: area_lens,
        tail: 4,
    })
}

/// A number of a public office the city lists, with or without its area code.
fn is_public(settings: &PrivacySettings, kind: PiiKind, value: &str) -> bool {
    let local = match kind {
        PiiKind::Landline => area_code_len(value).map(|n| &value[n..]),
        _ => None,
    };
    settings.is_public(value) || local.is_some_and(|l| settings.is_public(l))
}

/// Whether everyone may read (and search for) `item` under the city's settings: a
/// public office's number, a car plate where plates are not masked.
pub fn open_to_all(item: &Found, settings: &PrivacySettings) -> bool {
    match item.kind {
        PiiKind::Plate => !settings.mask_plates,
        kind => is_public(settings, kind, &item.value),
    }
}

fn is_mobile(digits: &str) -> bool {
    let b = digits.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

/// The ways people group a mobile number's 11 digits.
fn mobile_shape(lens: &[usize]) -> bool {
    matches!(lens, [11] | [3, 4, 4] | [3, 8] | [7, 4])
}

/// A landline's area code length (with the leading 0), if `digits` starts with one:
/// 010 and 02x are Beijing and the big cities, 0xxx the rest.
fn area_code_len(digits: &str) -> Option<usize> {
    let b = digits.as_bytes();
    match b {
        [b'0', b'1', b'0', ..] | [b'0', b'2', _, ..] => Some(3),
        [b'0', b'3'..=b'9', _, _, ..] => Some(4),
        _ => None,
    }
}

/// For a landline (`number` as written, without a separate country code; `lead` digits
/// of a glued code before it; `international`: its area code lost its 0), how many
/// written digits the area code takes, if the number is one.
fn landline_groups(
    number: &str,
    lens: &[usize],
    lead: usize,
    international: bool,
) -> Option<usize> {
    let full = if international {
        format!("0{number}")
    } else {
        number.to_owned()
    };
    let area = area_code_len(&full)?;
    let local = &full[area..];
    let local_ok = matches!(local.as_bytes().first(), Some(b'2'..=b'9'))
        && if area == 3 {
            local.len() == 8
        } else {
            (7..=8).contains(&local.len())
        };
    if !local_ok {
        return None;
    }
    let written_area = area - usize::from(international);
    // Contiguous, or the area code as its own group and the local number in one or two.
    let shaped = match lens {
        [_] => true,
        [first, rest @ ..] => {
            *first == written_area + lead && rest.len() <= 2 && rest.iter().all(|&l| l >= 3)
        }
        [] => false,
    };
    shaped.then_some(written_area)
}

/// The province codes that begin a resident ID number.
fn province(code: &str) -> bool {
    matches!(
        code,
        "11" | "12"
            | "13"
            | "14"
            | "15"
            | "21"
            | "22"
            | "23"
            | "31"
            | "32"
            | "33"
            | "34"
            | "35"
            | "36"
            | "37"
            | "41"
            | "42"
            | "43"
            | "44"
            | "45"
            | "46"
            | "50"
            | "51"
            | "52"
            | "53"
            | "54"
            | "61"
            | "62"
            | "63"
            | "64"
            | "65"
            | "71"
            | "81"
            | "82"
            | "83"
    )
}

fn valid_date(year: u32, month: u32, day: u32) -> bool {
    match (i16::try_from(year), i8::try_from(month), i8::try_from(day)) {
        (Ok(y), Ok(m), Ok(d)) => jiff::civil::Date::new(y, m, d).is_ok(),
        _ => false,
    }
}

fn number_at(digits: &str, range: std::ops::Range<usize>) -> u32 {
    digits[range].parse().unwrap_or(0)
}

/// An 18-digit ID number (the check digit right) or a 15-digit old one, with a real
/// province and birth date, written whole or in the usual groups.
fn id_card(digits: &str, lens: &[usize]) -> Option<String> {
    let body_digits = |n: usize| digits[..n].bytes().all(|b| b.is_ascii_digit());
    match digits.len() {
        18 if matches!(lens, [18] | [6, 8, 4] | [6, 4, 4, 4]) && body_digits(17) => {
            let year = number_at(digits, 6..10);
            let born = (1900..=2099).contains(&year)
                && valid_date(year, number_at(digits, 10..12), number_at(digits, 12..14));
            const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
            let sum: u32 = digits
                .bytes()
                .take(17)
                .zip(WEIGHTS)
                .map(|(b, w)| u32::from(b - b'0') * w)
                .sum();
            let check = b"10X98765432"[(sum % 11) as usize];
            (province(&digits[..2]) && born && digits.as_bytes()[17] == check)
                .then(|| digits.to_owned())
        }
        15 if matches!(lens, [15] | [6, 6, 3]) && body_digits(15) => {
            let year = 1900 + number_at(digits, 6..8);
            let born = valid_date(year, number_at(digits, 8..10), number_at(digits, 10..12));
            (province(&digits[..2]) && born).then(|| digits.to_owned())
        }
        _ => None,
    }
}

/// A payment card number: 16 to 19 digits starting 3 to 6 (Amex, JCB, Visa, Mastercard,
/// UnionPay), whole or in fours, passing the Luhn check.
fn bank_card(digits: &str, lens: &[usize]) -> bool {
    let shaped = match lens {
        [_] => true,
        [fours @ .., last] => {
            fours.len() >= 3 && fours.iter().all(|&l| l == 4) && (1..=4).contains(last)
        }
        [] => false,
    };
    if !(16..=19).contains(&digits.len()) || !shaped || !matches!(digits.as_bytes()[0], b'3'..=b'6')
    {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The demo city's kind of list: the hotline, and a department's landline.
    fn city() -> PrivacySettings {
        PrivacySettings {
            public_numbers: vec!["12345".into(), "073188665110".into()],
            mask_plates: false,
        }
    }

    fn partly(text: &str) -> String {
        mask(text, &city(), &[], Mask::Partly)
    }

    #[test]
    fn every_kind_is_masked_in_every_writing() {
        let table = [
            // Mobiles.
            ("13755556666", "137****6666"),
            ("137-5555-6666", "137-****-6666"),
            ("137 5555 6666", "137 **** 6666"),
            ("137.5555.6666", "137.****.6666"),
            ("137-55556666", "137-****6666"),
            ("1375555-6666", "137****-6666"),
            ("+86 137 5555 6666", "+86 137 **** 6666"),
            ("+86-137-5555-6666", "+86-137-****-6666"),
            ("86-13755556666", "86-137****6666"),
            ("+8613755556666", "+86137****6666"),
            ("0086 13755556666", "0086 137****6666"),
            ("(+86)13755556666", "(+86)137****6666"),
            ("１３７５５５５６６６６", "１３７****６６６６"),
            ("1 3 7 5 5 5 5 6 6 6 6", "1 3 7 * * * * 6 6 6 6"),
            ("137_5555_6666", "137_****_6666"),
            // Landlines with their area code.
            ("0731-88889999", "0731-****9999"),
            ("0731 8888 9999", "0731 **** 9999"),
            ("0731-8888-9999", "0731-****-9999"),
            ("(0731)88889999", "(0731)****9999"),
            ("（0731）8888 9999", "（0731）**** 9999"),
            ("073188889999", "0731****9999"),
            ("0731-6888999", "0731-***8999"),
            ("010-88889999", "010-****9999"),
            ("+86 731 8888 9999", "+86 731 **** 9999"),
            ("+86 0731 88889999", "+86 0731 ****9999"),
            // ID cards: check digit, an X, groups, the old 15 digits.
            ("430102199003074515", "4301**********4515"),
            ("11010519491231002X", "1101**********002X"),
            ("11010519491231002x", "1101**********002x"),
            ("430102 19900307 4515", "4301** ******** 4515"),
            ("430102900307451", "4301*******7451"),
            // Bank cards (Luhn).
            ("6222021234567890128", "***************0128"),
            ("6228 4800 1234 5671", "**** **** **** 5671"),
            ("4111-1111-1111-1111", "****-****-****-1111"),
            // E-mail.
            ("zhang.san@example.cn", "z***@example.cn"),
            ("Zhang@Example.CN", "z***@example.cn"),
            ("13755556666@qq.com", "1***@qq.com"),
            ("z@example.cn13755556666", "z***@example.cn137****6666"),
        ];
        for (written, masked) in table {
            assert_eq!(partly(written), masked, "{written}");
            let hidden = mask(written, &city(), &[], Mask::Wholly);
            // Only a country code written apart may stay.
            let digits: String = hidden.chars().filter_map(digit_of).collect();
            assert!(
                ["", "86", "0086"].contains(&digits.as_str()),
                "{written} -> {hidden}"
            );
        }
    }

    #[test]
    fn values_are_written_one_way() {
        let values = |text: &str| -> Vec<(PiiKind, String)> {
            find(text, &STRICT, &[])
                .into_iter()
                .map(|f| (f.kind, f.value))
                .collect()
        };
        for phone in [
            "+86 137-5555-6666",
            "86 13755556666",
            "0086-137 5555 6666",
            "１３７５５５５６６６６",
        ] {
            assert_eq!(
                values(phone),
                [(PiiKind::Mobile, "13755556666".into())],
                "{phone}"
            );
        }
        for phone in [
            "0731-88889999",
            "(0731) 8888-9999",
            "+86 731 88889999",
            "+8673188889999",
        ] {
            assert_eq!(
                values(phone),
                [(PiiKind::Landline, "073188889999".into())],
                "{phone}"
            );
        }
        assert_eq!(
            values("11010519491231002x"),
            [(PiiKind::IdCard, "11010519491231002X".into())]
        );
        let landline = &find("0731-88889999", &STRICT, &[])[0];
        assert_eq!(landline.search_values(), ["073188889999", "88889999"]);
        assert_eq!(
            normalise_phone(" +86 137 5555 6666 ").as_deref(),
            Some("13755556666")
        );
        assert_eq!(normalise_phone("12345").as_deref(), Some("12345"));
        assert_eq!(normalise_phone("电话"), None);
    }

    #[test]
    fn what_must_survive() {
        for text in [
            "工单2026112200017已办结",
            "编号20261122123456与2026112212345678",
            "20201231到2020-12-31，2020/12/31",
            "2026年11月22日 13:55",
            "押金1500元，欠费12,345.50元，¥3,000",
            "3栋2单元501室，12号楼1203",
            "请拨打12345热线或0731-88665110",
            "市热线12345、110、120、95588",
            "客服400-800-1234，短号0731-12345",
            "户号12345678，订单号123456789012",
            "共3次，面积120平方米，限高2.2米",
            "湘A12345的车停在人行道上",
            // An 18-digit number whose check digit is wrong is no ID card; a 16-digit
            // number failing Luhn is no card.
            "430102199003074519",
            "6222021234567891",
            "137****6666 与 z***@example.cn",
        ] {
            assert_eq!(partly(text), text);
            assert!(find(text, &city(), &["王建国"]).is_empty(), "{text}");
        }
    }

    #[test]
    fn plates_only_where_the_city_asks() {
        let plates = PrivacySettings {
            mask_plates: true,
            ..city()
        };
        let text = "湘A12345和湘A·D12345、粤B1234挂占道";
        assert_eq!(partly(text), text);
        assert_eq!(
            mask(text, &plates, &[], Mask::Partly),
            "湘A****5和湘A·*****5、粤B****挂占道"
        );
        let values: Vec<String> = find(text, &plates, &[])
            .into_iter()
            .map(|f| f.value)
            .collect();
        assert_eq!(values, ["湘A12345", "湘AD12345", "粤B1234挂"]);
        assert_eq!(mask("湘A12345", &plates, &[], Mask::Wholly), "*******");
    }

    #[test]
    fn names_the_citizen_gave_or_introduced() {
        let names = ["王建国"];
        let text = "我叫王建国，电话 +86 137-5555-6666，身份证430102199003074515，住3栋2单元501";
        assert_eq!(
            mask(text, &city(), &names, Mask::Partly),
            "我叫王**，电话 +86 137-****-6666，身份证4301**********4515，住3栋2单元501"
        );
        assert_eq!(
            mask(text, &city(), &names, Mask::Wholly),
            "我叫***，电话 +86 ***-****-****，身份证******************，住3栋2单元501"
        );
        // Without the name field: the introduction gives the name away.
        for (text, masked) in [
            ("我叫王建国，家门口路灯不亮", "我叫王**，家门口路灯不亮"),
            ("我叫李明住在3栋", "我叫李*住在3栋"),
            ("联系人：欧阳修文 13755556666", "联系人：欧*** 137****6666"),
            ("姓名:张三", "姓名:张*"),
        ] {
            assert_eq!(partly(text), masked);
        }
        // Ordinary words after a cue are no names; a name's parts elsewhere stay.
        for text in ["我叫救护车", "姓名不详", "建国路口的路灯"] {
            assert_eq!(mask(text, &city(), &names, Mask::Partly), text);
        }
    }

    /// A number in one of the ways people write it.
    fn written(digits: &str, groups: &[usize], joiner: &str, prefix: &str) -> String {
        let mut out = String::from(prefix);
        let mut at = 0;
        for (i, len) in groups.iter().enumerate() {
            if i > 0 {
                out.push_str(joiner);
            }
            out.push_str(&digits[at..at + len]);
            at += len;
        }
        out
    }

    fn luhn_completed(body: &str) -> String {
        (0..10)
            .map(|d| format!("{body}{d}"))
            .find(|n| bank_card(n, &[n.len()]))
            .unwrap()
    }

    fn id_completed(body: &str) -> String {
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "X"]
            .iter()
            .map(|d| format!("{body}{d}"))
            .find(|n| id_card(n, &[18]).is_some())
            .unwrap()
    }

    /// Personal numbers as (their digits, as written).
    fn personal_number() -> impl Strategy<Value = (String, String)> {
        let joiner = prop::sample::select(vec![" ", "-", "", "－", "\u{3000}"]);
        let mobile = (
            "1[3-9][0-9]{9}",
            joiner.clone(),
            prop::sample::select(vec!["", "+86 ", "86-", "0086 "]),
            prop::sample::select(vec![vec![11], vec![3, 4, 4], vec![3, 8]]),
        )
            .prop_map(|(d, j, p, g)| {
                let g = if j.is_empty() { vec![11] } else { g };
                (d.clone(), written(&d, &g, j, p))
            });
        let landline =
            ("0[3-9][0-9]{2}", "[2-8][0-9]{7}", joiner.clone()).prop_map(|(area, local, j)| {
                let digits = format!("{area}{local}");
                let text = if j.is_empty() {
                    format!("({area}){local}")
                } else {
                    format!("{area}{j}{local}")
                };
                (digits, text)
            });
        let id = (
            "(43|11|44|51)[0-9]{4}",
            1950u32..2020,
            1u32..13,
            1u32..29,
            "[0-9]{3}",
            any::<bool>(),
        )
            .prop_map(|(area, y, m, d, seq, grouped)| {
                let n = id_completed(&format!("{area}{y}{m:02}{d:02}{seq}"));
                let text = if grouped {
                    written(&n, &[6, 8, 4], " ", "")
                } else {
                    n.clone()
                };
                (n, text)
            });
        let card = ("62[0-9]{16}|4[0-9]{14}", any::<bool>()).prop_map(|(body, grouped)| {
            let n = luhn_completed(&body);
            let text = if grouped {
                let mut groups = vec![4; n.len() / 4];
                if !n.len().is_multiple_of(4) {
                    groups.push(n.len() % 4);
                }
                written(&n, &groups, " ", "")
            } else {
                n.clone()
            };
            (n, text)
        });
        prop_oneof![mobile, landline, id, card]
    }

    /// Words around the numbers: never a digit, never a joiner at the edge.
    fn filler() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "我家楼下路灯不亮，",
            "电话",
            "联系方式：",
            "身份证号",
            "卡号",
            "，请尽快处理。",
            "物业不管",
            "tel:",
            "噪音扰民",
            "谢谢",
            "。",
            "回电",
        ])
        .prop_map(str::to_owned)
    }

    proptest! {
        #[test]
        fn no_digit_run_of_a_personal_number_survives(
            parts in prop::collection::vec((filler(), personal_number()), 1..5),
            tail in filler(),
        ) {
            let mut text = String::new();
            for (words, (_, number)) in &parts {
                text.push_str(words);
                text.push_str(number);
            }
            text.push_str(&tail);
            for how in [Mask::Partly, Mask::Wholly] {
                let masked = mask(&text, &city(), &[], how);
                let digits: String = masked.chars().filter_map(digit_of).collect();
                for (number, written) in parts.iter().map(|(_, n)| n) {
                    let bare = number.trim_end_matches('X');
                    prop_assert!(!digits.contains(bare), "{written} survived in {masked}");
                }
                prop_assert_eq!(mask(&masked, &city(), &[], how), masked.clone(), "twice");
            }
        }

        #[test]
        fn masking_twice_changes_nothing_more(text in "[0-9a-z@.\\- +()（）湘A王建国我叫，]{0,60}") {
            for how in [Mask::Partly, Mask::Wholly] {
                let once = mask(&text, &city(), &["王建国"], how);
                prop_assert_eq!(mask(&once, &city(), &["王建国"], how), once.clone());
            }
        }

        #[test]
        fn text_without_personal_data_is_unchanged(
            parts in prop::collection::vec(prop_oneof![
                (2020u32..2030, 1u32..13, 1u32..29, 1u32..99_999).prop_map(|(y, m, d, n)| format!("工单{y}{m:02}{d:02}{n:05}")),
                (2000u32..2030, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y}{m:02}{d:02}")),
                (2000u32..2030, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
                (1u32..100_000, 0u32..100).prop_map(|(a, c)| format!("{a}.{c:02}元")),
                (1u32..30, 1u32..9, 101u32..3000).prop_map(|(b, u, r)| format!("{b}栋{u}单元{r}室")),
                (1u32..40, 101u32..3000).prop_map(|(b, r)| format!("{b}号楼{r}")),
                (1u32..1000).prop_map(|n| format!("共{n}次")),
                Just("12345热线".to_owned()),
                Just("0731-88665110".to_owned()),
                Just("路灯不亮".to_owned()),
            ], 0..8),
        ) {
            let text = parts.join("，");
            prop_assert_eq!(mask(&text, &city(), &["王建国"], Mask::Partly), text.clone());
            prop_assert_eq!(mask(&text, &city(), &["王建国"], Mask::Wholly), text);
        }
    }
}
