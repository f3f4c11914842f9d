//! Calls handed to the host and not answered yet. A process that loads the driver from storage
//! lost those requests (and every send on the wire) with the old process: `restored` answers them
//! so single flight does not wait forever.

use crate::machine::Op;

/// At most one call per op is in flight (the machine's single flight); a longer stored list is
/// refused as malformed.
pub(super) const MAX_IN_FLIGHT: usize = 16;

#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct InFlight(Vec<Op>);

impl InFlight {
    pub(super) fn new(ops: Vec<Op>) -> InFlight {
        InFlight(ops)
    }

    pub(super) fn ops(&self) -> &[Op] {
        &self.0
    }

    pub(super) fn issued(&mut self, op: Op) {
        if self.0.len() < MAX_IN_FLIGHT {
            self.0.push(op);
        }
    }

    /// An answer for `op` arrived: one call of it is no longer in flight. Whether anything changed.
    pub(super) fn answered(&mut self, op: Op) -> bool {
        match self.0.iter().position(|o| *o == op) {
            Some(index) => {
                self.0.remove(index);
                true
            }
            None => false,
        }
    }

    pub(super) fn take(&mut self) -> Vec<Op> {
        std::mem::take(&mut self.0)
    }
}
