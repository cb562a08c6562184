use super::*;
use proptest::prelude::*;

fn selects(sql: &str, props: &[(&str, &'static str)]) -> bool {
    let selector = Selector::compile(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    selector.matches(&|name| props.iter().find(|(k, _)| *k == name).map(|(_, v)| *v))
}

fn refuses(sql: &str) -> String {
    match Selector::compile(sql) {
        Ok(s) => panic!("{sql} compiled to {s}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_java_example_selects_by_a_numeric_property() {
    // RocketMQ's SqlFilterProducer/Consumer example.
    let sql =
        "(TAGS is not null and TAGS in ('TagA', 'TagB')) and (a is not null and a between 0 and 3)";
    assert!(selects(sql, &[("TAGS", "TagA"), ("a", "0")]));
    assert!(selects(sql, &[("TAGS", "TagB"), ("a", "3")]));
    assert!(!selects(sql, &[("TAGS", "TagC"), ("a", "1")]));
    assert!(!selects(sql, &[("TAGS", "TagA"), ("a", "4")]));
    assert!(!selects(sql, &[("TAGS", "TagA")]));
}

#[test]
fn comparisons_convert_property_strings_to_the_constant_type() {
    assert!(selects("a > 5", &[("a", "6")]));
    assert!(!selects("a > 5", &[("a", "5")]));
    assert!(selects("a >= 5", &[("a", "5")]));
    assert!(selects("a < 5.5", &[("a", "5.25")]));
    // An Integer constant parses the property as an Integer: "5.0" fails, so no match.
    assert!(!selects("a = 5", &[("a", "5.0")]));
    assert!(selects("a = 5.0", &[("a", "5")]));
    assert!(selects("a = 10000000000", &[("a", "10000000000")]));
    assert!(selects("a > -1", &[("a", "0")]));
    assert!(selects("a = 'x'", &[("a", "x")]));
    assert!(selects("a <> 'x'", &[("a", "y")]));
    assert!(selects("a = TRUE", &[("a", "True")]));
    assert!(selects("a = FALSE", &[("a", "yes")]));
    // Two properties: '=' compares the strings, '>' compares them as numbers.
    assert!(selects("a = b", &[("a", "1"), ("b", "1")]));
    assert!(!selects("a = b", &[("a", "1"), ("b", "1.0")]));
    assert!(selects("a > b", &[("a", "10"), ("b", "9.5")]));
    assert!(!selects("a > b", &[("a", "x"), ("b", "1")]));
}

#[test]
fn missing_properties_are_unknown_and_never_select() {
    assert!(!selects("a = 1", &[]));
    assert!(!selects("a <> 1", &[]));
    assert!(!selects("NOT (a = 1)", &[]));
    assert!(selects("a IS NULL", &[]));
    assert!(!selects("a IS NOT NULL", &[]));
    assert!(!selects("a NOT IN ('x')", &[]));
    assert!(!selects("a NOT BETWEEN 1 AND 2", &[]));
    // Unknown OR true is true; unknown AND false is false.
    assert!(selects("a = 1 OR b = 2", &[("b", "2")]));
    assert!(!selects("NOT (a = 1 AND b = 2)", &[("b", "2")]));
    assert!(selects("NOT (a = 1 AND b = 2)", &[("b", "3")]));
    // Java's asymmetry: a missing right operand of '=' is FALSE, a missing left one NULL.
    assert!(selects("NOT (a = b)", &[("a", "1")]));
    assert!(!selects("NOT (a = b)", &[("b", "1")]));
}

#[test]
fn in_between_and_keyword_forms() {
    assert!(selects("c IN ('red', 'blue')", &[("c", "blue")]));
    assert!(!selects("c in ('red')", &[("c", "Red")]));
    assert!(selects("c NOT IN ('red')", &[("c", "green")]));
    assert!(selects("n BETWEEN 1 AND 1", &[("n", "1")]));
    assert!(selects("n NOT BETWEEN 1 AND 2", &[("n", "3")]));
    assert!(selects("-- heading\n n = 1 /* inline */", &[("n", "1")]));
    assert!(selects("TRUE", &[]));
    assert!(!selects("FALSE OR NULL", &[]));
    // A bare property is a boolean cast: a string is never a Boolean, so FALSE.
    assert!(!selects("a", &[("a", "true")]));
    assert!(selects("NOT a", &[("a", "true")]));
    // NOT binds tighter than '=': (NOT a) = TRUE.
    assert!(selects("NOT a = TRUE", &[("a", "x")]));
}

#[test]
fn evaluation_errors_do_not_select() {
    assert!(!selects("a > 1", &[("a", "abc")]));
    // Java casts the Boolean to String here and throws.
    assert!(!selects("TRUE = a", &[("a", "true")]));
    let selector = Selector::compile("TRUE = a").unwrap();
    assert_eq!(
        selector.evaluate(&|_| Some("true")),
        Err(EvalError::BooleanAsString)
    );
}

#[test]
fn compile_refuses_what_java_refuses() {
    let cases = [
        ("a > 'x'", "Value ''x'' cannot be compared."),
        ("a > TRUE", "Value 'TRUE' cannot be compared."),
        ("a = NULL", "'NULL' cannot be compared."),
        ("TRUE = 1", "'TRUE' cannot be compared with '1'"),
        (
            "'x' IN ('a')",
            "Expected a property for In expression, got: 'x'",
        ),
        (
            "a BETWEEN 3 AND 1",
            "left value(3) must less than or equal to right value(1)",
        ),
        ("a BETWEEN NULL AND 1", "values can not be null!"),
        ("'x'", "Expression will not result in a boolean value: 'x'"),
        ("a > 1 > 2", "cannot be compared."),
        ("a = 0.0", "0.0 is less than 4.9E-324"),
        ("a = 99999999999999999999", "NumberFormatException"),
        ("a IN (1)", "ParseException"),
        ("a = ", "ParseException"),
        ("a b", "ParseException"),
        ("(a = 1", "ParseException"),
        ("a # 1", "TokenMgrError"),
        ("", "ParseException"),
    ];
    for (sql, expected) in cases {
        let message = refuses(sql);
        assert!(message.contains(expected), "{sql}: {message}");
    }
    assert!(refuses("a > 'x'").starts_with("java.lang.RuntimeException: "));
}

proptest! {
    #[test]
    fn compile_and_evaluate_never_panic(sql in "[ a-cA-C0-9'().,=<>+*/-]{0,40}") {
        if let Ok(selector) = Selector::compile(&sql) {
            let _ = selector.evaluate(&|name| (name != "c").then_some("1"));
        }
    }

    #[test]
    fn keywords_compile_from_any_mix_of_them(
        words in proptest::collection::vec(
            proptest::sample::select(vec!["a", "NOT", "AND", "OR", "=", "1", "'x'", "IS", "NULL", "IN", "BETWEEN", "(", ")"]),
            0..12,
        )
    ) {
        let sql = words.join(" ");
        if let Ok(selector) = Selector::compile(&sql) {
            let _ = selector.evaluate(&|_| Some("1"));
        }
    }
}
