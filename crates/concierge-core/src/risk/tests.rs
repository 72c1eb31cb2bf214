use super::*;

#[test]
#[ignore]
fn debug_print() {
    let t = std::env::var("RISK_TEXT").unwrap_or_default();
    let a = assess(&t, None, RiskRules::builtin());
    eprintln!("{a:#?}");
}

#[test]
#[ignore]
fn debug_tokens() {
    let t = std::env::var("RISK_TEXT").unwrap_or_default();
    let r = text::fresh_ranges(&t, &RiskRules::builtin().reply_headers);
    let toks = text::tokenize(&t, &r, text::Tokenize::Words);
    eprintln!("{r:?} {toks:?}");
    for lr in &RiskRules::builtin().langs {
        if lr.lang == "sv" {
            for rule in &lr.rules {
                eprintln!("{} {:?}", rule.id, rule.phrases.iter().map(|p| p.pats.clone()).collect::<Vec<_>>());
            }
        }
    }
}
