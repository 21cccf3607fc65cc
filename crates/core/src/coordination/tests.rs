use super::*;

fn input(name: &str, kind: &str, contacts: &[&str]) -> PartyInput {
    PartyInput {
        name: name.into(),
        kind: kind.into(),
        contacts: contacts.iter().map(|c| c.to_string()).collect(),
        ..PartyInput::default()
    }
}

#[test]
fn a_service_provider_is_checked_and_normalised() {
    let party = check(&PartyInput {
        products: vec![
            "Signalen hosting ".into(),
            "".into(),
            "Signalen hosting".into(),
        ],
        embargo: Some(" 14 days ".into()),
        terms: Some("Share with your operations team only.\u{0}\n".into()),
        ..input(
            "  Gemeente  Amsterdam\tICT ",
            "Service provider",
            &[
                "mailto:security@amsterdam.example",
                " <SECURITY@amsterdam.example> ",
                "",
            ],
        )
    })
    .unwrap();
    assert_eq!(party.name, "Gemeente Amsterdam ICT");
    assert_eq!(party.slug, "gemeente-amsterdam-ict");
    assert_eq!(party.kind, PartyKind::ServiceProvider);
    assert_eq!(
        party.contacts.len(),
        1,
        "the same address twice is one contact"
    );
    assert_eq!(party.products, ["Signalen hosting"]);
    assert_eq!(
        party.embargo.map(|p| p.to_string()).as_deref(),
        Some("14 days")
    );
    assert_eq!(party.terms, "Share with your operations team only.");
}

#[test]
fn each_bad_field_is_named() {
    let ok = input("Debian", "distribution", &["security@debian.example"]);
    let cases: Vec<(PartyInput, &str, &str)> = vec![
        (
            PartyInput {
                name: " \u{1b} ".into(),
                ..ok.clone()
            },
            "name",
            "must not be empty",
        ),
        (
            PartyInput {
                name: "x".repeat(201),
                ..ok.clone()
            },
            "name",
            "longer than 200",
        ),
        (
            PartyInput {
                kind: "reseller".into(),
                ..ok.clone()
            },
            "kind",
            "\"reseller\" is not one of",
        ),
        (
            PartyInput {
                contacts: vec![],
                ..ok.clone()
            },
            "contacts",
            "at least one",
        ),
        (
            PartyInput {
                contacts: vec!["nobody".into()],
                ..ok.clone()
            },
            "contacts",
            "has no @",
        ),
        (
            PartyInput {
                contacts: vec!["root@localhost".into()],
                ..ok.clone()
            },
            "contacts",
            "no domain",
        ),
        (
            PartyInput {
                contacts: (0..21).map(|i| format!("s{i}@debian.example")).collect(),
                ..ok.clone()
            },
            "contacts",
            "at most 20",
        ),
        (
            PartyInput {
                slug: Some("Debian!".into()),
                ..ok.clone()
            },
            "slug",
            "lowercase letters",
        ),
        (
            PartyInput {
                slug: Some("-debian".into()),
                ..ok.clone()
            },
            "slug",
            "hyphen",
        ),
        (
            PartyInput {
                name: "東京".into(),
                ..ok.clone()
            },
            "slug",
            "no slug can be made",
        ),
        (
            PartyInput {
                embargo: Some("soon".into()),
                ..ok.clone()
            },
            "embargo",
            "embargo: expected a period",
        ),
        (
            PartyInput {
                products: vec!["p".repeat(201)],
                ..ok.clone()
            },
            "products",
            "longer than 200",
        ),
        (
            PartyInput {
                terms: Some("t".repeat(8_001)),
                ..ok.clone()
            },
            "terms",
            "longer than 8000",
        ),
    ];
    for (input, field, words) in cases {
        let e = check(&input).unwrap_err();
        assert_eq!(e.field, field, "{input:?}");
        assert!(e.message.contains(words), "{field}: {e}");
    }
    assert!(check(&ok).is_ok());
}

#[test]
fn kinds_read_the_way_people_write_them() {
    for kind in PartyKind::ALL {
        assert_eq!(PartyKind::parse(kind.as_str()), Some(kind));
        assert_eq!(
            serde_json::to_value(kind).unwrap(),
            serde_json::json!(kind.as_str())
        );
    }
    assert_eq!(
        PartyKind::parse("SERVICE_PROVIDER"),
        Some(PartyKind::ServiceProvider)
    );
    assert_eq!(PartyKind::parse(" Vendor "), Some(PartyKind::Vendor));
    assert_eq!(PartyKind::parse("distro"), None);
}

#[test]
fn slugs_come_from_names_and_stay_within_bounds() {
    assert_eq!(slug_of("Red Hat, Inc.").as_deref(), Some("red-hat-inc"));
    assert_eq!(slug_of("--A--B--").as_deref(), Some("a-b"));
    assert_eq!(slug_of(&"a ".repeat(100)).map(|s| s.len()), Some(63));
    assert_eq!(slug_of("…"), None);
    let e = check(&PartyInput {
        slug: Some("debian".into()),
        ..input("Debian", "distribution", &["security@debian.example"])
    });
    assert_eq!(e.unwrap().slug, "debian");
}

#[test]
fn an_unknown_json_field_is_refused() {
    let e = serde_json::from_str::<PartyInput>(
        r#"{"name":"x","kind":"vendor","contacts":["a@b.example"],"contact":"c@d.example"}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("unknown field `contact`"), "{e}");
}
