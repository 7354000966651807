//! A section's narrative — the document's own text, XHTML as sent — reduced to plain text
//! with its structure kept (headings, paragraphs, list items, table rows). Nothing of the
//! document's markup survives: no element, attribute, style or link reaches the screen, so
//! a hostile or broken narrative can only ever show as text.
//!
//! The NHS SCR FHIR API sends allergies and medication as narrative only, and most IPS
//! documents carry each section's text beside its entries: a patient's penicillin allergy
//! may exist only here.

use quick_xml::events::Event;
use quick_xml::Reader;
use serde::{Deserialize, Serialize};

/// The most text kept from one narrative; the rest is cut and the cut is marked.
pub const MAX_NARRATIVE_CHARS: usize = 100_000;
/// The most blocks kept from one narrative.
pub const MAX_NARRATIVE_BLOCKS: usize = 2_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TextBlock {
    Heading { text: String },
    Paragraph { text: String },
    Item { text: String },
    Row { cells: Vec<String> },
}

/// A narrative as text. `complete` is false when the markup broke off or the text was cut at
/// the limits: the reader is told that more was sent than is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NarrativeText {
    pub blocks: Vec<TextBlock>,
    pub complete: bool,
}

impl NarrativeText {
    /// True when there is something to read (not only whitespace or empty elements).
    pub fn has_text(&self) -> bool {
        self.blocks.iter().any(|b| match b {
            TextBlock::Row { cells } => cells.iter().any(|c| !c.is_empty()),
            TextBlock::Heading { text }
            | TextBlock::Paragraph { text }
            | TextBlock::Item { text } => !text.is_empty(),
        })
    }

    /// The text as minimal XHTML of our own making (every character escaped), for a service
    /// that re-serves a narrative it received.
    pub fn to_xhtml(&self) -> String {
        let mut out = String::from(r#"<div xmlns="http://www.w3.org/1999/xhtml">"#);
        let mut in_list = false;
        let mut in_table = false;
        for b in &self.blocks {
            let is_item = matches!(b, TextBlock::Item { .. });
            let is_row = matches!(b, TextBlock::Row { .. });
            if in_list && !is_item {
                out.push_str("</ul>");
                in_list = false;
            }
            if in_table && !is_row {
                out.push_str("</table>");
                in_table = false;
            }
            match b {
                TextBlock::Heading { text } => {
                    out.push_str(&format!("<h3>{}</h3>", escape(text)));
                }
                TextBlock::Paragraph { text } => {
                    out.push_str(&format!("<p>{}</p>", escape(text)));
                }
                TextBlock::Item { text } => {
                    if !in_list {
                        out.push_str("<ul>");
                        in_list = true;
                    }
                    out.push_str(&format!("<li>{}</li>", escape(text)));
                }
                TextBlock::Row { cells } => {
                    if !in_table {
                        out.push_str("<table>");
                        in_table = true;
                    }
                    out.push_str("<tr>");
                    for c in cells {
                        out.push_str(&format!("<td>{}</td>", escape(c)));
                    }
                    out.push_str("</tr>");
                }
            }
        }
        if in_list {
            out.push_str("</ul>");
        }
        if in_table {
            out.push_str("</table>");
        }
        if !self.complete {
            out.push_str("<p>[The rest of this text could not be read.]</p>");
        }
        out.push_str("</div>");
        out
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Heading,
    Paragraph,
    Item,
}

struct Builder {
    blocks: Vec<TextBlock>,
    line: String,
    kind: Kind,
    row: Option<Vec<String>>,
    cell: Option<String>,
    chars: usize,
    complete: bool,
}

impl Builder {
    fn push_text(&mut self, text: &str) {
        let target = match self.cell.as_mut() {
            Some(cell) => cell,
            None => &mut self.line,
        };
        for c in text.chars() {
            let c = if c.is_whitespace() || c.is_control() {
                ' '
            } else {
                c
            };
            if c == ' ' && (target.is_empty() || target.ends_with(' ')) {
                continue;
            }
            if self.chars >= MAX_NARRATIVE_CHARS {
                self.complete = false;
                return;
            }
            target.push(c);
            self.chars += 1;
        }
    }

    /// Ends the current line as a block of its kind (nothing if it holds no text).
    fn flush(&mut self) {
        let text = self.line.trim().to_string();
        self.line.clear();
        if text.is_empty() {
            return;
        }
        self.push(match self.kind {
            Kind::Heading => TextBlock::Heading { text },
            Kind::Paragraph => TextBlock::Paragraph { text },
            Kind::Item => TextBlock::Item { text },
        });
    }

    fn push(&mut self, block: TextBlock) {
        if self.blocks.len() >= MAX_NARRATIVE_BLOCKS {
            self.complete = false;
            return;
        }
        self.blocks.push(block);
    }

    fn end_cell(&mut self) {
        if let Some(cell) = self.cell.take() {
            let cell = cell.trim().to_string();
            match self.row.as_mut() {
                Some(row) => row.push(cell),
                // A cell outside any row: kept as a line of its own.
                None => self.push(TextBlock::Paragraph { text: cell }),
            }
        }
    }

    fn end_row(&mut self) {
        self.end_cell();
        if let Some(cells) = self.row.take() {
            if cells.iter().any(|c| !c.is_empty()) {
                self.push(TextBlock::Row { cells });
            }
        }
    }
}

/// Elements whose content is never text for a reader.
fn is_hidden(name: &str) -> bool {
    matches!(
        name,
        "script" | "style" | "head" | "title" | "object" | "iframe"
    )
}

fn named_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" => " ",
        "ndash" => "–",
        "mdash" => "—",
        "deg" => "°",
        "micro" => "µ",
        "plusmn" => "±",
        "times" => "×",
        "middot" => "·",
        "le" => "≤",
        "ge" => "≥",
        _ => return None,
    })
}

/// Reads a narrative's XHTML as text blocks. Never fails: markup that breaks off ends the
/// reading there, with `complete` false.
pub fn narrative_text(xhtml: &str) -> NarrativeText {
    let mut reader = Reader::from_str(xhtml);
    {
        let config = reader.config_mut();
        // Real documents are not always well-formed XHTML: read on past mismatched ends.
        config.check_end_names = false;
        config.allow_unmatched_ends = true;
        config.allow_dangling_amp = true;
    }
    let mut b = Builder {
        blocks: Vec::new(),
        line: String::new(),
        kind: Kind::Paragraph,
        row: None,
        cell: None,
        chars: 0,
        complete: true,
    };
    let mut hidden_depth = 0usize;
    loop {
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(_) => {
                b.complete = false;
                break;
            }
        };
        match event {
            Event::Eof => break,
            Event::Start(e) => {
                let name = e.local_name().into_inner().to_ascii_lowercase();
                if hidden_depth > 0 || is_hidden(&name) {
                    hidden_depth += 1;
                    continue;
                }
                start(&mut b, &name);
            }
            Event::Empty(e) => {
                if hidden_depth > 0 {
                    continue;
                }
                let name = e.local_name().into_inner().to_ascii_lowercase();
                match name.as_str() {
                    "br" => {
                        if b.cell.is_some() {
                            // Through push_text, which writes to the cell and keeps one
                            // space between words (and counts it against the limit).
                            b.push_text(" ");
                        } else {
                            b.flush();
                        }
                    }
                    "td" | "th" => {
                        b.end_cell();
                        if let Some(row) = b.row.as_mut() {
                            row.push(String::new());
                        }
                    }
                    _ => {}
                }
            }
            Event::End(e) => {
                if hidden_depth > 0 {
                    hidden_depth -= 1;
                    continue;
                }
                let name = e.local_name().into_inner().to_ascii_lowercase();
                end(&mut b, &name);
            }
            Event::Text(t) if hidden_depth == 0 => b.push_text(&t),
            Event::CData(t) if hidden_depth == 0 => b.push_text(&t),
            Event::GeneralRef(r) => {
                if hidden_depth > 0 {
                    continue;
                }
                if r.is_char_ref() {
                    if let Ok(Some(c)) = r.resolve_char_ref() {
                        b.push_text(&c.to_string());
                    }
                } else if let Some(s) = named_entity(&r) {
                    b.push_text(s);
                } else {
                    // An entity we do not know: shown as written, never dropped silently.
                    b.push_text(&format!("&{};", &*r));
                }
            }
            _ => {}
        }
    }
    b.end_row();
    b.flush();
    NarrativeText {
        complete: b.complete,
        blocks: b.blocks,
    }
}

fn start(b: &mut Builder, name: &str) {
    match name {
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
            b.flush();
            b.kind = Kind::Heading;
        }
        "li" => {
            b.flush();
            b.kind = Kind::Item;
        }
        "p" | "div" | "ul" | "ol" | "dl" | "dt" | "dd" | "table" | "caption" | "thead"
        | "tbody" | "tfoot" | "blockquote" | "pre" => {
            b.flush();
            b.kind = Kind::Paragraph;
        }
        "tr" => {
            b.flush();
            b.end_row();
            b.row = Some(Vec::new());
        }
        "td" | "th" => {
            b.flush();
            b.end_cell();
            if b.row.is_none() {
                b.row = Some(Vec::new());
            }
            b.cell = Some(String::new());
        }
        _ => {
            // Inline elements (span, b, i, a, sub, sup…) keep their text in the line; a
            // space keeps words from running together across them.
            b.push_text(" ");
        }
    }
}

fn end(b: &mut Builder, name: &str) {
    match name {
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "li" | "p" | "div" | "dt" | "dd" | "caption"
        | "blockquote" | "pre" => {
            b.flush();
            b.kind = Kind::Paragraph;
        }
        "td" | "th" => b.end_cell(),
        "tr" | "table" | "thead" | "tbody" | "tfoot" => b.end_row(),
        _ => b.push_text(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn para(t: &str) -> TextBlock {
        TextBlock::Paragraph { text: t.into() }
    }

    #[test]
    fn structure_is_kept_as_text() {
        let n = narrative_text(
            r#"<div xmlns="http://www.w3.org/1999/xhtml"><h2>Allergies</h2><p>Penicillin &#8211; <b>anaphylaxis</b> (1998)</p>
            <ul><li>Latex&nbsp;gloves</li><li>Peanuts</li></ul>
            <table><tr><th>Substance</th><th>Reaction</th></tr><tr><td>Aspirin</td><td>Wheeze<br/>and rash</td></tr></table></div>"#,
        );
        assert!(n.complete);
        assert_eq!(
            n.blocks,
            vec![
                TextBlock::Heading {
                    text: "Allergies".into()
                },
                para("Penicillin – anaphylaxis (1998)"),
                TextBlock::Item {
                    text: "Latex gloves".into()
                },
                TextBlock::Item {
                    text: "Peanuts".into()
                },
                TextBlock::Row {
                    cells: vec!["Substance".into(), "Reaction".into()]
                },
                TextBlock::Row {
                    cells: vec!["Aspirin".into(), "Wheeze and rash".into()]
                },
            ]
        );
    }

    #[test]
    fn a_line_break_in_a_cell_is_one_space() {
        // Found by fuzzing (fhir_narrative), in a real IPS document: the end of <em> already
        // gave a space, and <br/> added a second one outside push_text's collapsing.
        let n = narrative_text(
            "<table><tr><td><span><em>Formatting may differ.</em></span><br /><span>a note<br /></span></td><td>a<br/><br/>b</td></tr></table>",
        );
        assert_eq!(
            n.blocks,
            vec![TextBlock::Row {
                cells: vec!["Formatting may differ. a note".into(), "a b".into()]
            }]
        );
    }

    #[test]
    fn markup_never_survives() {
        let n = narrative_text(
            r#"<div><script>alert(1)</script><style>p{}</style><p onclick="x()">Peni<a href="javascript:x">cillin</a> &lt;img src=x onerror=y&gt;</p></div>"#,
        );
        let all = serde_json::to_string(&n).expect("json");
        assert!(!all.contains("alert") && !all.contains("onclick") && !all.contains("href"));
        assert_eq!(n.blocks, vec![para("Peni cillin <img src=x onerror=y>")]);
        // What we re-serve escapes it again.
        assert!(n.to_xhtml().contains("&lt;img src=x onerror=y&gt;"));
    }

    #[test]
    fn broken_markup_keeps_what_was_read_and_says_so() {
        let n = narrative_text("<div><p>Penicillin allergy</p><p>Latex <");
        assert!(!n.complete);
        assert_eq!(n.blocks.first(), Some(&para("Penicillin allergy")));
        let n = narrative_text("<div><p>Penicillin</span></p></div>");
        assert_eq!(n.blocks, vec![para("Penicillin")]);
    }

    #[test]
    fn empty_narratives_have_no_text() {
        for x in [
            "",
            "<div/>",
            "<div xmlns=\"http://www.w3.org/1999/xhtml\">  <p> </p>&nbsp;</div>",
        ] {
            assert!(!narrative_text(x).has_text(), "{x}");
        }
        assert!(narrative_text("plain words").has_text());
    }

    #[test]
    fn what_we_reserve_reads_back_the_same() {
        let n = narrative_text(
            "<div><h3>A</h3><p>b &amp; c</p><ul><li>d</li></ul><table><tr><td>e</td><td>f</td></tr></table><p>g</p></div>",
        );
        assert_eq!(narrative_text(&n.to_xhtml()), n);
    }

    #[test]
    fn long_text_is_cut_and_marked() {
        let long = format!("<p>{}</p>", "x ".repeat(MAX_NARRATIVE_CHARS));
        let n = narrative_text(&long);
        assert!(!n.complete);
        let many = "<p>y</p>".repeat(MAX_NARRATIVE_BLOCKS + 10);
        let n = narrative_text(&many);
        assert!(!n.complete);
        assert_eq!(n.blocks.len(), MAX_NARRATIVE_BLOCKS);
    }
}
