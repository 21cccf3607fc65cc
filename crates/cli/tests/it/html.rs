//! Reading the server's pages in tests: start tags by id, attributes, text. The pages are
//! our own templates' output (one tag per element, attributes double-quoted), so a small
//! scanner is enough and keeps an HTML parser out of the test build.

/// The start tag of the element whose `id` is `id`, e.g. `<input type="text" id="f-title">`.
pub fn tag<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let needle = format!(" id=\"{id}\"");
    let at = html.find(&needle)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    Some(&html[start..=end])
}

/// Every start tag of element `name` (`input`, `label`, ...), in document order.
pub fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        let Some(end) = after.find('>') else { break };
        if after.starts_with([' ', '>']) {
            found.push(&rest[at..at + open.len() + end + 1]);
        }
        rest = &after[end..];
    }
    found
}

/// The decoded value of attribute `name` of a start tag; `Some("")` for a bare attribute.
pub fn attr(tag: &str, name: &str) -> Option<String> {
    let quoted = format!(" {name}=\"");
    if let Some(at) = tag.find(&quoted) {
        let value = &tag[at + quoted.len()..];
        return value.find('"').map(|end| decode(&value[..end]));
    }
    let bare = [format!(" {name} "), format!(" {name}>")];
    bare.iter()
        .any(|b| tag.contains(b.as_str()))
        .then(String::new)
}

/// The decoded text content of the element `id`, tags inside it dropped.
pub fn text(html: &str, id: &str) -> Option<String> {
    let start = tag(html, id)?;
    let name: String = start[1..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let (open, close) = (format!("<{name}"), format!("</{name}>"));
    let at = html.find(start)? + start.len();
    // Elements of the same name may nest (lists in lists): count them.
    let mut depth = 1;
    let mut i = at;
    let end = loop {
        let next_close = i + html[i..].find(&close)?;
        match html[i..next_close].find(&open) {
            Some(o) if html[i + o + open.len()..].starts_with([' ', '>']) => {
                depth += 1;
                i += o + open.len();
            }
            Some(o) => i += o + open.len(),
            None => {
                depth -= 1;
                if depth == 0 {
                    break next_close;
                }
                i = next_close + close.len();
            }
        }
    };
    let mut inner = String::new();
    let mut rest = &html[at..end];
    while let Some(open) = rest.find('<') {
        inner.push_str(&rest[..open]);
        rest = rest[open..]
            .find('>')
            .map_or("", |close| &rest[open + close + 1..]);
    }
    inner.push_str(rest);
    Some(decode(&inner))
}

/// The element ids the error summary links to, in order.
pub fn summary_targets(html: &str) -> Vec<String> {
    let Some(at) = html.find("class=\"error-summary\"") else {
        return Vec::new();
    };
    let summary = &html[at..at + html[at..].find("</div>").unwrap_or(0)];
    tags(summary, "a")
        .iter()
        .filter_map(|a| attr(a, "href"))
        .map(|href| href.trim_start_matches('#').to_owned())
        .collect()
}

/// Undoes the escaping of the templates: named entities and decimal character references.
pub fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let entity = &rest[at..];
        let Some(end) = entity.find(';') else {
            out.push_str(entity);
            return out;
        };
        let name = &entity[1..end];
        let decoded = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => name
                .strip_prefix('#')
                .and_then(|n| n.parse::<u32>().ok())
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&entity[..=end]),
        }
        rest = &entity[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_scanner_reads_tags_attributes_and_text() {
    let html = r##"<p id="a" class="x">Fish &#38; <b>chips</b> &lt;3</p><input id="b" value="&#34;q&#34;" multiple><a href="#a">A</a>"##;
    assert_eq!(
        tag(html, "b"),
        Some(r##"<input id="b" value="&#34;q&#34;" multiple>"##)
    );
    assert_eq!(
        attr(tag(html, "b").unwrap(), "value").as_deref(),
        Some("\"q\"")
    );
    assert_eq!(
        attr(tag(html, "b").unwrap(), "multiple").as_deref(),
        Some("")
    );
    assert_eq!(attr(tag(html, "b").unwrap(), "hidden"), None);
    assert_eq!(text(html, "a").as_deref(), Some("Fish & chips <3"));
    assert_eq!(tags(html, "a").len(), 1, "<abbr> would not count, <a> does");
    let nested = r#"<ul id="l"><li>a<ul><li>b</li></ul></li><li>c</li></ul><p>d</p>"#;
    assert_eq!(text(nested, "l").as_deref(), Some("abc"));
}
