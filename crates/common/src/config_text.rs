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

/// A copy of `current` with `settings` applied through `set`, as an UPDATE_*_CONFIG does: the
/// first error stops it and leaves `current` untouched; a key `set` does not know (`Ok(false)`)
/// is kept out of the copy's `properties` map, as Java only updates keys that exist, and
/// returned.
pub fn updated<C: Clone, E>(
    current: &C,
    settings: &[(String, String)],
    set: impl Fn(&mut C, &str, &str) -> Result<bool, E>,
    properties: impl Fn(&mut C) -> &mut BTreeMap<String, String>,
) -> Result<(C, Vec<String>), E> {
    let mut next = current.clone();
    let mut ignored = Vec::new();
    for (key, value) in settings {
        let previous = properties(&mut next).get(key).cloned();
        if !set(&mut next, key, value)? {
            let map = properties(&mut next);
            match previous {
                Some(v) => map.insert(key.clone(), v),
                None => map.remove(key),
            };
            ignored.push(key.clone());
        }
    }
    Ok((next, ignored))
}

/// Whether UPDATE_*_CONFIG must refuse `key`: one of the keys a server always protects, or one
/// named in its `configBlackList` setting (`;`-separated).
pub fn is_black_listed(key: &str, always: &[&str], config_black_list: &str) -> bool {
    always.contains(&key) || config_black_list.split(';').any(|k| k.trim() == key)
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

    #[test]
    fn black_list_is_the_fixed_keys_and_the_configured_ones() {
        assert!(is_black_listed("rocketmqHome", &["rocketmqHome"], ""));
        assert!(is_black_listed("listenPort", &[], "a; listenPort ;b"));
        assert!(!is_black_listed("listenPort", &["rocketmqHome"], "a;b"));
    }
}
