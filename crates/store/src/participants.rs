//! A case's participants: who takes part in it by mail, each with a reply address of their
//! own (`security+<reply_tag>@…`), so that mail to that address joins the case as them. The
//! reporter's row is written with the case; a team member's when the desk first writes to
//! them about the case. Roles are the core's (`reporter`, `team`); the store keeps them as
//! text.

use jiff::Timestamp;

use crate::cases::new_reply_tag;
use crate::{Store, StoreError, constraint, parse_ts, ts_text};

/// A participant of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantRow {
    pub id: i64,
    pub case_id: i64,
    /// `reporter`, `team` or `party`.
    pub role: String,
    /// The team member, for role `team`.
    pub user_id: Option<i64>,
    /// The party (its registry id and slug), for role `party`.
    pub party: Option<(i64, String)>,
    /// Their reply address's tag: a secret only mail to them carried.
    pub reply_tag: String,
    pub joined_at: Timestamp,
    /// How far (an event's seq) the party read its thread; 0 before it read anything.
    pub party_read_seq: i64,
    /// How far the team read the party's thread.
    pub team_read_seq: i64,
}

/// A party joining a case with a case write (see [`crate::Effects::parties`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPartyParticipant {
    pub party_id: i64,
    pub reply_tag: String,
    /// The hash of the party's portal token.
    pub token_hash: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct RawParticipant {
    id: i64,
    case_id: i64,
    role: String,
    user_id: Option<i64>,
    party_id: Option<i64>,
    party_slug: Option<String>,
    reply_tag: String,
    joined_at: String,
    party_read_seq: i64,
    team_read_seq: i64,
}

impl RawParticipant {
    fn decode(self) -> Result<ParticipantRow, StoreError> {
        Ok(ParticipantRow {
            id: self.id,
            case_id: self.case_id,
            role: self.role,
            user_id: self.user_id,
            party: self.party_id.zip(self.party_slug),
            reply_tag: self.reply_tag,
            joined_at: parse_ts(&self.joined_at)?,
            party_read_seq: self.party_read_seq,
            team_read_seq: self.team_read_seq,
        })
    }
}

macro_rules! select_participants {
    () => {
        "SELECT p.id, p.case_id, p.role, p.user_id, p.party_id, pt.slug AS party_slug, \
         p.reply_tag, p.joined_at, p.party_read_seq, p.team_read_seq \
         FROM participants p LEFT JOIN parties pt ON pt.id = p.party_id "
    };
}

impl Store {
    /// The participant whose reply address carries `tag` (compared lowercased).
    pub async fn participant_by_reply_tag(
        &self,
        tag: &str,
    ) -> Result<Option<ParticipantRow>, StoreError> {
        let row: Option<RawParticipant> = on_pool!(self, p => sqlx::query_as(
            concat!(select_participants!(), "WHERE p.reply_tag = $1"),
        )
        .bind(tag.to_ascii_lowercase())
        .fetch_optional(p)
        .await?);
        row.map(RawParticipant::decode).transpose()
    }

    /// A case's participants, the reporter first, then in the order they joined.
    pub async fn participants(&self, case_id: i64) -> Result<Vec<ParticipantRow>, StoreError> {
        let rows: Vec<RawParticipant> = on_pool!(self, p => sqlx::query_as(
            concat!(select_participants!(), "WHERE p.case_id = $1 ORDER BY p.id"),
        )
        .bind(case_id)
        .fetch_all(p)
        .await?);
        rows.into_iter().map(RawParticipant::decode).collect()
    }

    /// Team member `user_id` as a participant of `case_id`, joining them (with a fresh reply
    /// tag) if they were not one: every notice about the case then carries the same reply
    /// address, and two notices racing get the same row.
    pub async fn team_participant(
        &self,
        case_id: i64,
        user_id: i64,
        at: Timestamp,
    ) -> Result<ParticipantRow, StoreError> {
        let tag = new_reply_tag()?;
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO participants (case_id, role, user_id, reply_tag, joined_at) \
                 VALUES ($1, 'team', $2, $3, $4) \
                 ON CONFLICT (case_id, user_id) WHERE user_id IS NOT NULL DO NOTHING",
            )
            .bind(case_id)
            .bind(user_id)
            .bind(tag)
            .bind(ts_text(at))
            .execute(p)
            .await
            .map_err(|e| constraint(e, "case or user"))?;
        });
        let row: RawParticipant = on_pool!(self, p => sqlx::query_as(
            concat!(select_participants!(), "WHERE p.case_id = $1 AND p.user_id = $2"),
        )
        .bind(case_id)
        .bind(user_id)
        .fetch_one(p)
        .await?);
        row.decode()
    }

    /// The party of case `case_id` whose portal token hashes to `token_hash`.
    pub async fn party_by_token(
        &self,
        case_id: i64,
        token_hash: &[u8],
    ) -> Result<Option<ParticipantRow>, StoreError> {
        let row: Option<RawParticipant> = on_pool!(self, p => sqlx::query_as(
            concat!(select_participants!(), "WHERE p.case_id = $1 AND p.token_hash = $2"),
        )
        .bind(case_id)
        .bind(token_hash.to_vec())
        .fetch_optional(p)
        .await?);
        row.map(RawParticipant::decode).transpose()
    }

    /// The party of case `case_id` that account `user_id` answers for (the first invited,
    /// should they answer for two).
    pub async fn party_of_account(
        &self,
        case_id: i64,
        user_id: i64,
    ) -> Result<Option<ParticipantRow>, StoreError> {
        let row: Option<RawParticipant> = on_pool!(self, p => sqlx::query_as(
            concat!(
                select_participants!(),
                "WHERE p.case_id = $1 AND p.party_id IN \
                 (SELECT party_id FROM party_accounts WHERE user_id = $2) ORDER BY p.id LIMIT 1"
            ),
        )
        .bind(case_id)
        .bind(user_id)
        .fetch_optional(p)
        .await?);
        row.map(RawParticipant::decode).transpose()
    }

    /// Replaces a party participant's portal token, only while `old_hash` is still its
    /// token: `false` when another replacement got there first.
    pub async fn replace_party_token(
        &self,
        participant_id: i64,
        old_hash: &[u8],
        new_hash: &[u8],
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, p => sqlx::query(
            "UPDATE participants SET token_hash = $3 WHERE id = $1 AND token_hash = $2",
        )
        .bind(participant_id)
        .bind(old_hash.to_vec())
        .bind(new_hash.to_vec())
        .execute(p)
        .await?
        .rows_affected());
        Ok(done == 1)
    }

    /// Records that a party's thread was read up to `seq`, by the party (`by_party`) or the
    /// team; a marker never moves back.
    pub async fn mark_read(
        &self,
        participant_id: i64,
        by_party: bool,
        seq: i64,
    ) -> Result<(), StoreError> {
        let sql = if by_party {
            "UPDATE participants SET party_read_seq = $2 WHERE id = $1 AND party_read_seq < $2"
        } else {
            "UPDATE participants SET team_read_seq = $2 WHERE id = $1 AND team_read_seq < $2"
        };
        on_pool!(self, p => sqlx::query(sql)
            .bind(participant_id)
            .bind(seq)
            .execute(p)
            .await
            .map(drop)?);
        Ok(())
    }

    /// The cases any party takes part in.
    pub async fn cases_with_parties(&self) -> Result<Vec<i64>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "SELECT DISTINCT case_id FROM participants WHERE role = 'party' ORDER BY case_id",
        )
        .fetch_all(p)
        .await?))
    }
}
