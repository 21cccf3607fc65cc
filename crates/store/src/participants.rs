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
    /// `reporter` or `team`.
    pub role: String,
    /// The team member, for role `team`.
    pub user_id: Option<i64>,
    /// Their reply address's tag: a secret only mail to them carried.
    pub reply_tag: String,
    pub joined_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct RawParticipant {
    id: i64,
    case_id: i64,
    role: String,
    user_id: Option<i64>,
    reply_tag: String,
    joined_at: String,
}

impl RawParticipant {
    fn decode(self) -> Result<ParticipantRow, StoreError> {
        Ok(ParticipantRow {
            id: self.id,
            case_id: self.case_id,
            role: self.role,
            user_id: self.user_id,
            reply_tag: self.reply_tag,
            joined_at: parse_ts(&self.joined_at)?,
        })
    }
}

macro_rules! select_participants {
    () => {
        "SELECT id, case_id, role, user_id, reply_tag, joined_at FROM participants "
    };
}

impl Store {
    /// The participant whose reply address carries `tag` (compared lowercased).
    pub async fn participant_by_reply_tag(
        &self,
        tag: &str,
    ) -> Result<Option<ParticipantRow>, StoreError> {
        let row: Option<RawParticipant> = on_pool!(self, p => sqlx::query_as(
            concat!(select_participants!(), "WHERE reply_tag = $1"),
        )
        .bind(tag.to_ascii_lowercase())
        .fetch_optional(p)
        .await?);
        row.map(RawParticipant::decode).transpose()
    }

    /// A case's participants, the reporter first, then in the order they joined.
    pub async fn participants(&self, case_id: i64) -> Result<Vec<ParticipantRow>, StoreError> {
        let rows: Vec<RawParticipant> = on_pool!(self, p => sqlx::query_as(
            concat!(select_participants!(), "WHERE case_id = $1 ORDER BY id"),
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
            concat!(select_participants!(), "WHERE case_id = $1 AND user_id = $2"),
        )
        .bind(case_id)
        .bind(user_id)
        .fetch_one(p)
        .await?);
        row.decode()
    }
}
