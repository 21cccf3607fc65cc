//! A newcomer's first minute: `/` leads to the report forms and the team's sign-in, and
//! `serve --demo` prints clickable links and demo accounts that sign in without a second
//! factor, marked as demo, and that stop working once the desk runs without --demo.

use crate::helpers::{on_each_database, spawn_app, spawn_serve};
use crate::html;
use crate::team_support::{location, page, sign_in_password};

#[tokio::test]
async fn the_front_page_leads_to_each_report_form_and_the_team_sign_in() {
    on_each_database(|db| async move {
        let app = spawn_app(&db).await;
        let response = app.get("/").await;
        assert_eq!(response.status().as_u16(), 200, "on {}", db.label);
        let body = response.text().await.unwrap();
        let list = html::text(&body, "organisations").expect("the organisations are listed");
        for name in ["Kamailio", "SalesTim", "Signalen", "FreePBX"] {
            assert!(list.contains(name), "on {}: {name} in {list}", db.label);
        }
        let links: Vec<String> = html::tags(&body, "a")
            .into_iter()
            .filter_map(|a| html::attr(a, "href"))
            .collect();
        assert!(links.iter().any(|l| l == "/signin"), "{links:?}");
        let forms: Vec<&String> = links.iter().filter(|l| l.starts_with("/o/")).collect();
        assert!(forms.len() >= 4, "on {}: {forms:?}", db.label);
        // Every link the page offers leads somewhere.
        for link in forms {
            let status = app.get(link).await.status().as_u16();
            assert_eq!(status, 200, "on {}: {link}", db.label);
        }
    })
    .await;
}

#[tokio::test]
async fn the_demo_prints_links_and_accounts_that_work_only_while_it_is_a_demo() {
    on_each_database(|db| async move {
        let app = spawn_serve(&db, &["--demo"], &[("VULNDESK_RATE_LIMIT", "off")]).await;
        let out = app.stdout();
        let base = &app.address;
        assert!(
            out.iter().any(|l| l.contains(&format!("{base}/"))),
            "on {}: {out:?}",
            db.label
        );
        // Portal links are whole URLs that open the sample cases.
        let portals: Vec<String> = out
            .iter()
            .filter_map(|l| {
                l.split_whitespace()
                    .find(|w| w.starts_with(&format!("{base}/r/")))
            })
            .map(str::to_owned)
            .collect();
        assert_eq!(portals.len(), 11, "on {}: {out:?}", db.label);
        let portal = app.client.get(&portals[0]).send().await.unwrap();
        assert_eq!(
            portal.status().as_u16(),
            200,
            "on {}: {}",
            db.label,
            portals[0]
        );
        assert!(
            !out.iter().any(|l| l.contains("token ")),
            "no bare tokens: {out:?}"
        );

        // One account per role, with a printed password and no second factor.
        let account = |role: &str| {
            out.iter()
                .find_map(|l| {
                    let words: Vec<&str> = l.split_whitespace().collect();
                    match words.as_slice() {
                        [r, email, "password", password] if *r == role => {
                            Some((email.to_string(), password.to_string()))
                        }
                        _ => None,
                    }
                })
                .unwrap_or_else(|| panic!("no {role} account printed: {out:?}"))
        };
        for role in ["officer", "member", "reviewer"] {
            let (email, password) = account(role);
            let (response, cookie) = sign_in_password(&app, &email, &password).await;
            assert_eq!(
                location(&response),
                "/dashboard",
                "on {}: {role} signs in at once",
                db.label
            );
            let dashboard = page(&app, &cookie.unwrap(), "/dashboard")
                .await
                .text()
                .await
                .unwrap();
            assert!(
                html::tag(&dashboard, "demo-account").is_some(),
                "on {}: marked as demo",
                db.label
            );
            assert!(
                dashboard.contains("Stored XSS in the call queue name"),
                "on {}: {role} sees the sample cases",
                db.label
            );
        }
        // The party account reaches the portal of the party it answers for, nothing else.
        let (party, password) = account("party");
        let (response, cookie) = sign_in_password(&app, &party, &password).await;
        assert_eq!(location(&response), "/dashboard", "on {}", db.label);
        let cookie = cookie.unwrap();
        let dashboard = page(&app, &cookie, "/dashboard")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            !dashboard.contains("Stored XSS in the call queue name"),
            "on {}: a party reads no case list",
            db.label
        );
        let invited = regex::Regex::new(r#"href="(/party/cases/\d+)""#)
            .unwrap()
            .captures(&dashboard)
            .unwrap_or_else(|| panic!("on {}: no invitation listed: {dashboard}", db.label))[1]
            .to_owned();
        let portal = page(&app, &cookie, &invited).await.text().await.unwrap();
        assert!(
            portal.contains("answering for Gemeente Amsterdam"),
            "on {}: {portal}",
            db.label
        );
        let (officer, password) = account("officer");
        // Some sample cases were worked by the demo team: their links show the process,
        // the Kamailio one waiting at its clearance gate.
        let worked: Vec<&str> = out
            .iter()
            .filter_map(|l| {
                l.split_whitespace()
                    .find(|w| w.starts_with(&format!("{base}/cases/")))
            })
            .collect();
        assert_eq!(worked.len(), 7, "on {}: {out:?}", db.label);
        // The printed advisories pages list the demo's published advisories.
        let numbered = regex::Regex::new(r"[A-Z]+-\d{4}-0001").unwrap();
        let listed = out
            .iter()
            .find(|l| l.trim_start().starts_with("advisories:"))
            .unwrap_or_else(|| panic!("on {}: no advisories line: {out:?}", db.label));
        for link in listed
            .split_whitespace()
            .filter(|w| w.starts_with(base.as_str()))
        {
            let list = app
                .get(link.trim_start_matches(base.as_str()))
                .await
                .text()
                .await
                .unwrap();
            assert!(numbered.is_match(&list), "on {}: {list}", db.label);
        }
        let (_, cookie) = sign_in_password(&app, &officer, &password).await;
        let kamailio = page(
            &app,
            &cookie.unwrap(),
            worked[0].trim_start_matches(base.as_str()),
        )
        .await
        .text()
        .await
        .unwrap();
        assert!(
            kamailio.contains("needs approval by 1 member of security-team (0 so far)"),
            "on {}: {kamailio}",
            db.label
        );
        drop(app);

        // The same database served for real: the printed passwords open nothing.
        let app = spawn_serve(&db, &[], &[("VULNDESK_RATE_LIMIT", "off")]).await;
        let (response, cookie) = sign_in_password(&app, &officer, &password).await;
        assert!(
            cookie.is_none() || location(&response) != "/dashboard",
            "on {}: a demo account outlived the demo",
            db.label
        );
        assert!(
            !app.stdout().iter().any(|l| l.contains("password")),
            "on {}",
            db.label
        );
    })
    .await;
}
