//! Domain signal: the ccTLD of the sender's address (`.br`, `.co.uk`, `.com.au`).

use super::CountryCode;

/// ccTLDs mostly sold as vanity/generic domains (`.io`, `.fm`, `.tv`, `.me`,
/// `.co` ...): they only count under a country second level (`.com.co`).
const VANITY: &[&str] = &[
    "ac", "ad", "ag", "ai", "am", "as", "bz", "cc", "cd", "cf", "cx", "co", "dj", "fm", "ga", "gd",
    "gg", "gl", "gq", "gs", "im", "io", "la", "li", "ly", "me", "ml", "ms", "mu", "nu", "pw", "sc",
    "sh", "so", "st", "tk", "to", "tv", "vc", "vg", "ws",
];

/// Second-level labels that make a vanity ccTLD national again (`.com.co`).
const NATIONAL_SECOND_LEVEL: &[&str] = &[
    "com", "co", "org", "net", "edu", "gov", "gob", "ac", "nic", "or", "ne", "go", "mil",
];

/// Mail and internet providers under a generic TLD whose customers are
/// almost all in one country (a caseworker recognises `bigpond.com` as
/// Australian). Kept short and checked by hand against each provider's
/// own site; ccTLD providers (`web.de`, `uol.com.br`) need no entry.
const NATIONAL_PROVIDERS: &[(&str, &str)] = &[
    ("bigpond.com", "AU"),
    ("optusnet.com", "AU"),
    ("laposte.net", "FR"),
    ("ukr.net", "UA"),
    ("i.ua", "UA"),
    ("qq.com", "CN"),
    ("163.com", "CN"),
    ("126.com", "CN"),
    ("sina.com", "CN"),
    ("sohu.com", "CN"),
    ("naver.com", "KR"),
    ("daum.net", "KR"),
    ("hanmail.net", "KR"),
    ("rediffmail.com", "IN"),
    ("btinternet.com", "GB"),
    ("sky.com", "GB"),
    ("virginmedia.com", "GB"),
    ("talktalk.net", "GB"),
    ("comcast.net", "US"),
    ("verizon.net", "US"),
    ("att.net", "US"),
    ("sbcglobal.net", "US"),
    ("rogers.com", "CA"),
    ("sympatico.ca", "CA"),
    ("telia.com", "SE"),
    ("walla.com", "IL"),
];

/// Country of the sender address's top-level domain, if it is a national
/// one (or a national provider's), with the domain it came from.
pub(super) fn country_of_address(address: &str) -> Option<(CountryCode, String)> {
    let domain = address.rsplit_once('@').map_or(address, |(_, d)| d);
    let domain = domain
        .trim()
        .trim_end_matches(['>', '.', ' ', ')', ']'])
        .to_ascii_lowercase();
    if let Some((_, c)) = NATIONAL_PROVIDERS.iter().find(|(d, _)| *d == domain)
        && let Ok(code) = c.parse()
    {
        return Some((
            code,
            format!("sender domain {domain} (a national provider)"),
        ));
    }
    let mut labels = domain.rsplit('.');
    let tld = labels.next()?;
    let second = labels.next()?; // a bare TLD is not an address
    let tld = if tld == "uk" { "gb" } else { tld };
    if tld.len() != 2 || !tld.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    if VANITY.contains(&tld) && !NATIONAL_SECOND_LEVEL.contains(&second) {
        return None;
    }
    tld.parse()
        .ok()
        .map(|c| (c, format!("sender domain {domain}")))
}
