//! Prioritisation beside CVSS: CISA's Stakeholder-Specific Vulnerability Categorization
//! (SSVC), the coordinator tree CISA publishes (SSVC's `cisa_coordinator` decision table,
//! version 2.0.3). Four decision points give one of four decisions: Track, Track*, Attend,
//! Act. The team records the points; the decision is derived whenever it is shown, so it
//! can never disagree with them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Is the vulnerability exploited? (SSVC's Exploitation v1.1.0.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exploitation {
    /// No evidence of active exploitation and no public proof of concept.
    None,
    /// A public proof of concept exists, or exploitation is well known.
    PublicPoc,
    /// Reliable evidence that it is exploited in the wild.
    Active,
}

/// Can an attacker automate steps 1-4 of the kill chain? (Automatable v2.0.0.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Automatable {
    No,
    Yes,
}

/// How much control over the affected component an exploit gives. (Technical Impact v1.0.0.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TechnicalImpact {
    Partial,
    Total,
}

/// The impact on the mission of those who run it and on well-being. (Mission and
/// Well-Being Impact v1.0.0.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissionImpact {
    Low,
    Medium,
    High,
}

/// The decision, from least to most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Decision {
    /// Remediate within standard update timelines.
    #[serde(rename = "track")]
    Track,
    /// Track, watching closely for changes.
    #[serde(rename = "track*")]
    TrackStar,
    /// Needs supervisory attention; remediate sooner than standard timelines.
    #[serde(rename = "attend")]
    Attend,
    /// Needs leadership attention; remediate as soon as possible.
    #[serde(rename = "act")]
    Act,
}

impl Decision {
    pub const ALL: [Decision; 4] = [
        Decision::Track,
        Decision::TrackStar,
        Decision::Attend,
        Decision::Act,
    ];

    /// The lowercase id used in the API and in filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Track => "track",
            Decision::TrackStar => "track*",
            Decision::Attend => "attend",
            Decision::Act => "act",
        }
    }

    pub fn parse(text: &str) -> Option<Decision> {
        let text = text.trim().to_ascii_lowercase();
        Decision::ALL.into_iter().find(|d| d.as_str() == text)
    }

    /// As CISA writes it.
    pub fn label(self) -> &'static str {
        match self {
            Decision::Track => "Track",
            Decision::TrackStar => "Track*",
            Decision::Attend => "Attend",
            Decision::Act => "Act",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The four decision points, as the team recorded them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ssvc {
    pub exploitation: Exploitation,
    pub automatable: Automatable,
    pub technical_impact: TechnicalImpact,
    pub mission_impact: MissionImpact,
}

impl Ssvc {
    /// CISA's decision for these points.
    pub fn decision(&self) -> Decision {
        use Decision::{Act, Attend, Track, TrackStar};
        // Rows of the table in its own order: exploitation, then automatable, then
        // technical impact, then mission impact, each from its lowest value.
        #[rustfmt::skip]
        const TABLE: [Decision; 36] = [
            // none
            Track, Track, Track,       Track, Track, TrackStar,   // automatable: no
            Track, Track, Attend,      Track, Track, Attend,      // automatable: yes
            // public poc
            Track, Track, TrackStar,   Track, TrackStar, Attend,
            Track, Track, Attend,      Track, TrackStar, Attend,
            // active
            Track, Track, Attend,      Track, Attend, Act,
            Attend, Attend, Act,       Attend, Act, Act,
        ];
        let index = self.exploitation as usize * 12
            + self.automatable as usize * 6
            + self.technical_impact as usize * 3
            + self.mission_impact as usize;
        TABLE[index]
    }

    /// The points from their short form (`E:A/A:Y/T:T/M:H`, as [`Ssvc::vector`] writes
    /// it); what is wrong, in words, otherwise.
    pub fn parse_vector(text: &str) -> Result<Ssvc, String> {
        let wanted = "write the four points as E:N|P|A/A:N|Y/T:P|T/M:L|M|H, e.g. E:P/A:N/T:T/M:H";
        let parts: Vec<&str> = text.trim().split('/').collect();
        let [e, a, t, m] = parts.as_slice() else {
            return Err(format!("{:?} is not an SSVC vector: {wanted}", text.trim()));
        };
        let point = |part: &str, key: &str| {
            part.strip_prefix(key)
                .and_then(|v| v.strip_prefix(':'))
                .map(str::to_owned)
                .ok_or_else(|| format!("{:?} is not an SSVC vector: {wanted}", text.trim()))
        };
        let exploitation = match point(e, "E")?.as_str() {
            "N" => Exploitation::None,
            "P" => Exploitation::PublicPoc,
            "A" => Exploitation::Active,
            _ => return Err(format!("{e:?}: exploitation is N, P or A")),
        };
        let automatable = match point(a, "A")?.as_str() {
            "N" => Automatable::No,
            "Y" => Automatable::Yes,
            _ => return Err(format!("{a:?}: automatable is N or Y")),
        };
        let technical_impact = match point(t, "T")?.as_str() {
            "P" => TechnicalImpact::Partial,
            "T" => TechnicalImpact::Total,
            _ => return Err(format!("{t:?}: technical impact is P or T")),
        };
        let mission_impact = match point(m, "M")?.as_str() {
            "L" => MissionImpact::Low,
            "M" => MissionImpact::Medium,
            "H" => MissionImpact::High,
            _ => return Err(format!("{m:?}: mission impact is L, M or H")),
        };
        Ok(Ssvc {
            exploitation,
            automatable,
            technical_impact,
            mission_impact,
        })
    }

    /// The points in SSVC's short form, e.g. `E:A/A:Y/T:T/M:H`, with the decision.
    pub fn vector(&self) -> String {
        let e = match self.exploitation {
            Exploitation::None => "N",
            Exploitation::PublicPoc => "P",
            Exploitation::Active => "A",
        };
        let a = match self.automatable {
            Automatable::No => "N",
            Automatable::Yes => "Y",
        };
        let t = match self.technical_impact {
            TechnicalImpact::Partial => "P",
            TechnicalImpact::Total => "T",
        };
        let m = match self.mission_impact {
            MissionImpact::Low => "L",
            MissionImpact::Medium => "M",
            MissionImpact::High => "H",
        };
        format!("E:{e}/A:{a}/T:{t}/M:{m}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vector_reads_back_and_a_wrong_one_says_what_is_wrong() {
        for ssvc in all() {
            assert_eq!(Ssvc::parse_vector(&ssvc.vector()), Ok(ssvc));
        }
        assert!(
            Ssvc::parse_vector("E:X/A:N/T:T/M:H")
                .unwrap_err()
                .contains("exploitation is N, P or A")
        );
        assert!(
            Ssvc::parse_vector("high")
                .unwrap_err()
                .contains("E:P/A:N/T:T/M:H")
        );
    }

    fn all() -> Vec<Ssvc> {
        let mut all = Vec::new();
        for exploitation in [
            Exploitation::None,
            Exploitation::PublicPoc,
            Exploitation::Active,
        ] {
            for automatable in [Automatable::No, Automatable::Yes] {
                for technical_impact in [TechnicalImpact::Partial, TechnicalImpact::Total] {
                    for mission_impact in [
                        MissionImpact::Low,
                        MissionImpact::Medium,
                        MissionImpact::High,
                    ] {
                        all.push(Ssvc {
                            exploitation,
                            automatable,
                            technical_impact,
                            mission_impact,
                        });
                    }
                }
            }
        }
        all
    }

    #[test]
    fn rows_of_cisas_table_give_their_decisions() {
        let row = |e, a, t, m| Ssvc {
            exploitation: e,
            automatable: a,
            technical_impact: t,
            mission_impact: m,
        };
        use Automatable as A;
        use Exploitation as E;
        use MissionImpact as M;
        use TechnicalImpact as T;
        // Rows 0, 5, 8, 14, 16, 22, 26, 28, 29, 30 and 35 of cisa_coordinator 2.0.3.
        let cases = [
            (row(E::None, A::No, T::Partial, M::Low), Decision::Track),
            (row(E::None, A::No, T::Total, M::High), Decision::TrackStar),
            (row(E::None, A::Yes, T::Partial, M::High), Decision::Attend),
            (
                row(E::PublicPoc, A::No, T::Partial, M::High),
                Decision::TrackStar,
            ),
            (
                row(E::PublicPoc, A::No, T::Total, M::Medium),
                Decision::TrackStar,
            ),
            (
                row(E::PublicPoc, A::Yes, T::Total, M::Medium),
                Decision::TrackStar,
            ),
            (row(E::Active, A::No, T::Partial, M::High), Decision::Attend),
            (row(E::Active, A::No, T::Total, M::Medium), Decision::Attend),
            (row(E::Active, A::No, T::Total, M::High), Decision::Act),
            (row(E::Active, A::Yes, T::Partial, M::Low), Decision::Attend),
            (row(E::Active, A::Yes, T::Total, M::High), Decision::Act),
        ];
        for (points, want) in cases {
            assert_eq!(points.decision(), want, "{}", points.vector());
        }
    }

    #[test]
    fn a_worse_point_never_lowers_the_decision() {
        let all = all();
        for a in &all {
            for b in &all {
                let worse = a.exploitation <= b.exploitation
                    && a.automatable <= b.automatable
                    && a.technical_impact <= b.technical_impact
                    && a.mission_impact <= b.mission_impact;
                if worse {
                    assert!(
                        a.decision() <= b.decision(),
                        "{} vs {}",
                        a.vector(),
                        b.vector()
                    );
                }
            }
        }
        // Every decision is reachable.
        for d in Decision::ALL {
            assert!(all.iter().any(|s| s.decision() == d), "{d}");
            assert_eq!(Decision::parse(d.as_str()), Some(d));
        }
    }

    #[test]
    fn points_are_read_by_their_ssvc_names() {
        let points: Ssvc = serde_json::from_str(
            r#"{"exploitation": "public-poc", "automatable": "yes", "technical_impact": "total", "mission_impact": "high"}"#,
        )
        .unwrap();
        assert_eq!(points.vector(), "E:P/A:Y/T:T/M:H");
        assert_eq!(points.decision(), Decision::Attend);
        assert!(serde_json::from_str::<Ssvc>(r#"{"exploitation": "maybe"}"#).is_err());
    }
}
