//! Named constants of a DiffSL device: declared in its TOML description, substituted into
//! the model text, so that variability and sweeps can change them without editing the `.ds`.
//!
//! A constant `wee = 12.0` in the description's `[constants]` table must be defined in the
//! model as a scalar tensor on its own line, `wee { 12 }`; the loader writes the TOML's value
//! (or an override's) into that line. `t_end` is a constant too (the observation time); a
//! model that needs it in its equations (a time average over the run) declares a constant
//! `tend`, which the loader always sets to `t_end`.

use std::collections::BTreeMap;

use crate::error::{Result, SimError};

/// The model text with the definition line of `name` set to `value`.
pub fn set_constant(code: &str, name: &str, value: f64, origin: &str) -> Result<String> {
    let mut found = 0;
    let lines: Vec<String> = code
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            let rest = trimmed.strip_prefix(name).unwrap_or("");
            let is_definition = trimmed.starts_with(name)
                && rest.trim_start().starts_with('{')
                && rest.contains('}')
                && !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
            if is_definition {
                found += 1;
                let indent = &line[..line.len() - trimmed.len()];
                let tail = rest.split_once('}').map_or("", |(_, t)| t);
                format!("{indent}{name} {{ {value:e} }}{tail}")
            } else {
                line.to_string()
            }
        })
        .collect();
    match found {
        1 => Ok(lines.join("\n") + "\n"),
        0 => Err(SimError::config(
            origin,
            format!("constant '{name}' is declared but the model has no line '{name} {{ value }}' that defines it"),
        )),
        n => Err(SimError::config(origin, format!("constant '{name}' is defined {n} times in the model"))),
    }
}

/// The declared constants with `overrides` applied (names must be declared, values finite).
pub fn merge(
    declared: &BTreeMap<String, f64>,
    overrides: &BTreeMap<String, f64>,
    origin: &str,
) -> Result<BTreeMap<String, f64>> {
    let mut out = declared.clone();
    for (k, v) in overrides {
        if k != "t_end" && !declared.contains_key(k) {
            let known: Vec<&str> = declared.keys().map(String::as_str).chain(["t_end"]).collect();
            return Err(SimError::config(
                origin,
                format!("unknown constant '{k}'; known constants: {}", known.join(", ")),
            ));
        }
        if !v.is_finite() {
            return Err(SimError::config(origin, format!("constant '{k}' = {v} is not finite")));
        }
        out.insert(k.clone(), *v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_lines_are_rewritten_and_missing_ones_named() {
        let code = "in_i { x0 = 0 }\n  wee { 12 } // coupling\nweex { 3 }\nF_i { -wee * x0 }\n";
        let out = set_constant(code, "wee", 13.5, "m.ds").unwrap();
        assert!(out.contains("  wee { 1.35e1 } // coupling"), "{out}");
        assert!(out.contains("weex { 3 }"), "{out}");
        let err = set_constant(code, "gain", 1.0, "m.ds").unwrap_err().to_string();
        assert!(err.contains("'gain'") && err.contains("m.ds"), "{err}");
        let declared = BTreeMap::from([("wee".to_string(), 12.0)]);
        let err = merge(&declared, &BTreeMap::from([("wie".to_string(), 1.0)]), "d").unwrap_err().to_string();
        assert!(err.contains("unknown constant 'wie'") && err.contains("wee, t_end"), "{err}");
        assert_eq!(merge(&declared, &BTreeMap::from([("wee".to_string(), 2.0)]), "d").unwrap()["wee"], 2.0);
    }
}
