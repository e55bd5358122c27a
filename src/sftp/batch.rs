//! Many small request/reply state machines ("tasks") sharing one channel.
//! Each task queues requests and consumes the replies to its own request
//! ids; the driver keeps up to `max_active` tasks in flight, so per-file
//! round trips overlap instead of adding up. This is what makes a tree of
//! thousands of small files fast over a slow link.

use std::collections::HashMap;

use super::channel::SftpChannel;
use super::codec::Reply;
use crate::error::Result;

/// One state machine. It records its own outcome; the driver only learns
/// when it is finished.
pub trait Task {
    /// Queue the first requests; return their ids (none: already finished).
    fn start(&mut self, ch: &mut SftpChannel) -> Vec<u32>;
    /// Consume the reply to request `id`; return the ids of requests it
    /// queued in response.
    fn reply(&mut self, ch: &mut SftpChannel, id: u32, reply: Reply<'static>) -> Vec<u32>;
    /// The channel failed under this task (connection lost, timeout, its
    /// call cancelled).
    fn abort(&mut self, err: &crate::Error);
    /// After `abort`: queue, without waiting for replies, what undoes the
    /// task's effect on the server (a put's part file). The server runs it
    /// before the connection's next request; on a broken link it is lost
    /// with the link.
    fn cleanup(&mut self, _ch: &mut SftpChannel) {}
}

/// Run tasks from `next` with at most `max_active` in flight. `finished`
/// receives each task when all its replies are in. `next` is asked again
/// after every reply, so tasks may be discovered on the way (a directory
/// walk); the run ends when nothing is in flight and `next` has nothing.
/// Returns Err only for a channel failure; the tasks still in flight were
/// aborted with it.
pub fn run<T: Task>(
    ch: &mut SftpChannel,
    max_active: usize,
    mut next: impl FnMut() -> Option<T>,
    mut finished: impl FnMut(T),
) -> Result<()> {
    let mut slots: Vec<Option<(T, usize)>> = Vec::new();
    let mut owner: HashMap<u32, usize> = HashMap::new();
    let mut active = 0usize;
    loop {
        while active < max_active.max(1) {
            let Some(mut task) = next() else {
                break;
            };
            let ids = task.start(ch);
            if ids.is_empty() {
                finished(task);
                continue;
            }
            let slot = slots.iter().position(Option::is_none).unwrap_or_else(|| {
                slots.push(None);
                slots.len() - 1
            });
            ids.iter().for_each(|id| {
                owner.insert(*id, slot);
            });
            slots[slot] = Some((task, ids.len()));
            active += 1;
        }
        if active == 0 {
            return Ok(());
        }
        // Owned, so the task can queue new requests while it looks at it.
        let (id, reply) = match ch.recv().map(|(id, r)| (id, r.into_owned())) {
            Ok(got) => got,
            Err(e) => {
                for (mut task, _) in slots.into_iter().flatten() {
                    task.abort(&e);
                    task.cleanup(ch);
                    finished(task);
                }
                return Err(e);
            }
        };
        // A reply to an unknown id cannot be attributed; recv() already
        // validated framing, so ignore it rather than fail every task.
        let Some(slot) = owner.remove(&id) else {
            continue;
        };
        let (task, outstanding) = slots[slot].as_mut().expect("owner points at a live slot");
        let new_ids = task.reply(ch, id, reply);
        *outstanding = *outstanding - 1 + new_ids.len();
        new_ids.iter().for_each(|n| {
            owner.insert(*n, slot);
        });
        if *outstanding == 0 {
            let (task, _) = slots[slot].take().expect("slot is live");
            active -= 1;
            finished(task);
        }
    }
}

/// Run one task to its end (the blocking form of a multi-step exchange).
/// Err only for a channel failure, which also aborted the task.
pub fn run_one<T: Task>(ch: &mut SftpChannel, task: T) -> Result<T> {
    let mut task = Some(task);
    let mut done = None;
    run(ch, 1, || task.take(), |t| done = Some(t))?;
    Ok(done.expect("a started task always finishes"))
}
