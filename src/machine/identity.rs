//! The paired account: verdicts against `expectedJid`.

use super::{Action, AdminReason, LifecycleMachine};
use crate::error::ErrorCode;
use crate::identity::{IdentityVerdict, normalize_jid};
use crate::status::SessionStatus;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IdentityState {
    pub verdict: IdentityVerdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub me: Option<String>,
}

impl LifecycleMachine {
    /// A verdict on the paired account (from `me`, or a mismatch seen in `info`).
    pub(super) fn apply_identity(&mut self, verdict: IdentityVerdict, me: Option<String>) {
        let was_mismatch = self.identity_verified
            && self
                .identity
                .as_ref()
                .is_some_and(|i| i.verdict == IdentityVerdict::Mismatch);
        let me = me.as_deref().map(normalize_jid);
        self.identity_verified = self.status == SessionStatus::Working;
        self.identity = Some(IdentityState {
            verdict,
            me: me.clone(),
        });
        self.dirty = true;
        self.actions.push_back(Action::Identity { verdict, me });
        if verdict == IdentityVerdict::Mismatch {
            self.reject_queue(ErrorCode::IdentityMismatch);
            if !was_mismatch {
                self.actions.push_back(Action::NotifyAdmin {
                    reason: AdminReason::IdentityMismatch,
                });
            }
        } else {
            self.release_queue();
        }
    }

    pub(super) fn clear_identity(&mut self) {
        self.identity = None;
        self.identity_verified = false;
        self.dirty = true;
        self.actions.push_back(Action::ClearIdentity);
    }
}
