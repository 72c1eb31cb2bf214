//! Text preparation for risk assessment: dropping quoted mail, folding
//! case and Latin diacritics, tokenising into words or characters, and
//! finding quoted spans (titles, lyrics).

/// How a language's text is cut into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tokenize {
    /// Runs of letters and digits (apostrophes inside a word are kept).
    Words,
    /// Every non-Latin letter is a token of its own (Japanese, no spaces);
    /// runs of ASCII letters and digits stay one token ("OD", "LINE").
    Chars,
}

/// One token of the fresh text: its folded form and where it is in the
/// original message (byte offsets), and which clause it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Tok {
    pub norm: String,
    pub start: usize,
    pub end: usize,
    pub clause: usize,
}

/// Lowercases (Unicode `to_lowercase`) and folds common Latin diacritics
/// (so "suicidio" matches "suicídio", "nao" matches "não") and typographic
/// apostrophes to `'`.
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        for l in c.to_lowercase() {
            match l {
                'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => out.push('a'),
                'ç' => out.push('c'),
                'è' | 'é' | 'ê' | 'ë' => out.push('e'),
                'ì' | 'í' | 'î' | 'ï' => out.push('i'),
                'ñ' => out.push('n'),
                'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => out.push('o'),
                'ù' | 'ú' | 'û' | 'ü' => out.push('u'),
                'ý' | 'ÿ' => out.push('y'),
                'ß' => out.push_str("ss"),
                'œ' => out.push_str("oe"),
                'æ' => out.push_str("ae"),
                '’' | 'ʼ' | '`' | '´' => out.push('\''),
                _ => out.push(l),
            }
        }
    }
    out
}

/// Byte ranges of the message that are the writer's own words: lines
/// starting with `>` are dropped, and a reply or forward header ("On … wrote:",
/// "Am … schrieb …:", "-----Original Message-----", a line ending in `:` that
/// names an address in `<…>`) ends the fresh text — everything after it is
/// the earlier mail. `headers` are folded reply-header cues ("wrote",
/// "schrieb", "escribio", …) gathered from every language's rules.
pub(crate) fn fresh_ranges(text: &str, headers: &[String]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut pos = 0;
    let mut prev: Option<(usize, usize)> = None;
    for line in text.split_inclusive('\n') {
        let start = pos;
        pos += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim();
        if is_reply_header(trimmed, headers) {
            // "On Mon, 1 Dec 2026 at 22:10, Someone <a@b>\nwrote:" wraps:
            // the line before belongs to the header too.
            if trimmed.len() < 24
                && let Some(p) = prev
                && ranges.last() == Some(&p)
            {
                ranges.pop();
            }
            break;
        }
        if trimmed.starts_with('>') {
            prev = None;
            continue;
        }
        let r = (start, start + body.len());
        ranges.push(r);
        prev = Some(r);
    }
    ranges
}

fn is_reply_header(line: &str, headers: &[String]) -> bool {
    if line.is_empty() {
        return false;
    }
    // -----Original Message----- / -----Ursprüngliche Nachricht----- /
    // ---------- Forwarded message ---------
    if line.starts_with("-----") && line.trim_matches('-').chars().any(char::is_alphabetic) {
        return true;
    }
    let f = fold(line);
    let ends_colon = f.ends_with(':') || f.ends_with('：');
    if ends_colon && f.contains('@') && f.contains('<') {
        return true;
    }
    if !ends_colon && !f.ends_with("wrote") {
        return false;
    }
    let words: Vec<&str> = f
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    headers.iter().any(|h| {
        let hw: Vec<&str> = h.split_whitespace().collect();
        !hw.is_empty() && words.windows(hw.len()).any(|w| w == hw.as_slice())
    })
}

/// Quoted spans (byte ranges of the inside) in `text`: "…", “…”, „…“, «…»,
/// ‘…’, '…' (not apostrophes), 「…」 and 『…』. Unclosed quotes are ignored.
pub(crate) fn quote_spans(text: &str) -> Vec<(usize, usize)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (b, c) = chars[i];
        let closers: &[char] = match c {
            '"' => &['"', '”'],
            '“' => &['”', '"'],
            '„' => &['“', '”'],
            '«' => &['»'],
            '‘' => &['’'],
            '「' => &['」'],
            '『' => &['』'],
            '\'' => {
                let before = if i == 0 { None } else { Some(chars[i - 1].1) };
                if before.is_some_and(char::is_alphanumeric) {
                    i += 1;
                    continue;
                }
                &['\'']
            }
            _ => {
                i += 1;
                continue;
            }
        };
        let mut j = i + 1;
        let mut found = None;
        while j < chars.len() && chars[j].1 != '\n' {
            let (_, d) = chars[j];
            if closers.contains(&d) {
                let after = chars.get(j + 1).map(|x| x.1);
                if d != '\'' || !after.is_some_and(char::is_alphanumeric) {
                    found = Some(j);
                    break;
                }
            }
            j += 1;
        }
        match found {
            Some(j) => {
                spans.push((b + c.len_utf8(), chars[j].0));
                i = j + 1;
            }
            None => i += 1,
        }
    }
    spans
}

fn is_boundary_char(c: char) -> bool {
    matches!(
        c,
        '.' | ','
            | ';'
            | ':'
            | '!'
            | '?'
            | '['
            | ']'
            | '…'
            | '。'
            | '、'
            | '！'
            | '？'
            | '，'
            | '；'
            | '：'
            | '—'
            | '–'
            | '|'
            | '¿'
            | '¡'
    )
}

/// Tokens of `text` within `ranges`. Punctuation, a blank line and the gap
/// between two ranges start a new clause; a single line break does not
/// (mail clients wrap lines).
pub(crate) fn tokenize(text: &str, ranges: &[(usize, usize)], mode: Tokenize) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut clause = 0usize;
    for &(rs, re) in ranges {
        clause += 1;
        let Some(slice) = text.get(rs..re) else {
            continue;
        };
        let mut cur: Option<(usize, usize)> = None;
        let mut newlines = 0;
        let flush = |cur: &mut Option<(usize, usize)>, toks: &mut Vec<Tok>, clause: usize| {
            if let Some((s, e)) = cur.take()
                && let Some(w) = text.get(s..e)
            {
                let norm = fold(w).trim_matches('\'').to_string();
                if !norm.is_empty() {
                    toks.push(Tok {
                        norm,
                        start: s,
                        end: e,
                        clause,
                    });
                }
            }
        };
        for (off, c) in slice.char_indices() {
            let b = rs + off;
            let e = b + c.len_utf8();
            let wordy = c.is_alphanumeric() || c == '\'' || c == '’';
            let single = mode == Tokenize::Chars && wordy && !c.is_ascii() && c.is_alphabetic();
            if c == '\n' {
                newlines += 1;
                if newlines >= 2 {
                    flush(&mut cur, &mut toks, clause);
                    clause += 1;
                }
                flush(&mut cur, &mut toks, clause);
                continue;
            }
            if !c.is_whitespace() {
                newlines = 0;
            }
            if single {
                flush(&mut cur, &mut toks, clause);
                toks.push(Tok {
                    norm: fold(&c.to_string()),
                    start: b,
                    end: e,
                    clause,
                });
            } else if wordy {
                cur = match cur {
                    Some((s, _)) => Some((s, e)),
                    None => Some((b, e)),
                };
            } else {
                flush(&mut cur, &mut toks, clause);
                if is_boundary_char(c) {
                    clause += 1;
                }
            }
        }
        flush(&mut cur, &mut toks, clause);
    }
    toks
}

/// Tokenises a rule phrase or cue the same way as messages: the result is
/// the sequence of folded tokens.
pub(crate) fn phrase_tokens(s: &str, mode: Tokenize) -> Vec<String> {
    let all = [(0, s.len())];
    tokenize(s, &all, mode)
        .into_iter()
        .map(|t| t.norm)
        .collect()
}

/// At most `max` characters of `s`, cut on a character boundary.
pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((b, _)) => format!("{}…", &s[..b]),
        None => s.to_string(),
    }
}
