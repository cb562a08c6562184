//! Java properties text, as RocketMQ's config files and UPDATE_*_CONFIG bodies carry it
//! (`MixAll.string2Properties` / `properties2String`).

use std::collections::BTreeMap;

/// `key=value` (or `key: value`) lines; blank lines and `#`/`!` comments skipped, keys and
/// values trimmed.
pub fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| {
            let split = l.find(['=', ':'])?;
            Some((
                l[..split].trim().to_owned(),
                l[split + 1..].trim().to_owned(),
            ))
        })
        .collect()
}

/// One `key=value` line per entry.
pub fn write(map: &BTreeMap<String, String>) -> String {
    map.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_and_separators() {
        let text = "# comment\n! also\n\n a = 1 \nb:2\nc=x=y\nnot a pair\n";
        let parsed = parse(text);
        let pairs: Vec<(&str, &str)> = parsed
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(pairs, [("a", "1"), ("b", "2"), ("c", "x=y")]);
        let map: BTreeMap<_, _> = parsed.into_iter().collect();
        assert_eq!(write(&map), "a=1\nb=2\nc=x=y\n");
    }
}
