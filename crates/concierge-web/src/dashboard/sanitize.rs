//! Inbound HTML, made safe to show inside a dashboard page.
//!
//! `ammonia` (html5ever) keeps an allow-list of harmless tags and
//! attributes: no `script`, `style`, `link`, `svg`, `math`, forms or
//! frames; no event handlers or `style` attributes; links only to `http`,
//! `https` and `mailto`. On top of that, images keep only `cid:` or
//! `data:image/…` (not SVG) sources, so opening a case never fetches a
//! remote image (a tracking pixel would tell the sender the case was
//! read). The page's CSP (`img-src 'self' data:`) enforces the same.

use std::collections::HashSet;
use std::sync::LazyLock;

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.url_schemes(HashSet::from(["http", "https", "mailto", "cid", "data"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .strip_comments(true)
        .attribute_filter(|element, attribute, value| {
            let v = value.trim_start().to_ascii_lowercase();
            match (element, attribute) {
                ("img", "src") => {
                    let ok = v.starts_with("cid:")
                        || (v.starts_with("data:image/") && !v.starts_with("data:image/svg"));
                    ok.then(|| value.into())
                }
                // `cid:` and `data:` are for images only.
                (_, "href" | "cite") if v.starts_with("cid:") || v.starts_with("data:") => None,
                _ => Some(value.into()),
            }
        });
    b
});

/// The sanitised HTML fragment.
pub(crate) fn clean(html: &str) -> String {
    CLEANER.clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn hostile_markup_is_removed() {
        let dirty = r#"<p onclick="x()">Hi <b>there</b></p>
<script>alert(1)</script>
<img src=x onerror="alert(2)">
<a href="javascript:alert(3)">click</a>
<a href="data:text/html,<script>alert(5)</script>">data</a>
<svg><script>alert(4)</script><circle r=1 /></svg>
<img src="http://tracker.example/p.gif" alt="pixel">
<img src="https://tracker.example/p.gif">
<img src="data:image/svg+xml;base64,PHN2Zz4=">
<div style="width: expression(alert(6))">css</div>
<style>body { background: url(http://tracker.example/bg) }</style>
<link rel="stylesheet" href="http://evil.example/x.css">
<iframe src="http://evil.example"></iframe>
<form action="http://evil.example"><input name=x></form>
<math><mi xlink:href="javascript:alert(7)">m</mi></math>
<img src="cid:logo@example" alt="logo">
<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">
<a href="https://example.org/help">help</a>"#;
        let out = clean(dirty);
        let lower = out.to_ascii_lowercase();
        for bad in [
            "<script",
            "onclick",
            "onerror",
            "javascript:",
            "<svg",
            "tracker.example",
            "expression(",
            "<style",
            "<link",
            "<iframe",
            "<form",
            "<input",
            "<math",
            "data:text",
            "data:image/svg",
            "evil.example",
        ] {
            assert!(!lower.contains(bad), "{bad} survived: {out}");
        }
        assert!(out.contains("<b>there</b>"), "{out}");
        assert!(out.contains(r#"src="cid:logo@example""#), "{out}");
        assert!(out.contains("data:image/png;base64"), "{out}");
        assert!(out.contains(r#"href="https://example.org/help""#), "{out}");
        assert!(out.contains("noopener"), "{out}");
    }
}
