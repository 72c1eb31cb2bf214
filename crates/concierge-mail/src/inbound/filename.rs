//! Attachment names from strangers, made safe to store and offer.

/// Makes an attachment name safe: drops any directory part, control and
/// reserved characters, leading dots and trailing spaces/dots, and bounds the
/// length (keeping the extension). HTML in names is kept as text: it is
/// escaped wherever it is shown.
pub fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .map(|c| if c.is_control() || matches!(c, ':' | '*' | '?' | '"' | '|' | '\0') { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim_end_matches(['.', ' ']);
    const MAX: usize = 150;
    if trimmed.len() <= MAX {
        return trimmed.to_owned();
    }
    let (stem, ext) = match trimmed.rsplit_once('.') {
        Some((s, e)) if e.len() <= 10 && !e.is_empty() => (s, Some(e)),
        _ => (trimmed, None),
    };
    let budget = MAX - ext.map_or(0, |e| e.len() + 1);
    let mut end = budget.min(stem.len());
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    match ext {
        Some(e) => format!("{}.{e}", &stem[..end]),
        None => stem[..end].to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_filename;

    #[test]
    fn strips_paths_and_controls() {
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("C:\\Users\\x\\report.pdf"), "report.pdf");
        assert_eq!(safe_filename(".htaccess"), "htaccess");
        assert_eq!(safe_filename("a\r\nb.txt"), "a__b.txt");
        assert_eq!(safe_filename("what?.txt"), "what_.txt");
        assert_eq!(safe_filename("   "), "");
        assert_eq!(safe_filename(".."), "");
        assert_eq!(safe_filename("x.pdf. . "), "x.pdf");
        assert_eq!(safe_filename("<img src=x onerror=alert(1)>.pdf"), "<img src=x onerror=alert(1)>.pdf");
        assert_eq!(safe_filename("Überweisung März.pdf"), "Überweisung März.pdf");
    }

    #[test]
    fn bounds_length_keeping_extension() {
        let long = format!("{}.pdf", "é".repeat(500));
        let s = safe_filename(&long);
        assert!(s.len() <= 150, "{}", s.len());
        assert!(s.ends_with(".pdf"));
    }
}
