//! The order of `dup3`s that builds the target's fd table (go-sandbox's `Files`): target fd
//! `i` = helper fd `files[i]`, or closed for -1. Two passes, as go-sandbox does, so no entry
//! clobbers another, the helper's own fds (status, sync, exec, handshake) or an fd a mount
//! operation reads after this stage.
//!
//! The helper runs the plan with real syscalls; the tests here run it on a simulated fd table.

/// The helper's own fds, moved when a target slot would overwrite them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Own {
    /// The status fd.
    pub status: i32,
    /// The fd the sync answer is read from.
    pub sync_in: i32,
    /// The fd to execute (EXEC_FD), if any.
    pub exec_fd: Option<i32>,
    /// The target's end of the supervisor handshake, if any.
    pub handshake: Option<i32>,
    /// The target's end of init's lock socket (LOCK_FILE), if any.
    pub lock: Option<i32>,
}

/// Pass 1: every fd that pass 2 would overwrite before using it goes to a free number above
/// every fd involved (the table's, the helper's own, `op_fds`). `dup(from, to, index)` copies
/// `from` to `to` close-on-exec; `index` is what an error record names (the moved fd for the
/// helper's own, the slot for a table entry). Updates `table` and `own` to the new numbers.
pub fn move_out_of_the_way<E>(
    table: &mut [i32],
    own: &mut Own,
    op_fds: impl Iterator<Item = i32>,
    mut dup: impl FnMut(i32, i32, usize) -> Result<(), E>,
) -> Result<(), E> {
    let n = table.len() as i32;
    let own_fds = [
        own.status,
        own.sync_in,
        own.exec_fd.unwrap_or(-1),
        own.handshake.unwrap_or(-1),
        own.lock.unwrap_or(-1),
    ];
    let mut next = table
        .iter()
        .chain(&own_fds)
        .copied()
        .chain(op_fds)
        .fold(n, |m, fd| m.max(fd + 1));
    let mut move_up = |fd: &mut i32| -> Result<(), E> {
        if *fd < n {
            dup(*fd, next, *fd as usize)?;
            *fd = next;
            next += 1;
        }
        Ok(())
    };
    let shared = own.sync_in == own.status;
    move_up(&mut own.status)?;
    if shared {
        own.sync_in = own.status;
    } else {
        move_up(&mut own.sync_in)?;
    }
    for internal in [
        own.exec_fd.as_mut(),
        own.handshake.as_mut(),
        own.lock.as_mut(),
    ]
    .into_iter()
    .flatten()
    {
        move_up(internal)?;
    }
    for (i, fd) in table.iter_mut().enumerate() {
        if *fd >= 0 && (*fd as usize) < i {
            dup(*fd, next, i)?;
            *fd = next;
            next += 1;
        }
    }
    Ok(())
}

/// What pass 2 does with target fd `slot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Close it (the entry is -1).
    Close {
        /// The target fd.
        slot: i32,
    },
    /// It is already the right fd: clear close-on-exec (`dup3(i, i)` is refused).
    Keep {
        /// The target fd.
        slot: i32,
    },
    /// `dup3(from, slot, 0)`.
    Dup {
        /// The helper fd copied.
        from: i32,
        /// The target fd.
        slot: i32,
    },
}

/// Pass 2, after [`move_out_of_the_way`]: each slot in order.
pub fn placements(table: &[i32]) -> impl Iterator<Item = Place> + '_ {
    table.iter().enumerate().map(|(i, &fd)| {
        let slot = i as i32;
        match fd {
            -1 => Place::Close { slot },
            fd if fd == slot => Place::Keep { slot },
            from => Place::Dup { from, slot },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::vec::Vec;

    /// A process's fd table: fd -> the open file it refers to (a name).
    type Fds = BTreeMap<i32, u32>;

    /// Runs both passes on `fds` (dup3 semantics: the destination is replaced); returns the
    /// own fds' new numbers.
    fn run(fds: &mut Fds, files: &[i32], own: Own, op_fds: &[i32]) -> Own {
        let mut table = files.to_vec();
        let mut own = own;
        // An fd nothing refers to may be replaced (it is closed on exec anyway); one the
        // table, the helper or a mount operation still needs may not.
        let mut involved: Vec<i32> = files
            .iter()
            .copied()
            .chain(op_fds.iter().copied())
            .collect();
        involved.extend([own.status, own.sync_in]);
        involved.extend(own.exec_fd.iter().chain(own.handshake.iter()));
        involved.extend(own.lock.iter());
        move_out_of_the_way(
            &mut table,
            &mut own,
            op_fds.iter().copied(),
            |from, to, _| {
                let file = *fds.get(&from).ok_or(())?;
                assert!(!involved.contains(&to), "pass 1 overwrote fd {to}");
                fds.insert(to, file);
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        for p in placements(&table) {
            match p {
                Place::Close { slot } => {
                    fds.remove(&slot);
                }
                Place::Keep { slot } => assert!(fds.contains_key(&slot)),
                Place::Dup { from, slot } => {
                    assert!(
                        !op_fds.contains(&slot),
                        "a mount operation's fd {slot} replaced"
                    );
                    let file = fds[&from];
                    fds.insert(slot, file);
                }
            }
        }
        own
    }

    /// Every slot ends up with the file its entry named, and the helper's own fds and the
    /// mount operations' fds still refer to their files, for many small tables.
    #[test]
    fn every_table_comes_out_right() {
        let mut seed = 0x2545_f491_u32;
        let mut rnd = |n: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed % n
        };
        for _ in 0..5000 {
            let open: Vec<i32> = (0..8).filter(|_| rnd(2) == 0).collect();
            if open.len() < 2 {
                continue;
            }
            let mut fds: Fds = open.iter().map(|&fd| (fd, 100 + fd as u32)).collect();
            let pick = |r: u32| open[r as usize % open.len()];
            let len = rnd(6) as usize;
            let files: Vec<i32> = (0..len)
                .map(|_| if rnd(5) == 0 { -1 } else { pick(rnd(64)) })
                .collect();
            let status = pick(rnd(64));
            let sync_in = if rnd(2) == 0 { status } else { pick(rnd(64)) };
            let own = Own {
                status,
                sync_in,
                exec_fd: (rnd(2) == 0).then(|| pick(rnd(64))),
                handshake: None,
                lock: None,
            };
            // A mount operation's fd is one the table does not replace (the decoder refuses
            // the others): at or above the table, or an entry kept in place.
            let op_fds: Vec<i32> = open
                .iter()
                .copied()
                .filter(|&fd| fd as usize >= len || files[fd as usize] == fd)
                .take(1)
                .collect();
            let before = fds.clone();
            let moved = run(&mut fds, &files, own, &op_fds);
            for (i, &fd) in files.iter().enumerate() {
                let slot = i as i32;
                if fd == -1 {
                    assert!(!fds.contains_key(&slot), "{files:?}: slot {i} open");
                } else {
                    assert_eq!(fds.get(&slot), before.get(&fd), "{files:?}: slot {i}");
                }
            }
            assert_eq!(
                fds.get(&moved.status),
                before.get(&own.status),
                "{files:?} {own:?}"
            );
            assert_eq!(fds.get(&moved.sync_in), before.get(&own.sync_in));
            if let (Some(a), Some(b)) = (moved.exec_fd, own.exec_fd) {
                assert_eq!(fds.get(&a), before.get(&b));
                assert!(a >= len as i32, "exec fd left where the target's table is");
            }
            for fd in &op_fds {
                assert_eq!(fds.get(fd), before.get(fd), "op fd {fd}");
            }
        }
    }

    #[test]
    fn the_status_fd_moves_above_every_fd_involved() {
        let mut table = [4, 1, -1];
        let mut own = Own {
            status: 0,
            sync_in: 0,
            exec_fd: None,
            handshake: Some(2),
            lock: None,
        };
        let mut dups = Vec::new();
        move_out_of_the_way(&mut table, &mut own, [9].into_iter(), |f, t, i| {
            dups.push((f, t, i));
            Ok::<(), ()>(())
        })
        .unwrap();
        // Status and sync_in share fd 0: one move. The handshake at 2 moves. Entry 1 keeps
        // fd 1 in place; nothing lands on the op fd 9.
        assert_eq!(dups, [(0, 10, 0), (2, 11, 2)]);
        assert_eq!((own.status, own.sync_in, own.handshake), (10, 10, Some(11)));
        assert_eq!(
            placements(&table).collect::<Vec<_>>(),
            [
                Place::Dup { from: 4, slot: 0 },
                Place::Keep { slot: 1 },
                Place::Close { slot: 2 }
            ]
        );
    }

    /// Init's lock socket moves as the handshake does: the target still asks init for its
    /// LOCK_FILE locks after this stage.
    #[test]
    fn the_lock_socket_moves_out_of_the_table() {
        let mut table = [0, 1, 2];
        let mut own = Own {
            status: 3,
            sync_in: 3,
            exec_fd: None,
            handshake: Some(4),
            lock: Some(1),
        };
        assert_eq!(moves(&mut table, &mut own), [(1, 5, 1)]);
        assert_eq!((own.handshake, own.lock), (Some(4), Some(5)));
        assert_eq!(table, [0, 1, 2]);
    }

    /// The pass-1 moves of `table` and `own` (no mount operation fds): (from, to, index).
    fn moves(table: &mut [i32], own: &mut Own) -> Vec<(i32, i32, usize)> {
        let mut dups = Vec::new();
        move_out_of_the_way(table, own, core::iter::empty(), |f, t, i| {
            dups.push((f, t, i));
            Ok::<(), ()>(())
        })
        .unwrap();
        dups
    }

    /// Only what a slot would overwrite moves: an own fd at or past the table's end stays
    /// where it is (one number past the last slot is the first one the target does not get).
    #[test]
    fn an_own_fd_just_past_the_table_stays() {
        let mut table = [-1, -1];
        let mut own = Own {
            status: 2,
            sync_in: 3,
            exec_fd: Some(2),
            handshake: Some(4),
            lock: None,
        };
        assert_eq!(moves(&mut table, &mut own), []);
        assert_eq!(
            own,
            Own {
                status: 2,
                sync_in: 3,
                exec_fd: Some(2),
                handshake: Some(4),
                lock: None,
            }
        );
    }

    /// A move goes to the lowest number above every fd involved; an own fd that is absent
    /// (no EXEC_FD, no handshake) takes no number: with only fd 0 in use, the status fd under
    /// a one-slot table moves to 1, not further up.
    #[test]
    fn a_move_goes_to_the_lowest_number_above_the_fds_involved() {
        let mut table = [-1];
        let mut own = Own {
            status: 0,
            sync_in: 0,
            exec_fd: None,
            handshake: None,
            lock: None,
        };
        assert_eq!(moves(&mut table, &mut own), [(0, 1, 0)]);
        assert_eq!((own.status, own.sync_in), (1, 1));
    }

    #[test]
    fn an_error_stops_the_plan() {
        let mut table = [1, 0];
        let mut own = Own {
            status: 5,
            sync_in: 5,
            exec_fd: None,
            handshake: None,
            lock: None,
        };
        let r = move_out_of_the_way(&mut table, &mut own, core::iter::empty(), |_, _, i| Err(i));
        assert_eq!(r, Err(1), "the slot whose entry could not move");
    }
}
