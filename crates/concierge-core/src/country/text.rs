//! Text helpers: quoted-reply stripping, accent folding and tokenisation.

/// How a token is separated from the one before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sep {
    /// Start of the stream.
    Start,
    /// Only spaces (or apostrophes, hyphens inside a word).
    Space,
    /// Soft punctuation: `,`, `-`, `/`, `(`, `|` ...
    Comma,
    /// A line break.
    Newline,
    /// Sentence punctuation: `.`, `!`, `?`, `;`.
    Stop,
}

/// A folded word with a little of its original shape.
#[derive(Clone, Debug)]
pub(super) struct Token {
    /// Lower-cased, accent-folded form.
    pub norm: String,
    /// Original first character is upper case.
    pub upper_initial: bool,
    /// Every letter of the original is upper case.
    pub all_upper: bool,
    /// Separator between the previous token and this one.
    pub sep: Sep,
    /// Byte range of the original word in the tokenised text.
    pub span: (usize, usize),
}

/// Separators a multi-word expression may span: spaces, or the dots of
/// "U.S.A." / "St. Petersburg", or a hyphen ("Zuid-Afrika").
pub(super) fn joinable(sep: Sep) -> bool {
    matches!(sep, Sep::Space | Sep::Stop | Sep::Comma)
}

/// Lower-cases and strips the common Latin diacritics (São → sao, Zürich →
/// zurich, Malmö → malmo, ß → ss). Non-Latin scripts are only lower-cased.
pub(super) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => out.push('a'),
            'æ' => out.push_str("ae"),
            'ç' | 'ć' | 'č' => out.push('c'),
            'ď' | 'đ' => out.push('d'),
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'ı' => out.push('i'),
            'ñ' | 'ń' | 'ň' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => out.push('o'),
            'œ' => out.push_str("oe"),
            'ř' | 'ŕ' => out.push('r'),
            'ś' | 'š' | 'ş' | 'ș' => out.push('s'),
            'ß' => out.push_str("ss"),
            'ť' | 'ţ' | 'ț' => out.push('t'),
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'ź' | 'ż' | 'ž' => out.push('z'),
            'ł' => out.push('l'),
            'ğ' => out.push('g'),
            'ё' => out.push('е'),
            _ => out.push(c),
        }
    }
    out
}

fn sep_of(c: char) -> Sep {
    match c {
        '\n' | '\r' => Sep::Newline,
        '.' | '!' | '?' | ';' | '。' | '！' | '？' => Sep::Stop,
        c if c.is_whitespace() => Sep::Space,
        '\'' | '’' | '‘' | '`' => Sep::Space,
        _ => Sep::Comma,
    }
}

/// Strongest separator wins (Stop > Newline > Comma > Space).
fn stronger(a: Sep, b: Sep) -> Sep {
    fn rank(s: Sep) -> u8 {
        match s {
            Sep::Start => 0,
            Sep::Space => 1,
            Sep::Comma => 2,
            Sep::Newline => 3,
            Sep::Stop => 4,
        }
    }
    if rank(b) > rank(a) { b } else { a }
}

/// Splits `text` into word tokens (runs of alphanumeric characters).
/// Apostrophes split words ("I'm" → `i`, `m`; "j'habite" → `j`, `habite`).
pub(super) fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut sep = Sep::Start;
    let mut word = String::new();
    let mut word_start = 0usize;
    let flush =
        |word: &mut String, sep: &mut Sep, span: (usize, usize), tokens: &mut Vec<Token>| {
            if word.is_empty() {
                return;
            }
            let upper_initial = word.chars().next().is_some_and(char::is_uppercase);
            let all_upper = word.chars().all(|c| !c.is_alphabetic() || c.is_uppercase())
                && word.chars().any(char::is_alphabetic);
            tokens.push(Token {
                norm: fold(word),
                upper_initial,
                all_upper,
                sep: *sep,
                span,
            });
            word.clear();
            *sep = Sep::Space;
        };
    for (at, c) in text.char_indices() {
        if c.is_alphanumeric() {
            if word.is_empty() {
                word_start = at;
            }
            word.push(c);
            continue;
        }
        flush(&mut word, &mut sep, (word_start, at), &mut tokens);
        if !tokens.is_empty() || sep != Sep::Start {
            sep = stronger(sep, sep_of(c));
        }
    }
    flush(&mut word, &mut sep, (word_start, text.len()), &mut tokens);
    // "St. Pölten", "St. Gallen", "Mt. Gambier": the abbreviation's period
    // does not end a sentence before a capitalised name.
    for i in 1..tokens.len() {
        let abbrev = matches!(tokens[i - 1].norm.as_str(), "st" | "ste" | "mt" | "ft");
        let gap = &text[tokens[i - 1].span.1..tokens[i].span.0];
        if abbrev && tokens[i].sep == Sep::Stop && tokens[i].upper_initial && gap.trim() == "." {
            tokens[i].sep = Sep::Space;
        }
    }
    tokens
}

/// Labels that start an Outlook-style quoted header block ("From: ...").
const HEADER_FROM: &[&str] = &[
    "from:",
    "von:",
    "de:",
    "de :",
    "da:",
    "van:",
    "från:",
    "fra:",
    "lähettäjä:",
    "od:",
    "от:",
    "差出人:",
    "送信者:",
    "보낸 사람:",
    "发件人:",
    "寄件者:",
    "expéditeur:",
    "remetente:",
];

/// Labels seen in the lines after a quoted "From:" line.
const HEADER_NEXT: &[&str] = &[
    "sent:",
    "date:",
    "to:",
    "subject:",
    "cc:",
    "gesendet:",
    "datum:",
    "an:",
    "betreff:",
    "enviado:",
    "enviada:",
    "para:",
    "assunto:",
    "asunto:",
    "fecha:",
    "data:",
    "envoyé :",
    "envoyé:",
    "date :",
    "à :",
    "à:",
    "objet :",
    "objet:",
    "inviato:",
    "a:",
    "oggetto:",
    "verzonden:",
    "aan:",
    "onderwerp:",
    "skickat:",
    "till:",
    "ämne:",
    "sendt:",
    "til:",
    "emne:",
    "送信日時:",
    "宛先:",
    "件名:",
    "보낸 날짜:",
    "받는 사람:",
    "제목:",
    "发送时间:",
    "收件人:",
    "主题:",
];

/// Endings of an attribution line ("On Mon, Ana wrote:").
const WROTE: &[&str] = &[
    "wrote:",
    "writes:",
    "escreveu:",
    "escribió:",
    "a écrit :",
    "a écrit:",
    "schrieb:",
    "ha scritto:",
    "schreef:",
    "skrev:",
    "kirjoitti:",
    "napisał:",
    "написал:",
    "написала:",
    "のメッセージ:",
    "は書きました:",
    "작성:",
    "写道:",
    "寫道:",
];

const ATTRIBUTION_START: &[&str] = &[
    "on ", "em ", "el ", "le ", "am ", "il ", "op ", "den ", "dne ", "w dniu ",
];

fn is_wrote_line(lower: &str) -> bool {
    let t = lower.trim_end();
    WROTE.iter().any(|w| t.ends_with(w))
        || (t.ends_with(':') && (t.contains(" wrote") || t.contains(" schrieb")))
}

/// Returns the text written by the sender: quoted lines (`>`) are dropped and
/// everything after a reply/forward marker ("On ... wrote:",
/// "-----Original Message-----", an Outlook "Von:/De :/From:" header block,
/// "Begin forwarded message") is cut off.
pub(super) fn strip_quoted(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::with_capacity(text.len());
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim();
        if line.starts_with('>') || line.starts_with('＞') {
            continue;
        }
        let lower = line.to_lowercase();
        if is_cut_marker(&lower, &lines[i + 1..]) {
            break;
        }
        out.push_str(raw);
        out.push('\n');
    }
    out
}

fn is_cut_marker(lower: &str, rest: &[&str]) -> bool {
    if lower.starts_with("-----") && lower.chars().any(char::is_alphabetic) {
        return true; // -----Original Message----- and translations
    }
    if lower.starts_with("________________") {
        return true; // Outlook separator
    }
    if lower.contains("forwarded message")
        || lower.starts_with("begin forwarded message")
        || lower.contains("mensagem encaminhada")
        || lower.contains("mensaje reenviado")
        || lower.contains("message transféré")
        || lower.contains("weitergeleitete nachricht")
    {
        return true;
    }
    if is_wrote_line(lower) {
        return true;
    }
    // Attribution wrapped over two lines.
    if ATTRIBUTION_START.iter().any(|s| lower.starts_with(s))
        && let Some(next) = rest.first()
    {
        let joined = format!("{} {}", lower, next.trim().to_lowercase());
        if is_wrote_line(&joined) && lower.chars().any(|c| c.is_ascii_digit() || c == '@') {
            return true;
        }
    }
    if HEADER_FROM.iter().any(|h| lower.starts_with(h)) {
        // Only a real header block: a web form may have a lone "From:" line.
        return rest.iter().take(4).any(|l| {
            let l = l.trim().to_lowercase();
            HEADER_NEXT.iter().any(|h| l.starts_with(h))
        });
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_strips_accents() {
        assert_eq!(fold("São Paulo"), "sao paulo");
        assert_eq!(fold("Zürich"), "zurich");
        assert_eq!(fold("MALMÖ"), "malmo");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("東京"), "東京");
    }

    #[test]
    fn tokenize_splits_apostrophes_and_tracks_separators() {
        let t = tokenize("J'habite à Lyon. I'm\nhere");
        let norms: Vec<&str> = t.iter().map(|t| t.norm.as_str()).collect();
        assert_eq!(norms, ["j", "habite", "a", "lyon", "i", "m", "here"]);
        assert_eq!(t[4].sep, Sep::Stop);
        assert_eq!(t[6].sep, Sep::Newline);
        assert!(t[3].upper_initial);
    }

    #[test]
    fn strip_quoted_cuts_replies() {
        let s = "I live in Oslo.\n\nOn Mon, 3 Jun 2024 at 10:00, Bob <b@x.com> wrote:\n> I live in Rome";
        assert_eq!(strip_quoted(s).trim(), "I live in Oslo.");
        let s = "Oi\n-----Original Message-----\nFrom: x";
        assert_eq!(strip_quoted(s).trim(), "Oi");
        let s = "Hallo\n\nVon: Max Muster\nGesendet: Montag\nAn: help\n\nIch wohne in Wien";
        assert_eq!(strip_quoted(s).trim(), "Hallo");
        let s = "Hello\nOn Tue, Jun 4, 2024 at 9:12 AM Ana Silva <\nana@uol.com.br> wrote:\nquoted";
        assert_eq!(strip_quoted(s).trim(), "Hello");
        let s = "Merci\nLe mar. 4 juin 2024 à 09:12, Paul <p@x.fr> a écrit :\nJe suis à Paris";
        assert_eq!(strip_quoted(s).trim(), "Merci");
    }
}
