use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::{Date, date};

use super::*;
use crate::access::Standing;
use crate::case::Channel;
use crate::command::{By, Command, Context, Refusal, decide};
use crate::test_support::policy;

const TODAY: Date = date(2026, 11, 30);
const OFFICER: i64 = 1;
const OTHER_OFFICER: i64 = 2;
const MEMBER: i64 = 3;
const REVIEWER: i64 = 4;

fn with(name: &str, edit: impl Fn(&str) -> String) -> Result<Policy, String> {
    let path = format!("{}/../../policies/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let source = edit(&std::fs::read_to_string(&path).unwrap());
    Policy::parse(&path, &source).map_err(|e| e.to_string())
}

fn member(user_id: i64) -> Member {
    let role = match user_id {
        OFFICER | OTHER_OFFICER => Some(OrgRole::Officer),
        MEMBER => Some(OrgRole::Member),
        _ => Some(OrgRole::Reviewer),
    };
    Member {
        user_id,
        role,
        grant: None,
    }
}

/// A case's log, each event by the user given (0: the reporter).
struct Case {
    log: Vec<Recorded>,
    policy: Policy,
}

impl Case {
    fn new(policy: &str) -> Case {
        let mut case = Case {
            log: Vec::new(),
            policy: self::policy(policy),
        };
        case.push(
            0,
            Event::Reported {
                product: "p".into(),
                title: "t".into(),
                description: "d".into(),
                reporter_contact: None,
                channel: Channel::Email,
                fields: BTreeMap::new(),
                language: None,
            },
        );
        case
    }

    fn push(&mut self, by: i64, event: Event) {
        let at: Timestamp = "2026-11-20T10:00:00Z".parse().unwrap();
        self.log.push(Recorded {
            at: at + jiff::SignedDuration::from_mins(self.log.len() as i64),
            actor: if by == 0 {
                "reporter".into()
            } else {
                format!("user:{by}")
            },
            event,
        });
    }

    /// Signalen's step 7 through the desk: a known service provider invited under embargo
    /// and the release date agreed with it.
    fn coordinate(&mut self) {
        self.by(
            OFFICER,
            Command::InviteParties {
                parties: vec![crate::coordination::Invitee {
                    party: "gemeente".into(),
                    name: "Gemeente".into(),
                    kind: crate::coordination::PartyKind::ServiceProvider,
                }],
                reply_by: TODAY,
                summary: "A flaw in the report form.".into(),
            },
        )
        .unwrap();
        self.by(
            OFFICER,
            Command::AgreeRelease {
                at: "2026-12-15T12:00:00Z".parse().unwrap(),
                note: None,
            },
        )
        .unwrap();
    }

    /// Decides `command` by `user` and records what it decided.
    fn by(&mut self, user: i64, command: Command) -> Result<(), Refusal> {
        let standing = match member(user).role {
            Some(OrgRole::Officer) => Standing::Manager,
            Some(OrgRole::Member) => Standing::Worker,
            _ => Standing::Reader,
        };
        let ctx = Context {
            by: By::Team(standing),
            today: TODAY,
            officers: &[OFFICER, OTHER_OFFICER],
            org_cases: &[],
            member: Some(member(user)),
        };
        for event in decide(command, &self.log, &self.policy, &ctx)? {
            self.push(user, event);
        }
        Ok(())
    }
}

fn approve(step: &str) -> Command {
    Command::Approve {
        step: step.into(),
        note: None,
    }
}

fn conflict(r: Result<(), Refusal>) -> String {
    match r {
        Err(Refusal::Conflict(why)) => why,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn kamailio_merges_no_patch_without_the_security_teams_clearance() {
    let mut case = Case::new("kamailio");
    case.by(OFFICER, Command::Accept).unwrap();
    case.by(
        MEMBER,
        Command::ProposeFix {
            reference: "https://github.com/kamailio/kamailio/pull/9".into(),
        },
    )
    .unwrap();
    let merge = Command::MergeFix { reference: None };
    assert_eq!(
        conflict(case.by(MEMBER, merge.clone())),
        "merge-fix is gated by this policy: it needs approval by 1 member of security-team (0 so far) first"
    );
    // The security team is the officers (seed 002): a developer cannot clear it.
    assert!(matches!(
        case.by(MEMBER, approve("merge-fix")),
        Err(Refusal::Forbidden { .. })
    ));
    case.by(OTHER_OFFICER, approve("merge-fix")).unwrap();
    assert!(conflict(case.by(OTHER_OFFICER, approve("merge-fix"))).contains("already approved"));
    case.by(MEMBER, merge).unwrap();
    // The release is cleared by the security team too ("coordinated with the release").
    let release = Command::ReleaseFix { on: TODAY };
    assert!(
        conflict(case.by(OFFICER, release.clone())).starts_with("release is gated by this policy")
    );
    case.by(OTHER_OFFICER, approve("release")).unwrap();
    case.by(OFFICER, release).unwrap();
    // Approving what no gate asks for is a wrong field, with the steps that do.
    assert!(matches!(
        case.by(OFFICER, approve("announce")),
        Err(Refusal::Invalid { field: "step", message }) if message.contains("merge-fix, publish-advisory, release")
    ));
}

#[test]
fn kamailio_publishes_after_a_review_of_the_advisory_by_the_security_team() {
    let mut case = Case::new("kamailio");
    case.by(OFFICER, Command::Accept).unwrap();
    let publish = Command::PublishAdvisory { on: TODAY };
    assert!(
        conflict(case.by(OFFICER, publish.clone())).contains("review by 1 member of security-team")
    );
    case.by(OTHER_OFFICER, approve("publish-advisory")).unwrap();
    case.by(OFFICER, publish).unwrap();
    assert_eq!(
        crate::triage::fold(&case.log),
        crate::case::State::Disclosed
    );
}

#[test]
fn the_author_of_a_fix_cannot_review_it_and_a_new_fix_needs_a_new_review() {
    let mut case = Case::new("signalen");
    case.by(OFFICER, Command::Accept).unwrap();
    case.by(
        OFFICER,
        Command::CompleteStage {
            stage: "notify-providers".into(),
            evidence: Some("mailed the three known providers".into()),
        },
    )
    .unwrap();
    case.coordinate();
    let fix = |n: u32| Command::ProposeFix {
        reference: format!("private-fork@fix-{n}"),
    };
    case.by(MEMBER, fix(1)).unwrap();
    // The steering group is every role here; the author's own review does not count.
    assert!(
        conflict(case.by(MEMBER, approve("merge-fix")))
            .contains("you wrote what merge-fix is about")
    );
    let merge = Command::MergeFix {
        reference: Some("abc123".into()),
    };
    assert!(conflict(case.by(OFFICER, merge.clone())).contains(
        "review by 1 member of technical-steering-group other than who proposed the fix (0 so far)"
    ));
    // A reviewer of the organisation is in the steering group.
    case.by(REVIEWER, approve("merge-fix")).unwrap();
    // The fix changed: the review read the old one.
    case.by(MEMBER, fix(2)).unwrap();
    assert!(conflict(case.by(OFFICER, merge.clone())).contains("(0 so far)"));
    case.by(REVIEWER, approve("merge-fix")).unwrap();
    case.by(OFFICER, merge.clone()).unwrap();
    // A third fix, proposed after the merge, is merged only with a review of its own.
    case.by(MEMBER, fix(3)).unwrap();
    assert!(conflict(case.by(OFFICER, merge.clone())).contains("(0 so far)"));
    case.by(REVIEWER, approve("merge-fix")).unwrap();
    case.by(OFFICER, merge).unwrap();
}

#[test]
fn signalen_releases_only_after_the_service_providers_were_told() {
    let mut case = Case::new("signalen");
    case.by(OFFICER, Command::Accept).unwrap();
    let release = Command::ReleaseFix { on: TODAY };
    assert!(
        conflict(case.by(OFFICER, release.clone()))
            .contains("the stage notify-providers completed")
    );
    case.by(
        MEMBER,
        Command::CompleteStage {
            stage: "notify-providers".into(),
            evidence: None,
        },
    )
    .unwrap();
    // The providers are told through the desk, and the release date agreed with them.
    assert!(
        conflict(case.by(OFFICER, release.clone()))
            .contains("service providers invited under embargo")
    );
    case.coordinate();
    case.by(OFFICER, release.clone()).unwrap();
    // The checklist shows the built-in stage as done by the release itself.
    let list = checklist(&case.policy, &case.log);
    let done: Vec<(&str, Option<i64>)> = list
        .iter()
        .map(|s| {
            (
                s.stage.as_str(),
                s.done.as_ref().and_then(|d| d.actor.user_id()),
            )
        })
        .collect();
    assert_eq!(
        done,
        [
            ("validate", None),
            ("confirm", None),
            ("private-discussion", None),
            ("draft-advisory", None),
            ("request-cve", None),
            ("patch-in-private", None),
            ("notify-providers", Some(MEMBER)),
            ("release", Some(OFFICER)),
            ("announce", None),
        ]
    );
    assert_eq!(list[7].action, Some("release-fix"));
    // A release already made is not gated again.
    case.by(OFFICER, release).unwrap();
}

#[test]
fn stages_are_completed_once_by_name_and_built_in_ones_by_their_action() {
    let mut case = Case::new("signalen");
    let stage = |s: &str| Command::CompleteStage {
        stage: s.into(),
        evidence: None,
    };
    case.by(MEMBER, stage("validate")).unwrap();
    assert!(conflict(case.by(MEMBER, stage("validate"))).contains("completed at"));
    assert!(matches!(
        case.by(MEMBER, stage("deploy")),
        Err(Refusal::Invalid { field: "stage", message }) if message.contains("validate, confirm")
    ));
    assert!(matches!(
        case.by(MEMBER, stage("release")),
        Err(Refusal::Invalid { field: "stage", message }) if message.contains("release-fix action")
    ));
    // Declined, the workflow stops.
    case.by(
        MEMBER,
        Command::Decline {
            reason: crate::triage::DeclineReason::OutOfScope,
            duplicate_of: None,
            note: None,
        },
    )
    .unwrap();
    assert!(conflict(case.by(MEMBER, stage("confirm"))).contains("reopen it first"));
}

#[test]
fn one_officer_per_case_is_the_accepting_officer_or_a_refusal() {
    let mut case = Case::new("kamailio");
    assert!(conflict(case.by(MEMBER, Command::Accept)).contains("an officer accepts it"));
    case.by(OFFICER, Command::Accept).unwrap();
    assert_eq!(crate::case::summary(&case.log).officer, Some(OFFICER));

    // With an officer assigned, a member may accept.
    let mut case = Case::new("kamailio");
    case.by(
        OFFICER,
        Command::AssignOfficer {
            user_id: OTHER_OFFICER,
        },
    )
    .unwrap();
    case.by(MEMBER, Command::Accept).unwrap();
    assert_eq!(crate::case::summary(&case.log).officer, Some(OTHER_OFFICER));

    // A policy that refuses: even an officer assigns first.
    let mut case = Case::new("kamailio");
    case.policy = with("kamailio", |s| s.replace("\"assign-acting\"", "\"refuse\"")).unwrap();
    assert!(conflict(case.by(OFFICER, Command::Accept)).contains("assign its officer before"));

    // Without one officer per case, nobody is assigned on the way.
    let mut case = Case::new("signalen");
    case.by(MEMBER, Command::Accept).unwrap();
    assert_eq!(crate::case::summary(&case.log).officer, None);
}

#[test]
fn gates_can_ask_for_several_approvals() {
    let mut case = Case::new("kamailio");
    case.policy = with("kamailio", |s| {
        s.replace(
            "require = \"approval:security-team\"",
            "require = \"approval:security-team\"\napprovals = 2",
        )
    })
    .unwrap();
    case.by(OFFICER, Command::Accept).unwrap();
    case.by(OFFICER, approve("merge-fix")).unwrap();
    let merge = Command::MergeFix { reference: None };
    assert!(
        conflict(case.by(OFFICER, merge.clone()))
            .contains("approval by 2 members of security-team (1 so far)")
    );
    case.by(OTHER_OFFICER, approve("merge-fix")).unwrap();
    case.by(OFFICER, merge).unwrap();
    let status = gates(&case.policy, &case.log);
    assert!(status[0].holds());
    assert_eq!(status[0].approved_by, [OFFICER, OTHER_OFFICER]);
    assert!(!status[1].holds());
}

#[test]
fn groups_come_from_roles_from_built_ins_and_from_the_reviewer_group() {
    let signalen = policy("signalen");
    let kamailio = policy("kamailio");
    assert_eq!(
        group_roles(&kamailio, "security-team"),
        Some(&[OrgRole::Officer][..])
    );
    assert_eq!(
        group_roles(&kamailio, "team"),
        Some(&[OrgRole::Officer, OrgRole::Member][..])
    );
    assert_eq!(group_roles(&kamailio, "technical-steering-group"), None);
    assert!(in_group(
        &signalen,
        &member(REVIEWER),
        "technical-steering-group"
    ));
    // A person added to one case as its reviewer is a reviewer there.
    let guest = Member {
        user_id: 9,
        role: None,
        grant: Some(CaseGrant::Reviewer),
    };
    assert!(in_group(&kamailio, &guest, "reviewers"));
    assert!(!in_group(&kamailio, &guest, "security-team"));
    let external = Member {
        grant: Some(CaseGrant::External),
        ..guest
    };
    assert!(!in_group(&kamailio, &external, "reviewers"));
    // Without [roles.groups], the reviewer group's name is a group of reviewers.
    let plain = with("signalen", |s| {
        let start = s.find("[roles.groups]").unwrap();
        let end = s[start..].find("[workflow]").unwrap() + start;
        format!("{}{}", &s[..start], &s[end..])
    })
    .unwrap();
    assert_eq!(
        group_roles(&plain, "technical-steering-group"),
        Some(&[OrgRole::Reviewer][..])
    );
}

#[test]
fn policies_name_what_is_wrong_with_a_gate() {
    let gate = |require: &str, extra: &str| {
        with("kamailio", |s| {
            s.replace(
                "require = \"approval:security-team\"",
                &format!("require = \"{require}\"\n{extra}"),
            )
        })
        .unwrap_err()
    };
    let e = gate("approval:core-devs", "");
    assert!(
        e.contains("workflow.gate[0].require") && e.contains("no group is named \"core-devs\""),
        "{e}"
    );
    assert!(
        e.contains("security-team, officers, team, reviewers"),
        "{e}"
    );
    let e = gate("sign-off:security-team", "");
    assert!(e.contains("\"sign-off\" is not a kind of condition"), "{e}");
    let e = gate("approval", "");
    assert!(e.contains("is not a condition"), "{e}");
    let e = gate("stage:deploy", "");
    assert!(e.contains("\"deploy\" is not a stage"), "{e}");
    let e = gate("stage:fix", "approvals = 2");
    assert!(e.contains("workflow.gate[0].approvals"), "{e}");
    let e = gate("approval:security-team", "approvals = 0");
    assert!(e.contains("at least 1"), "{e}");
    let e = with("kamailio", |s| {
        s.replace("security-team = [\"officer\"]", "security-team = []")
    })
    .unwrap_err();
    assert!(e.contains("roles.groups.security-team"), "{e}");
    let e = with("kamailio", |s| {
        s.replace(
            "security-team = [\"officer\"]",
            "security-team = [\"boss\"]",
        )
    })
    .unwrap_err();
    assert!(e.contains("unknown variant `boss`"), "{e}");
    let e = with("kamailio", |s| {
        s.replace("before = \"merge-fix\"", "before = \"deploy\"")
    })
    .unwrap_err();
    assert!(
        e.contains("workflow.gate[0].before") && e.contains("merge-fix, release, publish-advisory"),
        "{e}"
    );
}

#[test]
fn conditions_read_back_as_written() {
    for text in [
        "approval:security-team",
        "review:reviewers",
        "stage:notify-providers",
        "coordinated:service-provider",
    ] {
        let c = Condition::try_from(text.to_owned()).unwrap();
        assert_eq!(c.to_string(), text);
    }
    // The plural reads as policies write it.
    let c = Condition::try_from("coordinated:distributions".to_owned()).unwrap();
    assert_eq!(c.to_string(), "coordinated:distribution");
    let e = Condition::try_from("coordinated:resellers".to_owned()).unwrap_err();
    assert!(e.contains("\"resellers\" is not a kind of party"), "{e}");
}

#[test]
fn an_advisory_is_cleared_by_reviews_of_its_draft_not_by_its_writers_and_by_its_cases_stages() {
    let kamailio = policy("kamailio");
    let case = Case::new("kamailio");
    let logs = [case.log.as_slice()];
    let writers = BTreeSet::from([OFFICER]);
    let missing = advisory_clearance(&kamailio, &logs, &[], &writers).unwrap_err();
    assert!(
        missing.contains("review by 1 member of security-team other than who wrote it (0 so far)"),
        "{missing}"
    );
    // The writer's own approval does not count; another officer's does.
    let writer = vec![(OFFICER, vec!["security-team".to_owned()])];
    assert!(advisory_clearance(&kamailio, &logs, &writer, &writers).is_err());
    let other = vec![(OTHER_OFFICER, vec!["security-team".to_owned()])];
    assert_eq!(
        advisory_clearance(&kamailio, &logs, &other, &writers),
        Ok(())
    );
    // Who may approve, and as what.
    assert_eq!(
        advisory_approval_groups(&kamailio, &member(OTHER_OFFICER), false),
        Ok(vec!["security-team".to_owned()])
    );
    assert!(matches!(
        advisory_approval_groups(&kamailio, &member(OFFICER), true),
        Err(ApprovalRefused::Author { .. })
    ));
    assert!(matches!(
        advisory_approval_groups(&kamailio, &member(REVIEWER), false),
        Err(ApprovalRefused::NotMember { .. })
    ));
    // A stage gate before publication is judged on every case the advisory covers.
    let staged = with("kamailio", |s| {
        s.replace(
            "[[workflow.gate]]\nbefore = \"publish-advisory\"",
            "[[workflow.gate]]\nbefore = \"publish-advisory\"\nrequire = \"stage:fix\"\n\n[[workflow.gate]]\nbefore = \"publish-advisory\"",
        )
    })
    .unwrap();
    assert!(
        staged
            .workflow
            .gates
            .iter()
            .any(|g| g.require.to_string() == "stage:fix")
    );
    let mut done = Case::new("kamailio");
    done.push(
        OFFICER,
        Event::StageCompleted {
            stage: "fix".into(),
            evidence: None,
        },
    );
    let both = [done.log.as_slice(), case.log.as_slice()];
    let missing = advisory_clearance(&staged, &both, &other, &writers).unwrap_err();
    assert!(missing.contains("the stage fix completed"), "{missing}");
    assert_eq!(
        advisory_clearance(&staged, &[done.log.as_slice()], &other, &writers),
        Ok(())
    );
}
