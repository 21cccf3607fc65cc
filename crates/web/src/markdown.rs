//! Markdown written by the team (notes, messages to the reporter), rendered to HTML that
//! is safe to put in a page: CommonMark by `pulldown-cmark`, then every tag, attribute and
//! URL scheme outside an allow-list removed by `ammonia`. Raw HTML in the source is
//! escaped before rendering, so it shows as text rather than being silently dropped.

use pulldown_cmark::{Event, Options, Parser, html};

/// `source` as sanitised HTML.
pub fn render(source: &str) -> String {
    let parser = Parser::new_ext(
        source,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, parser);
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&unsafe_html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_is_rendered() {
        assert_eq!(
            render("**bold** and `code`"),
            "<p><strong>bold</strong> and <code>code</code></p>\n"
        );
        assert!(render("- a\n- b").contains("<li>a</li>"));
        assert!(render("```\nlet x = 1;\n```").contains("<pre><code>let x = 1;\n</code></pre>"));
    }

    #[test]
    fn scripts_handlers_and_dangerous_links_never_survive() {
        for attack in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "[click](data:text/html;base64,PHNjcmlwdD4=)",
            "<a href=\"javascript:alert(1)\">x</a>",
            "![x](javascript:alert(1))",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<svg onload=alert(1)>",
        ] {
            let html = render(attack);
            // Escaped text may quote the attack; no tag may carry it.
            let tags = html
                .split('<')
                .skip(1)
                .map(|t| t.split('>').next().unwrap_or(""));
            for tag in tags {
                for bad in [
                    "script",
                    "onerror",
                    "onload",
                    "javascript:",
                    "data:",
                    "iframe",
                    "svg",
                ] {
                    assert!(!tag.contains(bad), "{attack} → {html}");
                }
            }
        }
        // Raw HTML is shown as text, not dropped.
        assert!(render("<b>hi</b>").contains("&lt;b&gt;hi&lt;/b&gt;"));
    }

    #[test]
    fn links_keep_safe_schemes_and_get_rel() {
        let html = render("[advisory](https://example.org/a)");
        assert!(html.contains("href=\"https://example.org/a\""), "{html}");
        assert!(
            html.contains("rel=\"noopener noreferrer nofollow\""),
            "{html}"
        );
    }
}
