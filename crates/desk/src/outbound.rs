//! Outbound cases: we are the reporter, to a third-party vendor (SalesTim, seed 003: "we
//! notify vendors of vulnerabilities immediately", "treating all vendors strictly equally",
//! "SalesTim expects to be held to the same standard").
//!
//! An outbound case is a case like any other, opened by a team member with the channel
//! `outbound`: its "reporter" is the vendor. So what the team writes to the reporter goes
//! to the vendor (encrypted to the vendor's key when one is given), the vendor's answers
//! join the case by its reply address through the mail intake, and the organisation's own
//! disclosure rules run its disclosure clock (see [`vulndesk_core::clocks`]).

use std::collections::BTreeMap;

use jiff::Timestamp;
use vulndesk_core::access::{OrgRole, Standing};
use vulndesk_core::actor::Actor;
use vulndesk_core::case::{Channel, Event};
use vulndesk_core::email::EmailAddress;
use vulndesk_mail::openpgp::PublicKey;
use vulndesk_store::{Effects, NewReporterKey, UserRow, new_reply_tag};

use crate::intake::{DESCRIPTION_MAX_BYTES, Opening, TITLE_MAX_CHARS};
use crate::reporter_token::ReporterToken;
use crate::workspace::{Acted, Acting, Action};
use crate::{Desk, DeskError};

/// The field of the `reported` event naming the vendor.
pub const VENDOR_FIELD: &str = "vendor";
/// The field of the `reported` event naming the vendor's product.
pub const VENDOR_PRODUCT_FIELD: &str = "vendor_product";

/// Our report to a vendor, as the team typed it.
#[derive(Debug, Clone)]
pub struct OutboundReport {
    /// Our organisation.
    pub organisation: String,
    /// Our product the finding came from (default: the organisation's first).
    pub product: Option<String>,
    pub vendor: String,
    pub vendor_product: String,
    /// The vendor's security contact.
    pub contact: String,
    /// The vendor's ASCII-armoured OpenPGP public key.
    pub openpgp_key: Option<String>,
    pub title: String,
    /// What we send the vendor.
    pub description: String,
}

/// An outbound case just opened, with its first message to the vendor.
#[derive(Debug, Clone)]
pub struct Opened {
    pub case_id: i64,
    pub sent: Acted,
}

fn invalid(field: &str, message: impl Into<String>) -> DeskError {
    DeskError::invalid(field, message.into())
}

impl Desk {
    /// Opens an outbound case for `report` by `by` (a member or officer of the organisation),
    /// and sends the vendor the report.
    pub async fn report_outbound(
        &self,
        report: OutboundReport,
        by: &UserRow,
        at: Timestamp,
    ) -> Result<Opened, DeskError> {
        let org = self
            .store
            .organisation_by_slug(&report.organisation)
            .await?
            .ok_or_else(|| DeskError::UnknownProduct {
                field: "organisation",
                message: format!("no organisation {:?} here", report.organisation),
            })?;
        let standing = match self.person(by).await?.orgs.get(&org.id) {
            Some(OrgRole::Officer) => Standing::Manager,
            Some(OrgRole::Member) => Standing::Worker,
            _ if by.admin => Standing::Manager,
            _ => {
                return Err(DeskError::Forbidden(format!(
                    "only the team of {} reports to vendors in its name",
                    org.name
                )));
            }
        };
        let products = self.store.list_products().await?;
        let ours: Vec<_> = products.iter().filter(|p| p.org_id == org.id).collect();
        let product = match &report.product {
            Some(slug) => ours.iter().find(|p| p.slug == *slug).ok_or_else(|| {
                let slugs: Vec<&str> = ours.iter().map(|p| p.slug.as_str()).collect();
                invalid(
                    "product",
                    format!(
                        "{slug:?} is not a product of {}; its products are {}",
                        org.name,
                        slugs.join(", ")
                    ),
                )
            })?,
            None => ours
                .first()
                .ok_or_else(|| invalid("product", format!("{} has no product", org.name)))?,
        };
        let version = product
            .policy_version_id
            .ok_or_else(|| DeskError::Internal(format!("{} has no policy", org.name)))?;
        let pinned = self.policy(version).await?;
        if !pinned.policy.coordination.outbound_same_policy {
            return Err(DeskError::Conflict {
                message: format!(
                    "{}'s policy does not say how its reports to vendors are disclosed: set coordination.outbound_same_policy = true to run them on its own disclosure rules",
                    org.name
                ),
            });
        }
        for (field, text, max) in [
            ("vendor", &report.vendor, 200),
            ("vendor_product", &report.vendor_product, 200),
            ("title", &report.title, TITLE_MAX_CHARS),
        ] {
            if text.trim().is_empty() {
                return Err(invalid(field, format!("{field} must not be empty")));
            }
            if text.chars().count() > max {
                return Err(invalid(
                    field,
                    format!("{field} is longer than {max} characters"),
                ));
            }
        }
        if report.description.trim().is_empty() {
            return Err(invalid(
                "description",
                "description must not be empty: it is what the vendor is sent",
            ));
        }
        if report.description.len() > DESCRIPTION_MAX_BYTES {
            return Err(invalid(
                "description",
                format!("description is longer than {DESCRIPTION_MAX_BYTES} bytes"),
            ));
        }
        let contact = EmailAddress::parse(&report.contact).map_err(|e| {
            invalid(
                "contact",
                format!("contact is the vendor's security address: {e}"),
            )
        })?;
        let key = report
            .openpgp_key
            .filter(|k| !k.trim().is_empty())
            .map(|armored| {
                PublicKey::parse(&armored, at)
                    .map(|key| (key, armored))
                    .map_err(|e| {
                        invalid(
                            "openpgp_key",
                            format!("openpgp_key is not a usable OpenPGP public key: {e}"),
                        )
                    })
            })
            .transpose()?;
        let fields = BTreeMap::from([
            (VENDOR_FIELD.to_owned(), report.vendor),
            (VENDOR_PRODUCT_FIELD.to_owned(), report.vendor_product),
        ]);
        let mut events = vec![Event::Reported {
            product: product.slug.clone(),
            title: report.title,
            description: report.description.clone(),
            reporter_contact: Some(contact.as_str().to_owned()),
            channel: Channel::Outbound,
            fields,
            language: None,
        }];
        let mut effects = Effects::default();
        if let Some((key, armored)) = key {
            events.push(Event::ReporterKeySet {
                fingerprint: key.fingerprint(),
            });
            effects.reporter_key = Some(NewReporterKey {
                fingerprint: key.fingerprint(),
                armored,
            });
        }
        // We verified what we report: the case starts accepted, its fix being the vendor's.
        events.push(Event::Accepted);
        let case = self
            .open(Opening {
                product_id: product.id,
                policy: pinned,
                // Nobody holds a portal link to an outbound case: the vendor answers by mail.
                reporter_token_hash: ReporterToken::generate()?.hash(),
                reply_tag: new_reply_tag()?,
                at,
                actor: Actor::User(by.id),
                events,
                effects,
            })
            .await?;
        // What we send, through the same path as every message to a reporter: recorded, and
        // mailed from the case's reply address (encrypted to the vendor's key if given).
        let sent = self
            .act(
                &case,
                org.id,
                Acting { user: by, standing },
                Action::Message {
                    body: report.description,
                    files: Vec::new(),
                },
            )
            .await?;
        Ok(Opened {
            case_id: case.id,
            sent,
        })
    }
}
