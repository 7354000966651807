//! Shared by `fhir_narrative` and `fhir_document`: a section narrative read as the viewer
//! reads it (`narrative_text`, shown as text blocks) and as the spine re-serves it
//! (`to_xhtml`), with what both promise checked.

use scr_model::narrative::{narrative_text, TextBlock, MAX_NARRATIVE_BLOCKS, MAX_NARRATIVE_CHARS};

/// The only markup `to_xhtml` writes; anything else that looks like markup came from the
/// sender and must have been escaped.
const OUR_MARKUP: &[&str] = &[
    r#"<div xmlns="http://www.w3.org/1999/xhtml">"#,
    "</div>",
    "<h3>",
    "</h3>",
    "<p>",
    "</p>",
    "<ul>",
    "</ul>",
    "<li>",
    "</li>",
    "<table>",
    "</table>",
    "<tr>",
    "</tr>",
    "<td>",
    "</td>",
];

/// Text as shown: no control characters or other whitespace, single spaces between words,
/// none at either end. (Written to run mostly in the standard library, which has no
/// coverage counters: a loop of our own over every character was most of this target's
/// time.)
fn check_text(s: &str) {
    assert!(
        !s.starts_with(' ') && !s.ends_with(' ') && !s.contains("  "),
        "spacing kept in {s:?}"
    );
    let odd = |c: char| c.is_control() || (c.is_whitespace() && c != ' ');
    let ascii_odd = |b: &u8| *b < 0x20 || *b == 0x7F;
    let kept = if s.is_ascii() {
        s.as_bytes().iter().any(ascii_odd)
    } else {
        s.chars().any(odd)
    };
    assert!(!kept, "a control or whitespace character kept in {s:?}");
}

/// Every `<` in what is re-served starts one of our tags, and no `>` or `"` stands outside one.
fn check_markup(served: &str) {
    let mut pieces = served.split('<');
    let before = pieces.next().unwrap_or_default();
    assert!(!before.contains(['>', '"']), "re-served: {served:?}");
    for piece in pieces {
        let tag = OUR_MARKUP
            .iter()
            .map(|m| &m[1..])
            .find(|m| piece.starts_with(m));
        let Some(tag) = tag else {
            panic!("markup from the sender re-served: {served:?}");
        };
        assert!(
            !piece[tag.len()..].contains(['>', '"']),
            "markup from the sender re-served: {served:?}"
        );
    }
}

pub fn check(xhtml: &str) {
    let n = narrative_text(xhtml);
    assert!(n.blocks.len() <= MAX_NARRATIVE_BLOCKS);
    let mut chars = 0;
    for b in &n.blocks {
        match b {
            TextBlock::Heading { text }
            | TextBlock::Paragraph { text }
            | TextBlock::Item { text } => {
                check_text(text);
                chars += text.chars().count();
            }
            TextBlock::Row { cells } => {
                for c in cells {
                    check_text(c);
                    chars += c.chars().count();
                }
            }
        }
    }
    assert!(chars <= MAX_NARRATIVE_CHARS);
    let _ = n.has_text();

    let served = n.to_xhtml();
    check_markup(&served);
    // What the spine re-serves reads back as the same text in the viewer.
    if n.complete {
        assert_eq!(narrative_text(&served), n, "re-served as {served:?}");
    }
}
