use jiff::civil::date;

use super::*;
use crate::access::OrgRole;
use crate::test_support::{policy, reported as case};
use crate::workflow::Member;

fn officer(id: i64) -> Member {
    Member {
        user_id: id,
        role: Some(OrgRole::Officer),
        grant: None,
    }
}

fn run(
    p: &Policy,
    log: &mut Vec<Recorded>,
    by: Member,
    command: BountyCommand,
) -> Result<(), Refused> {
    for event in decide(p, log, &by, command)? {
        log.push(Recorded {
            at: "2026-11-25T10:00:00Z".parse().unwrap(),
            actor: format!("user:{}", by.user_id),
            event,
        });
    }
    Ok(())
}

fn push(log: &mut Vec<Recorded>, event: Event) {
    log.push(Recorded {
        at: "2026-11-21T10:00:00Z".parse().unwrap(),
        actor: "user:1".into(),
        event,
    });
}

fn propose(followed: bool) -> BountyCommand {
    BountyCommand::Propose {
        amount: "0.01 BTC".into(),
        policy_followed: followed,
        note: None,
    }
}

fn pay(method: &str, address: Option<&str>) -> BountyCommand {
    BountyCommand::Pay {
        method: method.into(),
        address: address.map(str::to_owned),
        reference: Some("tx 4a5e1e".into()),
        on: date(2026, 11, 29),
    }
}

#[test]
fn freepbx_pays_a_verified_supported_report_in_bitcoin_after_a_second_approval() {
    let p = policy("freepbx");
    let mut log = case("freepbx", Some("17.0.2"));
    let e = eligibility(&p, &log).unwrap();
    assert!(e.discretionary);
    let met: Vec<(&str, Option<bool>)> = e.checks.iter().map(|c| (c.condition, c.met)).collect();
    assert_eq!(
        met,
        [
            (
                "reported privately, through the policy's channels",
                Some(true)
            ),
            ("a fully verified vulnerability", Some(false)),
            ("not previously reported", Some(true)),
            ("not previously patched (a supported version)", Some(true)),
            ("the reporter followed the security policy", None),
        ]
    );
    assert!(
        matches!(run(&p, &mut log, officer(1), propose(true)), Err(Refused::Conflict(why)) if why.contains("a fully verified vulnerability"))
    );
    push(&mut log, Event::Accepted);
    assert!(eligibility(&p, &log).unwrap().possible());
    assert!(matches!(
        run(&p, &mut log, officer(1), propose(false)),
        Err(Refused::Field("policy_followed", _))
    ));
    let huge = BountyCommand::Propose {
        amount: "9".repeat(101),
        policy_followed: true,
        note: None,
    };
    assert!(matches!(
        run(&p, &mut log, officer(1), huge),
        Err(Refused::Field("amount", _))
    ));
    run(&p, &mut log, officer(1), propose(true)).unwrap();
    assert_eq!(eligibility(&p, &log).unwrap().checks[4].met, Some(true));
    // Paying before the approval, approving one's own proposal, or as a member: refused.
    assert!(matches!(
        run(&p, &mut log, officer(2), pay("bitcoin", Some("bc1qxy2"))),
        Err(Refused::Conflict(_))
    ));
    assert!(
        matches!(run(&p, &mut log, officer(1), BountyCommand::Approve { note: None }), Err(Refused::NotApprover(why)) if why.contains("you proposed"))
    );
    let member = Member {
        role: Some(OrgRole::Member),
        ..officer(3)
    };
    assert!(
        matches!(run(&p, &mut log, member, BountyCommand::Approve { note: None }), Err(Refused::NotApprover(why)) if why.contains("officers"))
    );
    run(
        &p,
        &mut log,
        officer(2),
        BountyCommand::Approve { note: None },
    )
    .unwrap();
    // The reporter is told, with how to be paid anonymously.
    let Some(Event::ReporterMessage { body, .. }) = log.last().map(|r| &r.event) else {
        panic!("the reporter is told of the award");
    };
    assert_eq!(
        body,
        "FreePBX awards you a bounty of 0.01 BTC for this report. Thank you. Reply to this message to say how you want to be paid (bank-transfer or bitcoin). To stay anonymous, ask to be paid in crypto-currency and send the address."
    );
    assert!(
        matches!(run(&p, &mut log, officer(2), pay("paypal", None)), Err(Refused::Field("method", why)) if why.contains("bank-transfer, bitcoin"))
    );
    // An anonymous reporter is paid to an address, which the payment records.
    assert!(matches!(
        run(&p, &mut log, officer(2), pay("bitcoin", None)),
        Err(Refused::Field("address", _))
    ));
    run(
        &p,
        &mut log,
        officer(2),
        pay(
            "bitcoin",
            Some("bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"),
        ),
    )
    .unwrap();
    let paid: Vec<&Event> = log.iter().rev().take(2).map(|r| &r.event).collect();
    assert_eq!(
        reporter_message(&[paid[0].clone()]),
        Some("FreePBX paid your bounty of 0.01 BTC by bitcoin on 2026-11-29.")
    );
    assert_eq!(
        stage(&log),
        Stage::Paid {
            amount: "0.01 BTC".into(),
            method: "bitcoin".into(),
            on: date(2026, 11, 29)
        }
    );
    assert!(matches!(
        run(&p, &mut log, officer(2), pay("bitcoin", Some("x"))),
        Err(Refused::Conflict(_))
    ));
}

#[test]
fn duplicates_unsupported_versions_and_policies_without_a_bounty_are_not_eligible() {
    let p = policy("freepbx");
    // FreePBX 15 is an older major: perhaps already patched in a supported one.
    let mut old = case("freepbx", Some("15.0.1"));
    push(&mut old, Event::Accepted);
    let e = eligibility(&p, &old).unwrap();
    assert!(!e.possible());
    assert!(
        matches!(run(&p, &mut old, officer(1), propose(true)), Err(Refused::Conflict(why)) if why.contains("out of support"))
    );
    // A duplicate of an earlier case.
    let mut dup = case("freepbx", None);
    push(
        &mut dup,
        Event::Declined {
            reason: DeclineReason::Duplicate,
            duplicate_of: Some(7),
            note: None,
        },
    );
    let e = eligibility(&p, &dup).unwrap();
    assert_eq!(e.checks[2].met, Some(false));
    assert_eq!(e.checks[2].why, "a duplicate of case 7");
    assert_eq!(e.checks[3].met, None, "no version: the team judges it");
    // An approver may decide against an award, with a reason.
    let mut sangoma = case("asterisk", None);
    push(&mut sangoma, Event::Accepted);
    let s = policy("sangoma");
    run(
        &s,
        &mut sangoma,
        officer(1),
        BountyCommand::Decline {
            reason: "previously patched in 20.4".into(),
        },
    )
    .unwrap();
    assert_eq!(
        stage(&sangoma),
        Stage::Declined {
            reason: "previously patched in 20.4".into()
        }
    );
    let k = policy("kamailio");
    assert!(eligibility(&k, &case("kamailio", None)).is_none());
    assert!(
        matches!(run(&k, &mut case("kamailio", None), officer(1), propose(true)), Err(Refused::Conflict(why)) if why.contains("offers no bounty"))
    );
}
