//! `--demo`: the five reference policies and a few sample cases, so a fresh install has
//! something to look at. The policies are compiled in, so the binary works from anywhere.

use jiff::{Timestamp, ToSpan};
use vulndesk_desk::intake::Report;
use vulndesk_desk::{Desk, accounts};
use vulndesk_store::{Store, StoreError};

use crate::CliError;
use crate::server_cmd::{store_error, store_policy};

/// The reference policies, as `(file name, source)`.
const POLICIES: [(&str, &str); 5] = [
    (
        "sangoma.toml",
        include_str!("../../../policies/sangoma.toml"),
    ),
    (
        "freepbx.toml",
        include_str!("../../../policies/freepbx.toml"),
    ),
    (
        "kamailio.toml",
        include_str!("../../../policies/kamailio.toml"),
    ),
    (
        "salestim.toml",
        include_str!("../../../policies/salestim.toml"),
    ),
    (
        "signalen.toml",
        include_str!("../../../policies/signalen.toml"),
    ),
];

/// A sample report: organisation, product, title, description, days before now it came in.
type Sample = (&'static str, &'static str, &'static str, &'static str, i64);

/// Spread over several weeks so the sample clocks are at different stages.
const SAMPLES: [Sample; 11] = [
    (
        "sangoma",
        "asterisk",
        "chan_pjsip crashes on a re-INVITE with an SDP that has 0 media streams",
        "Asterisk 20.9.x with chan_pjsip. Sending a re-INVITE whose SDP has no m= lines to an \
         established call makes Asterisk segfault (NULL dereference in the media negotiation). \
         An unauthenticated caller on an endpoint that allows anonymous calls can take the PBX down.",
        2,
    ),
    (
        "sangoma",
        "asterisk",
        "AMI Originate lets a reporting-only user run shell commands via the System application",
        "A manager.conf user with only the 'reporting' write class can call Originate with \
         Application: System and run arbitrary commands as the asterisk user.",
        20,
    ),
    (
        "sangoma",
        "switchvox",
        "Stored XSS in the call queue name on the admin dashboard",
        "A queue name containing <img src=x onerror=alert(1)> is rendered unescaped on the \
         admin dashboard of Switchvox 7.x.",
        45,
    ),
    (
        "freepbx",
        "freepbx",
        "SQL injection in the CDR report date filter",
        "The 'startdate' parameter of the CDR Reports module is concatenated into a query. \
         An authenticated low-privilege user can read the whole database. Tested on FreePBX 17.",
        1,
    ),
    (
        "freepbx",
        "freepbx",
        "User Control Panel voicemail download does not check mailbox ownership",
        "Any UCP user can download any voicemail by changing the msgid parameter of \
         /ucp/ajax.php?module=voicemail&command=listen.",
        12,
    ),
    (
        "kamailio",
        "kamailio",
        "Out-of-bounds read parsing a Via header with more than 64 parameters",
        "A single UDP SIP request with a Via header carrying 65 or more ;x parameters makes \
         Kamailio 5.8 read past a fixed-size array in the parser; worker processes crash.",
        4,
    ),
    (
        "kamailio",
        "kamailio",
        "tm module crash on a CANCEL for a transaction without a To-tag",
        "With t_relay_cancel() in the config, a CANCEL arriving while the INVITE transaction \
         is being created crashes the worker (race in the tm module).",
        30,
    ),
    (
        "salestim",
        "salestim",
        "Tenant isolation bypass in the Teams export endpoint",
        "GET /api/v2/teams/export?tenant=<other tenant id> returns the other tenant's team \
         list when called with any valid access token. SalesTim 2.4.1.",
        3,
    ),
    (
        "salestim",
        "salestim",
        "OAuth redirect_uri validation accepts attacker-controlled subdomains",
        "redirect_uri is checked with a suffix match on 'salestim.com', so \
         https://evilsalestim.com/cb is accepted and receives the authorisation code.",
        50,
    ),
    (
        "signalen",
        "signalen",
        "IDOR exposes reporters' contact details on other citizens' notices",
        "The backoffice API endpoint /signals/v1/private/signals/{id}/ returns reporter e-mail \
         and phone for any id to a department user outside the signal's department.",
        6,
    ),
    (
        "signalen",
        "signalen",
        "Open redirect on the login callback",
        "The 'next' parameter of the login callback is not restricted to the application's own \
         origin.",
        25,
    ),
];

/// Sample parties: `(organisation, name, kind, contacts, products, embargo)`.
const PARTIES: [(&str, &str, &str, &str, &str, &str); 4] = [
    (
        "signalen",
        "Gemeente Amsterdam",
        "service-provider",
        "psirt@amsterdam.example",
        "Signalen (managed instances)",
        "14 days",
    ),
    (
        "signalen",
        "Signalen Hosting BV",
        "service-provider",
        "security@signalen-hosting.example",
        "Signalen SaaS",
        "30 days",
    ),
    (
        "kamailio",
        "Debian",
        "distribution",
        "team@security.debian.example",
        "kamailio (Debian packages)",
        "7 days",
    ),
    (
        "kamailio",
        "Example VoIP Appliances",
        "vendor",
        "psirt@voip-appliances.example",
        "SBC 3000",
        "90 days",
    ),
];

/// What a demo start made that a person needs to walk in: the sample cases' portal links
/// (only when they were created now: a token is never stored, so it cannot be shown
/// again) and the demo accounts with their fresh passwords.
#[derive(Default)]
pub(crate) struct Demo {
    /// `(case id, organisation/product, reporter token)`.
    pub cases: Vec<(i64, String, String)>,
    /// `(role, address, password)`.
    pub accounts: Vec<(&'static str, String, String)>,
    /// The sample cases taken some way through their process: `(case id, what was done)`.
    pub walked: Vec<(i64, String)>,
    /// The demo parties' portals: `(party slug, /p/{id}/{token})`.
    pub portals: Vec<(String, String)>,
}

/// The demo team: one account per role, in every demo organisation.
const ACCOUNTS: [(&str, &str, &str); 4] = [
    ("officer", "officer@demo.example", "Demo Officer"),
    ("member", "member@demo.example", "Demo Member"),
    ("reviewer", "reviewer@demo.example", "Demo Reviewer"),
    ("party", "party@demo.example", "Demo Party"),
];

/// The demo's `party` account answers for this party of this organisation's registry: no
/// role anywhere, only the party's portal on the cases it is invited to.
const PARTY_ACCOUNT_OF: (&str, &str) = ("signalen", "gemeente-amsterdam");

/// Loads the reference policies and, if the database has no cases yet, the sample cases.
pub(crate) async fn load(store: &Store) -> Result<Demo, CliError> {
    let mut demo = Demo::default();
    for (file, source) in POLICIES {
        let policy = vulndesk_core::policy::Policy::parse(file, source)
            .map_err(|e| CliError::Invalid(format!("built-in demo policy {file}: {e}")))?;
        store_policy(store, &policy, source).await?;
    }
    if store.count_cases().await.map_err(store_error)? > 0 {
        return Ok(demo);
    }
    // Through the same code as the API, so the cases are pinned and projected like real ones.
    let desk = Desk::new(store.clone());
    let now = Timestamp::now();
    for (organisation, name, kind, contact, product, embargo) in PARTIES {
        let org = desk.organisation(organisation).await?;
        let entry = vulndesk_desk::coordination::PartyEntry {
            input: vulndesk_core::coordination::PartyInput {
                name: name.into(),
                kind: kind.into(),
                contacts: vec![contact.into()],
                products: vec![product.into()],
                embargo: Some(embargo.into()),
                terms: Some("Your security team and the people patching your systems.".into()),
                slug: None,
            },
            key: None,
        };
        desk.put_party(&org, &entry, vulndesk_store::IfExists::Replace, now)
            .await
            .map_err(|e| CliError::Environment(format!("demo party {name:?}: {e}")))?;
    }
    for (organisation, product, title, description, days_ago) in SAMPLES {
        let report = Report::new(Some(organisation), product, title, description)
            .map_err(|e| CliError::Invalid(format!("demo report {title:?}: {e}")))?;
        let at = now
            .checked_sub((days_ago * 24).hours())
            .map_err(|e| CliError::Invalid(format!("demo report date: {e}")))?;
        let opened = desk
            .submit(report, at)
            .await
            .map_err(|e| CliError::Environment(format!("demo report {title:?}: {e}")))?;
        // Fictional cases: their tokens are shown so a person trying the demo can open them.
        demo.cases.push((
            opened.case_id,
            format!("{organisation}/{product}"),
            opened.token.as_str().to_owned(),
        ));
    }
    Ok(demo)
}

/// Makes (or enables again) the demo team with fresh passwords and no second factor, in
/// every organisation of the demo. They are marked as demo accounts, shown as such on
/// every team page, and disabled by [`retire_accounts`] when the desk runs without --demo.
pub(crate) async fn accounts(store: &Store, demo: &mut Demo) -> Result<(), CliError> {
    let mut orgs = Vec::new();
    for (file, _) in POLICIES {
        let slug = file.trim_end_matches(".toml");
        if let Some(org) = store
            .organisation_by_slug(slug)
            .await
            .map_err(store_error)?
        {
            orgs.push(org.id);
        }
    }
    for (role, email, name) in ACCOUNTS {
        let password = accounts::generate_password()
            .map_err(|e| CliError::Environment(format!("demo password: {e:?}")))?;
        let hash = accounts::hash_password(&password)
            .map_err(|e| CliError::Environment(format!("demo password: {e:?}")))?;
        let roles: Vec<(i64, &str)> = match role {
            "party" => Vec::new(),
            _ => orgs.iter().map(|id| (*id, role)).collect(),
        };
        match store
            .upsert_demo_user(email, name, &hash, &roles, Timestamp::now())
            .await
        {
            Ok(id) => {
                if role == "party" {
                    link_party_account(store, id).await?;
                }
                demo.accounts.push((role, email.to_owned(), password));
            }
            Err(StoreError::Conflict(_)) => {
                return Err(CliError::Usage(format!(
                    "{email} is a real account in this database, so the demo does not take it \
                     over; use another --db for the demo"
                )));
            }
            Err(e) => return Err(store_error(e)),
        }
    }
    Ok(())
}

async fn link_party_account(store: &Store, user_id: i64) -> Result<(), CliError> {
    let (org, slug) = PARTY_ACCOUNT_OF;
    let Some(org) = store.organisation_by_slug(org).await.map_err(store_error)? else {
        return Ok(());
    };
    if let Some(party) = store.party(org.id, slug).await.map_err(store_error)? {
        store
            .link_party_account(party.id, user_id, true, Timestamp::now())
            .await
            .map_err(store_error)?;
    }
    Ok(())
}

/// Disables the demo accounts of an earlier `--demo` run: their passwords were printed on
/// a console, so they must not work on a desk that is not a demo.
pub(crate) async fn retire_accounts(store: &Store) -> Result<(), CliError> {
    let disabled = store
        .disable_demo_users(Timestamp::now())
        .await
        .map_err(store_error)?;
    if disabled > 0 {
        tracing::warn!(
            accounts = disabled,
            "demo accounts disabled: this desk was started without --demo"
        );
    }
    Ok(())
}

/// The lines a person starting the demo reads: where to go and how to sign in.
pub(crate) fn welcome(base: &str, demo: &Demo) -> Vec<String> {
    let mut lines = vec![
        String::new(),
        format!("Vulndesk demo: open {base}/"),
        format!("  report forms:  {base}/o/kamailio/report (and one per organisation on {base}/)"),
        format!(
            "  parties:       {base}/orgs/signalen/parties (signed in: the registry of parties)"
        ),
        format!(
            "  advisories:    {base}/o/kamailio/advisories and {base}/o/salestim/advisories (each links its CVE JSON 5, CSAF, CSAF VEX and OSV)"
        ),
    ];
    if !demo.accounts.is_empty() {
        lines.push(format!(
            "  team sign-in:  {base}/signin  (demo accounts, no second factor; new passwords at each start)"
        ));
        for (role, email, password) in &demo.accounts {
            lines.push(format!("    {role:<9} {email:<24} password {password}"));
        }
        if demo.accounts.iter().any(|(role, ..)| *role == "party") {
            lines.push(format!(
                "    (the party account answers for the registry's {}: its dashboard lists the cases that party is invited to)",
                PARTY_ACCOUNT_OF.1
            ));
        }
    }
    if demo.cases.is_empty() {
        lines.push(
            "  sample cases:  their reporter links were printed when they were made; start with \
             a new --db to see them again"
                .to_owned(),
        );
    } else {
        lines.push("  reporter portals of the sample cases (secret links):".to_owned());
        for (id, what, token) in &demo.cases {
            lines.push(format!("    case {id:<3} {what:<20} {base}/r/{id}/{token}"));
        }
    }
    if !demo.walked.is_empty() {
        lines.push(
            "  worked by the demo team (sign in to see the process and its gates):".to_owned(),
        );
        for (id, what) in &demo.walked {
            lines.push(format!("    case {id:<3} {base}/cases/{id}  {what}"));
        }
    }
    if !demo.portals.is_empty() {
        lines.push("  party portals of the demo's service providers (secret links):".to_owned());
        for (party, path) in &demo.portals {
            lines.push(format!("    {party:<20} {base}{path}"));
        }
    }
    lines.push(String::new());
    lines
}

/// Takes a few fresh sample cases some way through their policy's process, as the demo
/// team, through the same use cases as the pages: so the process, its gates, fix tracking
/// per release line, SSVC and an outbound report have something to show. Returns a line
/// per case walked, and the demo parties' portal links, for the welcome.
pub(crate) async fn walk(store: &Store, demo: &mut Demo) -> Result<(), CliError> {
    use vulndesk_core::access::Standing;
    use vulndesk_core::command::Command;
    use vulndesk_core::fixes::LineUpdate;
    use vulndesk_core::ssvc::{Automatable, Exploitation, MissionImpact, Ssvc, TechnicalImpact};
    use vulndesk_desk::{Acting, Action};

    if demo.cases.is_empty() {
        return Ok(());
    }
    let user = |email: &'static str| async move {
        store
            .user_by_email(email)
            .await
            .map_err(store_error)?
            .ok_or_else(|| CliError::Environment(format!("demo account {email} is missing")))
    };
    let officer = user("officer@demo.example").await?;
    let member = user("member@demo.example").await?;
    let desk = Desk::new(store.clone());
    let now = Timestamp::now();
    let today = jiff::tz::TimeZone::UTC.to_datetime(now).date();
    let case_of = |what: &str| {
        demo.cases
            .iter()
            .find(|(_, w, _)| w.as_str() == what)
            .map(|(id, _, _)| *id)
    };
    let mut walked = Vec::new();
    let mut portals = Vec::new();
    let act = |id: i64, by: &'static str, action: Action| {
        let desk = &desk;
        let (who, standing) = if by == "officer" {
            (&officer, Standing::Manager)
        } else {
            (&member, Standing::Worker)
        };
        async move {
            let row = desk
                .store()
                .case(id)
                .await
                .map_err(store_error)?
                .ok_or_else(|| CliError::Environment(format!("demo case {id} is missing")))?;
            let org = desk
                .store()
                .case_org(id)
                .await
                .map_err(store_error)?
                .ok_or_else(|| {
                    CliError::Environment(format!("demo case {id} has no organisation"))
                })?;
            desk.act(
                &row,
                org,
                Acting {
                    user: who,
                    standing,
                },
                action,
            )
            .await
            .map_err(|e| CliError::Environment(format!("demo case {id}: {e}")))
        }
    };
    if let Some(id) = case_of("kamailio/kamailio") {
        act(id, "officer", Command::Accept.into()).await?;
        act(
            id,
            "member",
            Command::ProposeFix {
                reference: "https://github.com/kamailio/kamailio/pull/4242".into(),
            }
            .into(),
        )
        .await?;
        walked.push((
            id,
            "Kamailio: fix proposed; its merge waits for the security team's clearance".to_owned(),
        ));
    }
    if let Some(id) = case_of("freepbx/freepbx") {
        act(id, "officer", Command::Accept.into()).await?;
        for (line, update) in [
            ("17", LineUpdate::Affected { affected: true }),
            ("16", LineUpdate::Affected { affected: true }),
            ("18", LineUpdate::Affected { affected: false }),
            (
                "17",
                LineUpdate::Planned {
                    version: Some("17.0.4".into()),
                    on: today.saturating_add(10.days()),
                },
            ),
        ] {
            act(
                id,
                "member",
                Command::UpdateLine {
                    line: line.into(),
                    update,
                }
                .into(),
            )
            .await?;
        }
        act(
            id,
            "member",
            Command::Prioritise {
                points: Ssvc {
                    exploitation: Exploitation::PublicPoc,
                    automatable: Automatable::No,
                    technical_impact: TechnicalImpact::Total,
                    mission_impact: MissionImpact::High,
                },
            }
            .into(),
        )
        .await?;
        walked.push((
            id,
            "FreePBX: fix tracked per release line, SSVC Attend".to_owned(),
        ));
    }
    if let Some(id) = case_of("signalen/signalen") {
        act(
            id,
            "member",
            Command::CompleteStage {
                stage: "validate".into(),
                evidence: Some("reproduced on a test instance".into()),
            }
            .into(),
        )
        .await?;
        // Its known service providers are told under embargo (stage 7 of seed 004).
        let invited = act(
            id,
            "officer",
            Action::Invite {
                selection: vulndesk_desk::coordination::Selection {
                    parties: Vec::new(),
                    kinds: vec![vulndesk_core::coordination::PartyKind::ServiceProvider],
                },
                reply_by: today.saturating_add(7.days()),
                summary: "A stored cross-site scripting flaw in Signalen's report form: a \
                          crafted description runs script in a municipal employee's browser. \
                          Fixed in the next release; until then, restrict who can file reports \
                          to signed-in citizens."
                    .into(),
            },
        )
        .await?;
        let end = now
            .checked_add(jiff::SignedDuration::from_hours(24 * 30))
            .and_then(|end| end.round(jiff::Unit::Hour))
            .map_err(|e| CliError::Environment(format!("demo embargo: {e}")))?;
        act(
            id,
            "officer",
            Command::SetEmbargo {
                end,
                terms: "Your security and operations teams only; nothing public before the end."
                    .into(),
            }
            .into(),
        )
        .await?;
        walked.push((
            id,
            "Signalen: first of its nine stages done; its service providers invited under embargo"
                .to_owned(),
        ));
        portals = invited.portals;
    }
    // Published advisories, so their pages and exports have something real to show:
    // SalesTim's (its fix released first), Kamailio's (reviewed by the officer, with
    // Debian's approved status and a revision), and a SalesTim advisory withdrawn.
    let cases_of = |what: &str| -> Vec<i64> {
        demo.cases
            .iter()
            .filter(|(_, w, _)| w.as_str() == what)
            .map(|(id, _, _)| *id)
            .collect()
    };
    let salestim = cases_of("salestim/salestim");
    let kamailio = cases_of("kamailio/kamailio");
    if let ([tenant, redirect], [_, tm]) = (salestim.as_slice(), kamailio.as_slice()) {
        for id in [*tenant, *redirect, *tm] {
            act(id, "officer", Command::Accept.into()).await?;
        }
        for id in [*tenant, *redirect] {
            for update in [
                LineUpdate::Affected { affected: true },
                LineUpdate::Released {
                    version: if id == *tenant { "2.4.2" } else { "2.3.9" }.into(),
                    on: today,
                },
            ] {
                act(
                    id,
                    "member",
                    Command::UpdateLine {
                        line: "2.x".into(),
                        update,
                    }
                    .into(),
                )
                .await?;
            }
        }
        let invited = act(
            *tm,
            "officer",
            Action::Invite {
                selection: vulndesk_desk::coordination::Selection {
                    parties: vec!["debian".into()],
                    kinds: Vec::new(),
                },
                reply_by: today.saturating_add(7.days()),
                summary: "A crash of the tm module on a CANCEL racing its INVITE.".into(),
            },
        )
        .await?;
        portals.extend(invited.portals);
        for command in [
            Command::State {
                party: "debian".into(),
                statement: vulndesk_core::coordination::Statement {
                    status: vulndesk_core::coordination::VexStatus::Fixed,
                    justification: None,
                    statement: "Fixed in kamailio 5.8.4-1 for bookworm.".into(),
                },
            },
            Command::ApproveStatement {
                party: "debian".into(),
            },
        ] {
            act(*tm, "officer", command.into()).await?;
        }
        let published = demo_advisories(&desk, &officer, &member, *tenant, *redirect, *tm)
            .await
            .map_err(|e| CliError::Environment(format!("demo advisories: {e}")))?;
        walked.extend(published);
    }
    let outbound = desk
        .report_outbound(
            vulndesk_desk::outbound::OutboundReport {
                organisation: "salestim".into(),
                product: None,
                vendor: "Example Vendor".into(),
                vendor_product: "example-csv 2.1".into(),
                contact: "security@vendor.example".into(),
                openpgp_key: None,
                title: "Heap overflow parsing quoted fields".into(),
                description: "A quoted field longer than 64 KiB overflows the parser's buffer."
                    .into(),
            },
            &officer,
            now,
        )
        .await
        .map_err(|e| CliError::Environment(format!("demo outbound case: {e}")))?;
    walked.push((
        outbound.case_id,
        "SalesTim's own report to a vendor, on SalesTim's disclosure rules".to_owned(),
    ));
    demo.walked = walked;
    demo.portals = portals;
    Ok(())
}

/// The demo's published advisories (see [`walk`]), each through the desk's own use cases:
/// drafted by the member, reviewed by the officer where the policy gates it, published by
/// the officer. Returns a line per advisory for the welcome.
async fn demo_advisories(
    desk: &Desk,
    officer: &vulndesk_store::UserRow,
    member: &vulndesk_store::UserRow,
    tenant: i64,
    redirect: i64,
    tm: i64,
) -> Result<Vec<(i64, String)>, vulndesk_desk::DeskError> {
    use vulndesk_core::advisory::lifecycle::Fields;
    use vulndesk_core::advisory::{
        CreditKind, LineRange, Package, Product, Reference, ReferenceKind,
    };
    use vulndesk_desk::advisories::{AdvisoryAction as A, Writer};

    let product = |vendor: &str, name: &str, line: &str, from: &str, fixed: &str| Product {
        vendor: vendor.into(),
        name: name.into(),
        package: None,
        lines: vec![LineRange {
            line: line.into(),
            introduced: from.into(),
            fixed: Some(fixed.into()),
        }],
    };
    let draft = |case: i64, fields: Fields| async move {
        let row = desk
            .store()
            .case(case)
            .await?
            .ok_or(vulndesk_desk::DeskError::NotFound)?;
        let org = desk
            .store()
            .case_org(case)
            .await?
            .ok_or(vulndesk_desk::DeskError::NotFound)?;
        let person = desk.person(member).await?;
        desk.draft_advisory(&row, org, &person, &[], Some(fields))
            .await
    };
    let by = |user: &vulndesk_store::UserRow| Writer { user_id: user.id };
    let mut lines = Vec::new();

    let tenant_fields = Fields {
        title: "Tenant isolation bypass in the Teams export endpoint".into(),
        summary: "Any valid access token could export another tenant's list of teams.".into(),
        description: "`GET /api/v2/teams/export` took the tenant from its `tenant` parameter \
                      instead of the access token. Fixed in 2.4.2: the tenant now always comes \
                      from the token."
            .into(),
        component: Some("the Teams export API".into()),
        products: vec![Product {
            package: Some(Package {
                ecosystem: "npm".into(),
                name: "@salestim/teams-export".into(),
                purl: Some("pkg:npm/%40salestim/teams-export".into()),
            }),
            ..product("SalesTim", "SalesTim", "2.x", "2.0.0", "2.4.2")
        }],
        cvss: vec!["CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N".into()],
        ssvc: None,
        cwes: vec![639],
        references: vec![Reference {
            url: "https://www.salestim.com/changelog/2.4.2".into(),
            kind: ReferenceKind::ReleaseNotes,
        }],
        workarounds: String::new(),
    };
    let tenant_advisory = draft(tenant, tenant_fields).await?;
    let id = tenant_advisory.row.id;
    for action in [
        A::OfferCredit {
            name: "SalesTim security team".into(),
            kind: CreditKind::RemediationDeveloper,
            reporter_of: None,
        },
        A::RequestCve {
            at: Some("MITRE".into()),
        },
        A::AssignCve {
            cve: "CVE-2026-99901".into(),
        },
    ] {
        desk.act_on_advisory(id, by(member), action).await?;
    }
    desk.act_on_advisory(id, by(officer), A::Publish).await?;
    lines.push((
        tenant,
        format!(
            "SalesTim: advisory {} published (CVE-2026-99901)",
            tenant_advisory.row.number
        ),
    ));

    let tm_fields = Fields {
        title: "tm module crash on a CANCEL racing its INVITE".into(),
        summary: "A CANCEL that arrives while its INVITE transaction is being created crashes a \
                  worker process."
            .into(),
        description: "With `t_relay_cancel()` in the routing script, a CANCEL processed while \
                      the INVITE transaction is created dereferences a transaction that is not \
                      yet complete. A remote attacker who can send SIP requests can crash \
                      workers repeatedly."
            .into(),
        component: Some("the tm module".into()),
        products: vec![product("Kamailio", "kamailio", "5.8", "5.8.0", "5.8.4")],
        cvss: vec!["CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H".into()],
        ssvc: Some(vulndesk_core::ssvc::Ssvc {
            exploitation: vulndesk_core::ssvc::Exploitation::None,
            automatable: vulndesk_core::ssvc::Automatable::Yes,
            technical_impact: vulndesk_core::ssvc::TechnicalImpact::Partial,
            mission_impact: vulndesk_core::ssvc::MissionImpact::Medium,
        }),
        cwes: vec![362],
        references: vec![Reference {
            url: "https://github.com/kamailio/kamailio/commit/0000000".into(),
            kind: ReferenceKind::Fix,
        }],
        workarounds: String::new(),
    };
    let tm_advisory = draft(tm, tm_fields.clone()).await?;
    let id = tm_advisory.row.id;
    for action in [
        A::OfferCredit {
            name: String::new(),
            kind: CreditKind::Finder,
            reporter_of: Some(tm),
        },
        A::RequestCve { at: None },
        A::AssignCve {
            cve: "CVE-2026-99902".into(),
        },
    ] {
        desk.act_on_advisory(id, by(member), action).await?;
    }
    // The security team (its officer, who did not write it) reviews it, then publishes.
    desk.act_on_advisory(id, by(officer), A::Approve).await?;
    desk.act_on_advisory(id, by(officer), A::Publish).await?;
    let revised = Fields {
        workarounds: "Until you upgrade, handle CANCEL statelessly: call `t_relay_cancel()` \
                      only after `t_check_trans()`."
            .into(),
        ..tm_fields
    };
    desk.act_on_advisory(id, by(member), A::Edit(revised))
        .await?;
    desk.act_on_advisory(
        id,
        by(officer),
        A::Revise {
            note: "Workaround added.".into(),
        },
    )
    .await?;
    lines.push((
        tm,
        format!(
            "Kamailio: advisory {} published and revised, with Debian's status",
            tm_advisory.row.number
        ),
    ));

    let redirect_fields = Fields {
        title: "OAuth redirect_uri accepted attacker-controlled domains".into(),
        summary: "The authorisation endpoint accepted any redirect_uri ending in salestim.com."
            .into(),
        description: String::new(),
        component: Some("the OAuth authorisation endpoint".into()),
        products: vec![product("SalesTim", "SalesTim", "2.x", "2.0.0", "2.3.9")],
        cvss: Vec::new(),
        ssvc: None,
        cwes: vec![601],
        references: Vec::new(),
        workarounds: String::new(),
    };
    let redirect_advisory = draft(redirect, redirect_fields).await?;
    let id = redirect_advisory.row.id;
    for action in [
        A::RequestCve {
            at: Some("MITRE".into()),
        },
        A::AssignCve {
            cve: "CVE-2026-99903".into(),
        },
    ] {
        desk.act_on_advisory(id, by(member), action).await?;
    }
    desk.act_on_advisory(id, by(officer), A::Publish).await?;
    desk.act_on_advisory(
        id,
        by(officer),
        A::Withdraw {
            reason: "Published in error: the suffix match was only ever on a development \
                     branch; every release of 2.x compared the whole origin."
                .into(),
        },
    )
    .await?;
    lines.push((
        redirect,
        format!(
            "SalesTim: advisory {} withdrawn",
            redirect_advisory.row.number
        ),
    ));
    Ok(lines)
}
