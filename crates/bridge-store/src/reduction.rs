//! The rules of saving a reducer window, shared by the backends (which supply the two
//! statements and the transaction): every cursor move first — a cursor that moved ends the
//! attempt — then every namespace state, collecting the conflicts. Anything but `Applied`
//! means the caller rolls back.

use crate::{CursorMove, NamespaceState, Reduction, ReductionOutcome, Result};

/// Runs the window's writes on `conn` (inside the caller's transaction) and says whether to
/// commit (`Applied`) or roll back.
pub(crate) async fn write<C: ?Sized>(
    conn: &mut C,
    r: &Reduction,
    move_cursor: impl AsyncFn(&mut C, &CursorMove) -> Result<bool>,
    save: impl AsyncFn(&mut C, &NamespaceState) -> Result<bool>,
) -> Result<ReductionOutcome> {
    for c in &r.cursors {
        if !move_cursor(conn, c).await? {
            return Ok(ReductionOutcome::CursorMoved(c.name.clone()));
        }
    }
    let mut conflicts = Vec::new();
    for s in &r.states {
        if !save(conn, s).await? {
            conflicts.push(s.namespace.clone());
        }
    }
    Ok(if conflicts.is_empty() {
        ReductionOutcome::Applied
    } else {
        ReductionOutcome::Conflict(conflicts)
    })
}
