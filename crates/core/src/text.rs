//! Text from outside (report forms, the JSON API, mail, search boxes) made safe to store
//! and show, once, where it enters.
//!
//! PostgreSQL refuses U+0000 in `text`, SQLite's C interfaces stop at it, and other
//! control characters and Unicode non-characters carry no meaning a person typed. They are
//! removed, so the same value reaches the event log, the search index and the page. Line
//! breaks and tabs stay: indentation matters in code and proofs of concept.

use unicode_general_category::{GeneralCategory, get_general_category};

/// `text` without NUL, the other C0 controls except tab, line feed and carriage return,
/// DEL, the C1 controls and Unicode non-characters (U+FDD0..U+FDEF and the last two code
/// points of every plane).
///
/// ```
/// use vulndesk_core::text::normalise_untrusted;
/// assert_eq!(normalise_untrusted("a\u{0}b\tc\r\n\u{1b}[31m\u{fffe}"), "ab\tc\r\n[31m");
/// ```
pub fn normalise_untrusted(text: &str) -> String {
    if !text.chars().any(unwanted) {
        return text.to_owned();
    }
    text.chars().filter(|c| !unwanted(*c)).collect()
}

/// Normalises a string in place, allocating only when something is removed.
pub fn normalise_in_place(text: &mut String) {
    if text.chars().any(unwanted) {
        *text = normalise_untrusted(text);
    }
}

/// A filename as shown and stored: [`normalise_untrusted`], and also without any control
/// character (tab and line breaks included) or Unicode format character (category Cf:
/// bidirectional overrides such as U+202E, which make `ä\u{202e}txt.exe` display as
/// "äexe.txt", zero-width joiners and spaces). Path handling is the caller's.
///
/// ```
/// use vulndesk_core::text::normalise_filename;
/// assert_eq!(normalise_filename("ä\u{202e}txt.exe"), "ätxt.exe");
/// ```
pub fn normalise_filename(name: &str) -> String {
    name.chars()
        .filter(|c| !unwanted(*c) && !c.is_control() && !is_format(*c))
        .collect()
}

fn unwanted(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' => false,
        _ if c.is_control() => true,
        _ => is_noncharacter(c),
    }
}

/// Unicode section 23.7: 66 code points reserved never to be characters.
fn is_noncharacter(c: char) -> bool {
    let n = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&n) || n & 0xFFFE == 0xFFFE
}

fn is_format(c: char) -> bool {
    get_general_category(c) == GeneralCategory::Format
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_controls_and_noncharacters_are_removed_and_layout_kept() {
        assert_eq!(normalise_untrusted("a\u{0}b"), "ab");
        assert_eq!(normalise_untrusted("x\u{7}\u{7f}\u{85}\u{9b}y"), "xy");
        assert_eq!(
            normalise_untrusted("\u{fdd0}\u{fdef}\u{fffe}\u{ffff}\u{10ffff}z"),
            "z"
        );
        assert_eq!(
            normalise_untrusted("  fn main() {\r\n\tx\n}"),
            "  fn main() {\r\n\tx\n}"
        );
        // Letters, emoji sequences and right-to-left text are text: kept.
        let kept = "résumé \u{05d0}\u{05d1} 👩\u{200d}💻 \u{fdcf}\u{fdf0}";
        assert_eq!(normalise_untrusted(kept), kept);
    }

    #[test]
    fn normalising_twice_changes_nothing() {
        for s in ["a\u{0}b", "\u{0}\u{0}", "plain", "\u{202e}x\u{1}"] {
            let once = normalise_untrusted(s);
            assert_eq!(normalise_untrusted(&once), once);
            let name = normalise_filename(s);
            assert_eq!(normalise_filename(&name), name);
        }
        let mut s = "a\u{0}b".to_owned();
        normalise_in_place(&mut s);
        assert_eq!(s, "ab");
    }

    #[test]
    fn filenames_lose_format_characters_and_every_control() {
        assert_eq!(normalise_filename("ä\u{202e}txt.exe"), "ätxt.exe");
        assert_eq!(
            normalise_filename("a\u{200b}\u{200e}\u{2066}\u{feff}b\t\n.txt"),
            "ab.txt"
        );
        assert_eq!(normalise_filename("poc\u{0}.py"), "poc.py");
        assert_eq!(normalise_filename("日本語.txt"), "日本語.txt");
    }
}
