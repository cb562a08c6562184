//! The consume-queue tag hash (`MessageExtBrokerInner.tagsString2tagsCode`) and TAG
//! subscription expressions (`FilterAPI.buildSubscriptionData`).

/// Java `String.hashCode()`: `s[0]*31^(n-1) + … + s[n-1]` over UTF-16 code units, wrapping.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(unit as i32))
}

/// The tag code stored in a consume-queue unit: 0 for no tag, else the sign-extended hash.
pub fn tags_code(tags: Option<&str>) -> i64 {
    match tags {
        Some(t) if !t.is_empty() => java_string_hash(t) as i64,
        _ => 0,
    }
}

/// The "all tags" subscription expression.
pub const SUB_ALL: &str = "*";

/// A parsed TAG expression: `None` means every tag matches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagFilter {
    pub tags: Vec<String>,
    pub codes: Vec<i32>,
}

impl TagFilter {
    /// Parses `"*"`, `""` (all tags) or `"TagA || TagB"`: split on `||`, trim, drop empties.
    pub fn parse(expression: &str) -> TagFilter {
        let expression = expression.trim();
        if expression.is_empty() || expression == SUB_ALL {
            return TagFilter::default();
        }
        let tags: Vec<String> = expression
            .split("||")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        let codes = tags.iter().map(|t| java_string_hash(t)).collect();
        TagFilter { tags, codes }
    }

    /// True when the filter accepts every message.
    pub fn is_all(&self) -> bool {
        self.tags.is_empty()
    }

    /// The broker's check on a consume-queue unit's tag code.
    pub fn matches_code(&self, tags_code: i64) -> bool {
        self.is_all() || self.codes.contains(&(tags_code as i32))
    }

    /// The client's exact re-check after a pull (hash collisions).
    pub fn matches_tag(&self, tag: Option<&str>) -> bool {
        self.is_all() || tag.is_some_and(|t| self.tags.iter().any(|s| s == t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hashes_of_known_strings() {
        // Values from Java's String.hashCode.
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("TagA"), 2_598_919);
        assert_eq!(java_string_hash("TagB"), 2_598_920);
        assert_eq!(java_string_hash("TagC"), 2_598_921);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("Hello, World!"), 1_498_789_909);
        // Overflows and goes negative.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        // Non-BMP characters hash as their two UTF-16 surrogates.
        assert_eq!(java_string_hash("😀"), 0xD83D * 31 + 0xDE00);
    }

    #[test]
    fn tags_code_sign_extends() {
        assert_eq!(tags_code(None), 0);
        assert_eq!(tags_code(Some("")), 0);
        assert_eq!(tags_code(Some("polygenelubricants")), i32::MIN as i64);
    }

    #[test]
    fn parses_expressions() {
        assert!(TagFilter::parse("*").is_all());
        assert!(TagFilter::parse("").is_all());
        for e in [
            "TagA || TagC",
            "TagA||TagC",
            " TagA ||TagC ",
            "TagA || || TagC",
        ] {
            let f = TagFilter::parse(e);
            assert_eq!(f.tags, vec!["TagA", "TagC"], "{e}");
            assert_eq!(f.codes, vec![2_598_919, 2_598_921]);
            assert!(f.matches_code(2_598_919));
            assert!(!f.matches_code(2_598_920));
            assert!(f.matches_tag(Some("TagC")));
            assert!(!f.matches_tag(None));
        }
    }
}
