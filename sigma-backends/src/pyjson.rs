//! JSON text exactly as Python's `json.dumps` writes it with default
//! arguments (`", "` and `": "` separators, `ensure_ascii=True`), so that
//! JSON output formats are byte-identical to pySigma's.

use serde_json::Value;

/// Serialises a value like `json.dumps(value)`; the one implementation
/// lives in the pipeline module, which needs it for JSON postprocessing.
pub fn dumps(v: &Value) -> String {
    sigma_core::pipeline::python_json_dumps(v)
}

#[cfg(test)]
mod tests {
    use super::dumps;
    use serde_json::json;

    #[test]
    fn python_separators_and_ascii() {
        let v = json!({"a": [1, 2.5, "ü\"\\/"], "b": {"c": null, "d": true}});
        assert_eq!(
            dumps(&v),
            r#"{"a": [1, 2.5, "\u00fc\"\\/"], "b": {"c": null, "d": true}}"#
        );
    }
}
