//! What every HTML page shares: rendering a template into a response, the error page, the
//! pieces of a form, and the stylesheet.
//!
//! Pages are rendered on the server and work without JavaScript; they load nothing but
//! `/static/vulndesk.css` and, where an instant is shown in the reader's time zone,
//! `/static/localtime.js` (see [`crate::security_headers`] for the policy that enforces it).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::ApiError;

/// `template` as an HTML response with `status`.
pub(crate) fn render(status: StatusCode, template: &impl Template) -> Result<Response, ApiError> {
    let html = template
        .render()
        .map_err(|e| ApiError::Internal(format!("template: {e}")))?;
    Ok((status, Html(html)).into_response())
}

/// Adds `Cache-Control: no-store`: for pages that show a secret or a private case.
pub(crate) fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    heading: &'a str,
    message: &'a str,
}

/// Every 404 says the same: an unknown address, a wrong token and an unknown case must not
/// be told apart.
const NOT_FOUND: &str = "There is nothing at this address. If you followed a link you were \
                         given, check that it was copied completely.";

/// The page for a failed request. Never fails itself: a template error falls back to text.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response {
    let heading = match status {
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::PAYLOAD_TOO_LARGE => "Too large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported form",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "There is a problem",
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::CONFLICT => "Not possible now",
        StatusCode::SERVICE_UNAVAILABLE => "Temporarily unavailable",
        _ => "Something went wrong",
    };
    let message = if status == StatusCode::NOT_FOUND {
        NOT_FOUND
    } else {
        message
    };
    let page = ErrorPage { heading, message };
    let response = render(status, &page)
        .unwrap_or_else(|_| (status, format!("{heading}: {message}")).into_response());
    no_store(response)
}

/// How a form control is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Widget {
    Line,
    Email,
    Text,
    File,
    Files,
    Select,
}

/// One choice of a `<select>`.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    pub(crate) value: String,
    pub(crate) label: String,
}

/// A labelled form control with its hint, its error and the value typed into it.
#[derive(Debug, Clone)]
pub(crate) struct Control {
    /// The element id (`f-` and the name), target of the label and the error summary.
    pub(crate) id: String,
    /// The form field name, as the server reads it.
    pub(crate) name: String,
    pub(crate) label: String,
    pub(crate) required: bool,
    pub(crate) hint: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) widget: Widget,
    pub(crate) value: String,
    pub(crate) options: Vec<Choice>,
}

impl Control {
    pub(crate) fn new(name: &str, label: &str, widget: Widget) -> Control {
        Control {
            id: control_id(name),
            name: name.to_owned(),
            label: label.to_owned(),
            required: false,
            hint: None,
            error: None,
            widget,
            value: String::new(),
            options: Vec::new(),
        }
    }

    pub(crate) fn required(mut self) -> Control {
        self.required = true;
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Control {
        self.hint = Some(hint.into());
        self
    }

    pub(crate) fn value(mut self, value: &str) -> Control {
        value.clone_into(&mut self.value);
        self
    }

    pub(crate) fn options(mut self, options: Vec<Choice>) -> Control {
        self.options = options;
        self
    }

    /// The ids of the hint and the error, for `aria-describedby`.
    pub(crate) fn described_by(&self) -> Option<String> {
        let ids: Vec<String> = [
            self.hint.as_ref().map(|_| format!("{}-hint", self.id)),
            self.error.as_ref().map(|_| format!("{}-error", self.id)),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!ids.is_empty()).then(|| ids.join(" "))
    }
}

/// `fields.steps` → `f-fields-steps`: an id that needs no escaping in a URL fragment.
fn control_id(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("f-{safe}")
}

/// An entry of the error summary: the message, linking to the control it is about.
#[derive(Debug, Clone)]
pub(crate) struct ErrorLink {
    pub(crate) target: String,
    pub(crate) message: String,
}

/// The status of a form shown again with `problems`: 413 when a file was refused for its
/// size or number (the page states the limit), 422 otherwise.
pub(crate) fn status_of(problems: &[ApiError]) -> StatusCode {
    if problems
        .iter()
        .any(|p| p.status() == StatusCode::PAYLOAD_TOO_LARGE)
    {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// Puts each problem next to its control (the first problem of a control wins) and into the
/// summary. A problem with no control of its own links to the first control.
pub(crate) fn attach_errors<E: std::borrow::Borrow<ApiError>>(
    controls: &mut [Control],
    problems: &[E],
) -> Vec<ErrorLink> {
    let position_of = |problem: &ApiError| {
        let field = problem.field().unwrap_or_default();
        controls.iter().position(|c| c.name == field)
    };
    // The summary reads in the order of the form.
    let mut ordered: Vec<(Option<usize>, &ApiError)> = problems
        .iter()
        .map(|p| (position_of(p.borrow()), p.borrow()))
        .collect();
    ordered.sort_by_key(|(position, _)| position.unwrap_or(usize::MAX));
    let mut summary = Vec::new();
    for (position, problem) in ordered {
        let message = match (problem, position) {
            (ApiError::MissingField(_), Some(i)) => format!("{} is required", controls[i].label),
            _ => capitalised(&problem.to_string()),
        };
        if let Some(i) = position
            && controls[i].error.is_none()
        {
            controls[i].error = Some(message.clone());
        }
        let target = position
            .or((!controls.is_empty()).then_some(0))
            .map_or_else(|| "main".to_owned(), |i| controls[i].id.clone());
        summary.push(ErrorLink { target, message });
    }
    summary
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

/// `GET /static/vulndesk.css`: the one stylesheet, compiled in.
pub async fn stylesheet() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        include_str!("../static/vulndesk.css"),
    )
        .into_response()
}

/// `GET /static/localtime.js`: the one script, compiled in: it shows instants (an
/// embargo's end) in the reader's own time zone, naming the zone.
pub async fn localtime() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        include_str!("../static/localtime.js"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_goes_to_its_control_and_the_summary() {
        let mut controls = vec![
            Control::new("title", "Title", Widget::Line).hint("One line"),
            Control::new("fields.steps", "Steps", Widget::Text).required(),
        ];
        let problems = [
            ApiError::MissingField("fields.steps".into()),
            ApiError::InvalidField {
                field: "title".into(),
                message: "title must not be empty".into(),
            },
            ApiError::InvalidField {
                field: "title".into(),
                message: "second".into(),
            },
            ApiError::UnreadableBody,
        ];
        let summary = attach_errors(&mut controls, &problems);
        assert_eq!(
            controls[0].error.as_deref(),
            Some("Title must not be empty")
        );
        assert_eq!(controls[1].error.as_deref(), Some("Steps is required"));
        assert_eq!(controls[1].id, "f-fields-steps");
        assert_eq!(
            controls[0].described_by().as_deref(),
            Some("f-title-hint f-title-error")
        );
        assert_eq!(
            controls[1].described_by().as_deref(),
            Some("f-fields-steps-error")
        );
        let targets: Vec<_> = summary.iter().map(|e| e.target.as_str()).collect();
        assert_eq!(targets, ["f-title", "f-title", "f-fields-steps", "f-title"]);
    }
}
