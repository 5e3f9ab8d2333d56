//! Every condition form: precedence, grouping, selectors, keywords.

use sigma_core::condition::{match_pattern, Condition};
use sigma_core::{ConditionExpr as E, Location, Quantifier};

const IDS: &[&str] = &[
    "selection",
    "selection_2",
    "selection-x",
    "_hidden",
    "filter_main_a",
    "filter_main_b",
    "filter_optional",
    "notepad",
    "andy",
    "orange",
    "keywords",
    "filter_main_mdadm.conf",
];

fn parse(text: &str) -> E {
    match Condition::parse(text, Location::new(1, 1), IDS) {
        Ok(c) => c.expr,
        Err(e) => panic!("{text}: {e}"),
    }
}

fn id(n: &str) -> E {
    E::Identifier(n.to_string())
}

fn sel(q: Quantifier, p: &str, matched: &[&str]) -> E {
    E::Selector {
        quantifier: q,
        pattern: p.to_string(),
        matched: matched.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn single_identifier() {
    assert_eq!(parse("selection"), id("selection"));
    assert_eq!(parse("  selection  "), id("selection"));
}

#[test]
fn and_or_not_precedence() {
    assert_eq!(
        parse("selection or selection_2 and not keywords"),
        E::Or(vec![
            id("selection"),
            E::And(vec![id("selection_2"), E::Not(Box::new(id("keywords")))])
        ])
    );
}

#[test]
fn chains_are_n_ary_and_parentheses_nest() {
    assert_eq!(
        parse("selection and selection_2 and keywords"),
        E::And(vec![id("selection"), id("selection_2"), id("keywords")])
    );
    assert_eq!(
        parse("(selection or selection_2) and keywords"),
        E::And(vec![
            E::Or(vec![id("selection"), id("selection_2")]),
            id("keywords")
        ])
    );
    assert_eq!(
        parse("not (selection and (keywords or andy))"),
        E::Not(Box::new(E::And(vec![
            id("selection"),
            E::Or(vec![id("keywords"), id("andy")])
        ])))
    );
}

#[test]
fn selectors() {
    assert_eq!(
        parse("1 of selection*"),
        sel(
            Quantifier::Any,
            "selection*",
            &["selection", "selection_2", "selection-x"]
        )
    );
    assert_eq!(
        parse("any of selection*"),
        sel(
            Quantifier::Any,
            "selection*",
            &["selection", "selection_2", "selection-x"]
        )
    );
    assert_eq!(
        parse("all of filter_main_*"),
        sel(
            Quantifier::All,
            "filter_main_*",
            &["filter_main_a", "filter_main_b", "filter_main_mdadm.conf"]
        )
    );
    let them = parse("all of them");
    let E::Selector { matched, .. } = &them else {
        panic!()
    };
    assert!(!matched.contains(&"_hidden".to_string()));
    assert_eq!(matched.len(), IDS.len() - 1);
    assert_eq!(parse("1 of _h*"), sel(Quantifier::Any, "_h*", &["_hidden"]));
}

#[test]
fn negated_selectors_and_precedence_of_the_kali_rule() {
    assert_eq!(
        parse("1 of selection_* or all of filter_main_* and not 1 of filter_opt*"),
        E::Or(vec![
            sel(Quantifier::Any, "selection_*", &["selection_2"]),
            E::And(vec![
                sel(
                    Quantifier::All,
                    "filter_main_*",
                    &["filter_main_a", "filter_main_b", "filter_main_mdadm.conf"]
                ),
                E::Not(Box::new(sel(
                    Quantifier::Any,
                    "filter_opt*",
                    &["filter_optional"]
                ))),
            ])
        ])
    );
}

#[test]
fn keywords_are_whole_words() {
    assert_eq!(parse("notepad"), id("notepad"));
    assert_eq!(parse("not notepad"), E::Not(Box::new(id("notepad"))));
    assert_eq!(
        parse("andy and orange"),
        E::And(vec![id("andy"), id("orange")])
    );
    assert!(Condition::parse("selection andnot keywords", Location::default(), IDS).is_err());
}

#[test]
fn pattern_matching_rules() {
    let ids = ["selection", "sel_a", "_x", "filter-y"];
    assert_eq!(match_pattern("sel*", &ids), vec!["selection", "sel_a"]);
    assert_eq!(match_pattern("filter*", &ids), vec!["filter-y"]);
    assert_eq!(match_pattern("*a", &ids), vec!["sel_a"]);
    assert_eq!(match_pattern("s*l*n", &ids), vec!["selection"]);
    assert_eq!(
        match_pattern("them", &ids),
        vec!["selection", "sel_a", "filter-y"]
    );
    assert!(match_pattern("nomatch*", &ids).is_empty());
}

#[test]
fn legacy_aggregation_is_kept_not_evaluated() {
    let c = Condition::parse(
        "selection | count(dst_ip) by src_ip > 10",
        Location::default(),
        IDS,
    )
    .unwrap();
    assert_eq!(c.expr, id("selection"));
    assert_eq!(
        c.legacy_aggregation.as_deref(),
        Some("count(dst_ip) by src_ip > 10")
    );
}

#[test]
fn condition_lists_are_parsed_individually() {
    let set = sigma_core::parse_str(
        "title: T\nlogsource: {product: x}\ndetection:\n    a: {f: 1}\n    b: {g: 2}\n    condition:\n        - a\n        - b and not a\n",
        None,
    );
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let sigma_core::Document::Rule(r) = &set.documents[0] else {
        panic!()
    };
    assert_eq!(r.detection.conditions.len(), 2);
    assert_eq!(r.detection.conditions[1].location.line, 8);
}
