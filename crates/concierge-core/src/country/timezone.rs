//! Timezone hint: the Date header's UTC offset narrows the country down to a
//! few candidates (in rough order of how likely they are in our audience).

/// Candidate countries for a UTC offset in minutes.
pub(super) fn candidates(offset_minutes: i32) -> &'static [&'static str] {
    match offset_minutes {
        540 => &["JP", "KR"],
        480 => &["CN", "TW", "HK", "SG", "PH", "MY", "AU"],
        420 => &["TH", "VN", "ID"],
        330 => &["IN", "LK"],
        345 => &["NP"],
        240 => &["AE", "OM"],
        180 => &[
            "FI", "GR", "UA", "RO", "BG", "RU", "TR", "KE", "IL", "SA", "EE", "LV", "LT",
        ],
        120 => &[
            "DE", "FR", "ES", "IT", "NL", "BE", "SE", "NO", "DK", "AT", "CH", "PL", "CZ", "FI",
            "GR", "RO", "UA", "ZA", "IL", "EG", "HU",
        ],
        60 => &[
            "DE", "FR", "ES", "IT", "NL", "BE", "SE", "NO", "DK", "AT", "CH", "PL", "CZ", "HU",
            "GB", "IE", "PT", "NG", "MA",
        ],
        0 => &["GB", "IE", "PT", "IS", "GH", "SN"],
        -120 => &["BR"],
        -150 | -210 => &["CA"],
        -180 => &["BR", "AR", "UY", "CL"],
        -240 => &["US", "CA", "CL", "VE", "BO", "PY", "PR"],
        -300 => &["US", "CA", "CO", "PE", "EC", "MX", "JM"],
        -360 => &["US", "CA", "MX", "GT", "CR"],
        -420 => &["US", "CA", "MX"],
        -480 => &["US", "CA"],
        -540 | -600 => &["US"],
        570 | 600 | 630 | 660 => &["AU"],
        720 | 765 | 780 => &["NZ"],
        _ => &[],
    }
}
